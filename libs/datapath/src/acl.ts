// Host side of the ACL stages: validates ordered rule sets and compiles them into the block the
// core classifies with (tuple-space search, see assembly/acl.ts), then activates it with one
// store; drains the log ring. The layout written here mirrors the constants at the top of
// assembly/acl.ts.
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import { formatIp, parseIp } from './net.js';
import type { CoreMemory } from './core/load.js';

/** Exports of the core used by the ACL (see assembly/acl.ts). */
export interface AclCoreExports {
  memory: CoreMemory;
  aclAlloc(bytes: number): number;
  aclActivate(ptr: number, bytes: number): void;
  aclClear(): void;
  aclActive(): number;
  aclBind(port: number, on: number, direction: number): void;
  aclLogBase(): number;
  aclLogCount(): number;
  aclLogLost(): bigint;
  aclLogClear(): void;
}

/** Rule actions: permit/deny decide (terminal), count/log record and evaluation goes on. */
export type AclAction = 'permit' | 'deny' | 'count' | 'log' | 'permit-stateful';

/** Which way a rule (or a port binding) applies. */
export type AclDirection = 'ingress' | 'egress';

/** One ACL rule. Absent fields match anything; a rule matches when every field does. */
export interface AclRule {
  /**
   * permit/deny: the first matching such rule decides. count: counts the packet (every rule
   * counts its hits) and evaluation goes on. log: as count, and writes a sampled record to
   * the log ring (`Acl.readLog`). permit-stateful: permits and opens a connection-tracking
   * flow so that return traffic passes (`Datapath.conntrack`).
   */
  action: AclAction;
  /** Packets arriving on bound ports (default) or leaving by egress-bound ports. */
  direction?: AclDirection;
  /** Ingress port for ingress rules, egress port for egress rules. */
  port?: number;
  /** For `log` rules: one record per `sampleEvery` matches of the rule (default 1). */
  log?: { sampleEvery?: number };
  /** Source prefix, IPv4 or IPv6 CIDR ("10.0.0.0/8", "2001:db8::/32"). */
  src?: string;
  /** Destination prefix (same IP version as `src` when both are given). */
  dst?: string;
  /** IP protocol (after IPv6 extension headers). */
  proto?: number;
  /** Source port or inclusive range; needs proto 6 (TCP) or 17 (UDP). */
  sport?: number | [number, number];
  /** Destination port or inclusive range; needs proto 6 or 17. */
  dport?: number | [number, number];
  /** ICMP type; needs proto 1 (ICMP) or 58 (ICMPv6). */
  icmpType?: number;
  /** ICMP code; needs proto 1 or 58. */
  icmpCode?: number;
  /** VXLAN network identifier: the packet came out of (or still carries) that VNI. */
  vni?: number;
  /** Ingress port (ingress rules; the same as `port`). */
  inPort?: number;
}

/** Options of `Acl.load`. */
export interface AclLoadOptions {
  /** Action when no rule matches (default permit). */
  defaultAction?: 'permit' | 'deny';
  /** Action when no egress rule matches (default: `defaultAction`). */
  egressDefaultAction?: 'permit' | 'deny';
}

/** A sampled record of a packet that matched a `log` rule. */
export interface AclLogRecord {
  rule: number;
  /** Ingress port (ingress rules) or egress port (egress rules). */
  port: number;
  direction: AclDirection;
  /** Batch time (the `nowMs` passed to `process`, modulo 2^32). */
  time: number;
  ipVersion: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  /** TCP/UDP ports (0 for other protocols). */
  sport: number;
  dport: number;
  /** ICMP type and code (ICMP/ICMPv6 only). */
  icmpType?: number;
  icmpCode?: number;
  /** Frame length (the inner frame after decapsulation). */
  length: number;
  /** What the packet's terminal match (or the default) decided. */
  action: 'permit' | 'deny';
}

/** Packets and bytes. */
export interface AclCounter {
  packets: number;
  bytes: number;
}

/** What a compiled set looks like. */
export interface AclSetInfo {
  rules: number;
  /** Distinct rule shapes: the classifier probes at most one hash table per shape. */
  shapes: number;
  /** Bytes of the compiled set in the core. */
  bytes: number;
}

