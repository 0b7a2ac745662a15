// Host side of the WebAssembly datapath: owns one core instance, programs its tables, moves
// batches of frames in and out of the buffer pool and reads counters and traces.
import {
  Desc,
  Layer,
  NONE16,
  L4_PORTS,
  L4_ICMP,
  Flag,
  VerdictCode,
  MAX_PORTS,
  MAX_BRIDGES,
  MAX_TUNNELS,
  PortEntry,
  PortKind,
  BridgeEntry,
  TunnelEntry,
  PORT_COUNTERS,
  BRIDGE_COUNTERS,
  STAGE_COUNTERS,
  TRACE_RECORD_SIZE,
  MAC_ENTRY,
  LayoutIndex,
} from './core/abi.js';
import { instantiateCore, readCoreString, type CoreExports } from './core/load.js';
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import { parseMac, parseIp, macKey, formatMac } from './net.js';
import { formatTraceRecord } from './trace.js';
import { Ipv4RouteTable, NextHopTable, MAX_VRFS, parseIpv4 } from './routes.js';
import { Acl } from './acl.js';
import { PolicerTable } from './policers.js';
import { ConnTrackTable } from './conntrack.js';
import { Ipv6RouteTable, parseIpv6, setPortAddress6 } from './routes6.js';
import { GatewayTable, type BridgeGatewayOptions } from './gateway.js';
import type {
  FrameIn,
  PacketResult,
  Verdict,
  CountersSnapshot,
  StageCounters,
  BridgeOptions,
  PortOptions,
  VxlanTunnelOptions,
  ParseResult,
  ParsedLayer,
  PortCounters,
  BridgeCounters,
} from './types.js';

/** Options of `createDatapath`. */
export interface DatapathOptions {
  /** Packets per `process` call into the core (default 256). */
  batchSize?: number;
  /** Buffer pool slots (default: batchSize). */
  poolSize?: number;
  /** Largest frame a slot holds, in bytes (default 2048; at most 262144). */
  frameCapacity?: number;
  /** MAC table buckets as a power of two (default 14: 16384 buckets, 65536 entries). */
  macBucketsLog2?: number;
}

/** One trace record: what one stage decided for one traced packet. */
export interface TraceRecord {
  /** Sequence number of the traced packet (1-based since the datapath was created). */
  packet: number;
  stage: string;
  next: string | null;
  verdict: Verdict;
  drop: string | null;
  /** Stage-specific text from the stage's trace formatter. */
  detail: string;
}

/** A MAC table entry as iterated. */
export interface MacEntry {
  bridge: number;
  mac: string;
  port: number;
  static: boolean;
  lastSeenMs: number;
}

/** The stage graph as registered in the core. */
export interface StageInfo {
  id: number;
  name: string;
  next: string[];
}

const VERDICTS: Verdict[] = ['pass', 'forward', 'flood', 'drop'];
const ALL_STAGES = 0xffff;
const NO_COUNTERS = 1 << 31;

/**
 * What `processSlots` runs: every stage; only parse (and drop), counting as traffic; or only
 * parse without touching any counter (inspection).
 */
export type RunMode = 'all' | 'parse' | 'inspect';

/**
 * Pipeline time: any non-negative millisecond clock (Date.now() included). The core keeps it
 * modulo 2^32 and compares times wrap-safely, which is exact for intervals under 49 days.
 */
function checkNow(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new DatapathConfigError(
      field,
      `expected a non-negative time in ms, got ${String(value)}`,
    );
  }
  return Math.floor(value) >>> 0;
}

/**
 * MAC table of the L2 stage, with the table verbs shared by every datapath table
 * (create, free, reset, add, delete, lookup, lookupBulk, iterate) plus `age`.
 */
export class MacTable {
  /** @internal */
  constructor(private readonly dp: Datapath) {}

