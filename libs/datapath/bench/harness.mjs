// Shared machinery of the datapath benchmark modules: the CPU-time rate measurement, command
// line options, compiling and running the native C/DPDK baselines, the standalone entry of each
// module, frame and batch helpers, and the result table. The modules keep only their cases.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), 'native');

/** `--quick` and the seconds per measurement (DATAPATH_BENCH_SECONDS overrides them). */
export function benchOptions(argv = process.argv) {
  const quick = argv.includes('--quick');
  // The smoke test sets a tiny DATAPATH_BENCH_SECONDS.
  const seconds = Number(process.env.DATAPATH_BENCH_SECONDS ?? (quick ? 0.3 : 2));
  return { quick, seconds };
}

/**
 * `measure(step, perStep)`: runs `step(i)` (which handles `perStep` items) for `seconds` of
 * process CPU time after three warm-up calls; returns millions of items per second.
 */
export function cpuMeasure(seconds) {
  return (step, perStep) => {
    for (let i = 0; i < 3; i++) step(i);
    let n = 0;
    let i = 0;
    // CPU time, not wall time: on a shared, loaded machine wall time measures the scheduler.
    const c0 = process.cpuUsage();
    let elapsed = 0;
    do {
      for (let k = 0; k < 16; k++) {
        step(i++);
        n += perStep;
      }
      const c = process.cpuUsage(c0);
      elapsed = (c.user + c.system) / 1e6;
    } while (elapsed < seconds);
    return n / elapsed / 1e6;
  };
}

let ccFound;
let dpdkFlags;

function haveCc() {
  if (ccFound === undefined) {
    const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
    ccFound = !cc.error && cc.status === 0;
  }
  return ccFound;
}

/** pkg-config's flags for libdpdk, or null without it (asked once per process). */
function dpdk() {
  if (dpdkFlags === undefined) {
    try {
      dpdkFlags = execFileSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .trim()
        .split(/\s+/);
    } catch {
      dpdkFlags = null;
    }
  }
  return dpdkFlags;
}

/**
 * Compiles `bench/native/<source>` (`cc -O3 -march=native`) into a new temporary directory.
 * `dpdk`: 'required' (no DPDK: skipped), 'optional' (built without it, else with -DHAVE_DPDK)
 * or false. `what` names the baseline in the "skipped: no C compiler" line and `dpdkWhat`
 * what goes without DPDK; either left out says nothing. Returns null when skipped, else
 * `{ bin, dir, dpdk, cleanup }` (`dpdk`: whether DPDK was linked; `cleanup` removes `dir`).
 */
