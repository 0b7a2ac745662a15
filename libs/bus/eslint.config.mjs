// The workspace rules, plus one exemption: tests and benchmarks may import @opi/testing (layer:testing), as the
// workspace README allows for tests of any project; the root config has no test-file exemption yet.
// eslint-disable-next-line @nx/enforce-module-boundaries -- a config file, not a project import
import root from '../../eslint.config.mjs';

export default [
  ...root,
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts', 'src/**/*.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