  /** Re-creates the table empty with 2^log2 buckets (4 entries each). */
  create(bucketsLog2: number): void {
    if (this.dp.core.macCreate(checkInt(bucketsLog2, 'bucketsLog2', 0, 22)) !== 0) {
      throw new DatapathConfigError(
        'bucketsLog2',
        'larger than the size reserved at createDatapath',
      );
    }
  }
  /** Releases the table: lookups miss and adds fail until `create`. */
  free(): void {
    this.dp.core.macFree();
  }
  /** Removes every entry. */
  reset(): void {
    this.dp.core.macReset();
  }
  /** Number of entries. */
  get size(): number {
    return this.dp.core.macCount();
  }
  /** Entries the table can hold at most. */
  get capacity(): number {
    return this.dp.core.macCapacity();
  }
  /** Adds or updates an entry; static entries never move or age. Throws when full. */
  add(
    bridge: number,
    mac: string,
    port: number,
    opts: { static?: boolean; nowMs?: number } = {},
  ): void {
    checkInt(bridge, 'bridge', 0, MAX_BRIDGES - 1);
    checkInt(port, 'port', 0, MAX_PORTS - 1);
    const key = macKey(bridge, parseMac(mac, 'mac'));
    if (
      this.dp.core.macAdd(key, port, opts.static ? 1 : 0, checkNow(opts.nowMs ?? 0, 'nowMs')) < 0
    ) {
      throw new DatapathTableError(`MAC table full: cannot add ${mac} on bridge ${bridge}`);
    }
  }
  /** Deletes an entry; returns whether it existed. */
  delete(bridge: number, mac: string): boolean {
    checkInt(bridge, 'bridge', 0, MAX_BRIDGES - 1);
    return this.dp.core.macDelete(macKey(bridge, parseMac(mac, 'mac'))) === 1;
  }
  /** Port of an entry, or null. */
  lookup(bridge: number, mac: string): number | null {
    checkInt(bridge, 'bridge', 0, MAX_BRIDGES - 1);
    const port = this.dp.core.macLookup(macKey(bridge, parseMac(mac, 'mac')));
    return port < 0 ? null : port;
  }
  /** Looks up many (bridge, MAC) pairs in one call into the core. */
  lookupBulk(keys: { bridge: number; mac: string }[]): (number | null)[] {
    const out: (number | null)[] = [];
    const scratch = this.dp.scratch();
    for (let start = 0; start < keys.length; start += scratch.keys) {
      const chunk = keys.slice(start, start + scratch.keys);
      const view = new DataView(this.dp.core.memory.buffer);
      chunk.forEach((k, i) => {
        checkInt(k.bridge, `keys[${start + i}].bridge`, 0, MAX_BRIDGES - 1);
        view.setBigUint64(
          scratch.ptr + i * 8,
          macKey(k.bridge, parseMac(k.mac, `keys[${start + i}].mac`)),
          true,
        );
      });
      const resultPtr = scratch.ptr + scratch.keys * 8;
      this.dp.core.macLookupBulk(scratch.ptr, chunk.length, resultPtr);
      const results = new DataView(this.dp.core.memory.buffer);
      for (let i = 0; i < chunk.length; i++) {
        const port = results.getInt32(resultPtr + i * 4, true);
        out.push(port < 0 ? null : port);
      }
    }
    return out;
  }
  /** Visits every entry (order unspecified). */
  *iterate(): IterableIterator<MacEntry> {
    let cursor = 0;
    for (;;) {
      const index = this.dp.core.macIterate(cursor);
      if (index < 0) return;
      const ptr = this.dp.core.macEntryPtr(index);
      const view = new DataView(this.dp.core.memory.buffer);
      const key = view.getBigUint64(ptr + MAC_ENTRY.key, true);
      const macBytes = new Uint8Array(6);
      for (let i = 0; i < 6; i++) macBytes[i] = Number((key >> BigInt(8 * (5 - i))) & 0xffn);
      yield {
        bridge: Number(key >> 48n),
        mac: formatMac(macBytes),
        port: view.getUint16(ptr + MAC_ENTRY.port, true),
        static: (view.getUint8(ptr + MAC_ENTRY.flags) & 1) === 1,
        lastSeenMs: view.getUint32(ptr + MAC_ENTRY.seen, true),
      };
      cursor = index + 1;
    }
  }
  /** Removes learned entries not seen for more than `maxAgeMs`; returns how many. */
  age(nowMs: number, maxAgeMs: number): number {
    return this.dp.core.macAge(
      checkNow(nowMs, 'nowMs'),
      checkInt(maxAgeMs, 'maxAgeMs', 0, 0xffffffff),
    );
  }
}

/**
 * One WebAssembly datapath instance: tables, buffer pool and counters. Frames go through
 * `process` in batches; no per-packet call crosses into the core.
 */
