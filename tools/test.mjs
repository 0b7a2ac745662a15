#!/usr/bin/env node
// `npm test`: format check, then lint, typecheck, codegen freshness and every project's tests
// through Nx; ends with one summary line "N passed, N failed" summed over all vitest runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'tmp', 'test-results');
const started = Date.now();
const steps = [
  ['npx', ['prettier', '--check', '.', '--log-level', 'warn']],
  [
    'npx',
    [
      'nx',
      'run-many',
      '-t',
      'lint',
      'typecheck',
      'codegen-check',
      'test',
      '--output-style=stream',
      ...process.argv.slice(2),
    ],
  ],
];

rmSync(resultsDir, { recursive: true, force: true });
let failedStep;
for (const [cmd, args] of steps) {
  process.stdout.write(`\n[test] ${cmd} ${args.join(' ')}\n`);
  const result = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  if (result.status !== 0) {
    failedStep ??= `${cmd} ${args.slice(0, 3).join(' ')}`;
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
const perProject = [];
if (existsSync(resultsDir)) {
  for (const file of readdirSync(resultsDir).filter((f) => f.endsWith('.json'))) {
    const report = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    perProject.push(
      `${file.replace(/\.json$/, '')}: ${report.numPassedTests}/${report.numTotalTests}`,
    );
  }
}
const minutes = ((Date.now() - started) / 60000).toFixed(1);
process.stdout.write(`\n[test] per project: ${perProject.sort().join(', ')}\n`);
process.stdout.write(
  `[test] finished in ${minutes} min${failedStep ? `; failed step: ${failedStep}` : ''}\n`,
);
if (failedStep && failed === 0) failed = 1; // a failed lint/typecheck/format step counts as a failure
process.stdout.write(
  `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
);
process.exit(failedStep ? 1 : 0);
