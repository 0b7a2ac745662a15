// One consistent-enough picture of the namespace: links with addresses, counters and link
// details (`ip -d -s -json addr show`) and policy rules of both families. Every read-back is
// computed from a snapshot taken after the writes, never from what the backend believes.
import { canonicalIpAddress, canonicalIpPrefix, canonicalMac, ZERO_COUNTERS } from '@opi/hal';
import type { PortCounters } from '@opi/hal';
import type { IpRoute } from './iproute.js';
import { decodeOwnerMark, ROUTE_PROTOCOL } from './ownership.js';
import type { OwnedRole, OwnerMark } from './ownership.js';

/** KernelAddress is one interface address of global scope. */
export interface KernelAddress {
  prefix: string;
  family: 4 | 6;
}

/** KernelLink is one interface as the snapshot saw it. */
export interface KernelLink {
  name: string;
  mac: string;
  mtu: number;
  adminUp: boolean;
  operState: string;
  linkType: string;
  master?: string;
  kind?: string;
  owner?: OwnerMark;
  vxlan?: { vni: number; local?: string; port?: number };
  addresses: KernelAddress[];
  counters: PortCounters;
}

/** KernelRule is one policy rule this backend owns: by ingress interface or by source. */
export interface KernelRule {
  family: 4 | 6;
  table: number;
  iif?: string;
  /** Source address (of a host-length `from` rule). */
  src?: string;
}

interface RawStats {
  bytes?: number;
  packets?: number;
  errors?: number;
  dropped?: number;
  multicast?: number;
}

interface RawLink {
  ifname: string;
  address?: string;
  mtu?: number;
  flags?: string[];
  operstate?: string;
  link_type?: string;
  master?: string;
  ifalias?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; local6?: string; port?: number };
  };
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>;
  stats64?: { rx?: RawStats; tx?: RawStats };
}

interface RawRule {
  iif?: string;
  src?: string;
  table?: string;
  protocol?: string;
}

function parseLink(raw: RawLink): KernelLink {
  const info = raw.linkinfo?.info_data;
  const vxlanLocal = info?.local ?? info?.local6;
  const rx = raw.stats64?.rx;
  const tx = raw.stats64?.tx;
  const counters: PortCounters = raw.stats64
    ? {
        rxOctets: rx?.bytes ?? 0,
        rxPackets: rx?.packets ?? 0,
        rxMulticastPackets: rx?.multicast ?? 0,
        rxErrors: rx?.errors ?? 0,
        rxDiscards: rx?.dropped ?? 0,
        txOctets: tx?.bytes ?? 0,
        txPackets: tx?.packets ?? 0,
        txErrors: tx?.errors ?? 0,
        txDiscards: tx?.dropped ?? 0,
      }
    : { ...ZERO_COUNTERS };
  const addresses: KernelAddress[] = [];
  for (const addr of raw.addr_info ?? []) {
    if (addr.scope !== 'global' || !addr.local || addr.prefixlen === undefined) continue;
    const prefix = canonicalIpPrefix(`${addr.local}/${addr.prefixlen}`);
    if (prefix) addresses.push({ prefix, family: addr.family === 'inet6' ? 6 : 4 });
  }
  const link: KernelLink = {
    name: raw.ifname,
    mac: canonicalMac(raw.address ?? '') ?? '',
    mtu: raw.mtu ?? 0,
    adminUp: raw.flags?.includes('UP') ?? false,
    operState: raw.operstate ?? 'UNKNOWN',
    linkType: raw.link_type ?? '',
    addresses: addresses.sort((a, b) => a.prefix.localeCompare(b.prefix)),
    counters,
  };
  if (raw.master) link.master = raw.master;
  if (raw.linkinfo?.info_kind) link.kind = raw.linkinfo.info_kind;
  const owner = decodeOwnerMark(raw.ifalias);
  if (owner) link.owner = owner;
  if (raw.linkinfo?.info_kind === 'vxlan' && info?.id !== undefined) {
    link.vxlan = { vni: info.id };
    const local = vxlanLocal ? canonicalIpAddress(vxlanLocal) : undefined;
    if (local) link.vxlan.local = local;
    if (info.port !== undefined) link.vxlan.port = info.port;
  }
  return link;
}

/** KINDS_NEVER_PORTS are link kinds that are infrastructure, not device ports. */
const KINDS_NEVER_PORTS = new Set(['bridge', 'vxlan', 'vrf', 'dummy', 'geneve', 'gre', 'ipip']);

/** FdbRecord is one forwarding entry as `bridge -json fdb show` prints it. */
export interface FdbRecord {
  mac?: string;
  ifname?: string;
  dst?: string;
  master?: string;
  flags?: string[];
  state?: string;
}

