import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('benchmark harness', () => {
  it(
    'runs every case and ends with one JSON line carrying the agreed keys',
    { timeout: 180_000 },
    () => {
      const out = execFileSync('node', ['bench/bench.mjs', '--quick'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, DATAPATH_BENCH_SECONDS: '0.02' },
      });
      const lines = out.trim().split('\n');
      const parsed = JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
      // Cases are objects of rates; a few top-level figures (load time, memory) are numbers.
      const result = parsed as Record<string, Record<string, number | null> | undefined>;
      expect(Object.keys(result).slice(0, 9)).toEqual([
        'parse64',
        'l2_64',
        'vxlan_encap64',
        'vxlan_decap64',
        'l2_imix',
        'pipeline64',
        'acl1k',
        'acl10k',
        'lpm1m',
      ]);
      expect(parsed.route_load_1m_s).toBeGreaterThan(0);
      expect(result.lpm1m?.wasm_mlookups).toBeGreaterThan(0);
      expect(result.lpm1m?.ts_mlookups).toBeGreaterThan(0);
      const packetCases = Object.entries(result).filter(
        (e): e is [string, Record<string, number | null>] =>
          typeof e[1] === 'object' && e[1] !== null && 'wasm_mpps' in e[1],
      );
      // The part I/II cases above plus the modules' own (policer_flow64, …).
      expect(packetCases.length).toBeGreaterThanOrEqual(9);
      expect(result.policer_flow64?.wasm_mpps).toBeGreaterThan(0);
      expect(packetCases.map(([name]) => name)).toContain('acl1k_count_log');
      for (const [name, r] of packetCases) {
        expect(r.wasm_mpps, name).toBeGreaterThan(0);
        expect(r.ts_mpps, name).toBeGreaterThan(0);
        // Connection tracking's native baseline is DPDK's rte_hash.
        expect(r).toHaveProperty(name === 'ct1m' ? 'native_rte_hash_mpps' : 'native_mpps');
      }
      expect(parsed.ct_insert_1m_s).toBeGreaterThan(0);
      expect(parsed.ct1m_table_mib).toBeGreaterThan(0);
      // Where a compiler (and DPDK) exist the native baselines must have run; else they are null.
      if (has('cc', ['--version'])) expect(result.parse64?.native_mpps).toBeGreaterThan(0);
      else expect(result.parse64?.native_mpps).toBeNull();
      if (has('pkg-config', ['--exists', 'libdpdk'])) {
        expect(result.l2_64?.native_rte_hash_mpps).toBeGreaterThan(0);
        // rte_fib holds the full table in quick mode too; rte_lpm only a part (see README).
        expect(result.lpm1m?.native_rte_fib_mlookups).toBeGreaterThan(0);
        expect(result.pipeline64?.native_mpps).toBeGreaterThan(0);
        expect(result.acl10k?.native_mpps).toBeGreaterThan(0);
        expect(result.ct1m?.native_rte_hash_mpps).toBeGreaterThan(0);
        expect(result.lpm6_100k?.native_mlookups).toBeGreaterThan(0);
        expect(result.route6_forward62?.native_mpps).toBeGreaterThan(0);
        expect(parsed.route6_load_100k_rte_lpm6_s).toBeGreaterThan(0);
      }
      expect(result.lpm6_100k?.wasm_mlookups).toBeGreaterThan(0);
      expect(result.lpm6_100k?.ts_mlookups).toBeGreaterThan(0);
      expect(parsed.route6_load_100k_s).toBeGreaterThan(0);
      expect(parsed.lpm6_100k_table_mib).toBeGreaterThan(64);
      expect(lines.some((l) => l.startsWith('parse64'))).toBe(true);
    },
  );
});
