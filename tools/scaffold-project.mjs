#!/usr/bin/env node
// Creates the uniform skeleton of a workspace project (package.json with exports, project.json
// with tags and targets, tsconfigs, vitest config, README). Usage:
//   node tools/scaffold-project.mjs <libs|apps>/<dir> <scope> <layer> [dep ...]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';

const [dir, scope, layer, ...deps] = process.argv.slice(2);
if (!dir || !scope || !layer) {
  console.error('usage: scaffold-project.mjs <libs|apps>/<dir> <scope> <layer> [dep ...]');
  process.exit(2);
}
const name = basename(dir);
const isApp = dir.startsWith('apps/');
const write = (file, content) => {
  const path = join(dir, file);
  if (existsSync(path)) return;
  writeFileSync(
    path,
    typeof content === 'string' ? content : JSON.stringify(content, null, 2) + '\n',
  );
};
mkdirSync(join(dir, 'src'), { recursive: true });
const entry = isApp ? 'main' : 'index';
write('package.json', {
  name: `@opi/${name}`,
  version: '0.1.0',
  private: true,
  type: 'module',
  exports: isApp
    ? { './package.json': './package.json' }
    : {
        '.': {
          '@opi/source': './src/index.ts',
          types: './dist/index.d.ts',
          default: './dist/index.js',
        },
        './package.json': './package.json',
      },
  dependencies: Object.fromEntries(deps.map((d) => [`@opi/${d}`, '*'])),
});
write('project.json', {
  name,
  $schema: '../../node_modules/nx/schemas/project-schema.json',
  sourceRoot: `${dir}/src`,
  projectType: isApp ? 'application' : 'library',
  tags: [`scope:${scope}`, `layer:${layer}`],
  targets: {
    build: {
      executor: 'nx:run-commands',
      options: { command: 'tsc -b tsconfig.lib.json', cwd: '{projectRoot}' },
    },
    typecheck: {
      executor: 'nx:run-commands',
      options: { command: 'tsc -p tsconfig.spec.json --noEmit', cwd: '{projectRoot}' },
    },
    lint: { executor: 'nx:run-commands', options: { command: 'eslint .', cwd: '{projectRoot}' } },
    test: { executor: 'nx:run-commands', options: { command: 'vitest run', cwd: '{projectRoot}' } },
  },
});
write('tsconfig.lib.json', {
  extends: '../../tsconfig.base.json',
  compilerOptions: {
    rootDir: 'src',
    outDir: 'dist',
    tsBuildInfoFile: 'dist/tsconfig.lib.tsbuildinfo',
  },
  include: ['src/**/*.ts'],
  exclude: ['src/**/*.spec.ts'],
  references: deps.map((d) => ({ path: `../../libs/${d}/tsconfig.lib.json` })),
});
write('tsconfig.spec.json', {
  extends: '../../tsconfig.base.json',
  compilerOptions: { composite: false, noEmit: true, declaration: false, declarationMap: false },
  include: ['src/**/*.ts', 'tests/**/*.ts', 'vitest.config.ts'],
});
write(
  'vitest.config.ts',
  `import { projectVitestConfig } from '../../tools/vitest-shared.js';

export default projectVitestConfig();
`,
);
write(
  `src/${entry}.ts`,
  isApp
    ? ''
    : `// Public API of @opi/${name}: everything importable from outside is listed here.\n`,
);
write('README.md', `# @opi/${name}\n\nTODO\n`);
console.log(
  `scaffolded ${dir} (${name}; scope:${scope}, layer:${layer}; deps: ${deps.join(', ') || 'none'})`,
);