/** Snapshot is the namespace's links and this backend's policy rules at one moment. */
export class Snapshot {
  #fdb: Promise<FdbRecord[]> | undefined;

  private constructor(
    private readonly ip: IpRoute,
    readonly links: readonly KernelLink[],
    readonly rules: readonly KernelRule[],
  ) {}

  /** Snapshot.fdb reads the whole forwarding database once, on first use. */
  fdb(): Promise<FdbRecord[]> {
    this.#fdb ??= this.ip.json<FdbRecord>('bridge', ['fdb', 'show']);
    return this.#fdb;
  }

  /** Snapshot.floodTargets lists the head-end replication targets of a vxlan device. */
  async floodTargets(vxlanName: string): Promise<string[]> {
    const targets = (await this.fdb())
      .filter((record) => record.ifname === vxlanName && record.mac === '00:00:00:00:00:00')
      .map((record) => (record.dst ? canonicalIpAddress(record.dst) : undefined))
      .filter((address): address is string => address !== undefined);
    return [...new Set(targets)].sort();
  }

  /** Snapshot.take reads links and rules from the namespace. */
  static async take(ip: IpRoute): Promise<Snapshot> {
    const [links, rules4, rules6] = await Promise.all([
      ip.json<RawLink>('ip', ['-d', '-s', 'address', 'show']),
      ip.json<RawRule>('ip', ['-4', 'rule', 'show']),
      ip.json<RawRule>('ip', ['-6', 'rule', 'show']),
    ]);
    const rules: KernelRule[] = [];
    for (const [family, raws] of [
      [4, rules4],
      [6, rules6],
    ] as const) {
      for (const raw of raws) {
        if (raw.protocol !== ROUTE_PROTOCOL || !raw.table) continue;
        const table = Number(raw.table);
        if (!Number.isSafeInteger(table)) continue;
        const src = raw.src && raw.src !== 'all' ? canonicalIpAddress(raw.src) : undefined;
        if (raw.iif) rules.push({ family, table, iif: raw.iif });
        else if (src) rules.push({ family, table, src });
      }
    }
    return new Snapshot(ip, links.map(parseLink), rules);
  }

  /** Snapshot.fence is the newest fencing token recorded in the namespace (0 if none). */
  get fence(): number {
    const marker = this.links.find((link) => link.owner?.role === 'fence');
    const token = Number(marker?.owner?.attrs['fence'] ?? 0);
    return Number.isSafeInteger(token) ? token : 0;
  }

  /** Snapshot.byName finds a link by interface name. */
  byName(name: string): KernelLink | undefined {
    return this.links.find((link) => link.name === name);
  }

  /** Snapshot.owned finds the link that realizes object `id` in `role`. */
  owned(role: OwnedRole, id: string): KernelLink | undefined {
    return this.links.find((link) => link.owner?.role === role && link.owner.id === id);
  }

  /** Snapshot.allOwned lists links in `role`, sorted by object id. */
  allOwned(role: OwnedRole): KernelLink[] {
    return this.links
      .filter((link) => link.owner?.role === role)
      .sort((a, b) => (a.owner?.id ?? '').localeCompare(b.owner?.id ?? ''));
  }

  /** Snapshot.ownedBridgeIdOf returns the bridge id of an owned bridge interface name. */
  ownedBridgeIdOf(name: string | undefined): string | undefined {
    if (!name) return undefined;
    const link = this.byName(name);
    return link?.owner?.role === 'bridge' ? link.owner.id : undefined;
  }

  /** Snapshot.tableOf returns the VRF table that owned rules select for ingress `iif`. */
  tableOf(iif: string): number | undefined {
    return this.rules.find((rule) => rule.iif === iif && rule.family === 4)?.table;
  }

  /** Snapshot.vrfIdOfTable returns the VRF whose device's rule selects `table`. */
  vrfIdOfTable(table: number | undefined): string | undefined {
    if (table === undefined) return undefined;
    return this.allOwned('vrf').find((link) => this.tableOf(link.name) === table)?.owner?.id;
  }

  /**
   * Snapshot.devicePorts lists interfaces that can be device ports: Ethernet links that are
   * not loopback, not infrastructure kinds, not owned by this backend, and (when `names` is
   * given) configured by name.
   */
  devicePorts(names?: ReadonlySet<string>): KernelLink[] {
    return this.links
      .filter(
        (link) =>
          link.linkType === 'ether' &&
          !(link.kind && KINDS_NEVER_PORTS.has(link.kind)) &&
          (link.owner === undefined || link.owner.role === 'port') &&
          (names === undefined || names.has(link.name)),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
