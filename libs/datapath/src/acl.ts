// Host side of the ACL stage: validates ordered rule sets and compiles them into the block the
// core classifies with (tuple-space search, see assembly/acl.ts), then activates it with one
// store. The layout written here mirrors the constants at the top of assembly/acl.ts.
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import { parseIp } from './net.js';
import type { CoreMemory } from './core/load.js';

/** Exports of the core used by the ACL (see assembly/acl.ts). */
export interface AclCoreExports {
  memory: CoreMemory;
  aclAlloc(bytes: number): number;
  aclActivate(ptr: number, bytes: number): void;
  aclClear(): void;
  aclActive(): number;
  aclBind(port: number, on: number): void;
}

/** One ACL rule. Absent fields match anything; a rule matches when every field does. */
export interface AclRule {
  /** `permit-stateful` also opens a connection-tracking flow so that return traffic passes. */
  action: 'permit' | 'deny' | 'permit-stateful';
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
  /** Ingress port. */
  inPort?: number;
}

/** Options of `Acl.load`. */
export interface AclLoadOptions {
  /** Action when no rule matches (default permit). */
  defaultAction?: 'permit' | 'deny';
}

/** What a compiled set looks like. */
export interface AclSetInfo {
  rules: number;
  /** Distinct rule shapes: the classifier probes at most one hash table per shape. */
  shapes: number;
  /** Bytes of the compiled set in the core. */
  bytes: number;
}

const ACTION = { permit: 0, deny: 1, 'permit-stateful': 2 } as const;
const L4_PORTS = 1;
const L4_ICMP = 2;
const EXACT_PROTO = 1;
const EXACT_VNI = 2;
const EXACT_PORT = 4;
const HEADER = { shapes: 0, rules: 4, defaultAction: 8, shapeOff: 12, ruleOff: 16, counterOff: 20 };
const SHAPE = {
  size: 112,
  ver: 0,
  protoExact: 1,
  minPrio: 4,
  tableOff: 8,
  tableMask: 12,
  src: 16,
  dst: 32,
  srcFirst: 48,
  dstFirst: 80,
};
const RULE = {
  size: 96,
  action: 0,
  l4: 1,
  proto: 2,
  exact: 3,
  inPort: 4,
  vni: 8,
  aLo: 12,
  aHi: 14,
  bLo: 16,
  bHi: 18,
  next: 20,
  prio: 24,
  src: 32,
  dst: 48,
  srcMask: 64,
  dstMask: 80,
};

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

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
  deny: boolean;
  /** Action permit-stateful: the match opens a connection-tracking flow. */
  stateful: boolean;
  version: 4 | 6 | null;
  src: Prefix | null;
  dst: Prefix | null;
  proto: number | null;
  l4: 0 | 1 | 2;
  a: [number, number];
  b: [number, number];
  vni: number | null;
  inPort: number | null;
}

