#!/usr/bin/env node
// Long fuzz campaign: the CI fuzz and differential specs (parse/L2/VXLAN, L3 for IPv4 and
// IPv6, ACL, policers) with more frames and rounds and a chosen seed.
//   node scripts/fuzz.mjs [--frames N] [--seed S]      (or: npx nx run datapath:fuzz -- --frames N)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const frames = Number(value('--frames', '50000000'));
const seed = Number(value('--seed', String(Date.now() % 1_000_000)));
if (!Number.isInteger(frames) || frames <= 0 || !Number.isInteger(seed)) {
  console.error('usage: fuzz.mjs [--frames N] [--seed S]');
  process.exit(2);
}
console.log(`fuzzing ${frames} frames with seed ${seed}`);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    'tests/fuzz.spec.ts',
    'tests/differential.spec.ts',
    'tests/routing.spec.ts',
    'tests/routing6.spec.ts',
    'tests/acl.spec.ts',
    'tests/policer.spec.ts',
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      DATAPATH_FUZZ_FRAMES: String(frames),
      DATAPATH_FUZZ_SEED: String(seed),
      // The reference is slower: compare one frame in 20 of the campaign, in full.
      DATAPATH_DIFF_FRAMES: String(Math.ceil(frames / 20)),
      DATAPATH_DIFF_ROUNDS: String(Math.ceil(frames / 20 / 100)),
    },
  },
);
process.exit(result.status ?? 1);
