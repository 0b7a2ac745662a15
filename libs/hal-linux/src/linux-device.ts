// The linux backend: realizes HAL objects in a network namespace with iproute2 and reads them
// back from the kernel. See README.md for how each object maps to kernel state.
import {
  DeviceError,
  FLOOD_MAC,
  FencingGuard,
  canonicalIpAddress,
  canonicalMac,
  ipFamilyOf,
  assertObjectKind,
  normalizePortSettings,
  normalizeSpec,
  prefixNetwork,
  requireCapabilitiesFor,
  specsEqual,
} from '@opi/hal';
import type {
  BridgePortSpec,
  BridgeSpec,
  DevicePort,
  DevicePortSettings,
  FencingToken,
  MacEntry,
  NeighbourEntry,
  NetworkCapabilities,
  NetworkDevice,
  NetworkDeviceFactory,
  ObjectKind,
  RealizedObject,
  SpecOf,
  SviSpec,
  VrfSpec,
} from '@opi/hal';
import { CommandPlan, IpRoute } from './iproute.js';
import {
  FENCE_INTERFACE,
  ROUTE_PROTOCOL,
  RULE_PRIORITY,
  encodeOwnerMark,
  ownedInterfaceName,
  tableForVrf,
} from './ownership.js';
import type { OwnedRole, OwnerMark } from './ownership.js';
import { Snapshot } from './snapshot.js';
import type { FdbRecord, KernelLink } from './snapshot.js';

/**
 * LINUX_CAPABILITIES: what this kernel offers (see toolchain notes): bridges without VLAN
 * filtering, no VLAN or VRF link types, so trunk ports cannot be realized and VRFs are
 * policy-routing tables.
 */
export const LINUX_CAPABILITIES: Readonly<NetworkCapabilities> = Object.freeze({
  vlanFiltering: false,
  vlanDevices: false,
  vxlan: true,
  headEndReplication: true,
  vrfDevice: false,
  policyRoutingVrf: true,
  svi: true,
  macLearning: true,
  portCounters: true,
  neighbourTable: true,
});

/** VXLAN_UDP_PORT is the IANA VXLAN port; the kernel's default (8472) is not interoperable. */
export const VXLAN_UDP_PORT = 4789;

/** VRF_UNREACHABLE_METRIC puts a VRF table's catch-all behind every real default route. */
const VRF_UNREACHABLE_METRIC = '4278198272';

/** LinuxNetworkDeviceOptions configures the linux backend. */
export interface LinuxNetworkDeviceOptions {
  /** Network namespace to program; absent means the process's own namespace. */
  netns?: string;
  /** Restrict device ports to these interface names; absent means every Ethernet interface. */
  portNames?: readonly string[];
  /** Capabilities to declare; defaults to LINUX_CAPABILITIES (tests narrow them). */
  capabilities?: NetworkCapabilities;
}

interface NeighRecord {
  dst?: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

const ROLE_OF_KIND: Record<Exclude<ObjectKind, 'svi'>, OwnedRole> = {
  bridge: 'bridge',
  bridgePort: 'port',
  vrf: 'vrf',
};

/** LinuxNetworkDevice programs a Linux network namespace with iproute2. */
export class LinuxNetworkDevice implements NetworkDevice {
  readonly backend = 'linux';
  readonly capabilities: NetworkCapabilities;
  readonly #ip: IpRoute;
  readonly #portNames: ReadonlySet<string> | undefined;
  readonly #fence = new FencingGuard();
  #tail: Promise<unknown> = Promise.resolve();
  /** Writes of the running operation (operations run one at a time). */
  #plan = new CommandPlan();

  constructor(options: LinuxNetworkDeviceOptions = {}) {
    this.#ip = new IpRoute(options.netns);
    this.#portNames = options.portNames ? new Set(options.portNames) : undefined;
    this.capabilities = { ...(options.capabilities ?? LINUX_CAPABILITIES) };
  }

  /** LinuxNetworkDevice.netns is the namespace this device programs, if not its own. */
  get netns(): string | undefined {
    return this.#ip.netns;
  }

  // Operations run one at a time: each one reads, decides and writes against one snapshot.
  #serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(operation, operation);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async listPorts(): Promise<DevicePort[]> {
    return this.#serially(async () => this.#ports(await Snapshot.take(this.#ip)));
  }

