// Binary interface between the host and the WebAssembly core: descriptor, layer and table
// field offsets. These mirror assembly/layout.ts; region base addresses are not mirrored but
// read from the core at start-up (`layoutValue`).

/** Descriptor field offsets. */
export const Desc = {
  off: 0,
  len: 4,
  inPort: 8,
  outPort: 10,
  bridge: 12,
  verdict: 14,
  drop: 15,
  next: 16,
  flags: 17,
  vni: 20,
  flowHash: 24,
  traceId: 28,
  traceA: 32,
  traceB: 36,
  outer: 40,
  inner: 64,
} as const;

/** Parsed-layer field offsets (relative to a layer inside a descriptor). */
export const Layer = {
  eth: 0,
  l3: 2,
  l4: 4,
  ethType: 6,
  vlan0: 8,
  vlan1: 10,
  vlanCount: 12,
  ipVersion: 13,
  proto: 14,
  l4Kind: 15,
  sport: 16,
  dport: 18,
  complete: 20,
} as const;

/** Marks an absent 16-bit offset or port. */
export const NONE16 = 0xffff;
/** Layer l4Kind: TCP/UDP ports. */
export const L4_PORTS = 1;
/** Layer l4Kind: ICMP/ICMPv6 type and code. */
export const L4_ICMP = 2;

/** Descriptor flag bits. */
export const Flag = { fragment: 1, vxlan: 2, ipv4Options: 4, decap: 8, encap: 16 } as const;
/** Descriptor verdict codes. */
export const VerdictCode = { pass: 0, forward: 1, flood: 2, drop: 3 } as const;

/** Table sizes fixed by the core. */
export const MAX_PORTS = 256;
/** Bridges the core holds. */
export const MAX_BRIDGES = 256;
/** VXLAN tunnels the core holds. */
export const MAX_TUNNELS = 64;

/** Port table entry layout. */
export const PortEntry = { size: 8, bridge: 0, kind: 2, routed: 3, tunnel: 4, vrf: 6 } as const;
/** Port kinds. */
export const PortKind = { none: 0, phys: 1, tunnel: 2 } as const;
/** Bridge table entry layout. */
export const BridgeEntry = {
  size: 64,
  used: 0,
  floodLimit: 4,
  windowStart: 8,
  windowCount: 12,
  floodMask: 16,
} as const;
/** Tunnel table entry layout. */
export const TunnelEntry = {
  size: 64,
  used: 0,
  ipVersion: 1,
  ttl: 2,
  port: 4,
  underlayPort: 6,
  vni: 8,
  localMac: 12,
  remoteMac: 18,
  localIp: 24,
  remoteIp: 40,
} as const;

/** u64 counters per port. */
export const PORT_COUNTERS = 8;
/** u64 counters per bridge. */
export const BRIDGE_COUNTERS = 8;
/** u64 counters per stage. */
export const STAGE_COUNTERS = 4;
/** Bytes per trace record. */
export const TRACE_RECORD_SIZE = 16;
/** MAC table entry field offsets. */
export const MAC_ENTRY = { key: 0, port: 8, flags: 10, seen: 12 } as const;

/** Indices understood by the core's `layoutValue`. */
export const LayoutIndex = {
  poolSlots: 0,
  slotSize: 1,
  dataCapacity: 2,
  vectorCapacity: 3,
  portsBase: 4,
  bridgesBase: 5,
  tunnelsBase: 6,
  portCountersBase: 7,
  bridgeCountersBase: 8,
  dropCountersBase: 9,
  stageCountersBase: 10,
  macBase: 11,
  inputVectorBase: 12,
  descBase: 13,
  traceBase: 14,
  poolBase: 15,
  regionEnd: 16,
  slotDataStart: 17,
  descSize: 18,
} as const;