const ACTION = { permit: 0, deny: 1, count: 2, log: 3, 'permit-stateful': 4 } as const;
const ACTION_NAMES = ['permit', 'deny', 'count', 'log', 'permit-stateful'] as const;
/** Records the core's log ring holds (assembly/acl.ts ACL_LOG_CAPACITY). */
export const ACL_LOG_CAPACITY = 1024;
const LOG_RECORD_SIZE = 64;
const L4_PORTS = 1;
const L4_ICMP = 2;
const EXACT_PROTO = 1;
const EXACT_VNI = 2;
const EXACT_PORT = 4;
const HEADER = {
  rules: 0,
  ruleOff: 4,
  counterOff: 8,
  sampleOff: 12,
  scratchOff: 16,
  defaults: 20,
  classifiers: 28,
  maps: 60,
};
// Per classifier, the candidate maps (assembly/acl.ts M_*): u64 shape bits for IPv4 and IPv6,
// then per value of the first source byte, first destination byte and protocol.
const MAPS_SIZE = 16 + 3 * 256 * 8;
const SHAPE = {
  size: 144,
  ver: 0,
  minPrio: 4,
  tableOff: 8,
  tableMask: 12,
  src: 16,
  dst: 32,
  srcFirst: 48,
  dstFirst: 80,
  protos: 112,
};
const RULE = {
  size: 96,
  action: 0,
  l4: 1,
  proto: 2,
  exact: 3,
  port: 4,
  vni: 8,
  aLo: 12,
  aHi: 14,
  bLo: 16,
  bHi: 18,
  next: 20,
  prio: 24,
  sample: 28,
  src: 32,
  dst: 36,
  srcMask: 40,
  dstMask: 44,
  srcRest: 48,
  dstRest: 60,
  srcMaskRest: 72,
  dstMaskRest: 84,
};

function range(value: unknown, field: string): [number, number] {
  if (typeof value === 'number') {
    checkInt(value, field, 0, 65535);
    return [value, value];
  }
  if (!Array.isArray(value) || value.length !== 2) {
    throw new DatapathConfigError(field, 'expected a port or a [low, high] range');
  }
  const lo = checkInt(value[0], `${field}[0]`, 0, 65535);
  const hi = checkInt(value[1], `${field}[1]`, 0, 65535);
  if (lo > hi) throw new DatapathConfigError(field, `empty range [${lo}, ${hi}]`);
  return [lo, hi];
}

/** A prefix as 32-bit big-endian words (1 for IPv4, 4 for IPv6), masked. */
interface Prefix {
  version: 4 | 6;
  words: number[];
  masks: number[];
  len: number;
}

function parsePrefix(text: unknown, field: string): Prefix {
  const slash = typeof text === 'string' ? text.lastIndexOf('/') : -1;
  if (slash < 0) {
    throw new DatapathConfigError(
      field,
      `expected a CIDR prefix like 10.0.0.0/8, got ${JSON.stringify(text)}`,
    );
  }
  const { version, bytes } = parseIp((text as string).slice(0, slash), field);
  const lenText = (text as string).slice(slash + 1);
  const len = /^\d{1,3}$/.test(lenText) ? Number(lenText) : -1;
  if (len < 0 || len > bytes.length * 8) {
    throw new DatapathConfigError(field, `bad prefix length in ${String(text)}`);
  }
  const words: number[] = [];
  const masks: number[] = [];
  for (let w = 0; w < bytes.length / 4; w++) {
    const bits = Math.max(0, Math.min(32, len - 32 * w));
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const word =
      ((bytes[w * 4]! << 24) |
        (bytes[w * 4 + 1]! << 16) |
        (bytes[w * 4 + 2]! << 8) |
        bytes[w * 4 + 3]!) >>>
      0;
    if ((word & ~mask) >>> 0 !== 0)
      throw new DatapathConfigError(field, `host bits set in ${String(text)}`);
    words.push(word);
    masks.push(mask);
  }
  return { version, words, masks, len };
}

/** A rule after validation, as the compiler and the reference use it. */
export interface CheckedAclRule {
  index: number;
  action: AclAction;
  /** permit/deny (and every later terminal action): the first such match decides. */
  terminal: boolean;
  deny: boolean;
  direction: AclDirection;
  /** log: one record per this many matches. */
  sampleEvery: number;
  version: 4 | 6 | null;
  src: Prefix | null;
  dst: Prefix | null;
  proto: number | null;
  l4: 0 | 1 | 2;
  a: [number, number];
  b: [number, number];
  vni: number | null;
  /** Ingress port (ingress rules) or egress port (egress rules). */
  port: number | null;
}

