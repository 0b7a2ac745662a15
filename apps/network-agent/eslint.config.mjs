// The workspace rules, plus one narrow exemption: the benchmark (not part of the agent) may use
// the @opi/testing harness to start nats-server and processes, as tests do.
// eslint-disable-next-line @nx/enforce-module-boundaries -- a config file, not a project import
import root from '../../eslint.config.mjs';

const boundaries = root.find((entry) => entry.rules?.['@nx/enforce-module-boundaries'])?.rules[
  '@nx/enforce-module-boundaries'
];
const [level, options] = boundaries;

export default [
  ...root,
  {
    files: ['bench/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        level,
        { ...options, allow: [...(options.allow ?? []), '@opi/testing'] },
      ],
    },
  },
];
