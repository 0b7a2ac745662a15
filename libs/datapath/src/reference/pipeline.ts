// Reference pipeline: the same stages as the WebAssembly graph (parse, VXLAN decap, L2,
// VXLAN encap, tx/drop) in plain TypeScript with Maps, used by the differential harness.
// Batches are handled stage by stage, in vector order, exactly as the graph does.
import type {
  BridgeCounters,
  BridgeOptions,
  CountersSnapshot,
  FrameIn,
  PacketResult,
  PortCounters,
  PortOptions,
  Verdict,
  VxlanTunnelOptions,
} from '../types.js';
import { formatIp, parseIp, parseMac } from '../net.js';
import { parseFrame, ParseDrop, type RefFrame, type RefLayer } from './parser.js';
import { ReferenceRouter, timeExceeded, arpReply, icmpError4 } from './routing.js';
import { referenceGateway, type RefGateway } from './gateway.js';
import { RefFlowPolicer } from './policers.js';
import { checkGateway, type BridgeGatewayOptions } from '../gateway.js';
import {
  ReferenceRouter6,
  neighborDiscovery,
  packetTooBig6,
  route6,
  timeExceeded6,
  unroutable6,
} from './routing6.js';
import { referenceAclEvaluate } from './acl.js';
import {
  ACL_LOG_CAPACITY,
  type AclCounter,
  type AclDirection,
  type AclLogRecord,
  type CheckedAclRule,
} from '../acl.js';
import { ReferenceConnTrack, type ConnTrackPacket } from './conntrack.js';
import { refFlowHash, refWord } from './hash.js';

interface Bridge {
  floodLimit: number;
  floodPorts: Set<number>;
  windowStart: number;
  windowCount: number;
}

interface Port {
  kind: 'phys' | 'tunnel';
  bridge: number | null;
  tunnel: number | null;
  vrf: number | null;
  address: Uint8Array | null;
  address6: Uint8Array | null;
  mac: Uint8Array | null;
  /** Configured MTU (a tunnel port: explicit tunnel MTU); null: default. */
  mtu: number | null;
}

interface Tunnel {
  port: number;
  vni: number;
  version: 4 | 6;
  local: Uint8Array;
  remote: Uint8Array;
  localMac: Uint8Array;
  remoteMac: Uint8Array;
  underlayPort: number;
  ttl: number;
}

interface ReferencePolicer {
  rate: number;
  burst: number;
  tokens: number;
  last: number | null;
  conform: { packets: number; bytes: number };
  exceed: { packets: number; bytes: number };
}

interface MacEntry {
  port: number;
  isStatic: boolean;
  lastSeen: number;
}

interface Packet {
  frame: Uint8Array;
  inPort: number;
  parsed: RefFrame | null;
  layer: RefLayer | null;
  flowHash: number;
  verdict: Verdict;
  drop: string | null;
  outPort: number | null;
  bridge: number | null;
  /** A reply made by the pipeline (ARP, ICMP error): not subject to the egress ACL. */
  generated?: boolean;
}

const FLOOD_WINDOW_MS = 1000;
const VXLAN_SOURCE_PORT_BASE = 49152;

