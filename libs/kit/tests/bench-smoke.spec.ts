// The benchmark must keep working: run every measurement once with tiny counts.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnProcess } from '@opi/testing';

const bench = fileURLToPath(new URL('../bench/dist/bench/kit-bench.js', import.meta.url));

describe('kit benchmark', () => {
  it('runs every measurement and ends with the JSON line', async () => {
    const run = spawnProcess(process.execPath, [bench, '--smoke']);
    const exit = await run.exited;
    expect(exit.code, run.stderr()).toBe(0);
    const lines = run.stdout().trim().split('\n');
    expect(lines[0]).toMatch(/^kit benchmark \(smoke;/);
    const result = JSON.parse(lines[lines.length - 1]!) as {
      bench: string;
      createAckMs: { status: { p50: number; p99: number }; sync: { p50: number; p99: number } };
      createsPerSecond: { status: number; sync: number };
      leaseFailoverMs: number[];
    };
    expect(result.bench).toBe('kit');
    for (const figure of [
      result.createAckMs.status.p50,
      result.createAckMs.sync.p99,
      result.createsPerSecond.status,
      result.createsPerSecond.sync,
    ]) {
      expect(figure).toBeGreaterThan(0);
    }
    expect(result.leaseFailoverMs).toHaveLength(1);
    expect(result.leaseFailoverMs[0]).toBeGreaterThan(0);
  }, 60_000);
});
