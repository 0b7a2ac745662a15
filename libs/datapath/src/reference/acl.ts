// Reference ACL: the validated rules scanned in order — the plain reading of the rule
// semantics that the core's tuple-space classifiers must agree with. Rules of the other
// direction are skipped; count/log rules that match are collected and the scan goes on; the
// first matching permit/deny rule ends it.
import type { AclDirection, CheckedAclRule } from '../acl.js';

/** What the ACL looks at in a packet. */
export interface AclPacket {
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  proto: number;
  /** 1: TCP/UDP ports in a/b; 2: ICMP type/code in a/b; 0: neither. */
  l4: 0 | 1 | 2;
  a: number;
  b: number;
  vni: number | null;
  /** Ingress port (ingress rules) or egress port (egress rules). */
  port: number;
}

function prefixMatches(p: CheckedAclRule['src'], addr: Uint8Array): boolean {
  if (!p) return true;
  for (let bit = 0; bit < p.len; bit++) {
    const byte = bit >> 3;
    const want = (p.words[byte >> 2]! >>> (31 - (bit % 32))) & 1;
    const got = (addr[byte]! >> (7 - (bit % 8))) & 1;
    if (want !== got) return false;
  }
  return true;
}

function ruleMatches(r: CheckedAclRule, p: AclPacket): boolean {
  if (r.version !== null && r.version !== p.version) return false;
  if (!prefixMatches(r.src, p.src) || !prefixMatches(r.dst, p.dst)) return false;
  if (r.proto !== null && r.proto !== p.proto) return false;
  if (r.vni !== null && r.vni !== p.vni) return false;
  if (r.port !== null && r.port !== p.port) return false;
  if (r.l4 !== 0) {
    if (p.l4 !== r.l4) return false;
    if (p.a < r.a[0] || p.a > r.a[1] || p.b < r.b[0] || p.b > r.b[1]) return false;
  }
  return true;
}

/** The outcome of one packet: the deciding rule (-1: the default) and the count/log rules. */
export interface AclEvaluation {
  terminal: number;
  /** Indices of the count/log rules that matched before the deciding rule, in rule order. */
  matched: number[];
}

/** Scans the rules of `direction` in order for packet `p`. */
export function referenceAclEvaluate(
  rules: readonly CheckedAclRule[],
  p: AclPacket,
  direction: AclDirection = 'ingress',
): AclEvaluation {
  const matched: number[] = [];
  for (const r of rules) {
    if (r.direction !== direction || !ruleMatches(r, p)) continue;
    if (r.terminal) return { terminal: r.index, matched };
    matched.push(r.index);
  }
  return { terminal: -1, matched };
}

/** Index of the first permit/deny rule of `direction` matching `p`, or -1. */
export function referenceAclMatch(
  rules: readonly CheckedAclRule[],
  p: AclPacket,
  direction: AclDirection = 'ingress',
): number {
  return referenceAclEvaluate(rules, p, direction).terminal;
}