/** Validates one rule; errors name the field (`rules[i].dport`). */
export function checkAclRule(rule: AclRule, index: number): CheckedAclRule {
  const at = `rules[${index}]`;
  if (typeof rule !== 'object' || rule === null)
    throw new DatapathConfigError(at, 'expected a rule object');
  if (!(ACTION_NAMES as readonly unknown[]).includes(rule.action)) {
    throw new DatapathConfigError(
      `${at}.action`,
      `expected ${ACTION_NAMES.join(', ')}, got ${JSON.stringify(rule.action)}`,
    );
  }
  const direction = rule.direction ?? 'ingress';
  if (direction !== 'ingress' && direction !== 'egress') {
    throw new DatapathConfigError(
      `${at}.direction`,
      `expected ingress or egress, got ${JSON.stringify(rule.direction)}`,
    );
  }
  if (rule.inPort !== undefined && direction === 'egress')
    throw new DatapathConfigError(`${at}.inPort`, 'egress rules match the egress port: use port');
  if (rule.inPort !== undefined && rule.port !== undefined)
    throw new DatapathConfigError(`${at}.inPort`, 'give port or inPort, not both');
  const portField = rule.port !== undefined ? 'port' : 'inPort';
  const portValue = rule.port ?? rule.inPort;
  const port = portValue === undefined ? null : checkInt(portValue, `${at}.${portField}`, 0, 255);
  let sampleEvery = 1;
  if (rule.log !== undefined) {
    if (rule.action !== 'log')
      throw new DatapathConfigError(`${at}.log`, 'only log rules take log options');
    if (typeof rule.log !== 'object' || rule.log === null)
      throw new DatapathConfigError(`${at}.log`, 'expected {sampleEvery}');
    if (rule.log.sampleEvery !== undefined)
      sampleEvery = checkInt(rule.log.sampleEvery, `${at}.log.sampleEvery`, 1, 0x7fffffff);
  }
  const src = rule.src === undefined ? null : parsePrefix(rule.src, `${at}.src`);
  const dst = rule.dst === undefined ? null : parsePrefix(rule.dst, `${at}.dst`);
  if (src && dst && src.version !== dst.version) {
    throw new DatapathConfigError(`${at}.dst`, 'must be the same IP version as src');
  }
  const proto = rule.proto === undefined ? null : checkInt(rule.proto, `${at}.proto`, 0, 255);
  let l4: 0 | 1 | 2 = 0;
  let a: [number, number] = [0, 65535];
  let b: [number, number] = [0, 65535];
  if (rule.sport !== undefined || rule.dport !== undefined) {
    if (proto !== 6 && proto !== 17) {
      throw new DatapathConfigError(
        `${at}.${rule.sport !== undefined ? 'sport' : 'dport'}`,
        'ports need proto 6 (TCP) or 17 (UDP)',
      );
    }
    l4 = L4_PORTS;
    if (rule.sport !== undefined) a = range(rule.sport, `${at}.sport`);
    if (rule.dport !== undefined) b = range(rule.dport, `${at}.dport`);
  }
  if (rule.icmpType !== undefined || rule.icmpCode !== undefined) {
    const field = `${at}.${rule.icmpType !== undefined ? 'icmpType' : 'icmpCode'}`;
    if (proto !== 1 && proto !== 58)
      throw new DatapathConfigError(field, 'ICMP fields need proto 1 or 58');
    if (l4 !== 0)
      throw new DatapathConfigError(field, 'a rule matches ports or ICMP fields, not both');
    l4 = L4_ICMP;
    if (rule.icmpType !== undefined) {
      checkInt(rule.icmpType, `${at}.icmpType`, 0, 255);
      a = [rule.icmpType, rule.icmpType];
    }
    if (rule.icmpCode !== undefined) {
      checkInt(rule.icmpCode, `${at}.icmpCode`, 0, 255);
      b = [rule.icmpCode, rule.icmpCode];
    }
  }
  return {
    index,
    action: rule.action,
    terminal: rule.action !== 'count' && rule.action !== 'log',
    deny: rule.action === 'deny',
    direction,
    sampleEvery,
    version: src?.version ?? dst?.version ?? null,
    src,
    dst,
    proto,
    l4,
    a,
    b,
    vni: rule.vni === undefined ? null : checkInt(rule.vni, `${at}.vni`, 0, 0xffffff),
    port,
  };
}

interface RuleRecord {
  rule: CheckedAclRule;
  version: 4 | 6;
  src: { words: number[]; masks: number[] };
  dst: { words: number[]; masks: number[] };
  hash: number;
  key: string;
}

interface Shape {
  version: 4 | 6;
  /** Key prefix lengths (multiples of 8 bits, 16 for IPv6). */
  srcLen: number;
  dstLen: number;
  srcMasks: number[];
  dstMasks: number[];
  records: RuleRecord[];
  /** Records per key: the chain lengths. */
  chains: Map<string, number>;
}

