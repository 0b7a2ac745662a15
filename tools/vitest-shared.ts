// One vitest configuration for every project: resolve workspace libs to their TypeScript source,
// run spec files under src/ and tests/, give integration tests (real processes) room, and write
// a JSON report per project that `npm test` sums into its closing line.
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type TestUserConfig, type ViteUserConfig } from 'vitest/config';

const workspaceRoot = fileURLToPath(new URL('..', import.meta.url));

export function projectVitestConfig(overrides: TestUserConfig = {}): ViteUserConfig {
  const conditions = ['@opi/source', 'node', 'import', 'module', 'default'];
  const project = basename(process.cwd());
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@opi/source'] } },
    test: {
      include: ['src/**/*.spec.ts', 'tests/**/*.spec.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      reporters: ['default', 'json'],
      outputFile: { json: resolve(workspaceRoot, 'tmp/test-results', `${project}.json`) },
      ...overrides,
    },
  });
}
