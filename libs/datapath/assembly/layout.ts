// Memory layout of the datapath core. Every region is carved once out of linear memory by
// `layoutInit`; the host learns the offsets through `layoutOffset` so that no constant is
// duplicated in TypeScript.

export const MAX_PORTS: i32 = 256;
export const MAX_BRIDGES: i32 = 256;
export const MAX_TUNNELS: i32 = 64;
export const MAX_NODES: i32 = 16;
export const NUM_DROP_REASONS: i32 = 64;

// Packet slot: [guard][headroom][data ...][guard]. The headroom lets encapsulation grow a frame
// towards lower addresses without moving it.
export const SLOT_GUARD: u32 = 64;
export const SLOT_HEADROOM: u32 = 128;
export const SLOT_DATA_START: u32 = SLOT_GUARD + SLOT_HEADROOM;

// Packet descriptor (one per slot).
export const DESC_SIZE: u32 = 96;
export const D_OFF: u32 = 0; // u32 frame start within the slot
export const D_LEN: u32 = 4; // u32 frame length
export const D_IN_PORT: u32 = 8; // u16
export const D_OUT_PORT: u32 = 10; // u16
export const D_BRIDGE: u32 = 12; // u16
export const D_VERDICT: u32 = 14; // u8
export const D_DROP: u32 = 15; // u8
export const D_NEXT: u32 = 16; // u8 next node id
export const D_FLAGS: u32 = 17; // u8
export const D_VNI: u32 = 20; // u32
export const D_FLOW_HASH: u32 = 24; // u32
export const D_TRACE_ID: u32 = 28; // u32 (0: not traced)
export const D_TRACE_A: u32 = 32; // u32 stage-specific trace argument
export const D_TRACE_B: u32 = 36; // u32 stage-specific trace argument
export const D_OUTER: u32 = 40; // parsed layer, LAYER_SIZE bytes
export const D_INNER: u32 = 64; // parsed VXLAN inner layer

// Parsed layer: offsets are relative to the frame start; NONE marks an absent header.
export const LAYER_SIZE: u32 = 24;
export const L_ETH: u32 = 0; // u16
export const L_L3: u32 = 2; // u16
export const L_L4: u32 = 4; // u16
export const L_ETH_TYPE: u32 = 6; // u16
export const L_VLAN0: u32 = 8; // u16
export const L_VLAN1: u32 = 10; // u16
export const L_VLAN_COUNT: u32 = 12; // u8
export const L_IP_VER: u32 = 13; // u8 (0: no valid IP header)
export const L_PROTO: u32 = 14; // u8
export const L_L4_KIND: u32 = 15; // u8 (0 none, 1 ports, 2 icmp)
export const L_SPORT: u32 = 16; // u16 (ICMP: type)
export const L_DPORT: u32 = 18; // u16 (ICMP: code)
export const L_COMPLETE: u32 = 20; // u8 1 once Ethernet + VLAN tags parsed
export const NONE16: u16 = 0xffff;

export const L4_NONE: u8 = 0;
export const L4_PORTS: u8 = 1;
export const L4_ICMP: u8 = 2;

// Descriptor flags.
export const F_FRAGMENT: u8 = 1;
export const F_VXLAN: u8 = 2;
export const F_IPV4_OPTIONS: u8 = 4;
export const F_DECAP: u8 = 8;
export const F_ENCAP: u8 = 16;

// Verdicts.
export const V_PASS: u8 = 0; // parsed, no forwarding decision (parse-only runs)
export const V_FORWARD: u8 = 1;
export const V_FLOOD: u8 = 2;
export const V_DROP: u8 = 3;

// Port table entry.
export const PORT_SIZE: u32 = 8;
export const P_BRIDGE: u32 = 0; // u16, NONE16 when not in a bridge
export const P_KIND: u32 = 2; // u8
export const P_TUNNEL: u32 = 4; // u16 tunnel index for tunnel ports
export const P_ROUTED: u32 = 3; // u8 1: IPv4 arriving here is routed (L3) in VRF P_VRF
export const P_VRF: u32 = 6; // u16
export const PORT_KIND_NONE: u8 = 0;
export const PORT_KIND_PHYS: u8 = 1;
export const PORT_KIND_TUNNEL: u8 = 2;

