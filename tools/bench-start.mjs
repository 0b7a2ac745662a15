#!/usr/bin/env node
// `npm run bench:start [-- --runs N --cold]`: times `npm start` to all-healthy (as printed by
// tools/start.mjs) over N runs, reports median and RSS per agent, then stops the stack.
// --cold removes build outputs and the Nx cache before every run, so each run rebuilds.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agents } from './stack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
const cold = args.includes('--cold');

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}
function agentPids(parentPid) {
  const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(parentPid)], {
    encoding: 'utf8',
  }).stdout;
  return out
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/, 3))
    .filter(([, , script]) => script?.includes('/dist/main.js'))
    .map(([pid, , script]) => ({
      pid: Number(pid),
      name: agents.find((a) => script.includes(a.entry))?.name,
    }));
}

const times = [];
const rss = {};
for (let run = 1; run <= runs; run++) {
  if (cold) {
    for (const dir of ['libs', 'apps'])
      spawnSync('sh', ['-c', `rm -rf ${dir}/*/dist ${dir}/*/build`], { cwd: root });
    // Nx keeps its cache outside the repository (~/.nx/<workspace hash>). A full reset: after
    // `reset --only-cache` Nx 23 still reports cache hits but restores nothing.
    spawnSync('npx', ['nx', 'reset'], { cwd: root, env: { ...process.env, NX_DAEMON: 'false' } });
  }
  const state = join(root, 'tmp', `bench-start-${run}`);
  rmSync(state, { recursive: true, force: true });
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'tools/start.mjs')], {
    cwd: root,
    env: { ...process.env, OPI_STATE_DIR: state, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise((done, fail) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (/all \d+ agents healthy/.test(output)) done();
    });
    child.on('exit', (code) =>
      fail(new Error(`start exited early (${code}):\n${output.slice(-2000)}`)),
    );
  });
  const seconds = (Date.now() - started) / 1000;
  times.push(seconds);
  for (const { pid, name } of agentPids(child.pid)) (rss[name] ??= []).push(rssKiB(pid) / 1024);
  child.kill('SIGINT');
  await new Promise((done) => child.on('exit', done));
  process.stderr.write(`run ${run}: ${seconds.toFixed(2)} s\n`);
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mode = cold ? 'cold (rebuild, no Nx cache)' : 'warm (installed and built)';
console.log(`start to all-healthy, ${mode}, ${runs} runs`);
console.log(
  `  median ${median(times).toFixed(2)} s   (runs: ${times.map((t) => t.toFixed(2)).join(', ')})`,
);
console.log('  RSS per agent after start (median MiB):');
for (const [name, values] of Object.entries(rss))
  console.log(`    ${name.padEnd(16)} ${median(values).toFixed(1)}`);
console.log(
  JSON.stringify({
    mode: cold ? 'cold' : 'warm',
    runs,
    median_s: Number(median(times).toFixed(3)),
    rss_mib: Object.fromEntries(
      Object.entries(rss).map(([k, v]) => [k, Number(median(v).toFixed(1))]),
    ),
  }),
);