export class Datapath {
  /** @internal */
  readonly core: CoreExports;
  /** Packets per call into the core. */
  readonly batchSize: number;
  /** Buffer pool slots. */
  readonly poolSize: number;
  /** Largest frame a slot holds. */
  readonly frameCapacity: number;
  /** The L2 MAC table. */
  readonly macTable: MacTable;
  /** IPv4 route tables of the L3 stage, one per VRF. */
  readonly routes: Ipv4RouteTable;
  /** Next hops the routes point at. */
  readonly nextHops: NextHopTable;
  /** IPv6 route tables of the l3v6 stage, one per VRF (next hops shared with IPv4). */
  readonly routes6: Ipv6RouteTable;
  /** The ACL applied to bound ingress ports. */
  readonly acl: Acl;
  /** Token-bucket policers charged per ingress port, per bridge and per flow. */
  readonly policers: PolicerTable;
  /** Connection tracking of ACL-bound ports (no table until `conntrack.create`). */
  readonly conntrack: ConnTrackTable;
  /** Gateway (SVI) addresses of the bridges, answered by the gateway stage. */
  readonly gateways: GatewayTable;
  private readonly at: Record<keyof typeof LayoutIndex, number>;
  private readonly dropNames: string[];
  private readonly stageNames: string[];
  /** Stage mask per run mode (bit per node id; bit 31: count nothing). */
  private readonly stageMasks: Record<RunMode, number>;
  private readonly floodFlags = new Map<number, boolean>();

  /** @internal use createDatapath */
  constructor(opts: DatapathOptions = {}) {
    this.batchSize = checkInt(opts.batchSize ?? 256, 'batchSize', 1, 65536);
    this.poolSize = checkInt(opts.poolSize ?? this.batchSize, 'poolSize', this.batchSize, 65536);
    this.frameCapacity = checkInt(opts.frameCapacity ?? 2048, 'frameCapacity', 64, 262144);
    const macLog2 = checkInt(opts.macBucketsLog2 ?? 14, 'macBucketsLog2', 0, 22);
    this.core = instantiateCore();
    if (this.core.layoutInit(this.poolSize, this.frameCapacity, this.batchSize, macLog2) !== 0) {
      throw new DatapathConfigError(
        'poolSize',
        'the core could not reserve memory for this layout',
      );
    }
    this.core.macCreate(macLog2);
    const at = {} as Record<keyof typeof LayoutIndex, number>;
    for (const [name, index] of Object.entries(LayoutIndex)) {
      at[name as keyof typeof LayoutIndex] = this.core.layoutValue(index);
    }
    this.at = at;
    this.dropNames = [];
    for (let i = 0; i < (this.core.DROP_REASON_COUNT.value as number); i++) {
      this.dropNames.push(readCoreString(this.core.memory, this.core.dropReasonName(i)));
    }
    this.stageNames = this.stages().map((s) => s.name);
    const parseNode = this.stageNames.indexOf('parse');
    const dropNode = this.stageNames.indexOf('drop');
    if (parseNode !== 0 || dropNode < 0)
      throw new Error('datapath core and host disagree on the stage graph (rebuild the core)');
    const parseOnly = (1 << parseNode) | (1 << dropNode);
    this.stageMasks = {
      all: ALL_STAGES,
      parse: parseOnly,
      inspect: (parseOnly | NO_COUNTERS) >>> 0,
    };
    this.macTable = new MacTable(this);
    this.routes = new Ipv4RouteTable(this.core);
    this.nextHops = new NextHopTable(this.core);
    this.routes6 = new Ipv6RouteTable(this.core);
    this.acl = new Acl(this.core);
    this.policers = new PolicerTable(this.core);
    this.conntrack = new ConnTrackTable(this.core);
    this.gateways = new GatewayTable(this.core);
  }

  /**
   * Sets (or with null removes) the gateway of `bridge`: ARP requests for its IPv4 addresses
   * and Neighbor Solicitations for its IPv6 addresses arriving on the bridge's ports are
   * answered from its MAC out of the ingress port.
   */
  setBridgeGateway(bridge: number, gateway: BridgeGatewayOptions | null): void {
    if (gateway === null) this.gateways.delete(bridge);
    else this.gateways.add(bridge, gateway);
  }

  /** Largest IP packet `port` carries (its MTU; a tunnel port: what fits the underlay). */
  egressMtu(port: number): number {
    return this.core.egressMtu(checkInt(port, 'port', 0, MAX_PORTS - 1));
  }

  private view(): DataView {
    return new DataView(this.core.memory.buffer);
  }

  private bytes(): Uint8Array {
    return new Uint8Array(this.core.memory.buffer);
  }

  /** @internal scratch area for bulk calls: the buffer pool's last slot, between batches. */
  scratch(): { ptr: number; keys: number } {
    const ptr = this.at.poolBase + (this.poolSize - 1) * this.at.slotSize + this.at.slotDataStart;
    return { ptr, keys: Math.floor(this.frameCapacity / 12) };
  }

  /** Names of all drop reasons the core can report. */
  dropReasons(): string[] {
    return this.dropNames.slice(1);
  }

