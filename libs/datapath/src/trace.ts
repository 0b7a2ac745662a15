// Trace formatters: one per stage, turning the two numbers a stage records per traced packet
// into text. A new stage adds its formatter here under its registered name.

/** Context a formatter may use. */
export interface TraceFormatContext {
  dropName(code: number): string;
}

import { formatConntrackTrace } from './conntrack.js';

type TraceFormatter = (a: number, b: number, ctx: TraceFormatContext) => string;

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

const ACL_ACTIONS = ['permit', 'deny', 'count', 'log', 'permit-stateful'];

// ACL trace words: A the deciding rule (0xffffffff: the default); B its action in the low
// byte, the number of count/log rules that matched before it in bits 8-14, whether the first
// of those is a log rule in bit 15 and its index in the high 16 bits (0xffff: none).
function aclTrace(a: number, b: number): string {
  const action = ACL_ACTIONS[b & 0xff] ?? `action ${b & 0xff}`;
  const decision = `${a === 0xffffffff ? 'default' : `rule ${a}`} ${action}`;
  const matched = (b >>> 8) & 0x7f;
  const first = b >>> 16;
  if (matched === 0 || first === 0xffff) return decision;
  const more = matched > 1 ? ` (+${matched - 1})` : '';
  return `rule ${first} ${(b & 0x8000) !== 0 ? 'log' : 'count'}${more}, ${decision}`;
}

const formatters: Record<string, TraceFormatter> = {
  parse: (a) => `ethertype ${hex4(a & 0xffff)} proto ${(a >>> 16) & 0xff}`,
  'vxlan-decap': (a, b) => (a === 0xffffffff ? `vni ${b}: no tunnel` : `vni ${b}: tunnel ${a}`),
  l2: (a, b) => `bridge ${a === 0xffff ? 'none' : a} dst ${b === 0xffff ? 'miss' : `port ${b}`}`,
  policer: (a, b) => {
    const kind = b >>> 1 === 1 ? 'flow policer port' : b >>> 1 === 2 ? 'bridge policer' : 'policer';
    return `${kind} ${a === 0xffffffff ? 'none' : a} ${(b & 1) === 1 ? 'conform' : 'exceed'}`;
  },
  gateway: (a, b) =>
    `bridge ${a} ` +
    (b === 1 ? 'arp reply' : b === 2 ? 'na reply' : b === 3 ? 'invalid ns: to l2' : 'to l2'),
  acl: (a, b) => aclTrace(a, b),
  'acl-egress': (a, b) => `egress ${aclTrace(a, b)}`,
  conntrack: (a) => formatConntrackTrace(a),
  l3: (a, b) =>
    b === 0xfffffffd
      ? 'arp reply'
      : b === 0xfffffffb
        ? 'ipv6 to l3v6'
        : `dst ${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff} ` +
          (b === 0xffffffff
            ? 'no route'
            : b === 0xfffffffe
              ? 'icmp time-exceeded'
              : b === 0xfffffffc
                ? 'icmp frag-needed'
                : `next-hop ${b}`),
  l3v6: (a, b) =>
    `dst ${(a >>> 16).toString(16)}:${(a & 0xffff).toString(16)}:… ` +
    (b === 0xffffffff
      ? 'no route'
      : b === 0xfffffffe
        ? 'icmpv6 time-exceeded'
        : b === 0xfffffffd
          ? 'neighbor advertisement'
          : b === 0xfffffffc
            ? 'not routed'
            : b === 0xfffffffb
              ? 'icmpv6 packet-too-big'
              : `next-hop ${b}`),
  'vxlan-encap': (a, b) => `tunnel ${a} vni ${b}`,
  tx: (a, b) => (b === 2 ? `flood copies ${a}` : b === 1 ? `port ${a}` : `verdict ${b}`),
  drop: (a, _b, ctx) => `reason ${ctx.dropName(a)}`,
};

/** Formats one trace record of stage `stage`. */
export function formatTraceRecord(
  stage: string,
  a: number,
  b: number,
  ctx: TraceFormatContext,
): string {
  const f = formatters[stage];
  return f ? f(a, b, ctx) : `a=${a} b=${b}`;
}
