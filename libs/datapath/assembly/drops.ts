// Drop reasons. The numeric codes are private to the core and its host; names are the
// contract (counters, traces and `opictl pcap parse` report names).

export const DROP_NONE: u8 = 0;
export const DROP_BAD_DESCRIPTOR: u8 = 1;
export const DROP_ETH_TRUNCATED: u8 = 2;
export const DROP_VLAN_TRUNCATED: u8 = 3;
export const DROP_VLAN_TOO_MANY: u8 = 4;
export const DROP_ARP_TRUNCATED: u8 = 5;
export const DROP_IPV4_TRUNCATED: u8 = 6;
export const DROP_IPV4_BAD_VERSION: u8 = 7;
export const DROP_IPV4_BAD_IHL: u8 = 8;
export const DROP_IPV4_BAD_LENGTH: u8 = 9;
export const DROP_IPV4_BAD_CHECKSUM: u8 = 10;
export const DROP_IPV4_BAD_OPTION: u8 = 11;
export const DROP_IPV6_TRUNCATED: u8 = 12;
export const DROP_IPV6_BAD_VERSION: u8 = 13;
export const DROP_IPV6_EXT_TRUNCATED: u8 = 14;
export const DROP_IPV6_TOO_MANY_EXT: u8 = 15;
export const DROP_TCP_TRUNCATED: u8 = 16;
export const DROP_TCP_BAD_OFFSET: u8 = 17;
export const DROP_UDP_TRUNCATED: u8 = 18;
export const DROP_UDP_BAD_LENGTH: u8 = 19;
export const DROP_ICMP_TRUNCATED: u8 = 20;
export const DROP_VXLAN_TRUNCATED: u8 = 21;
export const DROP_VXLAN_BAD_FLAGS: u8 = 22;
export const DROP_PORT_NOT_IN_BRIDGE: u8 = 23;
export const DROP_SRC_MAC_MULTICAST: u8 = 24;
export const DROP_SAME_PORT: u8 = 25;
export const DROP_FLOOD_LIMIT: u8 = 26;
export const DROP_VXLAN_NO_TUNNEL: u8 = 27;
export const DROP_TUNNEL_MISSING: u8 = 28;
export const DROP_ENCAP_TOO_LONG: u8 = 29;
export const DROP_EGRESS_NOT_IN_BRIDGE: u8 = 30;
export const DROP_NOT_ROUTABLE: u8 = 31;
export const DROP_NO_ROUTE: u8 = 32;
export const DROP_NEXT_HOP_MISSING: u8 = 33;
export const DROP_BLACKHOLE: u8 = 34;
export const DROP_TTL_EXCEEDED: u8 = 35;
export const DROP_ACL_DENY: u8 = 36;
export const DROP_POLICER: u8 = 37;
export const DROP_IPV6_MULTICAST_DST: u8 = 38;
export const DROP_IPV6_LINK_LOCAL: u8 = 39;
export const DROP_IPV6_BAD_ADDRESS: u8 = 40;
export const DROP_HOP_LIMIT_EXCEEDED: u8 = 41;
export const DROP_ND_INVALID: u8 = 42;
export const DROP_ND_NOT_HANDLED: u8 = 43;
export const DROP_FRAG_NEEDED: u8 = 44;
export const DROP_MTU_EXCEEDED: u8 = 45;
export const DROP_TUNNEL_MTU_EXCEEDED: u8 = 46;
export const DROP_ACL_EGRESS_DENY: u8 = 47;
export const DROP_PACKET_TOO_BIG: u8 = 48;
export const DROP_REASON_COUNT: i32 = 49;

/** Name of drop reason `code` ('' past the last one). */
export function dropReasonName(code: i32): string {
  switch (code) {
    case 0:
      return 'none';
    case 1:
      return 'bad-descriptor';
    case 2:
      return 'eth-truncated';
    case 3:
      return 'vlan-truncated';
    case 4:
      return 'vlan-too-many';
    case 5:
      return 'arp-truncated';
    case 6:
      return 'ipv4-truncated';
    case 7:
      return 'ipv4-bad-version';
    case 8:
      return 'ipv4-bad-ihl';
    case 9:
      return 'ipv4-bad-length';
    case 10:
      return 'ipv4-bad-checksum';
    case 11:
      return 'ipv4-bad-option';
    case 12:
      return 'ipv6-truncated';
    case 13:
      return 'ipv6-bad-version';
    case 14:
      return 'ipv6-ext-truncated';
    case 15:
      return 'ipv6-too-many-ext';
    case 16:
      return 'tcp-truncated';
    case 17:
      return 'tcp-bad-offset';
    case 18:
      return 'udp-truncated';
    case 19:
      return 'udp-bad-length';
    case 20:
      return 'icmp-truncated';
    case 21:
      return 'vxlan-truncated';
    case 22:
      return 'vxlan-bad-flags';
    case 23:
      return 'port-not-in-bridge';
    case 24:
      return 'src-mac-multicast';
    case 25:
      return 'same-port';
    case 26:
      return 'flood-limit';
    case 27:
      return 'vxlan-no-tunnel';
    case 28:
      return 'tunnel-missing';
    case 29:
      return 'encap-too-long';
    case 30:
      return 'egress-not-in-bridge';
    case 31:
      return 'not-routable';
    case 32:
      return 'no-route';
    case 33:
      return 'next-hop-missing';
    case 34:
      return 'blackhole';
    case 35:
      return 'ttl-exceeded';
    case 36:
      return 'acl-deny';
    case 37:
      return 'policer';
    case 38:
      return 'ipv6-multicast-dst';
    case 39:
      return 'ipv6-link-local';
    case 40:
      return 'ipv6-bad-address';
    case 41:
      return 'hop-limit-exceeded';
    case 42:
      return 'nd-invalid';
    case 43:
      return 'nd-not-handled';
    case 44:
      return 'frag-needed';
    case 45:
      return 'mtu-exceeded';
    case 46:
      return 'tunnel-mtu-exceeded';
    case 47:
      return 'acl-egress-deny';
    case 48:
      return 'packet-too-big';
    default:
      return '';
  }
}