// Bridge table entry: config followed by mutable flood-limiter state.
export const BRIDGE_SIZE: u32 = 64;
export const B_USED: u32 = 0; // u8
export const B_FLOOD_LIMIT: u32 = 4; // u32 floods per second, 0 = unlimited
export const B_WINDOW_START: u32 = 8; // u32 ms (state)
export const B_WINDOW_COUNT: u32 = 12; // u32 (state)
export const B_FLOOD_MASK: u32 = 16; // 256-bit port mask

// VXLAN tunnel entry.
export const TUNNEL_SIZE: u32 = 64;
export const T_USED: u32 = 0; // u8
export const T_IP_VER: u32 = 1; // u8 4 or 6
export const T_TTL: u32 = 2; // u8
export const T_PORT: u32 = 4; // u16 virtual port number of the tunnel
export const T_UNDERLAY_PORT: u32 = 6; // u16
export const T_VNI: u32 = 8; // u32
export const T_LOCAL_MAC: u32 = 12; // 6 bytes
export const T_REMOTE_MAC: u32 = 18; // 6 bytes
export const T_LOCAL_IP: u32 = 24; // 16 bytes (IPv4 in the first 4)
export const T_REMOTE_IP: u32 = 40; // 16 bytes

// Counters (u64 each).
export const PORT_COUNTERS: u32 = 8; // rxPkts rxBytes txPkts txBytes drops
export const BRIDGE_COUNTERS: u32 = 8; // learned moves floods floodDrops forwards learnFailed aged
export const STAGE_COUNTERS: u32 = 4; // vectors packets drops
export const C_RX_PKTS: u32 = 0;
export const C_RX_BYTES: u32 = 1;
export const C_TX_PKTS: u32 = 2;
export const C_TX_BYTES: u32 = 3;
export const C_PORT_DROPS: u32 = 4;
export const C_LEARNED: u32 = 0;
export const C_MOVES: u32 = 1;
export const C_FLOODS: u32 = 2;
export const C_FLOOD_DROPS: u32 = 3;
export const C_FORWARDS: u32 = 4;
export const C_LEARN_FAILED: u32 = 5;
export const C_AGED: u32 = 6;

// Trace record.
export const TRACE_RECORD_SIZE: u32 = 16;
export const TRACE_CAPACITY: u32 = 4096;

// Region offsets (set by layoutInit).
export let poolSlots: u32 = 0;
export let slotSize: u32 = 0;
export let dataCapacity: u32 = 0;
export let vectorCapacity: u32 = 0;
export let portsBase: usize = 0;
export let bridgesBase: usize = 0;
export let tunnelsBase: usize = 0;
export let portCountersBase: usize = 0;
export let bridgeCountersBase: usize = 0;
export let dropCountersBase: usize = 0;
export let stageCountersBase: usize = 0;
/** VXLAN encap's per-tunnel outer-header cache (ENCAP_CACHE_SIZE bytes per tunnel). */
export let encapCacheBase: usize = 0;
export let macBase: usize = 0;
export let macMaxBuckets: u32 = 0;
export let inputVectorBase: usize = 0;
export let nodeVectorsBase: usize = 0;
export let nodeCountsBase: usize = 0;
export let descBase: usize = 0;
export let traceBase: usize = 0;
export let poolBase: usize = 0;
export let regionEnd: usize = 0;

export const MAC_BUCKET_SIZE: u32 = 80;
/** Bytes of encap cache per tunnel: a 64-byte header template, its checksum sum and stamp. */
export const ENCAP_CACHE_SIZE: u32 = 72;

function align64(x: usize): usize {
  return (x + 63) & ~(<usize>63);
}

