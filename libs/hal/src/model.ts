// Device-neutral object shapes. The agent maps OPI messages to these; backends realize them.

/** MacAddress is six lower-case hex pairs separated by colons, e.g. `02:00:00:00:00:01`. */
export type MacAddress = string;

/** IpAddress is a textual IPv4 or IPv6 address without a prefix length. */
export type IpAddress = string;

/**
 * IpPrefix is an interface address in CIDR notation with its host bits kept,
 * e.g. `10.0.0.1/24` (the address 10.0.0.1 on the network 10.0.0.0/24).
 */
export type IpPrefix = string;

/** ObjectKind names the four kinds of object a reconciler applies to a network device. */
export type ObjectKind = 'bridge' | 'bridgePort' | 'vrf' | 'svi';

/** OBJECT_KINDS lists every ObjectKind, in the order dependencies are applied. */
export const OBJECT_KINDS: readonly ObjectKind[] = ['vrf', 'bridge', 'bridgePort', 'svi'];

/**
 * BridgeSpec is a layer-2 broadcast domain (OPI LogicalBridge). With a `vni` it is also
 * stretched over the fabric as VXLAN: flooded traffic goes to every `remoteVteps` address
 * (head-end replication) from `vtepAddress`.
 */
export interface BridgeSpec {
  /** Stable identifier chosen by the caller (the OPI resource id). */
  id: string;
  /** 802.1Q VLAN that selects this bridge on TRUNK ports, 1–4094 realizable. */
  vlanId: number;
  /** VXLAN network identifier, 1–16777215; absent for a bridge local to the device. */
  vni?: number;
  /** Local VTEP source address for the VXLAN tunnel. */
  vtepAddress?: IpAddress;
  /** Remote VTEPs that receive flooded (BUM) traffic; order does not matter. */
  remoteVteps: IpAddress[];
}

/** BridgePortType says how frames on a device port map to bridges. */
export type BridgePortType = 'access' | 'trunk';

/**
 * BridgePortSpec binds the device port whose MAC equals `mac` to bridges. ACCESS: untagged
 * frames belong to the one bridge in `bridges`. TRUNK: the 802.1Q tag selects the bridge by
 * its vlanId.
 */
export interface BridgePortSpec {
  id: string;
  mac: MacAddress;
  type: BridgePortType;
  /** Bridge ids; exactly one for ACCESS, at least one for TRUNK; order does not matter. */
  bridges: string[];
}

/** VrfSpec is a routing domain; with a `vni` it has a layer-3 VXLAN tunnel. */
export interface VrfSpec {
  id: string;
  vni?: number;
  /** Loopback address of the routing domain. */
  loopbackPrefix: IpPrefix;
  /** Local VTEP source address for the layer-3 VXLAN tunnel. */
  vtepAddress?: IpAddress;
}

/** SviSpec gives a bridge a gateway MAC and addresses inside a VRF. */
export interface SviSpec {
  id: string;
  /** Id of the VRF the gateway routes in. */
  vrf: string;
  /** Id of the bridge the gateway sits on. */
  bridge: string;
  mac: MacAddress;
  /** Gateway addresses; order does not matter. */
  gatewayPrefixes: IpPrefix[];
}

/** SpecOf maps each ObjectKind to its spec shape. */
export interface SpecByKind {
  bridge: BridgeSpec;
  bridgePort: BridgePortSpec;
  vrf: VrfSpec;
  svi: SviSpec;
}

/** SpecOf is the spec shape of object kind K. */
export type SpecOf<K extends ObjectKind> = SpecByKind[K];

/**
 * RealizedObject is what a backend read back from the device: the spec as the device holds it
 * (compare with the desired spec using `specsEqual`) and the device handles that realize it.
 */
export interface RealizedObject<K extends ObjectKind = ObjectKind> {
  kind: K;
  spec: SpecOf<K>;
  /** Backend handles by role, e.g. `{ bridge: 'opib1a2b3c4d', vxlan: 'opix1a2b3c4d' }`. */
  deviceRefs: Record<string, string>;
}

/** DevicePortConfig is a configured device port (a host-facing function): name and MAC. */
export interface DevicePortConfig {
  name: string;
  mac: MacAddress;
}

/**
 * DevicePortSettings are the settings of a device port that NetInterfaceService may change;
 * absent fields stay as they are.
 */
export interface DevicePortSettings {
  adminUp?: boolean;
  /** Layer-3 MTU in bytes, 68–65535. */
  mtu?: number;
}

/** PortOperState is a device port's operational state. */
export type PortOperState = 'up' | 'down' | 'unknown';

/** PortCounters are a device port's traffic counters since the port appeared. */
export interface PortCounters {
  rxOctets: number;
  rxPackets: number;
  rxMulticastPackets: number;
  rxErrors: number;
  rxDiscards: number;
  txOctets: number;
  txPackets: number;
  txErrors: number;
  txDiscards: number;
}

/** DevicePort is a port of the device as NetInterfaceService shows it. */
export interface DevicePort {
  name: string;
  mac: MacAddress;
  mtu: number;
  adminUp: boolean;
  operState: PortOperState;
  /** Id of the BridgePort bound to this device port, if any. */
  bridgePort?: string;
  /** Ids of the bridges this port forwards for (empty when unbound). */
  bridges: string[];
  counters: PortCounters;
}

/** MacEntryOrigin tells why a MAC table entry exists. */
export type MacEntryOrigin = 'local' | 'learned' | 'static' | 'flood';

/**
 * MacEntry is one forwarding entry of a bridge: the MAC is reached through a device port or
 * a remote VTEP. Flood entries (MAC 00:00:00:00:00:00) list head-end replication targets.
 */
export interface MacEntry {
  bridge: string;
  mac: MacAddress;
  port?: string;
  remoteVtep?: IpAddress;
  origin: MacEntryOrigin;
}

/** NeighbourEntry is one IP-to-MAC resolution learned on an SVI. */
export interface NeighbourEntry {
  bridge: string;
  vrf?: string;
  ip: IpAddress;
  mac?: MacAddress;
  state: string;
}

/** ZERO_COUNTERS is a PortCounters value with every counter at zero. */
export const ZERO_COUNTERS: Readonly<PortCounters> = Object.freeze({
  rxOctets: 0,
  rxPackets: 0,
  rxMulticastPackets: 0,
  rxErrors: 0,
  rxDiscards: 0,
  txOctets: 0,
  txPackets: 0,
  txErrors: 0,
  txDiscards: 0,
});

/** FLOOD_MAC is the all-zero MAC that marks head-end replication entries. */
export const FLOOD_MAC: MacAddress = '00:00:00:00:00:00';