  /** The registered stage graph. */
  stages(): StageInfo[] {
    const out: StageInfo[] = [];
    for (let id = 0; id < (this.core.NODE_COUNT.value as number); id++) {
      const next = readCoreString(this.core.memory, this.core.nodeNextNames(id));
      out.push({
        id,
        name: readCoreString(this.core.memory, this.core.nodeName(id)),
        next: next ? next.split(',') : [],
      });
    }
    return out;
  }

  /** Creates or updates a bridge. */
  addBridge(id: number, opts: BridgeOptions = {}): void {
    checkInt(id, 'bridge', 0, MAX_BRIDGES - 1);
    const limit = checkInt(opts.floodLimit ?? 0, 'floodLimit', 0, 0xffffffff);
    const e = this.at.bridgesBase + id * BridgeEntry.size;
    const v = this.view();
    v.setUint8(e + BridgeEntry.used, 1);
    v.setUint32(e + BridgeEntry.floodLimit, limit, true);
  }

  /**
   * Deletes a bridge; its ports leave it, its gateway and policer binding go, and its MAC
   * entries are kept until aged or reset.
   */
  deleteBridge(id: number): void {
    checkInt(id, 'bridge', 0, MAX_BRIDGES - 1);
    this.gateways.delete(id);
    this.policers.bindBridge(id, null);
    this.bytes().fill(
      0,
      this.at.bridgesBase + id * BridgeEntry.size,
      this.at.bridgesBase + (id + 1) * BridgeEntry.size,
    );
    for (let p = 0; p < MAX_PORTS; p++) {
      if (this.view().getUint16(this.portPtr(p) + PortEntry.bridge, true) === id)
        this.setPort(p, { bridge: null });
    }
  }

  private portPtr(port: number): number {
    return this.at.portsBase + port * PortEntry.size;
  }

  private setFloodBit(bridge: number, port: number, on: boolean): void {
    const byte =
      this.at.bridgesBase + bridge * BridgeEntry.size + BridgeEntry.floodMask + (port >> 3);
    const b = this.bytes();
    b[byte] = on ? (b[byte] ?? 0) | (1 << (port & 7)) : (b[byte] ?? 0) & ~(1 << (port & 7));
  }

  private bridgeUsed(id: number): boolean {
    return (
      this.view().getUint8(this.at.bridgesBase + id * BridgeEntry.size + BridgeEntry.used) === 1
    );
  }

  /** Configures a physical port: its bridge and whether floods go out of it, or its VRF. */
  setPort(port: number, opts: PortOptions): void {
    checkInt(port, 'port', 0, MAX_PORTS - 1);
    const bridge = opts.bridge ?? null;
    const vrf = opts.vrf ?? null;
    const address = opts.address ?? null;
    if (address !== null && vrf === null)
      throw new DatapathConfigError('address', 'only a routed port (with vrf) has an address');
    const addr = address === null ? 0 : parseIpv4(address, 'address');
    const address6 = opts.address6 ?? null;
    if (address6 !== null && vrf === null)
      throw new DatapathConfigError('address6', 'only a routed port (with vrf) has an address');
    const addr6 = address6 === null ? null : parseIpv6(address6, 'address6');
    if (addr6 && (addr6[0] === 0xff || addr6.every((b) => b === 0)))
      throw new DatapathConfigError('address6', `${address6} is not a unicast address`);
    const macText = opts.mac ?? null;
    if (macText !== null && vrf === null)
      throw new DatapathConfigError('mac', 'only a routed port (with vrf) has a MAC here');
    const mac = macText === null ? 0n : macKey(0, parseMac(macText, 'mac'));
    const mtu = opts.mtu === undefined ? 0 : checkInt(opts.mtu, 'mtu', 68, 65535);
    if (vrf !== null) {
      checkInt(vrf, 'vrf', 0, MAX_VRFS - 1);
      if (bridge !== null)
        throw new DatapathConfigError('vrf', 'a port is either in a bridge or routed, not both');
    }
    if (bridge !== null) {
      checkInt(bridge, 'bridge', 0, MAX_BRIDGES - 1);
      if (!this.bridgeUsed(bridge))
        throw new DatapathConfigError('bridge', `bridge ${bridge} does not exist`);
    }
    this.detachPort(port);
    if (this.core.mtuSet(port, mtu) !== 0)
      throw new DatapathTableError(`out of memory for the MTU of port ${port}`);
    const v = this.view();
    v.setUint8(this.portPtr(port) + PortEntry.kind, PortKind.phys);
    v.setUint16(this.portPtr(port) + PortEntry.bridge, bridge ?? NONE16, true);
    if (bridge !== null) this.setFloodBit(bridge, port, opts.flood ?? true);
    if (vrf !== null) {
      if (
        this.core.l3SetPortAddress(port, addr) !== 0 ||
        this.core.l3SetPortMac(port, mac) !== 0 ||
        !setPortAddress6(this.core, port, addr6, mac)
      )
        throw new DatapathTableError(`out of memory for the address of port ${port}`);
      v.setUint8(this.portPtr(port) + PortEntry.routed, 1);
      v.setUint16(this.portPtr(port) + PortEntry.vrf, vrf, true);
    }
  }

