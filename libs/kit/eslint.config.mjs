// The workspace rules, plus one exemption kept as narrow as possible: tests and the benchmark may import
// @opi/testing (layer:testing), as the workspace README allows for tests of any project. The
// module-boundary rule stays on for tests otherwise (the root config has no test exemption yet).
// eslint-disable-next-line @nx/enforce-module-boundaries -- a config file, not a project import
import root from '../../eslint.config.mjs';

const boundaries = root.find((entry) => entry.rules?.['@nx/enforce-module-boundaries'])?.rules[
  '@nx/enforce-module-boundaries'
];
const [level, options] = boundaries;

export default [
  ...root,
  {
    files: ['tests/**/*.ts', 'src/**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        level,
        { ...options, allow: [...(options.allow ?? []), '@opi/testing'] },
      ],
    },
  },
];
