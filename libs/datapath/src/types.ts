// Types shared by the WebAssembly datapath, the TypeScript reference and their callers.

/** What the pipeline decided for one packet. `pass` means "parsed, no forwarding stage ran". */
export type Verdict = 'pass' | 'forward' | 'flood' | 'drop';

/** One frame entering the pipeline on `port`. */
export interface FrameIn {
  /** Ethernet frame, starting at the destination MAC, without FCS. */
  data: Uint8Array;
  /** Ingress port number (0–255). */
  port: number;
}

/** The pipeline's decision for one frame. */
export interface PacketResult {
  verdict: Verdict;
  /** Drop reason name when `verdict` is `drop`, else null. */
  drop: string | null;
  /** Ingress port after decapsulation (a tunnel's port when a VXLAN frame terminated). */
  inPort: number;
  /** Egress port of a forwarded frame (underlay port for encapsulated frames), else null. */
  outPort: number | null;
  /** Ports a flooded frame goes out of (physical ports of the bridge except the ingress). */
  floodPorts: number[];
  /**
   * Encapsulated copies of a flooded frame, one per VXLAN tunnel port of the bridge
   * (head-end replication; only for frames that did not come from a tunnel).
   */
  floodCopies: { port: number; outPort: number; frame: Uint8Array }[];
  /** The frame as it leaves (edited in place: decapsulated or encapsulated). */
  frame: Uint8Array;
}

/** Per-port counters. */
export interface PortCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
}

/** Per-bridge counters. */
export interface BridgeCounters {
  learned: number;
  moves: number;
  floods: number;
  floodDrops: number;
  forwards: number;
  learnFailed: number;
  aged: number;
}

/** Per-stage counters of the WebAssembly pipeline. */
export interface StageCounters {
  vectors: number;
  packets: number;
  drops: number;
}

/** Counter snapshot; only entries with a non-zero counter are listed. */
export interface CountersSnapshot {
  ports: Record<number, PortCounters>;
  bridges: Record<number, BridgeCounters>;
  drops: Record<string, number>;
}

/** Bridge options. */
export interface BridgeOptions {
  /** Floods allowed per 1000 ms window; 0 or absent means unlimited. */
  floodLimit?: number;
}

/** Physical port options. */
export interface PortOptions {
  /** Bridge the port belongs to; null or absent: none (its frames are dropped by L2). */
  bridge?: number | null;
  /** Whether flooded frames of the bridge go out of this port (default true). */
  flood?: boolean;
  /**
   * VRF (0–255) of a routed port: IPv4 arriving on it goes to the L3 stage and is routed in
   * that VRF's route table, IPv6 to the l3v6 stage and that VRF's IPv6 route table. A port is either in a bridge or routed, not both.
   */
  vrf?: number | null;
  /**
   * IPv4 address of a routed port: the source of the ICMP time-exceeded messages it sends
   * back when a packet's TTL expires (without one such packets are dropped `ttl-exceeded`).
   */
  address?: string | null;
  /**
   * IPv6 address of a routed port: the source of the ICMPv6 time-exceeded messages it sends,
   * and (with `mac`) the address whose Neighbor Solicitations it answers.
   */
  address6?: string | null;
  /**
   * MAC address of a routed port: with `address`, ARP requests for that address are answered;
   * with `address6`, Neighbor Solicitations.
   */
  mac?: string | null;
  /**
   * IP bytes the port carries (68–65535, default 1500): routed IPv4 packets larger than the
   * egress port's MTU get ICMP fragmentation needed (DF set) or are dropped; VXLAN tunnels
   * over this port carry inner IP packets of at most this minus 50 (IPv4) or 70 (IPv6).
   */
  mtu?: number;
}

/** A VXLAN tunnel: a virtual port of a bridge whose frames travel inside UDP/IP. */
export interface VxlanTunnelOptions {
  /** Virtual port number of the tunnel (0–255, distinct from physical ports). */
  port: number;
  /** Bridge the tunnel port belongs to. */
  bridge: number;
  /** VXLAN network identifier (24 bits). */
  vni: number;
  /** Local VTEP address (IPv4 or IPv6 text). */
  local: string;
  /** Remote VTEP address, same family as `local`. */
  remote: string;
  /** Source MAC of encapsulated frames. */
  localMac: string;
  /** Destination (next-hop) MAC of encapsulated frames. */
  remoteMac: string;
  /** Physical port encapsulated frames leave from. */
  underlayPort: number;
  /** TTL / hop limit of the outer header (default 64). */
  ttl?: number;
  /** Whether the bridge's floods are replicated into this tunnel (default true). */
  flood?: boolean;
  /**
   * Largest inner IP packet the tunnel carries (68–65535); default: the underlay port's MTU
   * minus the encapsulation overhead (50 bytes over IPv4, 70 over IPv6).
   */
  mtu?: number;
}

/** Parsed fields of one Ethernet layer as the datapath saw it. */
export interface ParsedLayer {
  /** Ethernet and VLAN headers were complete. */
  complete: boolean;
  ethOffset: number;
  ethType: number;
  vlans: number[];
  /** 0 when no valid IP header was parsed. */
  ipVersion: 0 | 4 | 6;
  l3Offset: number | null;
  /** Upper-layer protocol (IPv6: after extension headers). */
  proto: number | null;
  l4Offset: number | null;
  l4: { sport: number; dport: number } | { type: number; code: number } | null;
}

/** Result of the parse stage for one frame. */
export interface ParseResult {
  ok: boolean;
  drop: string | null;
  fragment: boolean;
  vni: number | null;
  outer: ParsedLayer;
  /** The VXLAN inner frame, when the VXLAN header was valid. */
  inner: ParsedLayer | null;
}