  private detachPort(port: number): void {
    const v = this.view();
    const old = v.getUint16(this.portPtr(port) + PortEntry.bridge, true);
    if (old !== NONE16) this.setFloodBit(old, port, false);
    v.setUint16(this.portPtr(port) + PortEntry.bridge, NONE16, true);
    v.setUint8(this.portPtr(port) + PortEntry.kind, PortKind.none);
    v.setUint8(this.portPtr(port) + PortEntry.routed, 0);
    v.setUint16(this.portPtr(port) + PortEntry.vrf, 0, true);
    this.core.l3SetPortAddress(port, 0);
    this.core.l3SetPortMac(port, 0n);
    setPortAddress6(this.core, port, null, 0n);
    this.core.mtuSet(port, 0);
  }

  /** Adds (or replaces) VXLAN tunnel `id` (0–63) as a virtual port of a bridge. */
  addVxlanTunnel(id: number, t: VxlanTunnelOptions): void {
    checkInt(id, 'tunnel', 0, MAX_TUNNELS - 1);
    checkInt(t.port, 'port', 0, MAX_PORTS - 1);
    checkInt(t.bridge, 'bridge', 0, MAX_BRIDGES - 1);
    checkInt(t.vni, 'vni', 0, 0xffffff);
    checkInt(t.underlayPort, 'underlayPort', 0, MAX_PORTS - 1);
    const ttl = checkInt(t.ttl ?? 64, 'ttl', 1, 255);
    const mtu = t.mtu === undefined ? 0 : checkInt(t.mtu, 'mtu', 68, 65535);
    const local = parseIp(t.local, 'local');
    const remote = parseIp(t.remote, 'remote');
    if (local.version !== remote.version)
      throw new DatapathConfigError('remote', 'must be the same IP version as local');
    const localMac = parseMac(t.localMac, 'localMac');
    const remoteMac = parseMac(t.remoteMac, 'remoteMac');
    if (!this.bridgeUsed(t.bridge))
      throw new DatapathConfigError('bridge', `bridge ${t.bridge} does not exist`);
    this.deleteVxlanTunnel(id);
    const e = this.at.tunnelsBase + id * TunnelEntry.size;
    const v = this.view();
    const b = this.bytes();
    v.setUint8(e + TunnelEntry.used, 1);
    v.setUint8(e + TunnelEntry.ipVersion, local.version);
    v.setUint8(e + TunnelEntry.ttl, ttl);
    v.setUint16(e + TunnelEntry.port, t.port, true);
    v.setUint16(e + TunnelEntry.underlayPort, t.underlayPort, true);
    v.setUint32(e + TunnelEntry.vni, t.vni, true);
    b.set(localMac, e + TunnelEntry.localMac);
    b.set(remoteMac, e + TunnelEntry.remoteMac);
    b.set(local.bytes, e + TunnelEntry.localIp);
    b.set(remote.bytes, e + TunnelEntry.remoteIp);
    this.detachPort(t.port);
    v.setUint8(this.portPtr(t.port) + PortEntry.kind, PortKind.tunnel);
    v.setUint16(this.portPtr(t.port) + PortEntry.tunnel, id, true);
    v.setUint16(this.portPtr(t.port) + PortEntry.bridge, t.bridge, true);
    if (t.flood ?? true) this.setFloodBit(t.bridge, t.port, true);
    if (this.core.mtuSet(t.port, mtu) !== 0)
      throw new DatapathTableError(`out of memory for the MTU of tunnel ${id}`);
  }

  /** Removes VXLAN tunnel `id` and its virtual port. */
  deleteVxlanTunnel(id: number): void {
    checkInt(id, 'tunnel', 0, MAX_TUNNELS - 1);
    const e = this.at.tunnelsBase + id * TunnelEntry.size;
    const v = this.view();
    if (v.getUint8(e + TunnelEntry.used) === 1)
      this.detachPort(v.getUint16(e + TunnelEntry.port, true));
    this.bytes().fill(0, e, e + TunnelEntry.size);
  }