/** Validates one rule; errors name the field (`rules[i].dport`). */
export function checkAclRule(rule: AclRule, index: number): CheckedAclRule {
  const at = `rules[${index}]`;
  if (typeof rule !== 'object' || rule === null)
    throw new DatapathConfigError(at, 'expected a rule object');
  if (rule.action !== 'permit' && rule.action !== 'deny' && rule.action !== 'permit-stateful') {
    throw new DatapathConfigError(
      `${at}.action`,
      `expected permit, deny or permit-stateful, got ${JSON.stringify(rule.action)}`,
    );
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
    deny: rule.action === 'deny',
    stateful: rule.action === 'permit-stateful',
    version: src?.version ?? dst?.version ?? null,
    src,
    dst,
    proto,
    l4,
    a,
    b,
    vni: rule.vni === undefined ? null : checkInt(rule.vni, `${at}.vni`, 0, 0xffffff),
    inPort: rule.inPort === undefined ? null : checkInt(rule.inPort, `${at}.inPort`, 0, 255),
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
  protoExact: boolean;
  srcMasks: number[];
  dstMasks: number[];
  records: RuleRecord[];
}

function wordsOf(p: Prefix | null, version: 4 | 6): { words: number[]; masks: number[] } {
  const n = version === 4 ? 1 : 4;
  if (!p) return { words: new Array<number>(n).fill(0), masks: new Array<number>(n).fill(0) };
  return { words: p.words, masks: p.masks };
}

// Tuple merging: a shape's key uses the prefix lengths rounded down to a multiple of 8 bits
// (16 for IPv6), so /24, /28 and /32 rules share one hash table and fewer tables are probed;
// each rule's own prefix is checked on its chain.
function keyMasks(p: Prefix | null, version: 4 | 6): number[] {
  const step = version === 4 ? 8 : 16;
  const len = p ? p.len - (p.len % step) : 0;
  const out: number[] = [];
  for (let w = 0; w < (version === 4 ? 1 : 4); w++) {
    const bits = Math.max(0, Math.min(32, len - 32 * w));
    out.push(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  }
  return out;
}

/** Compiles checked rules into the core's layout (see assembly/acl.ts). */
export function compileAcl(rules: CheckedAclRule[], defaultDeny: boolean): Uint8Array {
  const shapes = new Map<string, Shape>();
  const records: RuleRecord[] = [];
  for (const rule of rules) {
    for (const version of rule.version ? [rule.version] : ([4, 6] as const)) {
      const s = wordsOf(rule.src, version);
      const d = wordsOf(rule.dst, version);
      const sk = keyMasks(rule.src, version);
      const dk = keyMasks(rule.dst, version);
      const srcKey = s.words.map((w, i) => (w & sk[i]!) >>> 0);
      const dstKey = d.words.map((w, i) => (w & dk[i]!) >>> 0);
      const protoExact = rule.proto !== null;
      // The core's key hash (assembly/acl.ts): multiply-xor chain, one finaliser.
      let h = (0x811c9dc5 ^ version) >>> 0;
      for (let w = 0; w < srcKey.length; w++) {
        h = Math.imul(h ^ srcKey[w]!, 0x9e3779b1) >>> 0;
        h = Math.imul(h ^ dstKey[w]!, 0x85ebca77) >>> 0;
      }
      h = fmix32(Math.imul(h ^ (rule.proto ?? 0), 0xc2b2ae3d) >>> 0);
      const shapeKey = `${version}|${sk.join(',')}|${dk.join(',')}|${protoExact}`;
      let shape = shapes.get(shapeKey);
      if (!shape) {
        shape = { version, protoExact, srcMasks: sk, dstMasks: dk, records: [] };
        shapes.set(shapeKey, shape);
      }
      const record: RuleRecord = {
        rule,
        version,
        src: s,
        dst: d,
        hash: h,
        key: `${srcKey.join(',')}|${dstKey.join(',')}|${rule.proto ?? 0}`,
      };
      shape.records.push(record);
      records.push(record);
    }
  }
  // Shapes in order of their best rule, so the classifier can stop early.
  const ordered = [...shapes.values()].sort(
    (x, y) => x.records[0]!.rule.index - y.records[0]!.rule.index,
  );
  const recordIndex = new Map<RuleRecord, number>();
  records.forEach((r, i) => recordIndex.set(r, i));
  const next = new Array<number>(records.length).fill(0);
  const tables: { slots: Uint32Array; mask: number }[] = [];
  for (const shape of ordered) {
    // One chain per masked key, in rule order (records are already in rule order).
    const heads = new Map<string, RuleRecord>();
    const tails = new Map<string, RuleRecord>();
    for (const r of shape.records) {
      const tail = tails.get(r.key);
      if (tail) next[recordIndex.get(tail)!] = recordIndex.get(r)! + 1;
      else heads.set(r.key, r);
      tails.set(r.key, r);
    }
    let size = 2;
    while (size < heads.size * 2) size *= 2;
    const slots = new Uint32Array(size * 2);
    for (const head of heads.values()) {
      let at = head.hash & (size - 1);
      while (slots[at * 2 + 1] !== 0) at = (at + 1) & (size - 1);
      slots[at * 2] = head.hash;
      slots[at * 2 + 1] = recordIndex.get(head)! + 1;
    }
    tables.push({ slots, mask: size - 1 });
  }
  const shapeOff = 64;
  let off = shapeOff + ordered.length * SHAPE.size;
  const tableOffs = tables.map((t) => {
    const at = off;
    off += t.slots.byteLength;
    return at;
  });
  const ruleOff = (off + 63) & ~63;
  const counterOff = ruleOff + records.length * RULE.size;
  const total = counterOff + (rules.length + 1) * 8;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(HEADER.shapes, ordered.length, true);
  v.setUint32(HEADER.rules, rules.length, true);
  v.setUint32(HEADER.defaultAction, defaultDeny ? ACTION.deny : ACTION.permit, true);
  v.setUint32(HEADER.shapeOff, shapeOff, true);
  v.setUint32(HEADER.ruleOff, ruleOff, true);
  v.setUint32(HEADER.counterOff, counterOff, true);
  ordered.forEach((shape, k) => {
    const s = shapeOff + k * SHAPE.size;
    v.setUint8(s + SHAPE.ver, shape.version);
    v.setUint8(s + SHAPE.protoExact, shape.protoExact ? 1 : 0);
    v.setUint32(s + SHAPE.minPrio, shape.records[0]!.rule.index, true);
    v.setUint32(s + SHAPE.tableOff, tableOffs[k]!, true);
    v.setUint32(s + SHAPE.tableMask, tables[k]!.mask, true);
    shape.srcMasks.forEach((m, w) => v.setUint32(s + SHAPE.src + w * 4, m, true));
    shape.dstMasks.forEach((m, w) => v.setUint32(s + SHAPE.dst + w * 4, m, true));
    // First-byte maps: a packet whose first address byte no key has skips the shape.
    const firstBytes = (offset: number, words: (r: RuleRecord) => number[], masks: number[]) => {
      const all = masks[0]! >>> 24 !== 0xff;
      for (let byte = 0; byte < 256; byte++) {
        const present = all || shape.records.some((r) => words(r)[0]! >>> 24 === byte);
        if (present) out[s + offset + (byte >> 3)]! |= 1 << (byte & 7);
      }
    };
    firstBytes(SHAPE.srcFirst, (r) => r.src.words, shape.srcMasks);
    firstBytes(SHAPE.dstFirst, (r) => r.dst.words, shape.dstMasks);
    out.set(new Uint8Array(tables[k]!.slots.buffer), tableOffs[k]!);
  });
  records.forEach((r, i) => {
    const p = ruleOff + i * RULE.size;
    const rule = r.rule;
    v.setUint8(
      p + RULE.action,
      rule.deny ? ACTION.deny : rule.stateful ? ACTION['permit-stateful'] : ACTION.permit,
    );
    v.setUint8(p + RULE.l4, rule.l4);
    v.setUint8(p + RULE.proto, rule.proto ?? 0);
    v.setUint16(p + RULE.inPort, rule.inPort ?? 0, true);
    v.setUint32(p + RULE.vni, rule.vni ?? 0, true);
    v.setUint16(p + RULE.aLo, rule.a[0], true);
    v.setUint16(p + RULE.aHi, rule.a[1], true);
    v.setUint16(p + RULE.bLo, rule.b[0], true);
    v.setUint16(p + RULE.bHi, rule.b[1], true);
    v.setUint32(p + RULE.next, next[i]!, true);
    r.src.words.forEach((w, k) => v.setUint32(p + RULE.src + k * 4, w, true));
    r.dst.words.forEach((w, k) => v.setUint32(p + RULE.dst + k * 4, w, true));
    r.src.masks.forEach((m, k) => v.setUint32(p + RULE.srcMask + k * 4, m, true));
    r.dst.masks.forEach((m, k) => v.setUint32(p + RULE.dstMask + k * 4, m, true));
    v.setUint8(
      p + RULE.exact,
      (rule.proto !== null ? EXACT_PROTO : 0) |
        (rule.vni !== null ? EXACT_VNI : 0) |
        (rule.inPort !== null ? EXACT_PORT : 0),
    );
    v.setUint32(p + RULE.prio, rule.index, true);
  });
  return out;
}

/**
 * The ACL of the datapath: one ordered rule set (first match wins, a default action) applied
 * to IP packets arriving on bound ports, before L2/L3. Rule sets are compiled and swapped in
 * atomically; every rule has a hit counter. Table verbs: `create` (empty set), `free`,
 * `reset`, `add`, `delete`, `lookup`, `lookupBulk`, `iterate`, plus `load` for a whole set.
 */
export class Acl {
  private rules: AclRule[] = [];
  private checked: CheckedAclRule[] = [];
  private defaultAction: 'permit' | 'deny' = 'permit';
  private info: AclSetInfo = { rules: 0, shapes: 0, bytes: 0 };
  private active = false;

  /** @internal */
  constructor(private readonly core: AclCoreExports) {}

  /** Compiles `rules` and makes them the active set in one step; hit counters restart at 0. */
  load(rules: readonly AclRule[], opts: AclLoadOptions = {}): AclSetInfo {
    if (!Array.isArray(rules)) throw new DatapathConfigError('rules', 'expected an array of rules');
    const action = opts.defaultAction ?? 'permit';
    if (action !== 'permit' && action !== 'deny') {
      throw new DatapathConfigError(
        'defaultAction',
        `expected permit or deny, got ${JSON.stringify(action)}`,
      );
    }
    const checked = rules.map((r, i) => checkAclRule(r, i));
    const blob = compileAcl(checked, action === 'deny');
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
    this.active = true;
    const shapes = new DataView(blob.buffer).getUint32(HEADER.shapes, true);
    this.info = { rules: rules.length, shapes, bytes: blob.length };
    return { ...this.info };
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
    this.load([], { defaultAction: this.defaultAction });
  }
  /** Inserts a rule at `position` (default: last) and swaps the recompiled set in. */
  add(rule: AclRule, position = this.rules.length): void {
    checkInt(position, 'position', 0, this.rules.length);
    const next = this.rules.slice();
    next.splice(position, 0, rule);
    this.load(next, { defaultAction: this.defaultAction });
  }
  /** Deletes rule `index`; returns whether it existed. */
  delete(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.rules.length) return false;
    const next = this.rules.slice();
    next.splice(index, 1);
    this.load(next, { defaultAction: this.defaultAction });
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
  /** Hits per rule and of the default action since the set was loaded. */
  hits(): { rules: number[]; default: number } {
    const p = this.core.aclActive();
    if (!this.active || p === 0) return { rules: [], default: 0 };
    const v = new DataView(this.core.memory.buffer);
    const counters = p + v.getUint32(p + HEADER.counterOff, true);
    const rules: number[] = [];
    for (let i = 0; i < this.rules.length; i++)
      rules.push(Number(v.getBigUint64(counters + i * 8, true)));
    return { rules, default: Number(v.getBigUint64(counters + this.rules.length * 8, true)) };
  }
  /** Applies (or stops applying) the ACL to packets arriving on `port`. */
  bind(port: number, on = true): void {
    checkInt(port, 'port', 0, 255);
    this.core.aclBind(port, on ? 1 : 0);
  }
}