/** Flow hash as specified in the README; `frame` starts at the layer's Ethernet header. */
export function referenceFlowHash(frame: Uint8Array, layer: RefLayer): number {
  const words: number[] = [];
  if (layer.ip) {
    const addresses = [layer.ip.src, layer.ip.dst];
    for (const a of addresses) for (let i = 0; i < a.length; i += 4) words.push(refWord(a, i));
    words.push(layer.ip.proto);
    words.push(layer.ports ? ((layer.ports.sport << 16) | layer.ports.dport) >>> 0 : 0);
  } else {
    const e = layer.start;
    words.push(refWord(frame, e), refWord(frame, e + 4), refWord(frame, e + 8), layer.ethType);
  }
  return refFlowHash(words);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function macText(b: Uint8Array, at: number): string {
  return Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

function onesComplementSum(chunks: Uint8Array[]): number {
  let sum = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i += 2) sum += ((c[i] ?? 0) << 8) | (c[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function emptyPortCounters(): PortCounters {
  return { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 };
}

function emptyBridgeCounters(): BridgeCounters {
  return { learned: 0, moves: 0, floods: 0, floodDrops: 0, forwards: 0, learnFailed: 0, aged: 0 };
}

/**
 * ReferenceDatapath: independent TypeScript model of the datapath with the same management
 * verbs, used by the differential harness and the benchmark.
 */
export class ReferenceDatapath {
  private readonly bridges = new Map<number, Bridge>();
  private readonly ports = new Map<number, Port>();
  private readonly tunnels = new Map<number, Tunnel>();
  private readonly macs = new Map<string, MacEntry>();
  private readonly portCounters = new Map<number, PortCounters>();
  private readonly bridgeCounters = new Map<number, BridgeCounters>();
  private readonly dropCounters = new Map<string, number>();
  /** Route tables and next hops of the L3 stage. */
  readonly router = new ReferenceRouter();
  /** Connection tracking of ACL-bound ports (enabled by `conntrack.create`). */
  readonly conntrack = new ReferenceConnTrack();
  /** IPv6 route tables of the l3v6 stage (next hops are the router's). */
  readonly router6 = new ReferenceRouter6();

  constructor(private readonly batchSize = 256) {}

  addBridge(id: number, opts: BridgeOptions = {}): void {
    const existing = this.bridges.get(id);
    if (existing) existing.floodLimit = opts.floodLimit ?? 0;
    else
      this.bridges.set(id, {
        floodLimit: opts.floodLimit ?? 0,
        floodPorts: new Set(),
        windowStart: 0,
        windowCount: 0,
      });
  }

  setPort(port: number, opts: PortOptions): void {
    this.detach(port);
    const bridge = opts.bridge ?? null;
    this.ports.set(port, {
      kind: 'phys',
      bridge,
      tunnel: null,
      vrf: opts.vrf ?? null,
      address: opts.address ? parseIp(opts.address, 'address').bytes : null,
      address6: opts.address6 ? parseIp(opts.address6, 'address6').bytes : null,
      mac: opts.mac ? parseMac(opts.mac, 'mac') : null,
      mtu: opts.mtu ?? null,
    });
    if (bridge !== null && (opts.flood ?? true)) this.bridges.get(bridge)?.floodPorts.add(port);
  }

  private detach(port: number): void {
    for (const b of this.bridges.values()) b.floodPorts.delete(port);
    this.ports.delete(port);
  }

  addVxlanTunnel(id: number, t: VxlanTunnelOptions): void {
    const local = parseIp(t.local, 'local');
    const remote = parseIp(t.remote, 'remote');
    this.detach(t.port);
    this.tunnels.set(id, {
      port: t.port,
      vni: t.vni,
      version: local.version,
      local: local.bytes,
      remote: remote.bytes,
      localMac: parseMac(t.localMac, 'localMac'),
      remoteMac: parseMac(t.remoteMac, 'remoteMac'),
      underlayPort: t.underlayPort,
      ttl: t.ttl ?? 64,
    });
    this.ports.set(t.port, {
      kind: 'tunnel',
      bridge: t.bridge,
      tunnel: id,
      vrf: null,
      address: null,
      address6: null,
      mac: null,
      mtu: t.mtu ?? null,
    });
    if (t.flood ?? true) this.bridges.get(t.bridge)?.floodPorts.add(t.port);
  }

  /** Adds a MAC entry as the management API would. */
  addMac(bridge: number, mac: string, port: number, isStatic = false, nowMs = 0): void {
    this.macs.set(`${bridge}/${mac.toLowerCase()}`, { port, isStatic, lastSeen: nowMs });
  }

  /** Removes learned entries older than `maxAgeMs`. */
  ageMacTable(nowMs: number, maxAgeMs: number): number {
    let removed = 0;
    for (const [key, e] of this.macs) {
      if (e.isStatic || (nowMs - e.lastSeen) >>> 0 <= maxAgeMs) continue;
      this.macs.delete(key);
      this.bridgeCounter(Number(key.split('/')[0])).aged++;
      removed++;
    }
    return removed;
  }

  /** Number of MAC entries. */
  get macCount(): number {
    return this.macs.size;
  }

  private portCounter(port: number): PortCounters {
    let c = this.portCounters.get(port);
    if (!c) this.portCounters.set(port, (c = emptyPortCounters()));
    return c;
  }

  private bridgeCounter(bridge: number): BridgeCounters {
    let c = this.bridgeCounters.get(bridge);
    if (!c) this.bridgeCounters.set(bridge, (c = emptyBridgeCounters()));
    return c;
  }

  counters(): CountersSnapshot {
    const nonZero = (o: object) => Object.values(o).some((v) => v !== 0);
    const ports: Record<number, PortCounters> = {};
    for (const [p, c] of [...this.portCounters].sort((a, b) => a[0] - b[0]))
      if (nonZero(c)) ports[p] = { ...c };
    const bridges: Record<number, BridgeCounters> = {};
    for (const [b, c] of [...this.bridgeCounters].sort((x, y) => x[0] - y[0]))
      if (nonZero(c)) bridges[b] = { ...c };
    const drops: Record<string, number> = {};
    for (const [r, n] of this.dropCounters) if (n !== 0) drops[r] = n;
    return { ports, bridges, drops };
  }

  process(frames: FrameIn[], nowMs: number): PacketResult[] {
    const results: PacketResult[] = [];
    for (let i = 0; i < frames.length; i += this.batchSize) {
      results.push(...this.processBatch(frames.slice(i, i + this.batchSize), nowMs));
    }
    return results;
  }

  private processBatch(frames: FrameIn[], now: number): PacketResult[] {
    const packets: Packet[] = frames.map((f) => ({
      frame: Uint8Array.from(f.data),
      inPort: f.port,
      parsed: null,
      layer: null,
      flowHash: 0,
      verdict: 'pass',
      drop: null,
      outPort: null,
      bridge: null,
    }));
    const toDecap: Packet[] = [];
    const toPolicer: Packet[] = [];
    const toCt: Packet[] = [];
    const toAcl: Packet[] = [];
    const toL2: Packet[] = [];
    const toL3: Packet[] = [];
    const toL3v6: Packet[] = [];
    const toGateway: Packet[] = [];
    // A routed port's packets go to L3, everything else to L2; bound ports pass the ACL first.
    const forward = (p: Packet) =>
      this.ports.get(p.inPort)?.vrf != null ? toL3 : this.wantsGateway(p) ? toGateway : toL2;
    const afterPolicer = (p: Packet) =>
      this.aclRules !== null && this.aclPorts.has(p.inPort)
        ? this.conntrack.enabled
          ? toCt
          : toAcl
        : forward(p);
    const ingress = (p: Packet) => (this.policed(p.inPort) ? toPolicer : afterPolicer(p));
    for (const p of packets) {
      this.portCounter(p.inPort).rxPackets++;
      this.portCounter(p.inPort).rxBytes += p.frame.length;
      try {
        p.parsed = parseFrame(p.frame);
      } catch (err) {
        if (!(err instanceof ParseDrop)) throw err;
        this.dropPacket(p, err.reason);
        continue;
      }
      p.layer = p.parsed.outer;
      p.flowHash = referenceFlowHash(p.frame, p.layer);
      (p.parsed.vxlan ? toDecap : ingress(p)).push(p);
    }
    for (const p of toDecap) if (this.decap(p)) ingress(p).push(p);
    for (const p of toPolicer) if (this.police(p, now)) afterPolicer(p).push(p);
    for (const p of toCt) {
      const packet = this.conntrackPacket(p);
      (packet && this.conntrack.track(packet, now).hit ? forward(p) : toAcl).push(p);
    }
    for (const p of toAcl) if (this.classify(p, 'ingress', now)) forward(p).push(p);
    const toEncap: Packet[] = [];
    const toEgressAcl: Packet[] = [];
    const isTunnel = (p: Packet) => this.ports.get(p.outPort ?? -1)?.kind === 'tunnel';
    // Unicast forwards out of an egress-bound port pass the egress ACL (not generated replies).
    const afterForward = (p: Packet) => {
      if (p.verdict !== 'forward') return;
      if (!p.generated && this.aclRules !== null && this.aclEgressPorts.has(p.outPort ?? -1))
        toEgressAcl.push(p);
      else if (isTunnel(p)) toEncap.push(p);
    };
    for (const p of toGateway) {
      if (!this.answerGateway(p)) toL2.push(p);
      else if (this.ports.get(p.inPort)?.kind === 'tunnel') toEncap.push(p);
    }
    for (const p of toL2) {
      this.bridgePacket(p, now);
      afterForward(p);
    }
    for (const p of toL3) {
      // IPv6 on a routed port goes on to the l3v6 stage.
      if (this.ports.get(p.inPort)?.vrf != null && p.layer?.ip?.version === 6) toL3v6.push(p);
      else {
        this.routePacket(p);
        afterForward(p);
      }
    }
    for (const p of toL3v6) {
      this.routePacket6(p);
      afterForward(p);
    }
    for (const p of toEgressAcl)
      if (this.classify(p, 'egress', now) && isTunnel(p)) toEncap.push(p);
    for (const p of toEncap) this.encap(p);
    for (const p of packets) this.transmit(p);
    return packets.map((p) => ({
      verdict: p.verdict,
      drop: p.drop,
      inPort: p.inPort,
      outPort: p.verdict === 'forward' ? p.outPort : null,
      floodPorts: p.verdict === 'flood' ? this.floodTargets(p) : [],
      floodCopies: p.verdict === 'flood' ? this.tunnelCopies(p) : [],
      frame: p.frame,
    }));
  }

  // Head-end replication: an encapsulated copy per tunnel port in the bridge's flood set,
  // unless the frame itself came out of a tunnel.
  private tunnelCopies(p: Packet): PacketResult['floodCopies'] {
    if (this.ports.get(p.inPort)?.kind !== 'phys') return [];
    const bridge = this.bridges.get(p.bridge ?? -1);
    if (!bridge) return [];
    const tunnelPorts = [...bridge.floodPorts]
      .filter((port) => this.ports.get(port)?.kind === 'tunnel')
      .sort((a, b) => a - b);
    const copies: PacketResult['floodCopies'] = [];
    for (const port of tunnelPorts) {
      const copy: Packet = {
        ...p,
        frame: p.frame.slice(),
        verdict: 'forward',
        drop: null,
        outPort: port,
      };
      this.encap(copy);
      this.transmit(copy);
      if (copy.verdict === 'forward' && copy.outPort !== null)
        copies.push({ port, outPort: copy.outPort, frame: copy.frame });
    }
    return copies;
  }

  // A reply the pipeline generated (ARP, ICMP, ND): back out of the ingress port, not subject
  // to the egress ACL.
  private replyOnIngress(p: Packet, reply: Uint8Array): void {
    p.frame = reply;
    p.generated = true;
    p.verdict = 'forward';
    p.outPort = p.inPort;
  }

  private dropPacket(p: Packet, reason: string): void {
    p.verdict = 'drop';
    p.drop = reason;
    p.outPort = null;
  }

  private transmit(p: Packet): void {
    if (p.verdict === 'drop') {
      this.dropCounters.set(p.drop ?? '?', (this.dropCounters.get(p.drop ?? '?') ?? 0) + 1);
      this.portCounter(p.inPort).drops++;
    } else if (p.verdict === 'forward' && p.outPort !== null) {
      this.portCounter(p.outPort).txPackets++;
      this.portCounter(p.outPort).txBytes += p.frame.length;
    } else if (p.verdict === 'flood') {
      for (const port of this.floodTargets(p)) {
        this.portCounter(port).txPackets++;
        this.portCounter(port).txBytes += p.frame.length;
      }
    }
  }

  private floodTargets(p: Packet): number[] {
    const bridge = this.bridges.get(p.bridge ?? -1);
    if (!bridge) return [];
    return [...bridge.floodPorts]
      .filter((port) => port !== p.inPort && this.ports.get(port)?.kind === 'phys')
      .sort((a, b) => a - b);
  }

  private decap(p: Packet): boolean {
    const vx = p.parsed?.vxlan;
    const ip = p.parsed?.outer.ip;
    if (!vx || !ip) return true;
    const match = [...this.tunnels.entries()]
      .sort((a, b) => a[0] - b[0])
      .find(
        ([, t]) =>
          t.version === ip.version &&
          t.vni === vx.vni &&
          sameBytes(t.remote, ip.src) &&
          sameBytes(t.local, ip.dst),
      );
    if (!match) {
      const ours = [...this.tunnels.values()].some(
        (t) => t.version === ip.version && sameBytes(t.local, ip.dst),
      );
      if (ours) {
        this.dropPacket(p, 'vxlan-no-tunnel');
        return false;
      }
      return true;
    }
    const tunnel = match[1];
    p.frame = p.frame.slice(vx.innerStart, vx.innerEnd);
    p.layer = { ...vx.inner, start: 0 };
    p.inPort = tunnel.port;
    this.portCounter(tunnel.port).rxPackets++;
    this.portCounter(tunnel.port).rxBytes += p.frame.length;
    p.flowHash = referenceFlowHash(p.frame, p.layer);
    return true;
  }

  private readonly policers = new Map<number, ReferencePolicer>();
  private readonly policerPorts = new Map<number, number>();

  /** Sets policer `id` with a full bucket (counters kept). */
  addPolicer(id: number, rateBytesPerSec: number, burstBytes: number): void {
    const old = this.policers.get(id);
    this.policers.set(id, {
      rate: rateBytesPerSec,
      burst: burstBytes,
      tokens: burstBytes * 1000,
      last: null,
      conform: old?.conform ?? { packets: 0, bytes: 0 },
      exceed: old?.exceed ?? { packets: 0, bytes: 0 },
    });
  }

  /** Charges packets of `port` to policer `id` (null: none). */
  bindPolicer(port: number, id: number | null): void {
    if (id === null) this.policerPorts.delete(port);
    else this.policerPorts.set(port, id);
  }

  /** Counters of policer `id`. */
  policerCounters(id: number): Pick<ReferencePolicer, 'conform' | 'exceed'> | null {
    const p = this.policers.get(id);
    return p ? { conform: { ...p.conform }, exceed: { ...p.exceed } } : null;
  }

  // Token bucket in milli-bytes, refilled per elapsed millisecond (at most 100 s).
  private charge(policer: ReferencePolicer, length: number, now: number): boolean {
    if (policer.last !== null) {
      const elapsed = Math.min((now - policer.last) >>> 0, 100_000);
      policer.tokens = Math.min(policer.burst * 1000, policer.tokens + policer.rate * elapsed);
    }
    policer.last = now;
    const cost = length * 1000;
    if (policer.tokens >= cost) {
      policer.tokens -= cost;
      policer.conform.packets++;
      policer.conform.bytes += length;
      return true;
    }
    policer.exceed.packets++;
    policer.exceed.bytes += length;
    return false;
  }

  // Port policer, then the flow's bucket, then the bridge's policer: the first that exceeds
  // drops the packet.
  private police(p: Packet, now: number): boolean {
    const length = p.frame.length;
    const portPolicer = this.policers.get(this.policerPorts.get(p.inPort) ?? -1);
    let ok = portPolicer ? this.charge(portPolicer, length, now) : true;
    const flows = this.flowPolicers.get(p.inPort);
    const ip = p.layer?.ip;
    if (ok && flows && ip) {
      const ports = p.layer?.ports;
      ok = flows.charge(
        {
          version: ip.version,
          src: ip.src,
          dst: ip.dst,
          proto: ip.proto,
          sport: ports?.sport ?? 0,
          dport: ports?.dport ?? 0,
        },
        length,
        now,
      );
    }
    const bridge = this.ports.get(p.inPort)?.bridge ?? null;
    const bridgePolicer =
      bridge === null ? undefined : this.policers.get(this.bridgePolicers.get(bridge) ?? -1);
    if (ok && bridgePolicer) ok = this.charge(bridgePolicer, length, now);
    if (!ok) this.dropPacket(p, 'policer');
    return ok;
  }

  private readonly bridgePolicers = new Map<number, number>();
  private readonly flowPolicers = new Map<number, RefFlowPolicer>();

  private policed(port: number): boolean {
    if (this.policerPorts.has(port) || this.flowPolicers.has(port)) return true;
    const bridge = this.ports.get(port)?.bridge ?? null;
    return bridge !== null && this.bridgePolicers.has(bridge);
  }

  /** Charges frames bridged in `bridge` to policer `id` (null: none). */
  bindBridgePolicer(bridge: number, id: number | null): void {
    if (id === null) this.bridgePolicers.delete(bridge);
    else this.bridgePolicers.set(bridge, id);
  }

  /** Gives every flow arriving on `port` its own bucket (null: stop; rebinding empties it). */
  bindFlowPolicer(
    port: number,
    opts: { rateBytesPerSec: number; burstBytes: number; maxFlows: number } | null,
  ): void {
    if (opts === null) this.flowPolicers.delete(port);
    else
      this.flowPolicers.set(
        port,
        new RefFlowPolicer(opts.rateBytesPerSec, opts.burstBytes, opts.maxFlows),
      );
  }

  /** The per-flow policer of `port` (counters and flows), or null. */
  flowPolicer(port: number): RefFlowPolicer | null {
    return this.flowPolicers.get(port) ?? null;
  }

  private readonly gateways = new Map<number, RefGateway>();

  /** Sets (null: removes) the gateway of `bridge`; reply counters are kept on a change. */
  setBridgeGateway(bridge: number, opts: BridgeGatewayOptions | null): void {
    if (opts === null) {
      this.gateways.delete(bridge);
      return;
    }
    const g = checkGateway(opts);
    const old = this.gateways.get(bridge);
    this.gateways.set(bridge, {
      ...g,
      arpReplies: old?.arpReplies ?? 0,
      ndReplies: old?.ndReplies ?? 0,
    });
  }

  /** The gateway of `bridge` with its reply counters, or null. */
  bridgeGateway(bridge: number): RefGateway | null {
    return this.gateways.get(bridge) ?? null;
  }

  private gatewayOf(p: Packet): RefGateway | undefined {
    const bridge = this.ports.get(p.inPort)?.bridge ?? null;
    return bridge === null ? undefined : this.gateways.get(bridge);
  }

  private wantsGateway(p: Packet): boolean {
    const layer = p.layer;
    if (!layer || !this.gatewayOf(p)) return false;
    if (layer.ethType === 0x0806) return true;
    return layer.ip?.version === 6 && layer.ip.proto === 58 && layer.icmp?.type === 135;
  }

  // True when the packet was answered (its frame is now the reply, sent back where it came).
  private answerGateway(p: Packet): boolean {
    const gw = this.gatewayOf(p);
    if (!gw || !p.layer) return false;
    const outcome = referenceGateway(p.frame, p.layer, gw);
    if (outcome.kind !== 'arp' && outcome.kind !== 'na') return false;
    if (outcome.kind === 'arp') gw.arpReplies++;
    else gw.ndReplies++;
    p.frame = outcome.frame;
    p.layer = parseFrame(p.frame).outer;
    p.flowHash = referenceFlowHash(p.frame, p.layer);
    p.verdict = 'forward';
    p.outPort = p.inPort;
    return true;
  }

  /** Largest IP packet `port` carries (a tunnel port: what fits its underlay). */
  egressMtu(port: number): number {
    const entry = this.ports.get(port);
    if (entry?.mtu != null) return entry.mtu;
    if (entry?.kind !== 'tunnel') return 1500;
    const tunnel = this.tunnels.get(entry.tunnel ?? -1);
    if (!tunnel) return 1500;
    const underlay = this.ports.get(tunnel.underlayPort)?.mtu ?? 1500;
    return Math.max(0, underlay - (tunnel.version === 4 ? 50 : 70));
  }

  private aclRules: CheckedAclRule[] | null = null;
  private aclDefaultDeny = false;
  private aclEgressDefaultDeny = false;
  private readonly aclPorts = new Set<number>();
  private readonly aclEgressPorts = new Set<number>();
  // Per rule, then the ingress and the egress default.
  private aclCounts: AclCounter[] = [];
  private aclSamples: number[] = [];
  private aclLog: AclLogRecord[] = [];
  private aclLogLost = 0;

  /** Installs a validated rule set (counters and log sampling restart). */
  loadAcl(rules: CheckedAclRule[], defaultDeny: boolean, egressDefaultDeny = defaultDeny): void {
    this.aclRules = rules;
    this.aclDefaultDeny = defaultDeny;
    this.aclEgressDefaultDeny = egressDefaultDeny;
    this.aclCounts = Array.from({ length: rules.length + 2 }, () => ({ packets: 0, bytes: 0 }));
    this.aclSamples = new Array<number>(rules.length).fill(0);
  }

  /** Applies the ACL to packets arriving on (ingress) or forwarded out of (egress) `port`. */
  bindAcl(port: number, on: boolean, direction: AclDirection = 'ingress'): void {
    const ports = direction === 'egress' ? this.aclEgressPorts : this.aclPorts;
    if (on) ports.add(port);
    else ports.delete(port);
  }

  /** Hits per rule and of the two default actions. */
  aclHits(): { rules: number[]; default: number; egressDefault: number } {
    const c = this.aclCounters();
    return {
      rules: c.rules.map((r) => r.packets),
      default: c.default.packets,
      egressDefault: c.egressDefault.packets,
    };
  }

  /** Packets and bytes per rule and of the two default actions. */
  aclCounters(): { rules: AclCounter[]; default: AclCounter; egressDefault: AclCounter } {
    const n = this.aclRules?.length ?? 0;
    const at = (i: number) => ({ ...(this.aclCounts[i] ?? { packets: 0, bytes: 0 }) });
    return {
      rules: this.aclCounts.slice(0, n).map((c) => ({ ...c })),
      default: at(n),
      egressDefault: at(n + 1),
    };
  }

  /** Drains the log records (as `Acl.readLog`). */
  readAclLog(): AclLogRecord[] {
    const out = this.aclLog;
    this.aclLog = [];
    return out;
  }

  /** Log records lost to a full ring. */
  get aclLogLostRecords(): number {
    return this.aclLogLost;
  }

  // The 5-tuple, TCP flags and length the tracker sees (null for non-IP packets).
  private conntrackPacket(p: Packet): ConnTrackPacket | null {
    const layer = p.layer;
    const ip = layer?.ip;
    if (!layer || !ip) return null;
    // Offsets are those of the frame as received; a decapsulated frame starts later.
    const shift = p.parsed?.vxlan && layer !== p.parsed.outer ? p.parsed.vxlan.innerStart : 0;
    let sport = 0;
    let dport = 0;
    let flags = 0;
    if (layer.ports) {
      sport = layer.ports.sport;
      dport = layer.ports.dport;
      if (ip.proto === 6) flags = p.frame[layer.ports.offset - shift + 13] ?? 0;
    } else if (layer.icmp) {
      const t = layer.icmp.type;
      if (ip.version === 4 ? t === 8 || t === 0 : t === 128 || t === 129) {
        const at = layer.icmp.offset - shift + 4;
        sport = dport = ((p.frame[at] ?? 0) << 8) | (p.frame[at + 1] ?? 0);
      }
    }
    return {
      version: ip.version,
      src: ip.src,
      dst: ip.dst,
      proto: ip.proto,
      sport,
      dport,
      flags,
      length: p.frame.length,
    };
  }

  // First-match classification; returns whether the packet goes on.
  private classify(p: Packet, direction: AclDirection, now: number): boolean {
    const ip = p.layer?.ip;
    if (!this.aclRules || !ip) return true;
    const vni = p.parsed?.vxlan?.vni ?? null;
    const l4 = p.layer?.ports ? 1 : p.layer?.icmp ? 2 : 0;
    const packet = {
      version: ip.version,
      src: ip.src,
      dst: ip.dst,
      proto: ip.proto,
      l4,
      a: p.layer?.ports?.sport ?? p.layer?.icmp?.type ?? 0,
      b: p.layer?.ports?.dport ?? p.layer?.icmp?.code ?? 0,
      vni,
      port: direction === 'egress' ? (p.outPort ?? 0) : p.inPort,
    } as const;
    const { terminal, matched } = referenceAclEvaluate(this.aclRules, packet, direction);
    const n = this.aclRules.length;
    const defaultDeny = direction === 'egress' ? this.aclEgressDefaultDeny : this.aclDefaultDeny;
    const deny = terminal < 0 ? defaultDeny : this.aclRules[terminal]!.deny;
    const count = (i: number) => {
      const c = this.aclCounts[i]!;
      c.packets++;
      c.bytes += p.frame.length;
    };
    for (const i of matched) {
      count(i);
      const rule = this.aclRules[i]!;
      if (rule.action !== 'log') continue;
      const seen = this.aclSamples[i]!;
      this.aclSamples[i] = seen + 1;
      if (seen % rule.sampleEvery !== 0) continue;
      if (this.aclLog.length >= ACL_LOG_CAPACITY) {
        this.aclLogLost++;
        continue;
      }
      const record: AclLogRecord = {
        rule: i,
        port: packet.port,
        direction,
        time: now >>> 0,
        ipVersion: ip.version,
        src: formatIp(ip.src, 0, ip.version),
        dst: formatIp(ip.dst, 0, ip.version),
        proto: ip.proto,
        sport: l4 === 1 ? packet.a : 0,
        dport: l4 === 1 ? packet.b : 0,
        length: p.frame.length,
        action: deny ? 'deny' : 'permit',
      };
      if (l4 === 2) {
        record.icmpType = packet.a;
        record.icmpCode = packet.b;
      }
      this.aclLog.push(record);
    }
    count(terminal < 0 ? n + (direction === 'egress' ? 1 : 0) : terminal);
    if (deny) this.dropPacket(p, direction === 'egress' ? 'acl-egress-deny' : 'acl-deny');
    else if (terminal >= 0 && this.aclRules[terminal]!.action === 'permit-stateful') {
      const tracked = this.conntrackPacket(p);
      if (tracked) this.conntrack.open(tracked, now);
    }
    return !deny;
  }

  private routePacket(p: Packet): void {
    const vrf = this.ports.get(p.inPort)?.vrf ?? null;
    const ip = p.layer?.ip;
    if (vrf !== null && p.layer && (!ip || ip.version !== 4)) {
      const port = this.ports.get(p.inPort);
      if (port?.address && port.mac && arpReply(p.frame, p.layer, port.address, port.mac)) {
        return this.replyOnIngress(p, p.frame);
      }
    }
    if (vrf === null || !ip || ip.version !== 4) return this.dropPacket(p, 'not-routable');
    const original = p.frame.slice();
    const outcome = this.router.route(vrf, p.frame, ip.offset);
    const address = this.ports.get(p.inPort)?.address ?? null;
    if ('outPort' in outcome && p.layer) {
      // Checked on the packet as it arrived (TTL not yet decremented, MACs not rewritten).
      const total = (original[ip.offset + 2]! << 8) | original[ip.offset + 3]!;
      const mtu = this.egressMtu(outcome.outPort);
      if (total > mtu) {
        p.frame = original;
        if ((original[ip.offset + 6]! & 0x40) === 0) return this.dropPacket(p, 'mtu-exceeded');
        const reply = address ? icmpError4(original, p.layer, address, 3, 4, mtu & 0xffff) : null;
        if (!reply) return this.dropPacket(p, 'frag-needed');
        return this.replyOnIngress(p, reply);
      }
    }
    if ('drop' in outcome && outcome.drop === 'ttl-exceeded' && address && p.layer) {
      const reply = timeExceeded(p.frame, p.layer, address);
      if (reply) {
        return this.replyOnIngress(p, reply);
      }
    }
    if ('drop' in outcome) return this.dropPacket(p, outcome.drop);
    p.verdict = 'forward';
    p.outPort = outcome.outPort;
  }

  private routePacket6(p: Packet): void {
    const port = this.ports.get(p.inPort)!;
    const layer = p.layer!;
    const ip = layer.ip!;
    if (ip.proto === 58 && layer.icmp && layer.icmp.type >= 133 && layer.icmp.type <= 137) {
      const nd = neighborDiscovery(p.frame, layer, port.address6, port.mac);
      if ('drop' in nd) return this.dropPacket(p, nd.drop);
      return this.replyOnIngress(p, nd.reply);
    }
    const unroutable = unroutable6(ip.src, ip.dst);
    if (unroutable) return this.dropPacket(p, unroutable);
    const original = p.frame.slice();
    const outcome = route6(
      this.router6,
      (id) => this.router.nextHop(id),
      port.vrf!,
      p.frame,
      layer,
    );
    // IPv6 is never fragmented on the way (RFC 8200 5): too big gets packet too big.
    const length = 40 + ((original[ip.offset + 4]! << 8) | original[ip.offset + 5]!);
    const mtu = 'outPort' in outcome ? this.egressMtu(outcome.outPort) : length;
    if (length > mtu) {
      p.frame = original;
      const reply = port.address6 ? packetTooBig6(original, layer, port.address6, mtu) : null;
      if (!reply) return this.dropPacket(p, 'packet-too-big');
      return this.replyOnIngress(p, reply);
    }
    if ('drop' in outcome && outcome.drop === 'hop-limit-exceeded' && port.address6) {
      const reply = timeExceeded6(p.frame, layer, port.address6);
      if (reply) {
        return this.replyOnIngress(p, reply);
      }
    }
    if ('drop' in outcome) return this.dropPacket(p, outcome.drop);
    p.verdict = 'forward';
    p.outPort = outcome.outPort;
  }

  private bridgePacket(p: Packet, now: number): void {
    const port = this.ports.get(p.inPort);
    const bridgeId = port?.bridge ?? null;
    const bridge = bridgeId === null ? undefined : this.bridges.get(bridgeId);
    if (bridgeId === null || !bridge) return this.dropPacket(p, 'port-not-in-bridge');
    p.bridge = bridgeId;
    const f = p.frame;
    if (((f[6] ?? 0) & 1) === 1) return this.dropPacket(p, 'src-mac-multicast');
    const counters = this.bridgeCounter(bridgeId);
    const srcKey = `${bridgeId}/${macText(f, 6)}`;
    const known = this.macs.get(srcKey);
    if (!known) {
      this.macs.set(srcKey, { port: p.inPort, isStatic: false, lastSeen: now });
      counters.learned++;
    } else if (!known.isStatic) {
      if (known.port !== p.inPort) {
        known.port = p.inPort;
        counters.moves++;
      }
      known.lastSeen = now;
    }
    const isGroup = ((f[0] ?? 0) & 1) === 1;
    const dst = isGroup ? undefined : this.macs.get(`${bridgeId}/${macText(f, 0)}`);
    if (dst) {
      if (dst.port === p.inPort) return this.dropPacket(p, 'same-port');
      if (this.ports.get(dst.port)?.bridge !== bridgeId)
        return this.dropPacket(p, 'egress-not-in-bridge');
      counters.forwards++;
      p.verdict = 'forward';
      p.outPort = dst.port;
      return;
    }
    if (bridge.floodLimit > 0) {
      if ((now - bridge.windowStart) >>> 0 >= FLOOD_WINDOW_MS) {
        bridge.windowStart = now;
        bridge.windowCount = 0;
      }
      if (bridge.windowCount >= bridge.floodLimit) {
        counters.floodDrops++;
        return this.dropPacket(p, 'flood-limit');
      }
      bridge.windowCount++;
    }
    counters.floods++;
    p.verdict = 'flood';
  }

  private encap(p: Packet): void {
    const port = this.ports.get(p.outPort ?? -1);
    const tunnel =
      port?.tunnel === null || port?.tunnel === undefined
        ? undefined
        : this.tunnels.get(port.tunnel);
    if (!tunnel) return this.dropPacket(p, 'tunnel-missing');
    const inner = p.frame;
    const ipHeaderLength = tunnel.version === 4 ? 20 : 40;
    if (inner.length + ipHeaderLength + 16 > 0xffff) return this.dropPacket(p, 'encap-too-long');
    if (inner.length - 14 > this.egressMtu(p.outPort ?? -1))
      return this.dropPacket(p, 'tunnel-mtu-exceeded');
    const udpLength = 16 + inner.length;
    const out = new Uint8Array(14 + ipHeaderLength + udpLength);
    const view = new DataView(out.buffer);
    out.set(tunnel.remoteMac, 0);
    out.set(tunnel.localMac, 6);
    view.setUint16(12, tunnel.version === 4 ? 0x0800 : 0x86dd);
    const ip = 14;
    const udp = ip + ipHeaderLength;
    if (tunnel.version === 4) {
      view.setUint8(ip, 0x45);
      view.setUint16(ip + 2, 20 + udpLength);
      view.setUint16(ip + 6, 0x4000);
      view.setUint8(ip + 8, tunnel.ttl);
      view.setUint8(ip + 9, 17);
      out.set(tunnel.local, ip + 12);
      out.set(tunnel.remote, ip + 16);
      view.setUint16(ip + 10, ~onesComplementSum([out.subarray(ip, ip + 20)]) & 0xffff);
    } else {
      view.setUint32(ip, (0x60000000 | (p.flowHash & 0xfffff)) >>> 0);
      view.setUint16(ip + 4, udpLength);
      view.setUint8(ip + 6, 17);
      view.setUint8(ip + 7, tunnel.ttl);
      out.set(tunnel.local, ip + 8);
      out.set(tunnel.remote, ip + 24);
    }
    view.setUint16(udp, VXLAN_SOURCE_PORT_BASE | (p.flowHash & 0x3fff));
    view.setUint16(udp + 2, 4789);
    view.setUint16(udp + 4, udpLength);
    view.setUint8(udp + 8, 0x08);
    view.setUint32(udp + 12, (tunnel.vni << 8) >>> 0);
    out.set(inner, udp + 16);
    if (tunnel.version === 6) {
      const pseudo = new Uint8Array(40);
      pseudo.set(tunnel.local, 0);
      pseudo.set(tunnel.remote, 16);
      new DataView(pseudo.buffer).setUint32(32, udpLength);
      pseudo[39] = 17;
      const udpBytes = out.subarray(udp);
      // An odd-length segment is padded with one zero byte for the sum.
      const padded = udpBytes.length % 2 === 0 ? udpBytes : Uint8Array.from([...udpBytes, 0]);
      const sum = ~onesComplementSum([pseudo, padded]) & 0xffff;
      view.setUint16(udp + 6, sum === 0 ? 0xffff : sum);
    }
    p.frame = out;
    p.outPort = tunnel.underlayPort;
  }
}