  /** Starts tracing the next `packets` packets; read with `readTrace`. */
  startTrace(packets: number): void {
    this.core.traceStart(checkInt(packets, 'packets', 0, 0xffffffff));
  }

  /** Trace records gathered since `startTrace`, in stage order per batch; clears them. */
  readTrace(): TraceRecord[] {
    const n = this.core.traceRecords();
    const v = this.view();
    const out: TraceRecord[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.at.traceBase + i * TRACE_RECORD_SIZE;
      const stage = this.stageNames[v.getUint8(r + 4)] ?? '?';
      const nextId = v.getUint8(r + 5);
      const dropCode = v.getUint8(r + 6);
      const drop = dropCode === 0 ? null : (this.dropNames[dropCode] ?? null);
      const a = v.getUint32(r + 8, true);
      const b = v.getUint32(r + 12, true);
      out.push({
        packet: v.getUint32(r, true),
        stage,
        next: nextId === 0xff ? null : (this.stageNames[nextId] ?? null),
        verdict: VERDICTS[v.getUint8(r + 7)] ?? 'pass',
        drop,
        detail: formatTraceRecord(stage, a, b, { dropName: (c) => this.dropNames[c] ?? String(c) }),
      });
    }
    this.core.traceClear();
    return out;
  }

  /** Pointer to the first byte a frame in `slot` is written at. */
  private frameStart(slot: number): number {
    return this.at.poolBase + slot * this.at.slotSize + this.at.slotDataStart;
  }

  /**
   * Low-level: writes `data` into pool slot `slot` as arriving on `port`. Use with
   * `processSlots` to drive the pool directly (what the benchmark and hal-sim do).
   */
  writeSlot(slot: number, data: Uint8Array, port: number): void {
    checkInt(slot, 'slot', 0, this.poolSize - 1);
    checkInt(port, 'port', 0, MAX_PORTS - 1);
    if (!(data instanceof Uint8Array))
      throw new DatapathConfigError('data', 'expected a Uint8Array');
    if (data.length > this.frameCapacity) {
      throw new DatapathConfigError(
        'data',
        `frame of ${data.length} bytes exceeds frameCapacity ${this.frameCapacity}`,
      );
    }
    this.bytes().set(data, this.frameStart(slot));
    const d = this.at.descBase + slot * this.at.descSize;
    const v = this.view();
    v.setUint32(d + Desc.off, this.at.slotDataStart, true);
    v.setUint32(d + Desc.len, data.length, true);
    v.setUint16(d + Desc.inPort, port, true);
  }

