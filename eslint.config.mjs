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

export default [
  {
    ignores: [
      '**/dist/**',
      '**/build/**',
      '**/node_modules/**',
      '**/src/gen/**',
      '**/*.as.ts',
      '**/assembly/**',
    ],
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
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            // layer axis
            { sourceTag: 'layer:api', onlyDependOnLibsWithTags: ['layer:api'] },
            { sourceTag: 'layer:util', onlyDependOnLibsWithTags: ['layer:util'] },
            {
              sourceTag: 'layer:infra',
              onlyDependOnLibsWithTags: ['layer:api', 'layer:util', 'layer:infra'],
            },
            { sourceTag: 'layer:datapath', onlyDependOnLibsWithTags: ['layer:api', 'layer:util'] },
            {
              sourceTag: 'layer:device',
              onlyDependOnLibsWithTags: [
                'layer:api',
                'layer:util',
                'layer:infra',
                'layer:device',
                'layer:datapath',
              ],
            },
            {
              sourceTag: 'layer:testing',
              onlyDependOnLibsWithTags: [
                'layer:api',
                'layer:util',
                'layer:infra',
                'layer:device',
                'layer:datapath',
                'layer:testing',
              ],
            },
            {
              sourceTag: 'layer:app',
              onlyDependOnLibsWithTags: [
                'layer:api',
                'layer:util',
                'layer:infra',
                'layer:device',
                'layer:datapath',
                'layer:testing',
              ],
            },
            // scope axis
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:network',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:network'],
            },
            {
              sourceTag: 'scope:storage',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:storage'],
            },
            {
              sourceTag: 'scope:security',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:security'],
            },
            {
              sourceTag: 'scope:telemetry',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:telemetry'],
            },
            { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: allScopes },
          ],
        },
      ],
    },
  },
  {
    // Config files share tools/ helpers by relative path; they are not part of any project's API.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