  async configurePort(
    name: string,
    settings: DevicePortSettings,
    fence: FencingToken,
  ): Promise<DevicePort> {
    const wanted = normalizePortSettings(settings);
    return this.#serially(async () => {
      const snapshot = await Snapshot.take(this.#ip);
      await this.#admitFence(fence, snapshot);
      if (!snapshot.devicePorts(this.#portNames).some((link) => link.name === name)) {
        throw new DeviceError('PORT_NOT_FOUND', `no device port named ${name}`, true);
      }
      this.#plan = new CommandPlan();
      const change = [
        ...(wanted.mtu === undefined ? [] : ['mtu', String(wanted.mtu)]),
        ...(wanted.adminUp === undefined ? [] : [wanted.adminUp ? 'up' : 'down']),
      ];
      if (change.length > 0) this.#plan.ip(['link', 'set', 'dev', name, ...change]);
      await this.#plan.execute(this.#ip);
      const port = this.#ports(await Snapshot.take(this.#ip)).find((p) => p.name === name);
      if (!port) throw new DeviceError('PORT_NOT_FOUND', `device port ${name} disappeared`, true);
      return port;
    });
  }

  #ports(snapshot: Snapshot): DevicePort[] {
    return snapshot.devicePorts(this.#portNames).map((link) => {
      const bridgeId = snapshot.ownedBridgeIdOf(link.master);
      const port: DevicePort = {
        name: link.name,
        mac: link.mac,
        mtu: link.mtu,
        adminUp: link.adminUp,
        operState: operStateOf(link.operState),
        bridges: bridgeId ? [bridgeId] : [],
        counters: link.counters,
      };
      if (link.owner?.role === 'port') port.bridgePort = link.owner.id;
      return port;
    });
  }

  async apply<K extends ObjectKind>(
    kind: K,
    spec: SpecOf<K>,
    fence: FencingToken,
  ): Promise<RealizedObject<K>> {
    const desired = normalizeSpec(kind, spec);
    requireCapabilitiesFor(this.capabilities, kind, desired);
    return this.#serially(async () => {
      const snapshot = await Snapshot.take(this.#ip);
      await this.#admitFence(fence, snapshot);
      const current = await this.#read(kind, desired.id, snapshot);
      if (current && this.#fullyRealized(kind, desired, current, snapshot)) return current;
      this.#plan = new CommandPlan();
      switch (kind) {
        case 'bridge':
          await this.#applyBridge(desired as BridgeSpec, snapshot);
          break;
        case 'bridgePort':
          await this.#applyBridgePort(desired as BridgePortSpec, snapshot);
          break;
        case 'vrf':
          await this.#applyVrf(desired as VrfSpec, snapshot);
          break;
        case 'svi':
          await this.#applySvi(desired as SviSpec, snapshot);
          break;
      }
      await this.#plan.execute(this.#ip);
      const realized = await this.#read(kind, desired.id, await Snapshot.take(this.#ip));
      if (!realized) {
        throw new DeviceError(
          'DEVICE_FAILURE',
          `${kind} ${desired.id} was applied but could not be read back`,
          true,
        );
      }
      return realized;
    });
  }

  async remove(kind: ObjectKind, id: string, fence: FencingToken): Promise<void> {
    assertObjectKind(kind);
    return this.#serially(async () => {
      const snapshot = await Snapshot.take(this.#ip);
      await this.#admitFence(fence, snapshot);
      this.#plan = new CommandPlan();
      switch (kind) {
        case 'bridge':
          await this.#removeBridge(id, snapshot);
          break;
        case 'bridgePort':
          await this.#removeBridgePort(id, snapshot);
          break;
        case 'vrf':
          await this.#removeVrf(id, snapshot);
          break;
        case 'svi':
          await this.#removeSvi(id, snapshot);
          break;
      }
      await this.#plan.execute(this.#ip);
    });
  }

  async read<K extends ObjectKind>(kind: K, id: string): Promise<RealizedObject<K> | undefined> {
    assertObjectKind(kind);
    return this.#serially(async () => this.#read(kind, id, await Snapshot.take(this.#ip)));
  }

  async list<K extends ObjectKind>(kind: K): Promise<RealizedObject<K>[]> {
    assertObjectKind(kind);
    return this.#serially(async () => {
      const snapshot = await Snapshot.take(this.#ip);
      const ids =
        kind === 'svi'
          ? snapshot
              .allOwned('bridge')
              .map((link) => link.owner?.attrs['svi'])
              .filter((id): id is string => id !== undefined)
          : snapshot
              .allOwned(ROLE_OF_KIND[kind as Exclude<ObjectKind, 'svi'>])
              .map((link) => link.owner?.id ?? '');
      const realized: RealizedObject<K>[] = [];
      for (const id of [...new Set(ids)].sort()) {
        const object = await this.#read(kind, id, snapshot);
        if (object) realized.push(object);
      }
      return realized;
    });
  }

  async listMacEntries(filter: { bridge?: string } = {}): Promise<MacEntry[]> {
    return this.#serially(async () => {
      const snapshot = await Snapshot.take(this.#ip);
      const entries: MacEntry[] = [];
      for (const bridgeLink of snapshot.allOwned('bridge')) {
        const bridgeId = bridgeLink.owner?.id ?? '';
        if (filter.bridge !== undefined && filter.bridge !== bridgeId) continue;
        const vxlanName = snapshot.owned('bridge-vxlan', bridgeId)?.name;
        const records = (await snapshot.fdb()).filter(
          (record) => record.master === bridgeLink.name || record.ifname === vxlanName,
        );
        for (const record of records) {
          const entry = macEntryOf(record, bridgeId, bridgeLink.name, vxlanName);
          if (entry) entries.push(entry);
        }
      }
      return entries;
    });
  }

  async listNeighbours(filter: { vrf?: string } = {}): Promise<NeighbourEntry[]> {
    return this.#serially(async () => {
      const snapshot = await Snapshot.take(this.#ip);
      const sviBridges = new Map<string, { bridge: string; vrf?: string }>();
      for (const link of snapshot.allOwned('bridge')) {
        if (!link.owner?.attrs['svi']) continue;
        const vrf = snapshot.vrfIdOfTable(snapshot.tableOf(link.name));
        sviBridges.set(link.name, { bridge: link.owner.id, ...(vrf ? { vrf } : {}) });
      }
      const records = await this.#ip.json<NeighRecord>('ip', ['neigh', 'show']);
      const entries: NeighbourEntry[] = [];
      for (const record of records) {
        const owner = record.dev ? sviBridges.get(record.dev) : undefined;
        const ip = record.dst ? canonicalIpAddress(record.dst) : undefined;
        if (!owner || !ip || (filter.vrf !== undefined && owner.vrf !== filter.vrf)) continue;
        const entry: NeighbourEntry = { ...owner, ip, state: (record.state ?? []).join(',') };
        const mac = record.lladdr ? canonicalMac(record.lladdr) : undefined;
        if (mac) entry.mac = mac;
        entries.push(entry);
      }
      return entries;
    });
  }

  async close(): Promise<void> {
    await this.#tail;
  }

  /**
   * Checks `fence` against the newest token this instance or any other writer recorded in the
   * namespace, and records it there when newer. Read-check-write is not atomic across
   * processes, but a deposed leader is refused once its successor has written anything.
   */
  async #admitFence(fence: FencingToken, snapshot: Snapshot): Promise<void> {
    this.#fence.observe(snapshot.fence);
    this.#fence.admit(fence);
    if (fence <= snapshot.fence) return;
    const plan = new CommandPlan();
    if (!snapshot.byName(FENCE_INTERFACE))
      plan.ip(['link', 'add', FENCE_INTERFACE, 'type', 'bridge']);
    const mark = encodeOwnerMark({ role: 'fence', id: 'device', attrs: { fence: String(fence) } });
    plan.ip(['link', 'set', 'dev', FENCE_INTERFACE, 'alias', mark]);
    await plan.execute(this.#ip);
  }

  /**
   * Whether `current` (read from `snapshot`) already realizes `desired` completely, so that a
   * re-apply (the kit resyncs periodically) can skip writing. Only bridges and bridge ports,
   * whose read-back covers all of their kernel state apart from the admin state checked here;
   * VRFs and SVIs have rules and routes outside their read-back and are always rewritten.
   */
  #fullyRealized(
    kind: ObjectKind,
    desired: SpecOf<ObjectKind>,
    current: RealizedObject,
    snapshot: Snapshot,
  ): boolean {
    if (kind !== 'bridge' && kind !== 'bridgePort') return false;
    if (!specsEqual(kind, desired, current.spec)) return false;
    // Device ports keep the admin state NetInterfaceService gave them; owned interfaces are up.
    if (kind === 'bridgePort') return true;
    // A tunnel left over from an earlier VNI is not part of the read-back; rewrite to drop it.
    if (!current.deviceRefs['vxlan'] && snapshot.owned('bridge-vxlan', desired.id)) return false;
    return Object.values(current.deviceRefs).every((name) => snapshot.byName(name)?.adminUp);
  }

  async #read<K extends ObjectKind>(
    kind: K,
    id: string,
    snapshot: Snapshot,
  ): Promise<RealizedObject<K> | undefined> {
    switch (kind) {
      case 'bridge':
        return (await this.#readBridge(id, snapshot)) as RealizedObject<K> | undefined;
      case 'bridgePort':
        return this.#readBridgePort(id, snapshot) as RealizedObject<K> | undefined;
      case 'vrf':
        return this.#readVrf(id, snapshot) as RealizedObject<K> | undefined;
      case 'svi':
        return this.#readSvi(id, snapshot) as RealizedObject<K> | undefined;
    }
    return undefined;
  }

  // ---- bridges -------------------------------------------------------------------------

  async #applyBridge(spec: BridgeSpec, snapshot: Snapshot): Promise<void> {
    this.#requireFreeVni('bridge-vxlan', spec.id, spec.vni, snapshot);
    const existing = snapshot.owned('bridge', spec.id);
    const name = existing?.name ?? (await this.#createOwned('bridge', spec.id, snapshot));
    const attrs = { ...existing?.owner?.attrs, vlan: String(spec.vlanId) };
    this.#plan.ip([
      'link',
      'set',
      'dev',
      name,
      'alias',
      encodeOwnerMark({ role: 'bridge', id: spec.id, attrs }),
      'up',
    ]);
    await this.#applyVxlan('bridge-vxlan', spec.id, name, spec, spec.remoteVteps, snapshot);
  }

  async #readBridge(id: string, snapshot: Snapshot): Promise<RealizedObject<'bridge'> | undefined> {
    const link = snapshot.owned('bridge', id);
    if (!link) return undefined;
    const spec: BridgeSpec = { id, vlanId: Number(link.owner?.attrs['vlan']), remoteVteps: [] };
    const deviceRefs: Record<string, string> = { bridge: link.name };
    const vxlan = snapshot.owned('bridge-vxlan', id);
    if (vxlan?.vxlan && vxlan.master === link.name) {
      spec.vni = vxlan.vxlan.vni;
      if (vxlan.vxlan.local) spec.vtepAddress = vxlan.vxlan.local;
      spec.remoteVteps = await snapshot.floodTargets(vxlan.name);
      deviceRefs['vxlan'] = vxlan.name;
    }
    return { kind: 'bridge', spec, deviceRefs };
  }

  async #removeBridge(id: string, snapshot: Snapshot): Promise<void> {
    const link = snapshot.owned('bridge', id);
    if (!link) return;
    const vxlan = snapshot.owned('bridge-vxlan', id);
    const members = snapshot.links
      .filter((member) => member.master === link.name && member !== vxlan)
      .map((member) => member.name);
    if (members.length > 0) {
      throw new DeviceError('IN_USE', `bridge ${id} still has ports ${members.join(', ')}`, true);
    }
    const svi = link.owner?.attrs['svi'];
    if (svi) throw new DeviceError('IN_USE', `bridge ${id} still carries SVI ${svi}`, true);
    if (vxlan) this.#plan.ip(['link', 'del', 'dev', vxlan.name]);
    this.#plan.ip(['link', 'del', 'dev', link.name]);
  }

  // ---- VXLAN tunnels (of bridges and of VRFs) --------------------------------------------

  async #applyVxlan(
    role: 'bridge-vxlan' | 'vrf-vxlan',
    id: string,
    masterName: string,
    spec: { vni?: number; vtepAddress?: string },
    remoteVteps: readonly string[],
    snapshot: Snapshot,
  ): Promise<void> {
    const existing = snapshot.owned(role, id);
    if (spec.vni === undefined) {
      if (existing) this.#plan.ip(['link', 'del', 'dev', existing.name]);
      return;
    }
    const reusable =
      existing?.vxlan !== undefined &&
      existing.vxlan.vni === spec.vni &&
      existing.vxlan.local === spec.vtepAddress &&
      existing.vxlan.port === VXLAN_UDP_PORT;
    if (existing && !reusable) this.#plan.ip(['link', 'del', 'dev', existing.name]);
    const name = existing && reusable ? existing.name : ownedInterfaceName(role, id);
    if (!reusable) {
      const foreign = snapshot.byName(name);
      if (foreign && foreign !== existing) {
        throw new DeviceError('CONFLICT', `interface ${name} exists and is not ours`, false);
      }
      const local = spec.vtepAddress ? ['local', spec.vtepAddress] : [];
      this.#plan.ip([
        'link',
        'add',
        name,
        'type',
        'vxlan',
        'id',
        String(spec.vni),
        'dstport',
        String(VXLAN_UDP_PORT),
        ...local,
      ]);
    }
    this.#plan.ip([
      'link',
      'set',
      'dev',
      name,
      'alias',
      encodeOwnerMark({ role, id, attrs: {} }),
      'master',
      masterName,
      'up',
    ]);
    const current = reusable ? await snapshot.floodTargets(name) : [];
    for (const remote of remoteVteps) {
      if (current.includes(remote)) continue;
      this.#plan.bridge(['fdb', 'append', FLOOD_MAC, 'dev', name, 'dst', remote]);
    }
    for (const remote of current) {
      if (remoteVteps.includes(remote)) continue;
      this.#plan.bridge(['fdb', 'del', FLOOD_MAC, 'dev', name, 'dst', remote]);
    }
  }

  /** Fails before anything is created when another tunnel already carries `vni`. */
  #requireFreeVni(role: OwnedRole, id: string, vni: number | undefined, snapshot: Snapshot): void {
    if (vni === undefined) return;
    const existing = snapshot.owned(role, id);
    const clash = snapshot.links.find((link) => link.vxlan?.vni === vni && link !== existing);
    if (clash) {
      const holder = clash.owner
        ? `${clash.owner.role} ${clash.owner.id}`
        : `interface ${clash.name}`;
      throw new DeviceError('CONFLICT', `VNI ${vni} is already used by ${holder}`, false);
    }
  }

  // ---- bridge ports ---------------------------------------------------------------------

  async #applyBridgePort(spec: BridgePortSpec, snapshot: Snapshot): Promise<void> {
    const bridgeId = spec.bridges[0] ?? '';
    const bridgeLink = snapshot.owned('bridge', bridgeId);
    if (!bridgeLink) {
      throw new DeviceError(
        'DEPENDENCY_MISSING',
        `bridge ${bridgeId} is not on the device yet`,
        true,
      );
    }
    const target = snapshot.devicePorts(this.#portNames).find((link) => link.mac === spec.mac);
    if (!target) {
      throw new DeviceError('PORT_NOT_FOUND', `no device port has MAC ${spec.mac}`, true);
    }
    if (target.owner?.role === 'port' && target.owner.id !== spec.id) {
      throw new DeviceError(
        'CONFLICT',
        `device port ${target.name} (${spec.mac}) is bound to bridge port ${target.owner.id}`,
        false,
      );
    }
    if (target.master && snapshot.ownedBridgeIdOf(target.master) === undefined) {
      throw new DeviceError(
        'CONFLICT',
        `device port ${target.name} is enslaved to ${target.master}, which this device does not own`,
        false,
      );
    }
    for (const previous of snapshot.allOwned('port')) {
      if (previous.owner?.id === spec.id && previous !== target) await this.#releasePort(previous);
    }
    this.#plan.ip([
      'link',
      'set',
      'dev',
      target.name,
      'alias',
      encodeOwnerMark({ role: 'port', id: spec.id, attrs: {} }),
      'master',
      bridgeLink.name,
    ]);
  }

  #readBridgePort(id: string, snapshot: Snapshot): RealizedObject<'bridgePort'> | undefined {
    const link = snapshot.owned('port', id);
    if (!link) return undefined;
    const bridgeId = snapshot.ownedBridgeIdOf(link.master);
    return {
      kind: 'bridgePort',
      spec: { id, mac: link.mac, type: 'access', bridges: bridgeId ? [bridgeId] : [] },
      deviceRefs: { port: link.name },
    };
  }

  async #removeBridgePort(id: string, snapshot: Snapshot): Promise<void> {
    for (const link of snapshot.allOwned('port')) {
      if (link.owner?.id === id) await this.#releasePort(link);
    }
  }

  async #releasePort(link: KernelLink): Promise<void> {
    this.#plan.ip(['link', 'set', 'dev', link.name, 'nomaster']);
    this.#plan.ip(['link', 'set', 'dev', link.name, 'alias', '']);
  }

  // ---- VRFs -----------------------------------------------------------------------------

  async #applyVrf(spec: VrfSpec, snapshot: Snapshot): Promise<void> {
    this.#requireFreeVni('vrf-vxlan', spec.id, spec.vni, snapshot);
    const existing = snapshot.owned('vrf', spec.id);
    const name = existing?.name ?? (await this.#createOwned('vrf', spec.id, snapshot));
    this.#plan.ip([
      'link',
      'set',
      'dev',
      name,
      'alias',
      encodeOwnerMark({ role: 'vrf', id: spec.id, attrs: {} }),
      'up',
    ]);
    const taken = new Set(snapshot.rules.map((rule) => rule.table));
    const table = snapshot.tableOf(name) ?? tableForVrf(spec.id, taken);
    await this.#steerIntoTable(name, table, snapshot);
    // Ends every lookup in the VRF's table: without it a miss falls through to later rules
    // (the main table) and traffic would leak out of the VRF.
    for (const family of ['-4', '-6']) {
      this.#plan.ip([
        family,
        'route',
        'replace',
        'unreachable',
        'default',
        'table',
        String(table),
        'proto',
        ROUTE_PROTOCOL,
        'metric',
        VRF_UNREACHABLE_METRIC,
      ]);
    }
    const present = existing?.addresses.map((address) => address.prefix) ?? [];
    await this.#setAddresses(name, present, [spec.loopbackPrefix], table, snapshot);
    await this.#applyVxlan('vrf-vxlan', spec.id, name, spec, [], snapshot);
  }

  #readVrf(id: string, snapshot: Snapshot): RealizedObject<'vrf'> | undefined {
    const link = snapshot.owned('vrf', id);
    if (!link) return undefined;
    const table = snapshot.tableOf(link.name);
    const spec: VrfSpec = { id, loopbackPrefix: link.addresses[0]?.prefix ?? '' };
    const deviceRefs: Record<string, string> = { device: link.name };
    if (table !== undefined) deviceRefs['table'] = String(table);
    const vxlan = snapshot.owned('vrf-vxlan', id);
    if (vxlan?.vxlan && vxlan.master === link.name) {
      spec.vni = vxlan.vxlan.vni;
      if (vxlan.vxlan.local) spec.vtepAddress = vxlan.vxlan.local;
      deviceRefs['vxlan'] = vxlan.name;
    }
    return { kind: 'vrf', spec, deviceRefs };
  }

  async #removeVrf(id: string, snapshot: Snapshot): Promise<void> {
    const link = snapshot.owned('vrf', id);
    if (!link) return;
    const table = snapshot.tableOf(link.name);
    const users = snapshot
      .allOwned('bridge')
      .filter((bridge) => table !== undefined && snapshot.tableOf(bridge.name) === table)
      .map((bridge) => bridge.owner?.attrs['svi'] ?? bridge.name);
    if (users.length > 0) {
      throw new DeviceError('IN_USE', `VRF ${id} is still used by SVI ${users.join(', ')}`, true);
    }
    await this.#unsteer(link.name, snapshot);
    if (table !== undefined) {
      const present = link.addresses.map((address) => address.prefix);
      await this.#setAddresses(link.name, present, [], table, snapshot);
      this.#plan.ipMaybe(['-4', 'route', 'flush', 'table', String(table)]);
      this.#plan.ipMaybe(['-6', 'route', 'flush', 'table', String(table)]);
    }
    const vxlan = snapshot.owned('vrf-vxlan', id);
    if (vxlan) this.#plan.ip(['link', 'del', 'dev', vxlan.name]);
    this.#plan.ip(['link', 'del', 'dev', link.name]);
  }

  // ---- SVIs -----------------------------------------------------------------------------

  async #applySvi(spec: SviSpec, snapshot: Snapshot): Promise<void> {
    const bridgeLink = snapshot.owned('bridge', spec.bridge);
    const vrfLink = snapshot.owned('vrf', spec.vrf);
    const table = vrfLink ? snapshot.tableOf(vrfLink.name) : undefined;
    if (!bridgeLink) {
      throw new DeviceError(
        'DEPENDENCY_MISSING',
        `bridge ${spec.bridge} is not on the device yet`,
        true,
      );
    }
    if (!vrfLink || table === undefined) {
      throw new DeviceError('DEPENDENCY_MISSING', `VRF ${spec.vrf} is not on the device yet`, true);
    }
    const holder = bridgeLink.owner?.attrs['svi'];
    if (holder !== undefined && holder !== spec.id) {
      throw new DeviceError(
        'CONFLICT',
        `bridge ${spec.bridge} already carries SVI ${holder}`,
        false,
      );
    }
    for (const other of snapshot.allOwned('bridge')) {
      if (other !== bridgeLink && other.owner?.attrs['svi'] === spec.id) {
        await this.#releaseSvi(other, snapshot);
      }
    }
    const owner = bridgeLink.owner as OwnerMark;
    this.#plan.ip([
      'link',
      'set',
      'dev',
      bridgeLink.name,
      'alias',
      encodeOwnerMark({ ...owner, attrs: { ...owner.attrs, svi: spec.id } }),
      'address',
      spec.mac,
    ]);
    const previousTable = snapshot.tableOf(bridgeLink.name);
    if (previousTable !== undefined && previousTable !== table) {
      await this.#flushRoutesOf(bridgeLink.name, previousTable);
    }
    await this.#steerIntoTable(bridgeLink.name, table, snapshot);
    await this.#setAddresses(
      bridgeLink.name,
      bridgeLink.addresses.map((address) => address.prefix),
      spec.gatewayPrefixes,
      table,
      snapshot,
    );
  }

  #readSvi(id: string, snapshot: Snapshot): RealizedObject<'svi'> | undefined {
    const link = snapshot.allOwned('bridge').find((bridge) => bridge.owner?.attrs['svi'] === id);
    if (!link) return undefined;
    const table = snapshot.tableOf(link.name);
    const spec: SviSpec = {
      id,
      vrf: snapshot.vrfIdOfTable(table) ?? '',
      bridge: link.owner?.id ?? '',
      mac: link.mac,
      gatewayPrefixes: link.addresses.map((address) => address.prefix),
    };
    const deviceRefs: Record<string, string> = { bridge: link.name };
    if (table !== undefined) deviceRefs['table'] = String(table);
    return { kind: 'svi', spec, deviceRefs };
  }

  async #removeSvi(id: string, snapshot: Snapshot): Promise<void> {
    for (const link of snapshot.allOwned('bridge')) {
      if (link.owner?.attrs['svi'] === id) await this.#releaseSvi(link, snapshot);
    }
  }

  async #releaseSvi(link: KernelLink, snapshot: Snapshot): Promise<void> {
    const table = snapshot.tableOf(link.name);
    if (table !== undefined) {
      const present = link.addresses.map((address) => address.prefix);
      await this.#setAddresses(link.name, present, [], table, snapshot);
      await this.#flushRoutesOf(link.name, table);
    } else {
      for (const address of link.addresses) {
        this.#plan.ip(['address', 'del', address.prefix, 'dev', link.name]);
      }
    }
    await this.#unsteer(link.name, snapshot);
    const owner = link.owner as OwnerMark;
    const { svi: _svi, ...attrs } = owner.attrs;
    this.#plan.ip(['link', 'set', 'dev', link.name, 'alias', encodeOwnerMark({ ...owner, attrs })]);
  }

  // ---- shared pieces ----------------------------------------------------------------------

  async #createOwned(role: 'bridge' | 'vrf', id: string, snapshot: Snapshot): Promise<string> {
    const name = ownedInterfaceName(role, id);
    if (snapshot.byName(name)) {
      throw new DeviceError('CONFLICT', `interface ${name} exists and is not ours`, false);
    }
    this.#plan.ip(['link', 'add', name, 'type', 'bridge']);
    return name;
  }

  /** Policy rules of both families send traffic arriving on `iif` to `table`. */
  async #steerIntoTable(iif: string, table: number, snapshot: Snapshot): Promise<void> {
    for (const family of [4, 6] as const) {
      const rules = snapshot.rules.filter((rule) => rule.iif === iif && rule.family === family);
      for (const rule of rules) {
        if (rule.table !== table) await this.#deleteRule(family, ['iif', iif], rule.table);
      }
      if (!rules.some((rule) => rule.table === table)) {
        await this.#addRule(family, ['iif', iif], table);
      }
    }
  }

  async #unsteer(iif: string, snapshot: Snapshot): Promise<void> {
    for (const rule of snapshot.rules.filter((candidate) => candidate.iif === iif)) {
      await this.#deleteRule(rule.family, ['iif', iif], rule.table);
    }
  }

  async #addRule(family: 4 | 6, selector: readonly string[], table: number): Promise<void> {
    this.#plan.ip(ruleCommand(family, 'add', selector, table));
  }

  /** Deleting tolerates a rule that is already gone. */
  async #deleteRule(family: 4 | 6, selector: readonly string[], table: number): Promise<void> {
    this.#plan.ipMaybe(ruleCommand(family, 'del', selector, table));
  }

  async #flushRoutesOf(device: string, table: number): Promise<void> {
    for (const family of ['-4', '-6']) {
      this.#plan.ipMaybe([family, 'route', 'flush', 'table', String(table), 'dev', device]);
    }
  }

  /**
   * Makes `desired` the global addresses of `device` (now `present`). Each gets a connected
   * route in `table` instead of the main table (`noprefixroute`), and a source rule so that
   * what the device itself sends from the address (replies included) also routes in `table`.
   */
  async #setAddresses(
    device: string,
    present: readonly string[],
    desired: readonly string[],
    table: number,
    snapshot: Snapshot,
  ): Promise<void> {
    for (const prefix of present) {
      if (desired.includes(prefix)) continue;
      this.#plan.ip(['address', 'del', prefix, 'dev', device]);
      this.#plan.ipMaybe([
        'route',
        'del',
        prefixNetwork(prefix),
        'dev',
        device,
        'table',
        String(table),
      ]);
      for (const rule of snapshot.rules.filter((r) => r.src === addressOf(prefix))) {
        await this.#deleteRule(rule.family, ['from', addressOf(prefix)], rule.table);
      }
    }
    for (const prefix of desired) {
      const family = ipFamilyOf(prefix);
      if (!present.includes(prefix)) {
        this.#plan.ip(['address', 'add', prefix, 'dev', device, 'noprefixroute']);
      }
      this.#plan.ip([
        `-${family}`,
        'route',
        'replace',
        prefixNetwork(prefix),
        'dev',
        device,
        'table',
        String(table),
        'proto',
        ROUTE_PROTOCOL,
        'scope',
        'link',
      ]);
      const selector = ['from', addressOf(prefix)];
      const rules = snapshot.rules.filter((rule) => rule.src === addressOf(prefix));
      for (const rule of rules) {
        if (rule.table !== table) await this.#deleteRule(rule.family, selector, rule.table);
      }
      if (!rules.some((rule) => rule.table === table)) await this.#addRule(family, selector, table);
    }
  }
}

