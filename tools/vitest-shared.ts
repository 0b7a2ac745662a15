// One vitest configuration for every project: resolve workspace libs to their TypeScript source,
// run spec files under src/ and tests/, and give integration tests (real processes) room.
import { defineConfig, type TestUserConfig, type ViteUserConfig } from 'vitest/config';

export function projectVitestConfig(overrides: TestUserConfig = {}): ViteUserConfig {
  const conditions = ['@opi/source', 'node', 'import', 'module', 'default'];
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@opi/source'] } },
    test: {
      include: ['src/**/*.spec.ts', 'tests/**/*.spec.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      ...overrides,
    },
  });
}