function wordsOf(p: Prefix | null, version: 4 | 6): { words: number[]; masks: number[] } {
  const n = version === 4 ? 1 : 4;
  if (!p) return { words: new Array<number>(n).fill(0), masks: new Array<number>(n).fill(0) };
  return { words: p.words, masks: p.masks };
}

function masksOf(len: number, version: 4 | 6): number[] {
  const out: number[] = [];
  for (let w = 0; w < (version === 4 ? 1 : 4); w++) {
    const bits = Math.max(0, Math.min(32, len - 32 * w));
    out.push(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  }
  return out;
}

/** Longest chain a rule is merged into with a shorter key than its own (see keyLength). */
const CHAIN_LIMIT = 16;

// Tuple merging: a shape's key uses the prefix lengths rounded down to a multiple of 8 bits
// (16 for IPv6) and capped at 24 (64 for IPv6), so /24, /28 and /32 rules share one hash
// table and host routes open no shape of their own. The protocol is not part of the key, nor
// the destination when the source prefix is selective (16 bits or more, 32 for IPv6). Each
// rule's own prefixes, protocol, ports, ICMP fields, VNI and port are checked on its chain.
// Fewer, wider shapes mean fewer hash probes per packet; CHAIN_LIMIT bounds the walk: a rule
// whose merged chain is full is keyed by its own lengths instead.
// Key length of a prefix: rounded down to 8 bits (16 for IPv6), capped at /24 (/64); the
// uncapped form (for rules whose capped chain is full) keeps /32 but not IPv6 /65-/127, so a
// classifier has at most 5 x 5 IPv4 and 6 x 6 IPv6 shapes: 61, which 64-bit maps hold.
function keyLength(len: number, version: 4 | 6, capped: boolean): number {
  const step = version === 4 ? 8 : 16;
  const cap = Math.min(len - (len % step), version === 4 ? 24 : 64);
  if (capped) return cap;
  return len === (version === 4 ? 32 : 128) ? len : cap;
}

// The first address byte values a prefix allows, as [low, high].
function firstByteRange(p: { words: number[]; masks: number[] }): [number, number] {
  const m = p.masks[0]! >>> 24;
  const b = p.words[0]! >>> 24;
  return [b & m, (b & m) | (~m & 0xff)];
}

/** Compiles checked rules into the core's layout (see assembly/acl.ts). */
export function compileAcl(
  rules: CheckedAclRule[],
  defaultDeny: boolean,
  egressDefaultDeny = defaultDeny,
): Uint8Array {
  // Four classifiers: terminal and non-terminal rules of each direction.
  const groups = [0, 1, 2, 3].map(() => new Map<string, Shape>());
  const records: RuleRecord[] = [];
  for (const rule of rules) {
    const group = groups[(rule.direction === 'egress' ? 2 : 0) + (rule.terminal ? 0 : 1)]!;
    for (const version of rule.version ? [rule.version] : ([4, 6] as const)) {
      const s = wordsOf(rule.src, version);
      const d = wordsOf(rule.dst, version);
      const keyOf = (shape: Shape) => {
        const srcKey = s.words.map((w, i) => (w & shape.srcMasks[i]!) >>> 0);
        const dstKey = d.words.map((w, i) => (w & shape.dstMasks[i]!) >>> 0);
        return { srcKey, dstKey, text: `${srcKey.join(',')}|${dstKey.join(',')}` };
      };
      const shapeOf = (sl: number, dl: number) => {
        const shapeKey = `${version}|${sl}|${dl}`;
        let shape = group.get(shapeKey);
        if (!shape) {
          shape = {
            version,
            srcLen: sl,
            dstLen: dl,
            srcMasks: masksOf(sl, version),
            dstMasks: masksOf(dl, version),
            records: [],
            chains: new Map(),
          };
        }
        return shape;
      };
      // Candidate shapes, widest first: source key alone when it is selective, both keys
      // capped, both keys at the rule's own (rounded) lengths. A rule goes to the first whose
      // chain for its key is shorter than CHAIN_LIMIT, else to the last.
      const sl = keyLength(rule.src?.len ?? 0, version, true);
      const dl = keyLength(rule.dst?.len ?? 0, version, true);
      const options: [number, number][] = [];
      if (dl > 0 && sl >= (version === 4 ? 16 : 32)) options.push([sl, 0]);
      options.push([sl, dl]);
      options.push([
        keyLength(rule.src?.len ?? 0, version, false),
        keyLength(rule.dst?.len ?? 0, version, false),
      ]);
      let shape = shapeOf(...options[options.length - 1]!);
      for (const [a, b] of options) {
        const candidate = shapeOf(a, b);
        if ((candidate.chains.get(keyOf(candidate).text) ?? 0) < CHAIN_LIMIT) {
          shape = candidate;
          break;
        }
      }
      group.set(`${version}|${shape.srcLen}|${shape.dstLen}`, shape);
      const { srcKey, dstKey, text } = keyOf(shape);
      // The core's key hash (assembly/acl.ts shapeHash): multiply-xor chain, a last multiply.
      let h = (0x811c9dc5 ^ version) >>> 0;
      for (let w = 0; w < srcKey.length; w++) {
        h = Math.imul(h ^ srcKey[w]!, 0x9e3779b1) >>> 0;
        h = Math.imul(h ^ dstKey[w]!, 0x85ebca77) >>> 0;
      }
      h = Math.imul(h, 0xc2b2ae3d) >>> 0;
      const record: RuleRecord = { rule, version, src: s, dst: d, hash: h, key: text };
      shape.chains.set(text, (shape.chains.get(text) ?? 0) + 1);
      shape.records.push(record);
      records.push(record);
    }
  }
  // Shapes of each classifier in order of their best rule, so the classifier can stop early.
  const classifiers = groups.map((g) =>
    [...g.values()].sort((x, y) => x.records[0]!.rule.index - y.records[0]!.rule.index),
  );
  const ordered = classifiers.flat();
  // Records are laid out chain by chain (each chain in rule order, contiguous), so that a
  // chain walk reads consecutive memory rather than records scattered over the whole set.
  // A chain holds the records whose keys hash alike (one key, or keys whose hashes collide:
  // every record's own prefixes are checked anyway), so a lookup stops at the first slot
  // with its hash.
  const chains = ordered.map((shape) => {
    const byKey = new Map<number, RuleRecord[]>();
    for (const r of shape.records) {
      const chain = byKey.get(r.hash);
      if (chain) chain.push(r);
      else byKey.set(r.hash, [r]);
    }
    return byKey;
  });
  records.length = 0;
  for (const byKey of chains) for (const chain of byKey.values()) records.push(...chain);
  const recordIndex = new Map<RuleRecord, number>();
  records.forEach((r, i) => recordIndex.set(r, i));
  const next = new Array<number>(records.length).fill(0);
  const tables: { slots: Uint32Array; mask: number }[] = [];
  for (const byKey of chains) {
    const heads: RuleRecord[] = [];
    for (const chain of byKey.values()) {
      heads.push(chain[0]!);
      for (let i = 0; i + 1 < chain.length; i++)
        next[recordIndex.get(chain[i]!)!] = recordIndex.get(chain[i + 1]!)! + 1;
    }
    // At most a quarter full: misses end on an empty slot after one or two probes.
    let size = 4;
    while (size < heads.length * 4) size *= 2;
    const slots = new Uint32Array(size * 2);
    for (const head of heads) {
      // The top bits of the hash (the core's h >>> clz(mask)): the low ones of a product
      // depend only on the low bits of the key words, which /8 and /16 keys leave zero.
      let at = head.hash >>> Math.clz32(size - 1);
      while (slots[at * 2 + 1] !== 0) at = (at + 1) & (size - 1);
      slots[at * 2] = head.hash;
      slots[at * 2 + 1] = recordIndex.get(head)! + 1;
    }
    tables.push({ slots, mask: size - 1 });
  }
  const logRules = (direction: AclDirection) =>
    rules.filter((r) => r.action === 'log' && r.direction === direction).length;
  const shapeOff = 128;
  let off = shapeOff + ordered.length * SHAPE.size;
  const tableOffs = tables.map((t) => {
    const at = off;
    off += t.slots.byteLength;
    return at;
  });
  const ruleOff = (off + 63) & ~63;
  const counterOff = ruleOff + records.length * RULE.size;
  const sampleOff = counterOff + (rules.length + 2) * 16;
  const scratchOff = sampleOff + rules.length * 4;
  const mapsOff = (scratchOff + Math.max(1, logRules('ingress'), logRules('egress')) * 4 + 7) & ~7;
  const total = mapsOff + 4 * MAPS_SIZE;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(HEADER.rules, rules.length, true);
  v.setUint32(HEADER.ruleOff, ruleOff, true);
  v.setUint32(HEADER.counterOff, counterOff, true);
  v.setUint32(HEADER.sampleOff, sampleOff, true);
  v.setUint32(HEADER.scratchOff, scratchOff, true);
  v.setUint32(HEADER.defaults, defaultDeny ? ACTION.deny : ACTION.permit, true);
  v.setUint32(HEADER.defaults + 4, egressDefaultDeny ? ACTION.deny : ACTION.permit, true);
  let first = 0;
  classifiers.forEach((c, k) => {
    v.setUint32(HEADER.classifiers + k * 8, c.length, true);
    v.setUint32(HEADER.classifiers + k * 8 + 4, shapeOff + first * SHAPE.size, true);
    v.setUint32(HEADER.maps + k * 4, mapsOff + k * MAPS_SIZE, true);
    first += c.length;
  });
  ordered.forEach((shape, k) => {
    const s = shapeOff + k * SHAPE.size;
    v.setUint8(s + SHAPE.ver, shape.version);
    v.setUint32(s + SHAPE.minPrio, shape.records[0]!.rule.index, true);
    v.setUint32(s + SHAPE.tableOff, tableOffs[k]!, true);
    v.setUint32(s + SHAPE.tableMask, tables[k]!.mask, true);
    shape.srcMasks.forEach((m, w) => v.setUint32(s + SHAPE.src + w * 4, m, true));
    shape.dstMasks.forEach((m, w) => v.setUint32(s + SHAPE.dst + w * 4, m, true));
    // Maps of the first address bytes and the protocols the shape's rules allow (their own
    // prefixes, not the key's): a packet outside them skips the shape without hashing.
    const mark = (offset: number, lo: number, hi: number) => {
      for (let byte = lo; byte <= hi; byte++) out[s + offset + (byte >> 3)]! |= 1 << (byte & 7);
    };
    for (const r of shape.records) {
      mark(SHAPE.srcFirst, ...firstByteRange(r.src));
      mark(SHAPE.dstFirst, ...firstByteRange(r.dst));
      const proto = r.rule.proto;
      if (proto === null) mark(SHAPE.protos, 0, 255);
      else mark(SHAPE.protos, proto, proto);
    }
    out.set(new Uint8Array(tables[k]!.slots.buffer), tableOffs[k]!);
  });
  // Candidate maps: bit k of a classifier's maps is its shape k (in order of their best rule);
  // a packet ANDs four of them and probes the bits left.
  first = 0;
  classifiers.forEach((c, k) => {
    // At most 25 IPv4 and 36 IPv6 shapes (see keyLength).
    if (c.length > 64) throw new Error(`ACL compiler: ${c.length} shapes in one classifier`);
    const m = mapsOff + k * MAPS_SIZE;
    const setBit = (at: number, bit: number) =>
      v.setUint32(
        at + (bit >> 5) * 4,
        v.getUint32(at + (bit >> 5) * 4, true) | (1 << (bit & 31)),
        true,
      );
    for (let bit = 0; bit < c.length; bit++) {
      const s = shapeOff + (first + bit) * SHAPE.size;
      setBit(m + (c[bit]!.version === 6 ? 8 : 0), bit);
      for (let value = 0; value < 256; value++) {
        const has = (offset: number) =>
          (out[s + offset + (value >> 3)]! & (1 << (value & 7))) !== 0;
        if (has(SHAPE.srcFirst)) setBit(m + 16 + value * 8, bit);
        if (has(SHAPE.dstFirst)) setBit(m + 16 + 2048 + value * 8, bit);
        if (has(SHAPE.protos)) setBit(m + 16 + 4096 + value * 8, bit);
      }
    }
    first += c.length;
  });
  records.forEach((r, i) => {
    const p = ruleOff + i * RULE.size;
    const rule = r.rule;
    v.setUint8(p + RULE.action, ACTION[rule.action]);
    v.setUint8(p + RULE.l4, rule.l4);
    v.setUint8(p + RULE.proto, rule.proto ?? 0);
    v.setUint16(p + RULE.port, rule.port ?? 0, true);
    v.setUint32(p + RULE.vni, rule.vni ?? 0, true);
    v.setUint16(p + RULE.aLo, rule.a[0], true);
    v.setUint16(p + RULE.aHi, rule.a[1], true);
    v.setUint16(p + RULE.bLo, rule.b[0], true);
    v.setUint16(p + RULE.bHi, rule.b[1], true);
    v.setUint32(p + RULE.next, next[i]!, true);
    v.setUint32(p + RULE.sample, rule.sampleEvery, true);
    // Word 0 of each address next to the other fields, IPv6 words 1-3 after them.
    const put = (first: number, rest: number, words: number[]) =>
      words.forEach((w, k) => v.setUint32(p + (k === 0 ? first : rest + (k - 1) * 4), w, true));
    put(RULE.src, RULE.srcRest, r.src.words);
    put(RULE.dst, RULE.dstRest, r.dst.words);
    put(RULE.srcMask, RULE.srcMaskRest, r.src.masks);
    put(RULE.dstMask, RULE.dstMaskRest, r.dst.masks);
    v.setUint8(
      p + RULE.exact,
      (rule.proto !== null ? EXACT_PROTO : 0) |
        (rule.vni !== null ? EXACT_VNI : 0) |
        (rule.port !== null ? EXACT_PORT : 0),
    );
    v.setUint32(p + RULE.prio, rule.index, true);
  });
  return out;
}

/** Shapes of a compiled set (all four classifiers). */
function shapeCount(blob: Uint8Array): number {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  let n = 0;
  for (let k = 0; k < 4; k++) n += v.getUint32(HEADER.classifiers + k * 8, true);
  return n;
}

/** Decodes one record of the core's log ring. */
function decodeLogRecord(v: DataView, bytes: Uint8Array, p: number): AclLogRecord {
  const version = v.getUint8(p + 15) === 6 ? 6 : 4;
  const l4 = v.getUint8(p + 18);
  const a = v.getUint16(p + 20, true);
  const b = v.getUint16(p + 22, true);
  const record: AclLogRecord = {
    rule: v.getUint32(p, true),
    port: v.getUint16(p + 12, true),
    direction: v.getUint8(p + 14) === 1 ? 'egress' : 'ingress',
    time: v.getUint32(p + 4, true),
    ipVersion: version,
    src: formatIp(bytes, p + 32, version),
    dst: formatIp(bytes, p + 48, version),
    proto: v.getUint8(p + 16),
    sport: l4 === L4_PORTS ? a : 0,
    dport: l4 === L4_PORTS ? b : 0,
    length: v.getUint32(p + 8, true),
    action: v.getUint8(p + 17) === ACTION.deny ? 'deny' : 'permit',
  };
  if (l4 === L4_ICMP) {
    record.icmpType = a;
    record.icmpCode = b;
  }
  return record;
}

/**
 * The ACL of the datapath: one ordered rule set (first terminal match wins, a default action
 * per direction) applied to IP packets arriving on ingress-bound ports, before L2/L3, and to
 * unicast packets leaving by egress-bound ports, after L2/L3. Rule sets are compiled and
 * swapped in atomically; every rule counts packets and bytes; `log` rules fill a ring the
 * host drains with `readLog`. Table verbs: `create` (empty set), `free`, `reset`, `add`,
 * `delete`, `lookup`, `lookupBulk`, `iterate`, plus `load` for a whole set.
 */
export class Acl {
  private rules: AclRule[] = [];
  private checked: CheckedAclRule[] = [];
  private defaultAction: 'permit' | 'deny' = 'permit';
  private egressDefaultAction: 'permit' | 'deny' = 'permit';
  private info: AclSetInfo = { rules: 0, shapes: 0, bytes: 0 };
  private active = false;

  /** @internal */
  constructor(private readonly core: AclCoreExports) {}

  /** Compiles `rules` and makes them the active set in one step; hit counters restart at 0. */
  load(rules: readonly AclRule[], opts: AclLoadOptions = {}): AclSetInfo {
    if (!Array.isArray(rules)) throw new DatapathConfigError('rules', 'expected an array of rules');
    const action = opts.defaultAction ?? 'permit';
    const egressAction = opts.egressDefaultAction ?? action;
    for (const [field, value] of [
      ['defaultAction', action],
      ['egressDefaultAction', egressAction],
    ] as const) {
      if (value !== 'permit' && value !== 'deny') {
        throw new DatapathConfigError(
          field,
          `expected permit or deny, got ${JSON.stringify(value)}`,
        );
      }
    }
    const checked = rules.map((r, i) => checkAclRule(r, i));
    const blob = compileAcl(checked, action === 'deny', egressAction === 'deny');
    // Power-of-two blocks: the core's free lists then reuse the memory of earlier sets.
    let bytes = 1024;
    while (bytes < blob.length) bytes *= 2;
    const p = this.core.aclAlloc(bytes);
    if (p === 0) throw new DatapathTableError(`out of memory for an ACL of ${rules.length} rules`);
    new Uint8Array(this.core.memory.buffer, p, blob.length).set(blob);
    this.core.aclActivate(p, bytes);
    this.rules = rules.map((r) => ({ ...r }));
    this.checked = checked;
    this.defaultAction = action;
    this.egressDefaultAction = egressAction;
    this.active = true;
    this.info = { rules: rules.length, shapes: shapeCount(blob), bytes: blob.length };
    return { ...this.info };
  }

  private defaults(): AclLoadOptions {
    return { defaultAction: this.defaultAction, egressDefaultAction: this.egressDefaultAction };
  }

  /** Activates an empty set with default permit (as `load([])`). */
  create(): void {
    this.load([]);
  }
  /** Removes the set: bound ports' packets are no longer classified. */
  free(): void {
    this.core.aclClear();
    this.rules = [];
    this.checked = [];
    this.active = false;
    this.info = { rules: 0, shapes: 0, bytes: 0 };
  }
  /** Removes every rule (the default action stays). */
  reset(): void {
    this.load([], this.defaults());
  }
  /** Inserts a rule at `position` (default: last) and swaps the recompiled set in. */
  add(rule: AclRule, position = this.rules.length): void {
    checkInt(position, 'position', 0, this.rules.length);
    const next = this.rules.slice();
    next.splice(position, 0, rule);
    this.load(next, this.defaults());
  }
  /** Deletes rule `index`; returns whether it existed. */
  delete(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.rules.length) return false;
    const next = this.rules.slice();
    next.splice(index, 1);
    this.load(next, this.defaults());
    return true;
  }
  /** Rule `index` and its hits, or null. */
  lookup(index: number): { rule: AclRule; hits: number } | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.rules.length) return null;
    return { rule: { ...this.rules[index]! }, hits: this.hits().rules[index] ?? 0 };
  }
  /** Several rules at once. */
  lookupBulk(indices: readonly number[]): ({ rule: AclRule; hits: number } | null)[] {
    return indices.map((i) => this.lookup(i));
  }
  /** Visits the rules in order with their hit counters. */
  *iterate(): IterableIterator<{ index: number; rule: AclRule; hits: number }> {
    const hits = this.hits().rules;
    for (let i = 0; i < this.rules.length; i++)
      yield { index: i, rule: { ...this.rules[i]! }, hits: hits[i] ?? 0 };
  }
  /** Shapes, rules and bytes of the active set. */
  get setInfo(): AclSetInfo {
    return { ...this.info };
  }
  /** @internal validated rules, for the reference. */
  get checkedRules(): CheckedAclRule[] {
    return this.checked;
  }
  /**
   * Hits (packets) per rule — for count/log rules every match, for permit/deny the packets
   * they decided — and of the ingress and egress default actions since the set was loaded.
   */
  hits(): { rules: number[]; default: number; egressDefault: number } {
    const c = this.counters();
    return {
      rules: c.rules.map((r) => r.packets),
      default: c.default.packets,
      egressDefault: c.egressDefault.packets,
    };
  }
  /** Packets and bytes per rule and of the two default actions since the set was loaded. */
  counters(): { rules: AclCounter[]; default: AclCounter; egressDefault: AclCounter } {
    const p = this.core.aclActive();
    const zero = { packets: 0, bytes: 0 };
    if (!this.active || p === 0) return { rules: [], default: zero, egressDefault: { ...zero } };
    const v = new DataView(this.core.memory.buffer);
    const counters = p + v.getUint32(p + HEADER.counterOff, true);
    const at = (i: number): AclCounter => ({
      packets: Number(v.getBigUint64(counters + i * 16, true)),
      bytes: Number(v.getBigUint64(counters + i * 16 + 8, true)),
    });
    const n = this.rules.length;
    return { rules: this.rules.map((_, i) => at(i)), default: at(n), egressDefault: at(n + 1) };
  }
  /**
   * Applies (or stops applying) the ACL to packets arriving on `port` (ingress) or to unicast
   * packets forwarded out of it (egress; flooded frames are not filtered per flood port).
   */
  bind(port: number, on = true, direction: AclDirection = 'ingress'): void {
    checkInt(port, 'port', 0, 255);
    if (direction !== 'ingress' && direction !== 'egress') {
      throw new DatapathConfigError(
        'direction',
        `expected ingress or egress, got ${JSON.stringify(direction)}`,
      );
    }
    this.core.aclBind(port, on ? 1 : 0, direction === 'egress' ? 1 : 0);
  }
  /**
   * Drains the log ring: the sampled records of `log` rules since the last call, oldest
   * first (at most ACL_LOG_CAPACITY; records that found the ring full are counted in
   * `logLost`).
   */
  readLog(): AclLogRecord[] {
    const n = this.core.aclLogCount();
    const base = this.core.aclLogBase();
    const out: AclLogRecord[] = [];
    if (n === 0 || base === 0) return out;
    const v = new DataView(this.core.memory.buffer);
    const bytes = new Uint8Array(this.core.memory.buffer);
    for (let i = 0; i < n; i++) out.push(decodeLogRecord(v, bytes, base + i * LOG_RECORD_SIZE));
    this.core.aclLogClear();
    return out;
  }
  /** Log records lost to a full ring since the datapath was created. */
  get logLost(): number {
    return Number(this.core.aclLogLost());
  }
}