export function compileNative(source, { dpdk: useDpdk = false, what, dpdkWhat } = {}) {
  if (!haveCc()) {
    if (what) console.log(`${what} skipped: no C compiler (cc) found`);
    return null;
  }
  let flags = [];
  if (useDpdk) {
    const found = dpdk();
    if (!found && dpdkWhat)
      console.log(`DPDK (libdpdk via pkg-config) not found: ${dpdkWhat} skipped`);
    if (!found && useDpdk === 'required') return null;
    if (found) flags = useDpdk === 'optional' ? ['-DHAVE_DPDK', ...found] : found;
  }
  const dir = mkdtempSync(join(tmpdir(), 'dp-bench-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const bin = join(dir, source.replace(/\.c$/, ''));
    execFileSync('cc', ['-O3', '-march=native', join(nativeDir, source), '-o', bin, ...flags], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return { bin, dir, dpdk: flags.length > 0, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/**
 * Compiles a baseline as compileNative does, calls `body(native)` and removes the temporary
 * directory afterwards. Returns body's result, or null when the baseline was skipped.
 */
export function withNative(source, options, body) {
  const native = compileNative(source, options);
  if (!native) return null;
  try {
    return body(native);
  } finally {
    native.cleanup();
  }
}

/**
 * Runs a compiled baseline and parses the JSON object on the last line of its output. A
 * failure throws (with the program's stderr), unless `attempts` > 1: then a failure or an
 * `{"error": …}` result is logged as "`what` failed (attempt n): …" and null is returned
 * after the last (EAL start-up can fail transiently on a machine shared with other DPDK runs).
 */
export function runNative(bin, args, { attempts = 1, what = 'native baseline' } = {}) {
  const run = () =>
    JSON.parse(
      execFileSync(bin, args.map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .trim()
        .split('\n')
        .pop(),
    );
  if (attempts === 1) {
    try {
      return run();
    } catch (err) {
      throw new Error(`${what} failed: ${String(err.stderr || err.message).trim()}`);
    }
  }
  for (let attempt = 1; ; attempt++) {
    let result;
    try {
      result = run();
    } catch (err) {
      result = { error: String(err.stderr || err.message).trim() };
    }
    // The baselines report an EAL start-up failure as {"error": …} on stdout.
    if (!result.error) return result;
    console.log(`${what} failed (attempt ${attempt}): ${String(result.error).slice(0, 300)}`);
    if (attempt >= attempts) return null;
  }
}

/** True when the module at `url` (its import.meta.url) is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

/**
 * The standalone entry of a module: when it is the script run, calls `cases({ quick, seconds,
 * measure })` and prints its `{ results, extra }` as bench.mjs does (table, figures, JSON).
 */
export function standalone(url, cases) {
  if (!isMain(url)) return;
  const options = benchOptions();
  const { results, extra } = cases({ ...options, measure: cpuMeasure(options.seconds) });
  printResults(results, extra, `${options.quick ? 'quick' : 'full'}: ${options.seconds}s`);
}

/** Rounds a figure to three decimals (null stays null). */
export const round = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 1000);

/**
 * Rounds every figure in place, then prints the rates as a table (case, implementation, rate,
 * ns each), the `extra` figures one a line and, last, one JSON object of both.
 */
export function printResults(results, extra, mode) {
  for (const r of Object.values(results)) for (const k of Object.keys(r)) r[k] = round(r[k]);
  for (const k of Object.keys(extra)) extra[k] = round(extra[k]);
  const rows = [['case', 'impl', 'Mpps|Mlookups/s', 'ns each']];
  for (const [name, r] of Object.entries(results)) {
    for (const [k, v] of Object.entries(r))
      rows.push([
        name,
        k.replace(/_(mpps|mlookups)$/, ''),
        v === null ? '-' : v.toFixed(2),
        v ? (1000 / v).toFixed(1) : '-',
      ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    `datapath benchmark (${mode} per measurement; one core, rates from process CPU time; traffic per README)`,
  );
  for (const r of rows)
    console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  for (const [k, v] of Object.entries(extra)) console.log(`${k}: ${v ?? '-'}`);
  console.log(JSON.stringify({ ...results, ...extra }));
}

/** Writes the IPv4 header checksum of the header at `ip` in frame `f` (RFC 791/1071). */
export function ipv4Checksum(f, ip) {
  f[ip + 10] = 0;
  f[ip + 11] = 0;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (f[ip + i] << 8) | f[ip + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f[ip + 10] = (~sum >> 8) & 0xff;
  f[ip + 11] = ~sum & 0xff;
  return f;
}

/** A locally administered MAC (02:00:00:…) numbered `i`, as bytes. */
export const macOf = (i) => [0x02, 0, 0, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff];

/** MAC bytes as text (aa:bb:…). */
export const macText = (bytes) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');

/** The stage mask of `dp` running the stages named (built from `dp.stages()`, never ids). */
export function stageMask(dp, names) {
  const stages = dp.stages();
  return names.reduce((m, name) => m | (1 << stages.findIndex((s) => s.name === name)), 0);
}

/**
 * `run(b, now = 0)`: processes pool slots b·batch … b·batch + batch - 1 through the stages in
 * `mask`, writing the input vector in the core's memory directly (no per-batch allocation).
 */
export function batchRunner(dp, batch, mask) {
  const vector = dp.regions().inputVectorBase;
  return (b, now = 0) => {
    const v = new Uint16Array(dp.core.memory.buffer, vector, batch);
    for (let k = 0; k < batch; k++) v[k] = b * batch + k;
    dp.core.process(batch, now, mask, 0);
  };
}

/** `count` pool slots in batches of `batch`: [0 … batch-1], [batch …], … */
export function slotBatches(count, batch) {
  const batches = [];
  for (let b = 0; b < count / batch; b++)
    batches.push(Uint16Array.from({ length: batch }, (_, i) => b * batch + i));
  return batches;
}

/** The first `count` batches of `frames` as the reference pipeline takes them (on `port`). */
export function referenceBatches(frames, batch, count, port) {
  const batches = [];
  for (let b = 0; b < Math.min(count, frames.length / batch); b++)
    batches.push(frames.slice(b * batch, (b + 1) * batch).map((data) => ({ data, port })));
  return batches;
}
