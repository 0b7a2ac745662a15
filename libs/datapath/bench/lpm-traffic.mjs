// Route tables and traffic of the L3 benchmark (README "Benchmark"): a full-size IPv4 table
// with a BGP-like prefix-length mix and a set of active destinations drawn from its routes.
import { writeFileSync } from 'node:fs';

// Share of each prefix length in the table, in per mille (a BGP table is ~60 % /24, the rest
// mostly /16–/23, a thin tail of shorter and longer prefixes).
const LENGTH_MIX = {
  8: 0.2,
  10: 0.5,
  12: 1,
  13: 2,
  14: 3,
  15: 3,
  16: 13,
  17: 8,
  18: 15,
  19: 28,
  20: 46,
  21: 46,
  22: 88,
  23: 83,
  24: 600,
  25: 8,
  26: 9,
  27: 8,
  28: 8,
  29: 9,
  30: 10,
  31: 2,
  32: 13,
};

/** xorshift32 generator (deterministic traffic). */
export function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const maskOf = (len) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/**
 * `count` distinct unicast routes (1.0.0.0–223.255.255.255) with the length mix above and
 * next hops 0..nextHops-1, in random order, packed: { addrs, lengths, nextHops }.
 */
export function generateRoutes(count, { seed = 7, nextHops = 1024 } = {}) {
  const rand = xorshift(seed);
  const table = [];
  const total = Object.values(LENGTH_MIX).reduce((a, b) => a + b, 0);
  for (const [len, share] of Object.entries(LENGTH_MIX)) {
    // Never more prefixes of a length than the unicast space holds.
    table.push([Number(len), Math.min(Math.round((count * share) / total), 2 ** Number(len) / 2)]);
  }
  const addrs = new Uint32Array(count);
  const lengths = new Uint8Array(count);
  const hops = new Uint32Array(count);
  const seen = new Set();
  let n = 0;
  for (const [len, want] of table) {
    let made = 0;
    while (made < want && n < count) {
      const addr = (rand() & maskOf(len)) >>> 0;
      const first = addr >>> 24;
      if (first === 0 || first >= 224) continue;
      const key = addr * 64 + len;
      if (seen.has(key)) continue;
      seen.add(key);
      addrs[n] = addr;
      lengths[n] = len;
      hops[n] = rand() % nextHops;
      n++;
      made++;
    }
  }
  // Rounding may leave a few short: fill with more /24s.
  while (n < count) {
    const addr = (rand() & maskOf(24)) >>> 0;
    const first = addr >>> 24;
    const key = addr * 64 + 24;
    if (first === 0 || first >= 224 || seen.has(key)) continue;
    seen.add(key);
    addrs[n] = addr;
    lengths[n] = 24;
    hops[n] = rand() % nextHops;
    n++;
  }
  // Shuffle so that nothing depends on insertion order.
  for (let i = count - 1; i > 0; i--) {
    const j = rand() % (i + 1);
    [addrs[i], addrs[j]] = [addrs[j], addrs[i]];
    [lengths[i], lengths[j]] = [lengths[j], lengths[i]];
    [hops[i], hops[j]] = [hops[j], hops[i]];
  }
  return { addrs, lengths, nextHops: hops };
}

/** `count` destination addresses, each inside a randomly chosen route of `routes`. */
export function activeDestinations(routes, count, seed = 11) {
  const rand = xorshift(seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const r = rand() % routes.addrs.length;
    out[i] = (routes.addrs[r] | (rand() & ~maskOf(routes.lengths[r]))) >>> 0;
  }
  return out;
}

/** Writes the file lpm_bench.c reads. */
export function writeRouteFile(path, routes, dests) {
  const n = routes.addrs.length;
  const buf = new Uint32Array(2 + n * 3 + dests.length);
  buf[0] = n;
  buf[1] = dests.length;
  for (let i = 0; i < n; i++) {
    buf[2 + i * 3] = routes.addrs[i];
    buf[3 + i * 3] = routes.lengths[i];
    buf[4 + i * 3] = routes.nextHops[i];
  }
  buf.set(dests, 2 + n * 3);
  writeFileSync(path, new Uint8Array(buf.buffer));
}

/** FNV-1a over next hops (misses as 0xffffffff), as lpm_bench.c computes it. */
export function hashHops(hops) {
  let h = 0x811c9dc5;
  for (let i = 0; i < hops.length; i++) h = Math.imul((h ^ hops[i]) >>> 0, 0x01000193) >>> 0;
  return h;
}