/** The `ip rule` arguments of one of our policy rules (marked by priority and protocol). */
function ruleCommand(
  family: 4 | 6,
  verb: 'add' | 'del',
  selector: readonly string[],
  table: number,
): string[] {
  return [
    `-${family}`,
    'rule',
    verb,
    ...selector,
    'lookup',
    String(table),
    'priority',
    RULE_PRIORITY,
    'protocol',
    ROUTE_PROTOCOL,
  ];
}

function addressOf(prefix: string): string {
  return prefix.slice(0, prefix.indexOf('/'));
}

function operStateOf(state: string): DevicePort['operState'] {
  if (state === 'UP') return 'up';
  if (state === 'DOWN' || state === 'LOWERLAYERDOWN' || state === 'NOTPRESENT') return 'down';
  return 'unknown';
}

function macEntryOf(
  record: FdbRecord,
  bridgeId: string,
  bridgeName: string,
  vxlanName: string | undefined,
): MacEntry | undefined {
  const mac = record.mac ? canonicalMac(record.mac) : undefined;
  if (!mac || record.ifname === bridgeName) return undefined;
  const self = record.flags?.includes('self') ?? false;
  if (record.ifname === vxlanName) {
    // The vxlan driver's own table says which VTEP a MAC is behind; the bridge's copy of the
    // same entry only repeats "behind the tunnel".
    const remoteVtep = record.dst ? canonicalIpAddress(record.dst) : undefined;
    if (!self || !remoteVtep) return undefined;
    const origin =
      mac === FLOOD_MAC ? 'flood' : record.state === 'permanent' ? 'static' : 'learned';
    return { bridge: bridgeId, mac, remoteVtep, origin };
  }
  if (self || record.master !== bridgeName || !record.ifname) return undefined;
  const origin =
    record.state === 'permanent' ? 'local' : record.state === 'static' ? 'static' : 'learned';
  return { bridge: bridgeId, mac, port: record.ifname, origin };
}

/** createLinuxNetworkDevice checks that iproute2 works in the namespace and returns a device. */
export async function createLinuxNetworkDevice(
  options: LinuxNetworkDeviceOptions = {},
): Promise<LinuxNetworkDevice> {
  await new IpRoute(options.netns).json('ip', ['link', 'show', 'lo']);
  return new LinuxNetworkDevice(options);
}

/** linuxNetworkDeviceFactory registers the linux backend (`OPI_HAL=linux`) in a registry. */
export const linuxNetworkDeviceFactory: NetworkDeviceFactory = async (options) =>
  createLinuxNetworkDevice({
    ...(options.netns ? { netns: options.netns } : {}),
    ...(options.ports ? { portNames: options.ports.map((port) => port.name) } : {}),
  });
