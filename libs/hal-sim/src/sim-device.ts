// The emulated DPU: device ports from configuration, the applied objects as its model, and a
// packet fabric (the WebAssembly datapath) whose tables it programs from that model.
import {
  DeviceError,
  FLOOD_MAC,
  FencingGuard,
  InvalidSpecError,
  canonicalMac,
  ipFamilyOf,
  assertObjectKind,
  normalizePortSettings,
  normalizeSpec,
  requireCapabilitiesFor,
  ZERO_COUNTERS,
} from '@opi/hal';
import type {
  BridgePortSpec,
  BridgeSpec,
  DevicePort,
  DevicePortConfig,
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
import { DEFAULT_UNDERLAY, datapathFabric } from './fabric.js';
import type { FabricUnderlay, SimFabric } from './fabric.js';

/**
 * SIM_CAPABILITIES: what the emulated DPU realizes. The datapath maps each port to one bridge
 * and has no layer-3 stage: no VLAN trunks; VRFs and SVI addresses live in the sim's model,
 * SVI gateway MACs in the fabric's MAC table.
 */
export const SIM_CAPABILITIES: Readonly<NetworkCapabilities> = Object.freeze({
  vlanFiltering: false,
  vlanDevices: false,
  vxlan: true,
  headEndReplication: true,
  vrfDevice: true,
  policyRoutingVrf: false,
  svi: true,
  macLearning: true,
  portCounters: true,
  neighbourTable: false,
});

/** Fabric port numbers: device ports first, then tunnels, then the SVI gateway port. */
const MAX_DEVICE_PORTS = 128;
const FIRST_TUNNEL_PORT = 128;
const MAX_TUNNELS = 64;
const MAX_BRIDGES = 256;
/**
 * SVI gateway MACs live behind gateway ports (the device itself), one per SVI and bound to the
 * SVI's bridge: the datapath never forwards out of a bridge to a port outside it.
 */
export const FIRST_GATEWAY_PORT = 192;
const MAX_GATEWAYS = 63;
const isGatewayPort = (port: number) =>
  port >= FIRST_GATEWAY_PORT && port < FIRST_GATEWAY_PORT + MAX_GATEWAYS;

/** SimNetworkDeviceOptions configures the emulated DPU. */
export interface SimNetworkDeviceOptions {
  /** Device ports (host-facing functions), numbered in this order on the fabric. */
  ports: DevicePortConfig[];
  /** Fabric to program; defaults to a new WebAssembly datapath. Null: model only. */
  fabric?: SimFabric | null;
  /** Underlay of the default datapath fabric. */
  underlay?: FabricUnderlay;
  /** Capabilities to declare; defaults to SIM_CAPABILITIES (tests narrow them). */
  capabilities?: NetworkCapabilities;
}

/** SimFramePort names where a frame entered or left: a device port, tunnel or the gateway. */
export type SimFramePort = string;

/** SimFrameResult is the fabric's decision for one frame, with port names. */
export interface SimFrameResult {
  verdict: 'pass' | 'forward' | 'flood' | 'drop';
  drop: string | null;
  outPort: SimFramePort | null;
  floodPorts: SimFramePort[];
  /** A flood's VXLAN copies (head-end replication), each leaving through the underlay. */
  floodCopies: Array<{ outPort: SimFramePort; frame: Uint8Array }>;
  frame: Uint8Array;
}

interface SimPort {
  config: DevicePortConfig;
  number: number;
  adminUp: boolean;
  mtu: number;
}

interface SimTunnel {
  tunnel: number;
  port: number;
  remote: string;
}

interface SimBridge {
  spec: BridgeSpec;
  number: number;
  tunnels: SimTunnel[];
}

interface SimBinding {
  spec: BridgePortSpec;
  port: SimPort;
}

/** SimNetworkDevice is the emulated DPU's network device. */
export class SimNetworkDevice implements NetworkDevice {
  readonly backend = 'sim';
  readonly capabilities: NetworkCapabilities;
  readonly #fabric: SimFabric | null;
  readonly #underlayPort: number;
  readonly #ports: SimPort[];
  readonly #fence = new FencingGuard();
  readonly #bridges = new Map<string, SimBridge>();
  readonly #bindings = new Map<string, SimBinding>();
  readonly #vrfs = new Map<string, VrfSpec>();
  readonly #svis = new Map<string, SviSpec>();
  /** Fabric gateway port of each SVI. */
  readonly #sviPorts = new Map<string, number>();

  constructor(options: SimNetworkDeviceOptions) {
    this.capabilities = { ...(options.capabilities ?? SIM_CAPABILITIES) };
    this.#ports = checkPorts(options.ports);
    this.#underlayPort = (options.underlay ?? DEFAULT_UNDERLAY).port;
    this.#fabric =
      options.fabric === undefined
        ? datapathFabric(options.underlay ?? DEFAULT_UNDERLAY)
        : options.fabric;
  }

  async listPorts(): Promise<DevicePort[]> {
    return this.#ports
      .map((port) => {
        const binding = [...this.#bindings.values()].find((b) => b.port === port);
        const devicePort: DevicePort = {
          name: port.config.name,
          mac: port.config.mac,
          mtu: port.mtu,
          adminUp: port.adminUp,
          operState: port.adminUp ? 'up' : 'down',
          bridges: binding ? [...binding.spec.bridges] : [],
          counters: this.#fabric?.portCounters(port.number) ?? { ...ZERO_COUNTERS },
        };
        if (binding) devicePort.bridgePort = binding.spec.id;
        return devicePort;
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async configurePort(
    name: string,
    settings: DevicePortSettings,
    fence: FencingToken,
  ): Promise<DevicePort> {
    const wanted = normalizePortSettings(settings);
    this.#fence.admit(fence);
    const port = this.#ports.find((candidate) => candidate.config.name === name);
    if (!port) throw new DeviceError('PORT_NOT_FOUND', `no device port named ${name}`, true);
    if (wanted.mtu !== undefined) port.mtu = wanted.mtu;
    if (wanted.adminUp !== undefined && wanted.adminUp !== port.adminUp) {
      port.adminUp = wanted.adminUp;
      const binding = [...this.#bindings.values()].find((b) => b.port === port);
      const bridge = binding ? this.#bridges.get(binding.spec.bridges[0] ?? '') : undefined;
      if (bridge) this.#fabric?.setPortBridge(port.number, port.adminUp ? bridge.number : null);
    }
    const listed = (await this.listPorts()).find((candidate) => candidate.name === name);
    if (!listed) throw new DeviceError('PORT_NOT_FOUND', `device port ${name} disappeared`, true);
    return listed;
  }

  async apply<K extends ObjectKind>(
    kind: K,
    spec: SpecOf<K>,
    fence: FencingToken,
  ): Promise<RealizedObject<K>> {
    const desired = normalizeSpec(kind, spec);
    requireCapabilitiesFor(this.capabilities, kind, desired);
    this.#fence.admit(fence);
    switch (kind) {
      case 'bridge':
        this.#applyBridge(desired as BridgeSpec);
        break;
      case 'bridgePort':
        this.#applyBridgePort(desired as BridgePortSpec);
        break;
      case 'vrf':
        this.#applyVrf(desired as VrfSpec);
        break;
      case 'svi':
        this.#applySvi(desired as SviSpec);
        break;
    }
    const realized = await this.read(kind, desired.id);
    if (!realized) {
      throw new DeviceError('DEVICE_FAILURE', `${kind} ${desired.id} was not read back`, true);
    }
    return realized;
  }

  async remove(kind: ObjectKind, id: string, fence: FencingToken): Promise<void> {
    assertObjectKind(kind);
    this.#fence.admit(fence);
    switch (kind) {
      case 'bridge':
        return this.#removeBridge(id);
      case 'bridgePort':
        return this.#removeBridgePort(id);
      case 'vrf':
        return this.#removeVrf(id);
      case 'svi':
        return this.#removeSvi(id);
    }
  }

  async read<K extends ObjectKind>(kind: K, id: string): Promise<RealizedObject<K> | undefined> {
    assertObjectKind(kind);
    return this.#read(kind, id) as RealizedObject<K> | undefined;
  }

  async list<K extends ObjectKind>(kind: K): Promise<RealizedObject<K>[]> {
    assertObjectKind(kind);
    const ids = [...this.#mapOf(kind).keys()].sort();
    return ids
      .map((id) => this.#read(kind, id))
      .filter((object): object is RealizedObject => object !== undefined) as RealizedObject<K>[];
  }

  async listMacEntries(filter: { bridge?: string } = {}): Promise<MacEntry[]> {
    const entries: MacEntry[] = [];
    const bridgeByNumber = new Map([...this.#bridges.values()].map((b) => [b.number, b]));
    for (const bridge of this.#bridges.values()) {
      if (filter.bridge !== undefined && filter.bridge !== bridge.spec.id) continue;
      for (const tunnel of bridge.tunnels) {
        entries.push({
          bridge: bridge.spec.id,
          mac: FLOOD_MAC,
          remoteVtep: tunnel.remote,
          origin: 'flood',
        });
      }
    }
    for (const entry of this.#fabric?.macEntries() ?? []) {
      const bridge = bridgeByNumber.get(entry.bridge);
      if (!bridge || (filter.bridge !== undefined && filter.bridge !== bridge.spec.id)) continue;
      const mac = canonicalMac(entry.mac) ?? entry.mac;
      const origin = entry.static ? 'static' : 'learned';
      const tunnel = bridge.tunnels.find((candidate) => candidate.port === entry.port);
      const port = this.#ports.find((candidate) => candidate.number === entry.port);
      if (tunnel) entries.push({ bridge: bridge.spec.id, mac, remoteVtep: tunnel.remote, origin });
      else if (port) entries.push({ bridge: bridge.spec.id, mac, port: port.config.name, origin });
      else if (isGatewayPort(entry.port))
        entries.push({ bridge: bridge.spec.id, mac, origin: 'local' });
    }
    return entries;
  }

  async listNeighbours(_filter: { vrf?: string } = {}): Promise<NeighbourEntry[]> {
    // No layer-3 stage, so nothing resolves neighbours on the emulated device.
    return [];
  }

  /**
   * SimNetworkDevice.processFrames runs frames through the fabric as if received on the named
   * device ports (or `underlay`, the fabric uplink), at time `nowMs`, and names the ports they
   * leave from (device ports, `underlay`, `gateway`). Throws
   * InvalidSpecError (field `port`) for an unknown port and DeviceError without a fabric.
   */
  processFrames(frames: Array<{ port: string; data: Uint8Array }>, nowMs = 0): SimFrameResult[] {
    const fabric = this.#fabric;
    if (!fabric) throw new DeviceError('DEVICE_FAILURE', 'this sim has no fabric', false);
    const numbered = frames.map((frame) => {
      if (frame.port === 'underlay') return { port: this.#underlayPort, data: frame.data };
      const port = this.#ports.find((candidate) => candidate.config.name === frame.port);
      if (!port) throw new InvalidSpecError('port', `no device port named ${frame.port}`);
      return { port: port.number, data: frame.data };
    });
    return fabric.process(numbered, nowMs).map((result) => ({
      verdict: result.verdict,
      drop: result.drop,
      outPort: result.outPort === null ? null : this.#portName(result.outPort),
      floodPorts: result.floodPorts.map((port) => this.#portName(port)),
      floodCopies: result.floodCopies.map((copy) => ({
        outPort: this.#portName(copy.outPort),
        frame: copy.frame,
      })),
      frame: result.frame,
    }));
  }

  async close(): Promise<void> {}

  #portName(number: number): SimFramePort {
    const port = this.#ports.find((candidate) => candidate.number === number);
    if (port) return port.config.name;
    if (isGatewayPort(number)) return 'gateway';
    if (number === this.#underlayPort) return 'underlay';
    for (const bridge of this.#bridges.values()) {
      const tunnel = bridge.tunnels.find((candidate) => candidate.port === number);
      if (tunnel) return `vxlan:${bridge.spec.id}:${tunnel.remote}`;
    }
    return `port${number}`;
  }

  #mapOf(kind: ObjectKind): Map<string, unknown> {
    switch (kind) {
      case 'bridge':
        return this.#bridges;
      case 'bridgePort':
        return this.#bindings;
      case 'vrf':
        return this.#vrfs;
      case 'svi':
        return this.#svis;
    }
  }

  #read(kind: ObjectKind, id: string): RealizedObject | undefined {
    switch (kind) {
      case 'bridge': {
        const bridge = this.#bridges.get(id);
        if (!bridge) return undefined;
        const spec = structuredClone(bridge.spec);
        spec.remoteVteps = bridge.tunnels.map((tunnel) => tunnel.remote).sort();
        const deviceRefs: Record<string, string> = { bridge: String(bridge.number) };
        if (bridge.tunnels.length > 0) {
          deviceRefs['tunnels'] = bridge.tunnels.map((tunnel) => tunnel.tunnel).join(',');
        }
        return { kind, spec, deviceRefs };
      }
      case 'bridgePort': {
        const binding = this.#bindings.get(id);
        if (!binding) return undefined;
        return {
          kind,
          spec: { ...structuredClone(binding.spec), mac: binding.port.config.mac },
          deviceRefs: { port: binding.port.config.name },
        };
      }
      case 'vrf': {
        const vrf = this.#vrfs.get(id);
        return vrf ? { kind, spec: structuredClone(vrf), deviceRefs: {} } : undefined;
      }
      case 'svi': {
        const svi = this.#svis.get(id);
        if (!svi) return undefined;
        const bridge = this.#bridges.get(svi.bridge);
        const programmed =
          bridge === undefined ||
          this.#fabric === null ||
          this.#fabric
            .macEntries()
            .some(
              (e) =>
                e.bridge === bridge.number &&
                e.port === this.#sviPorts.get(svi.id) &&
                canonicalMac(e.mac) === svi.mac,
            );
        // A gateway MAC missing from the fabric reads back as no MAC, so the spec differs.
        const spec = programmed ? structuredClone(svi) : { ...structuredClone(svi), mac: '' };
        return { kind, spec, deviceRefs: bridge ? { bridge: String(bridge.number) } : {} };
      }
    }
  }

  #requireFreeVni(vni: number | undefined, kind: 'bridge' | 'vrf', id: string): void {
    if (vni === undefined) return;
    for (const bridge of this.#bridges.values()) {
      if (bridge.spec.vni === vni && !(kind === 'bridge' && bridge.spec.id === id)) {
        throw new DeviceError(
          'CONFLICT',
          `VNI ${vni} is already used by bridge ${bridge.spec.id}`,
          false,
        );
      }
    }
    for (const vrf of this.#vrfs.values()) {
      if (vrf.vni === vni && !(kind === 'vrf' && vrf.id === id)) {
        throw new DeviceError('CONFLICT', `VNI ${vni} is already used by vrf ${vrf.id}`, false);
      }
    }
  }

  // ---- bridges -------------------------------------------------------------------------

  #applyBridge(spec: BridgeSpec): void {
    this.#requireFreeVni(spec.vni, 'bridge', spec.id);
    const remotes = spec.vni === undefined ? [] : spec.remoteVteps;
    if (remotes.length > 0 && spec.vtepAddress === undefined) {
      throw new InvalidSpecError('vtepAddress', 'is required to reach remote VTEPs');
    }
    remotes.forEach((remote, index) => {
      if (spec.vtepAddress && ipFamilyOf(remote) !== ipFamilyOf(spec.vtepAddress)) {
        throw new InvalidSpecError(
          `remoteVteps.${index}`,
          `${remote} is not of the VTEP address family`,
        );
      }
    });
    const existing = this.#bridges.get(spec.id);
    const bridge: SimBridge = existing ?? {
      spec,
      number: this.#allocate(
        MAX_BRIDGES,
        [...this.#bridges.values()].map((b) => b.number),
        'bridge',
      ),
      tunnels: [],
    };
    const keep = (tunnel: SimTunnel) =>
      remotes.includes(tunnel.remote) &&
      existing?.spec.vni === spec.vni &&
      existing?.spec.vtepAddress === spec.vtepAddress;
    const stale = bridge.tunnels.filter((tunnel) => !keep(tunnel));
    const kept = bridge.tunnels.filter(keep);
    const missing = remotes.filter((remote) => !kept.some((tunnel) => tunnel.remote === remote));
    const used = [...this.#bridges.values()]
      .flatMap((b) => b.tunnels)
      .filter((tunnel) => !stale.includes(tunnel))
      .map((tunnel) => tunnel.tunnel);
    const added: SimTunnel[] = [];
    for (const remote of missing) {
      const tunnel = this.#allocate(
        MAX_TUNNELS,
        [...used, ...added.map((t) => t.tunnel)],
        'tunnel',
      );
      added.push({ tunnel, port: FIRST_TUNNEL_PORT + tunnel, remote });
    }

    if (!existing) this.#fabric?.addBridge(bridge.number);
    for (const tunnel of stale) this.#fabric?.deleteTunnel(tunnel.tunnel);
    for (const tunnel of added) {
      this.#fabric?.addTunnel(tunnel.tunnel, {
        port: tunnel.port,
        bridge: bridge.number,
        vni: spec.vni ?? 0,
        local: spec.vtepAddress ?? '',
        remote: tunnel.remote,
      });
    }
    bridge.spec = spec;
    bridge.tunnels = [...kept, ...added];
    this.#bridges.set(spec.id, bridge);
  }

  #removeBridge(id: string): void {
    const bridge = this.#bridges.get(id);
    if (!bridge) return;
    const ports = [...this.#bindings.values()].filter((b) => b.spec.bridges.includes(id));
    if (ports.length > 0) {
      const names = ports.map((b) => b.spec.id).join(', ');
      throw new DeviceError('IN_USE', `bridge ${id} still has bridge ports ${names}`, true);
    }
    const svi = [...this.#svis.values()].find((candidate) => candidate.bridge === id);
    if (svi) throw new DeviceError('IN_USE', `bridge ${id} still carries SVI ${svi.id}`, true);
    for (const tunnel of bridge.tunnels) this.#fabric?.deleteTunnel(tunnel.tunnel);
    this.#fabric?.deleteBridge(bridge.number);
    this.#bridges.delete(id);
  }

  // ---- bridge ports ---------------------------------------------------------------------

  #applyBridgePort(spec: BridgePortSpec): void {
    const bridgeId = spec.bridges[0] ?? '';
    const bridge = this.#bridges.get(bridgeId);
    if (!bridge) {
      throw new DeviceError(
        'DEPENDENCY_MISSING',
        `bridge ${bridgeId} is not on the device yet`,
        true,
      );
    }
    const port = this.#ports.find((candidate) => candidate.config.mac === spec.mac);
    if (!port) throw new DeviceError('PORT_NOT_FOUND', `no device port has MAC ${spec.mac}`, true);
    const holder = [...this.#bindings.values()].find(
      (b) => b.port === port && b.spec.id !== spec.id,
    );
    if (holder) {
      throw new DeviceError(
        'CONFLICT',
        `device port ${port.config.name} (${spec.mac}) is bound to bridge port ${holder.spec.id}`,
        false,
      );
    }
    const previous = this.#bindings.get(spec.id);
    if (previous) this.#unbind(previous);
    // An admin-down port joins the bridge in the model only; configurePort attaches it.
    if (port.adminUp) this.#fabric?.setPortBridge(port.number, bridge.number);
    this.#fabric?.addStaticMac(bridge.number, port.config.mac, port.number);
    this.#bindings.set(spec.id, { spec, port });
  }

  #unbind(binding: SimBinding): void {
    const bridge = this.#bridges.get(binding.spec.bridges[0] ?? '');
    if (bridge) this.#fabric?.deleteMac(bridge.number, binding.port.config.mac);
    this.#fabric?.setPortBridge(binding.port.number, null);
    this.#bindings.delete(binding.spec.id);
  }

  #removeBridgePort(id: string): void {
    const binding = this.#bindings.get(id);
    if (binding) this.#unbind(binding);
  }

  // ---- VRFs and SVIs --------------------------------------------------------------------

  #applyVrf(spec: VrfSpec): void {
    this.#requireFreeVni(spec.vni, 'vrf', spec.id);
    this.#vrfs.set(spec.id, spec);
  }

  #removeVrf(id: string): void {
    if (!this.#vrfs.has(id)) return;
    const users = [...this.#svis.values()].filter((svi) => svi.vrf === id).map((svi) => svi.id);
    if (users.length > 0) {
      throw new DeviceError('IN_USE', `VRF ${id} is still used by SVI ${users.join(', ')}`, true);
    }
    this.#vrfs.delete(id);
  }

  #applySvi(spec: SviSpec): void {
    const bridge = this.#bridges.get(spec.bridge);
    if (!bridge) {
      throw new DeviceError(
        'DEPENDENCY_MISSING',
        `bridge ${spec.bridge} is not on the device yet`,
        true,
      );
    }
    if (!this.#vrfs.has(spec.vrf)) {
      throw new DeviceError('DEPENDENCY_MISSING', `VRF ${spec.vrf} is not on the device yet`, true);
    }
    const holder = [...this.#svis.values()].find(
      (s) => s.bridge === spec.bridge && s.id !== spec.id,
    );
    if (holder) {
      throw new DeviceError(
        'CONFLICT',
        `bridge ${spec.bridge} already carries SVI ${holder.id}`,
        false,
      );
    }
    const previous = this.#svis.get(spec.id);
    if (previous) this.#withdrawGateway(previous);
    const port =
      FIRST_GATEWAY_PORT +
      this.#allocate(
        MAX_GATEWAYS,
        [...this.#sviPorts.values()].map((used) => used - FIRST_GATEWAY_PORT),
        'gateway ports for SVIs',
      );
    this.#fabric?.setPortBridge(port, bridge.number);
    this.#fabric?.addStaticMac(bridge.number, spec.mac, port);
    this.#sviPorts.set(spec.id, port);
    this.#svis.set(spec.id, spec);
  }

  #withdrawGateway(svi: SviSpec): void {
    const bridge = this.#bridges.get(svi.bridge);
    if (bridge) this.#fabric?.deleteMac(bridge.number, svi.mac);
    const port = this.#sviPorts.get(svi.id);
    if (port !== undefined) this.#fabric?.setPortBridge(port, null);
    this.#sviPorts.delete(svi.id);
  }

  #removeSvi(id: string): void {
    const svi = this.#svis.get(id);
    if (!svi) return;
    this.#withdrawGateway(svi);
    this.#svis.delete(id);
  }

  #allocate(limit: number, used: readonly number[], what: string): number {
    const taken = new Set(used);
    for (let candidate = 0; candidate < limit; candidate += 1) {
      if (!taken.has(candidate)) return candidate;
    }
    throw new DeviceError(
      'DEVICE_FAILURE',
      `the datapath has no free ${what} (all ${limit} in use)`,
      true,
    );
  }
}