/** Carves all regions; returns 0, or -1 when already initialised or arguments are invalid. */
export function layoutInit(slots: u32, dataCap: u32, vecCap: u32, macBucketsLog2: u32): i32 {
  if (poolBase != 0) return -1;
  if (slots == 0 || slots > 65536 || vecCap == 0 || vecCap > slots) return -1;
  if (dataCap < 64 || dataCap > 262144 || macBucketsLog2 > 22) return -1;
  poolSlots = slots;
  dataCapacity = dataCap;
  vectorCapacity = vecCap;
  slotSize = <u32>align64(<usize>(SLOT_DATA_START + dataCap + SLOT_GUARD));
  macMaxBuckets = (<u32>1) << macBucketsLog2;
  let p = align64(__heap_base);
  portsBase = p;
  p = align64(p + <usize>MAX_PORTS * PORT_SIZE);
  bridgesBase = p;
  p = align64(p + <usize>MAX_BRIDGES * BRIDGE_SIZE);
  tunnelsBase = p;
  p = align64(p + <usize>MAX_TUNNELS * TUNNEL_SIZE);
  portCountersBase = p;
  p = align64(p + <usize>MAX_PORTS * PORT_COUNTERS * 8);
  bridgeCountersBase = p;
  p = align64(p + <usize>MAX_BRIDGES * BRIDGE_COUNTERS * 8);
  dropCountersBase = p;
  p = align64(p + <usize>NUM_DROP_REASONS * 8);
  stageCountersBase = p;
  p = align64(p + <usize>MAX_NODES * STAGE_COUNTERS * 8);
  encapCacheBase = p;
  p = align64(p + <usize>MAX_TUNNELS * ENCAP_CACHE_SIZE);
  macBase = p;
  p = align64(p + <usize>macMaxBuckets * MAC_BUCKET_SIZE);
  inputVectorBase = p;
  p = align64(p + <usize>vecCap * 2);
  nodeVectorsBase = p;
  p = align64(p + <usize>MAX_NODES * vecCap * 2);
  nodeCountsBase = p;
  p = align64(p + <usize>MAX_NODES * 4);
  descBase = p;
  p = align64(p + <usize>slots * DESC_SIZE);
  traceBase = p;
  p = align64(p + <usize>TRACE_CAPACITY * TRACE_RECORD_SIZE);
  poolBase = p;
  p = align64(p + <usize>slots * slotSize);
  regionEnd = p;
  const needPages = <i32>((regionEnd + 0xffff) >> 16);
  const havePages = memory.size();
  if (needPages > havePages) {
    if (memory.grow(needPages - havePages) < 0) {
      poolBase = 0;
      return -1;
    }
  }
  memory.fill(portsBase, 0, poolBase - portsBase);
  for (let i: i32 = 0; i < MAX_PORTS; i++)
    store<u16>(portsBase + <usize>i * PORT_SIZE + P_BRIDGE, NONE16);
  return 0;
}

export function desc(slot: u32): usize {
  return descBase + <usize>slot * DESC_SIZE;
}

export function slotBase(slot: u32): usize {
  return poolBase + <usize>slot * slotSize;
}

export function portEntry(port: u32): usize {
  return portsBase + <usize>port * PORT_SIZE;
}

export function bridgeEntry(bridge: u32): usize {
  return bridgesBase + <usize>bridge * BRIDGE_SIZE;
}

export function tunnelEntry(t: u32): usize {
  return tunnelsBase + <usize>t * TUNNEL_SIZE;
}

/** False while a batch runs that must leave counters alone (inspection-only parse runs). */
export let counting: bool = true;
export function setCounting(on: bool): void {
  counting = on;
}

export function countPort(port: u32, counter: u32, delta: u64): void {
  if (!counting) return;
  const p = portCountersBase + (<usize>port * PORT_COUNTERS + counter) * 8;
  store<u64>(p, load<u64>(p) + delta);
}

export function countBridge(bridge: u32, counter: u32, delta: u64): void {
  if (!counting) return;
  const p = bridgeCountersBase + (<usize>bridge * BRIDGE_COUNTERS + counter) * 8;
  store<u64>(p, load<u64>(p) + delta);
}

export function countDrop(reason: u32): void {
  if (!counting) return;
  const p = dropCountersBase + <usize>reason * 8;
  store<u64>(p, load<u64>(p) + 1);
}

export function countStage(node: u32, counter: u32, delta: u64): void {
  if (!counting) return;
  const p = stageCountersBase + (<usize>node * STAGE_COUNTERS + counter) * 8;
  store<u64>(p, load<u64>(p) + delta);
}

export function be16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}

export function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

export function putBe16(p: usize, v: u32): void {
  store<u16>(p, bswap<u16>(<u16>v));
}

export function putBe32(p: usize, v: u32): void {
  store<u32>(p, bswap<u32>(v));
}