  /** Low-level: runs the packets in `slots` (at most batchSize) through the graph (see RunMode). */
  processSlots(slots: ArrayLike<number>, nowMs: number, mode: RunMode = 'all'): void {
    if (slots.length > this.batchSize)
      throw new DatapathConfigError('slots', `more than batchSize ${this.batchSize}`);
    const vector = new Uint16Array(this.core.memory.buffer, this.at.inputVectorBase, slots.length);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number;
      if (!(Number.isInteger(slot) && slot >= 0 && slot < this.poolSize)) {
        checkInt(slot, `slots[${i}]`, 0, this.poolSize - 1);
      }
      vector[i] = slot;
    }
    this.core.process(
      slots.length,
      checkNow(nowMs, 'nowMs'),
      this.stageMasks[mode] ?? ALL_STAGES,
      0,
    );
  }

  /** Low-level: the result for `slot` after `processSlots`. */
  readResult(slot: number): PacketResult {
    const v = this.view();
    const d = this.at.descBase + slot * this.at.descSize;
    const verdict = VERDICTS[v.getUint8(d + Desc.verdict)] ?? 'pass';
    const off = v.getUint32(d + Desc.off, true);
    const len = v.getUint32(d + Desc.len, true);
    const start = this.at.poolBase + slot * this.at.slotSize + off;
    const inPort = v.getUint16(d + Desc.inPort, true);
    const outPort = v.getUint16(d + Desc.outPort, true);
    return {
      verdict,
      drop: verdict === 'drop' ? (this.dropNames[v.getUint8(d + Desc.drop)] ?? 'unknown') : null,
      inPort,
      outPort: verdict === 'forward' ? outPort : null,
      floodPorts:
        verdict === 'flood' ? this.floodPortsOf(v.getUint16(d + Desc.bridge, true), inPort) : [],
      floodCopies: [],
      frame: this.bytes().slice(start, start + Math.min(len, this.frameCapacity + 128)),
    };
  }

  private floodPortsOf(bridge: number, inPort: number): number[] {
    const out: number[] = [];
    const mask = this.at.bridgesBase + bridge * BridgeEntry.size + BridgeEntry.floodMask;
    const b = this.bytes();
    const v = this.view();
    for (let p = 0; p < MAX_PORTS; p++) {
      if (p === inPort || ((b[mask + (p >> 3)] ?? 0) & (1 << (p & 7))) === 0) continue;
      if (v.getUint8(this.portPtr(p) + PortEntry.kind) === PortKind.phys) out.push(p);
    }
    return out;
  }

  /**
   * Runs frames through the whole pipeline, batch by batch, at time `nowMs`. Floods that
   * entered on a physical port are also replicated to the bridge's VXLAN tunnel ports
   * (head-end replication): the copies are injected at vxlan-encap after the batch and
   * returned in `floodCopies`.
   */
  process(frames: FrameIn[], nowMs: number): PacketResult[] {
    checkNow(nowMs, 'nowMs');
    const out: PacketResult[] = [];
    const slots: number[] = [];
    for (let start = 0; start < frames.length; start += this.batchSize) {
      const batch = frames.slice(start, start + this.batchSize);
      slots.length = 0;
      batch.forEach((f, i) => {
        this.writeSlot(i, f.data, f.port);
        slots.push(i);
      });
      this.processSlots(slots, nowMs);
      const results = slots.map((slot) => this.readResult(slot));
      this.replicateToTunnels(results, slots, nowMs);
      out.push(...results);
    }
    return out;
  }

  private tunnelFloodPorts(bridge: number): number[] {
    const mask = this.at.bridgesBase + bridge * BridgeEntry.size + BridgeEntry.floodMask;
    const b = this.bytes();
    const v = this.view();
    const ports: number[] = [];
    for (let p = 0; p < MAX_PORTS; p++) {
      if (((b[mask + (p >> 3)] ?? 0) & (1 << (p & 7))) === 0) continue;
      if (v.getUint8(this.portPtr(p) + PortEntry.kind) === PortKind.tunnel) ports.push(p);
    }
    return ports;
  }

  // Head-end replication: one encapsulated copy of each flooded frame per tunnel port of its
  // bridge. Frames that came from a tunnel are not sent back into tunnels (split horizon).
  private replicateToTunnels(results: PacketResult[], slots: number[], nowMs: number): void {
    const copies: { result: PacketResult; port: number; desc: Uint8Array }[] = [];
    const v = this.view();
    results.forEach((r, i) => {
      if (r.verdict !== 'flood') return;
      if (v.getUint8(this.portPtr(r.inPort) + PortEntry.kind) !== PortKind.phys) return;
      const d = this.at.descBase + (slots[i] as number) * this.at.descSize;
      const tunnels = this.tunnelFloodPorts(v.getUint16(d + Desc.bridge, true));
      if (tunnels.length === 0) return;
      const desc = this.bytes().slice(d, d + this.at.descSize);
      for (const port of tunnels) copies.push({ result: r, port, desc });
    });
    const encap = this.stageNames.indexOf('vxlan-encap');
    for (let start = 0; start < copies.length; start += this.batchSize) {
      const chunk = copies.slice(start, start + this.batchSize);
      chunk.forEach((c, i) => {
        this.writeSlot(i, c.result.frame, c.result.inPort);
        const d = this.at.descBase + i * this.at.descSize;
        // Keep the parsed layers of the original; point the copy at its own frame and port.
        this.bytes().set(c.desc.subarray(Desc.verdict), d + Desc.verdict);
        const view = this.view();
        view.setUint16(d + Desc.outPort, c.port, true);
        view.setUint8(d + Desc.verdict, VerdictCode.forward);
      });
      const vector = new Uint16Array(
        this.core.memory.buffer,
        this.at.inputVectorBase,
        chunk.length,
      );
      chunk.forEach((_, i) => (vector[i] = i));
      this.core.process(chunk.length, checkNow(nowMs, 'nowMs'), ALL_STAGES, encap);
      chunk.forEach((c, i) => {
        const r = this.readResult(i);
        if (r.verdict === 'forward' && r.outPort !== null) {
          c.result.floodCopies.push({ port: c.port, outPort: r.outPort, frame: r.frame });
        }
      });
    }
  }

  /** Runs only the parse stage and reports what it saw in each frame; counts nothing. */
  parse(frames: Uint8Array[]): ParseResult[] {
    const out: ParseResult[] = [];
    const slots: number[] = [];
    for (let start = 0; start < frames.length; start += this.batchSize) {
      const batch = frames.slice(start, start + this.batchSize);
      slots.length = 0;
      batch.forEach((f, i) => {
        this.writeSlot(i, f, 0);
        slots.push(i);
      });
      this.processSlots(slots, 0, 'inspect');
      for (const slot of slots) out.push(this.readParse(slot));
    }
    return out;
  }

  private readLayer(d: number): ParsedLayer {
    const v = this.view();
    const ipVersion = v.getUint8(d + Layer.ipVersion);
    const vlanCount = v.getUint8(d + Layer.vlanCount);
    const vlans: number[] = [];
    for (let i = 0; i < vlanCount && i < 2; i++)
      vlans.push(v.getUint16(d + Layer.vlan0 + 2 * i, true));
    const l3 = v.getUint16(d + Layer.l3, true);
    const l4 = v.getUint16(d + Layer.l4, true);
    const kind = v.getUint8(d + Layer.l4Kind);
    const a = v.getUint16(d + Layer.sport, true);
    const b = v.getUint16(d + Layer.dport, true);
    return {
      complete: v.getUint8(d + Layer.complete) === 1,
      ethOffset: v.getUint16(d + Layer.eth, true),
      ethType: v.getUint16(d + Layer.ethType, true),
      vlans,
      ipVersion: ipVersion === 4 || ipVersion === 6 ? ipVersion : 0,
      l3Offset: l3 === NONE16 ? null : l3,
      proto: ipVersion ? v.getUint8(d + Layer.proto) : null,
      l4Offset: l4 === NONE16 ? null : l4,
      l4:
        kind === L4_PORTS ? { sport: a, dport: b } : kind === L4_ICMP ? { type: a, code: b } : null,
    };
  }

  private readParse(slot: number): ParseResult {
    const v = this.view();
    const d = this.at.descBase + slot * this.at.descSize;
    const verdict = v.getUint8(d + Desc.verdict);
    const flags = v.getUint8(d + Desc.flags);
    const vxlan = (flags & Flag.vxlan) !== 0;
    return {
      ok: verdict !== VerdictCode.drop,
      drop:
        verdict === VerdictCode.drop
          ? (this.dropNames[v.getUint8(d + Desc.drop)] ?? 'unknown')
          : null,
      fragment: (flags & Flag.fragment) !== 0,
      vni: vxlan ? v.getUint32(d + Desc.vni, true) : null,
      outer: this.readLayer(d + Desc.outer),
      inner: vxlan ? this.readLayer(d + Desc.inner) : null,
    };
  }

  /** Counter snapshot (non-zero entries only). */
  counters(): CountersSnapshot {
    const v = this.view();
    const num = (p: number) => Number(v.getBigUint64(p, true));
    const ports: Record<number, PortCounters> = {};
    for (let p = 0; p < MAX_PORTS; p++) {
      const c = this.at.portCountersBase + p * PORT_COUNTERS * 8;
      const pc = {
        rxPackets: num(c),
        rxBytes: num(c + 8),
        txPackets: num(c + 16),
        txBytes: num(c + 24),
        drops: num(c + 32),
      };
      if (Object.values(pc).some((x) => x !== 0)) ports[p] = pc;
    }
    const bridges: Record<number, BridgeCounters> = {};
    for (let b = 0; b < MAX_BRIDGES; b++) {
      const c = this.at.bridgeCountersBase + b * BRIDGE_COUNTERS * 8;
      const bc = {
        learned: num(c),
        moves: num(c + 8),
        floods: num(c + 16),
        floodDrops: num(c + 24),
        forwards: num(c + 32),
        learnFailed: num(c + 40),
        aged: num(c + 48),
      };
      if (Object.values(bc).some((x) => x !== 0)) bridges[b] = bc;
    }
    const drops: Record<string, number> = {};
    this.dropNames.forEach((name, code) => {
      const n = num(this.at.dropCountersBase + code * 8);
      if (n !== 0) drops[name] = n;
    });
    return { ports, bridges, drops };
  }

  /** Per-stage counters by stage name. */
  stageCounters(): Record<string, StageCounters> {
    const v = this.view();
    const out: Record<string, StageCounters> = {};
    this.stageNames.forEach((name, id) => {
      const c = this.at.stageCountersBase + id * STAGE_COUNTERS * 8;
      out[name] = {
        vectors: Number(v.getBigUint64(c, true)),
        packets: Number(v.getBigUint64(c + 8, true)),
        drops: Number(v.getBigUint64(c + 16, true)),
      };
    });
    return out;
  }

  /** @internal memory regions, for the fuzz harness's guard and table checks. */
  regions(): Record<keyof typeof LayoutIndex, number> {
    return { ...this.at };
  }
}

/** Creates a datapath with its own WebAssembly instance. */
export function createDatapath(opts: DatapathOptions = {}): Datapath {
  return new Datapath(opts);
}
