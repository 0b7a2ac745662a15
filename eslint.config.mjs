// Workspace lint rules. Module boundaries encode the layering in README.md ("Layers"):
// api <- infra (runtime, bus, kit) <- device (hal + backends) / datapath <- app.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const allScopes = [
  'scope:shared',
  'scope:network',
  'scope:storage',
  'scope:security',
  'scope:telemetry',
];

/** What each layer may import; tests of any project may also use the `layer:testing` harness. */
const layerRules = {
  'layer:api': ['layer:api'],
  'layer:util': ['layer:util'],
  'layer:infra': ['layer:api', 'layer:util', 'layer:infra'],
  'layer:datapath': ['layer:api', 'layer:util'],
  'layer:device': ['layer:api', 'layer:util', 'layer:infra', 'layer:device', 'layer:datapath'],
  'layer:testing': [
    'layer:api',
    'layer:util',
    'layer:infra',
    'layer:device',
    'layer:datapath',
    'layer:testing',
  ],
  'layer:app': ['layer:api', 'layer:util', 'layer:infra', 'layer:device', 'layer:datapath'],
};
const scopeRules = {
  'scope:shared': ['scope:shared'],
  'scope:network': ['scope:shared', 'scope:network'],
  'scope:storage': ['scope:shared', 'scope:storage'],
  'scope:security': ['scope:shared', 'scope:security'],
  'scope:telemetry': ['scope:shared', 'scope:telemetry'],
  'scope:cli': allScopes,
};

function boundaries({ forTests }) {
  const layers = Object.entries(layerRules).map(([sourceTag, allowed]) => ({
    sourceTag,
    onlyDependOnLibsWithTags:
      forTests && !allowed.includes('layer:testing') ? [...allowed, 'layer:testing'] : allowed,
  }));
  const scopes = Object.entries(scopeRules).map(([sourceTag, allowed]) => ({
    sourceTag,
    onlyDependOnLibsWithTags: allowed,
  }));
  return [
    'error',
    { enforceBuildableLibDependency: true, allow: [], depConstraints: [...layers, ...scopes] },
  ];
}

const testFiles = ['**/tests/**/*.ts', '**/bench/**/*.ts', '**/*.spec.ts'];

export default [
  {
    ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '**/src/gen/**', '**/assembly/**'],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@nx/enforce-module-boundaries': boundaries({ forTests: false }),
    },
  },
  {
    files: testFiles,
    rules: { '@nx/enforce-module-boundaries': boundaries({ forTests: true }) },
  },
  {
    // Config files share tools/ helpers by relative path; they are not part of any project's API.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
