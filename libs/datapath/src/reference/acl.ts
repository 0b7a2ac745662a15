// Reference ACL: the validated rules scanned in order, first match wins — the plain reading
// of the rule semantics that the core's tuple-space classifier must agree with.
import type { CheckedAclRule } from '../acl.js';

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
  inPort: number;
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

/** Index of the first rule matching `p`, or -1. */
export function referenceAclMatch(rules: readonly CheckedAclRule[], p: AclPacket): number {
  for (const r of rules) {
    if (r.version !== null && r.version !== p.version) continue;
    if (!prefixMatches(r.src, p.src) || !prefixMatches(r.dst, p.dst)) continue;
    if (r.proto !== null && r.proto !== p.proto) continue;
    if (r.vni !== null && r.vni !== p.vni) continue;
    if (r.inPort !== null && r.inPort !== p.inPort) continue;
    if (r.l4 !== 0) {
      if (p.l4 !== r.l4) continue;
      if (p.a < r.a[0] || p.a > r.a[1] || p.b < r.b[0] || p.b > r.b[1]) continue;
    }
    return r.index;
  }
  return -1;
}
