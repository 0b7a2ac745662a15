// Reference per-flow policer: one token bucket per 5-tuple in a bounded table of 4-way
// buckets with least-recently-used eviction, written independently of
// assembly/policerflow.ts (Maps and arrays, string keys). Same integer arithmetic as the port
// policers: milli-bytes, refilled per elapsed millisecond, at most 100 s counted.

import { refChainHash, refWord, type RefFlowKey } from './hash.js';

interface RefFlow {
  key: string;
  tuple: RefFlowKey;
  tokens: number;
  last: number;
  stamp: number;
}

const WAYS = 4;

/** The README's earlier flow hash (a finaliser per word) of a key: address words, protocol, ports. */
export function refFlowKeyHash(k: RefFlowKey): number {
  const words: number[] = [];
  for (const a of [k.src, k.dst]) for (let i = 0; i < a.length; i += 4) words.push(refWord(a, i));
  words.push(k.proto, ((k.sport << 16) | k.dport) >>> 0);
  return refChainHash(words);
}

function keyText(k: RefFlowKey): string {
  return `${k.version}|${Array.from(k.src).join('.')}|${Array.from(k.dst).join('.')}|${k.proto}|${k.sport}|${k.dport}`;
}

/** A port's per-flow policer. */
export class RefFlowPolicer {
  private readonly buckets = new Map<number, RefFlow[]>();
  private clock = 0;
  readonly conform = { packets: 0, bytes: 0 };
  readonly exceed = { packets: 0, bytes: 0 };
  evicted = 0;
  flows = 0;

  constructor(
    readonly rate: number,
    readonly burst: number,
    readonly maxFlows: number,
  ) {}

  /** Charges a packet of `length` bytes to its flow at time `now`; true when it conforms. */
  charge(key: RefFlowKey, length: number, now: number): boolean {
    const text = keyText(key);
    const index = refFlowKeyHash(key) & (this.maxFlows / WAYS - 1);
    let ways = this.buckets.get(index);
    if (!ways) this.buckets.set(index, (ways = []));
    this.clock = (this.clock + 1) >>> 0;
    let flow = ways.find((f) => f.key === text);
    const cap = this.burst * 1000;
    if (!flow) {
      flow = { key: text, tuple: key, tokens: cap, last: now, stamp: this.clock };
      if (ways.length < WAYS) {
        ways.push(flow);
        this.flows++;
      } else {
        // Least recently used: the largest age since its last packet.
        let victim = 0;
        for (let i = 1; i < WAYS; i++) {
          const age = (c: RefFlow) => (this.clock - c.stamp) >>> 0;
          if (age(ways[i]!) > age(ways[victim]!)) victim = i;
        }
        ways[victim] = flow;
        this.evicted++;
      }
    } else {
      const elapsed = Math.min((now - flow.last) >>> 0, 100_000);
      flow.tokens = Math.min(cap, flow.tokens + this.rate * elapsed);
    }
    flow.last = now;
    flow.stamp = this.clock;
    if (flow.tokens >= length * 1000) {
      flow.tokens -= length * 1000;
      this.conform.packets++;
      this.conform.bytes += length;
      return true;
    }
    this.exceed.packets++;
    this.exceed.bytes += length;
    return false;
  }

  /** Every flow held, with its bucket. */
  entries(): { tuple: RefFlowKey; tokensMilli: number; lastMs: number }[] {
    return [...this.buckets.values()].flat().map((f) => ({
      tuple: f.tuple,
      tokensMilli: f.tokens,
      lastMs: f.last,
    }));
  }
}
