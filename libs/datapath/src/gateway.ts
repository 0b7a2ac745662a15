// Host side of the gateway stage: SVI addresses per bridge (a MAC, a few IPv4 and IPv6
// addresses) answered with ARP replies and Neighbor Advertisements, with the table verbs.
import ipaddr from 'ipaddr.js';
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import { formatMac, macKey, parseMac } from './net.js';
import type { CoreMemory } from './core/load.js';

/** Exports of the core used by the gateways (see assembly/gateway.ts). */
export interface GatewayCoreExports {
  memory: CoreMemory;
  gwSet(bridge: number, mac: bigint): number;
  gwAddIpv4(bridge: number, addr: number): number;
  gwAddIpv6(bridge: number, hi: bigint, lo: bigint): number;
  gwDelete(bridge: number): number;
  gwReset(): void;
  gwEntryPtr(bridge: number): number;
}

/** Addresses per family a bridge gateway may have. */
export const MAX_GATEWAY_ADDRESSES = 4;

/** A bridge's gateway (SVI). */
export interface BridgeGatewayOptions {
  /** Source MAC of the replies (the gateway's MAC). */
  mac: string;
  /** IPv4 addresses answered with ARP replies. */
  ipv4?: string[];
  /** IPv6 addresses answered with Neighbor Advertisements. */
  ipv6?: string[];
}

/** A bridge's gateway with its reply counters. */
export interface BridgeGatewayState {
  mac: string;
  ipv4: string[];
  ipv6: string[];
  arpReplies: number;
  ndReplies: number;
}

const ENTRY = { n4: 1, n6: 2, mac: 8, v4: 16, v6: 32, arpReplies: 96, naReplies: 104 };

/** Validated gateway options: addresses as bytes (throws DatapathConfigError naming the field). */
export function checkGateway(opts: BridgeGatewayOptions): {
  mac: Uint8Array;
  ipv4: Uint8Array[];
  ipv6: Uint8Array[];
} {
  if (typeof opts !== 'object' || opts === null)
    throw new DatapathConfigError('gateway', 'expected {mac, ipv4?, ipv6?} or null');
  const mac = parseMac(opts.mac, 'mac');
  if ((mac[0]! & 1) === 1) throw new DatapathConfigError('mac', 'must be a unicast MAC');
  const list = (value: unknown, field: 'ipv4' | 'ipv6'): Uint8Array[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.length > MAX_GATEWAY_ADDRESSES)
      throw new DatapathConfigError(
        field,
        `expected an array of at most ${MAX_GATEWAY_ADDRESSES} addresses`,
      );
    return value.map((text: unknown, i) => {
      const name = `${field}[${i}]`;
      const kind = field === 'ipv4' ? 'ipv4' : 'ipv6';
      if (typeof text !== 'string' || !ipaddr.isValid(text) || ipaddr.parse(text).kind() !== kind)
        throw new DatapathConfigError(name, `expected an ${field.toUpperCase()} address`);
      const addr = ipaddr.parse(text);
      const range = addr.range();
      if (['unspecified', 'multicast', 'broadcast', 'loopback'].includes(range))
        throw new DatapathConfigError(name, `${text} is a ${range} address`);
      return Uint8Array.from(addr.toByteArray());
    });
  };
  return { mac, ipv4: list(opts.ipv4, 'ipv4'), ipv6: list(opts.ipv6, 'ipv6') };
}

function bytesToBig(b: Uint8Array, from: number): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[from + i] ?? 0);
  return v;
}

/**
 * Gateways (SVIs) of the bridges, one per bridge, with the table verbs (create, free,
 * reset, add, delete, lookup, lookupBulk, iterate).
 */
export class GatewayTable {
  /** @internal */
  constructor(private readonly core: GatewayCoreExports) {}

  /** Removes every gateway (as `reset`). */
  create(): void {
    this.core.gwReset();
  }
  /** Removes every gateway. */
  free(): void {
    this.core.gwReset();
  }
  /** Removes every gateway. */
  reset(): void {
    this.core.gwReset();
  }
  /** Sets the gateway of `bridge` (replacing its addresses; reply counters kept). */
  add(bridge: number, opts: BridgeGatewayOptions): void {
    checkInt(bridge, 'bridge', 0, 255);
    const g = checkGateway(opts);
    const fail = () => {
      throw new DatapathTableError(`out of memory for the gateway of bridge ${bridge}`);
    };
    if (this.core.gwSet(bridge, macKey(0, g.mac)) !== 0) fail();
    for (const a of g.ipv4) {
      const v = ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
      if (this.core.gwAddIpv4(bridge, v) !== 0) fail();
    }
    for (const a of g.ipv6)
      if (this.core.gwAddIpv6(bridge, bytesToBig(a, 0), bytesToBig(a, 8)) !== 0) fail();
  }
  /** Removes the gateway of `bridge` and its counters; returns whether it had one. */
  delete(bridge: number): boolean {
    checkInt(bridge, 'bridge', 0, 255);
    return this.core.gwDelete(bridge) === 0;
  }
  /** The gateway of `bridge` with its reply counters, or null. */
  lookup(bridge: number): BridgeGatewayState | null {
    checkInt(bridge, 'bridge', 0, 255);
    const p = this.core.gwEntryPtr(bridge);
    if (p === 0) return null;
    const bytes = new Uint8Array(this.core.memory.buffer);
    const v = new DataView(this.core.memory.buffer);
    const ipv4: string[] = [];
    for (let i = 0; i < v.getUint8(p + ENTRY.n4); i++)
      ipv4.push(
        Array.from(bytes.subarray(p + ENTRY.v4 + 4 * i, p + ENTRY.v4 + 4 * i + 4)).join('.'),
      );
    const ipv6: string[] = [];
    for (let i = 0; i < v.getUint8(p + ENTRY.n6); i++) {
      const at = p + ENTRY.v6 + 16 * i;
      ipv6.push(ipaddr.fromByteArray(Array.from(bytes.subarray(at, at + 16))).toString());
    }
    return {
      mac: formatMac(bytes, p + ENTRY.mac),
      ipv4,
      ipv6,
      arpReplies: Number(v.getBigUint64(p + ENTRY.arpReplies, true)),
      ndReplies: Number(v.getBigUint64(p + ENTRY.naReplies, true)),
    };
  }
  /** Several bridges' gateways at once. */
  lookupBulk(bridges: readonly number[]): (BridgeGatewayState | null)[] {
    return bridges.map((b) => this.lookup(b));
  }
  /** Visits every gateway in bridge order. */
  *iterate(): IterableIterator<{ bridge: number; gateway: BridgeGatewayState }> {
    for (let bridge = 0; bridge < 256; bridge++) {
      const gateway = this.lookup(bridge);
      if (gateway) yield { bridge, gateway };
    }
  }
}