function checkPorts(ports: readonly DevicePortConfig[]): SimPort[] {
  if (!Array.isArray(ports)) throw new InvalidSpecError('ports', 'must be a list of {name, mac}');
  if (ports.length > MAX_DEVICE_PORTS) {
    throw new InvalidSpecError(
      'ports',
      `at most ${MAX_DEVICE_PORTS} device ports, got ${ports.length}`,
    );
  }
  const names = new Set<string>();
  const macs = new Set<string>();
  return ports.map((port, index) => {
    if (typeof port?.name !== 'string' || port.name === '') {
      throw new InvalidSpecError(`ports.${index}.name`, 'must be a non-empty string');
    }
    const mac = canonicalMac(String(port.mac));
    if (!mac)
      throw new InvalidSpecError(`ports.${index}.mac`, `"${String(port.mac)}" is not a MAC`);
    if (names.has(port.name))
      throw new InvalidSpecError(`ports.${index}.name`, `duplicate ${port.name}`);
    if (macs.has(mac)) throw new InvalidSpecError(`ports.${index}.mac`, `duplicate ${mac}`);
    names.add(port.name);
    macs.add(mac);
    return { config: { name: port.name, mac }, number: index, adminUp: true, mtu: 1500 };
  });
}

/** createSimNetworkDevice makes an emulated DPU; see SimNetworkDeviceOptions. */
export async function createSimNetworkDevice(
  options: SimNetworkDeviceOptions,
): Promise<SimNetworkDevice> {
  return new SimNetworkDevice(options);
}

/** simNetworkDeviceFactory registers the sim backend (`OPI_HAL=sim`, the default). */
export const simNetworkDeviceFactory: NetworkDeviceFactory = async (options) =>
  createSimNetworkDevice({ ports: options.ports ?? [] });
