// Which forwarding stage a packet takes after ingress processing.
import { P_ROUTED, portEntry } from './layout';
import { NODE_GATEWAY, NODE_L2, NODE_L3 } from './nodes';
import { gatewayWanted } from './gateway';

/**
 * L3 for packets arriving on a routed port; the gateway stage for ARP and Neighbor
 * Solicitations on a bridge with a gateway (decided here so that other traffic never enters
 * it); L2 for the rest.
 */
export function forwardNode(port: u32, d: usize): u8 {
  if (load<u8>(portEntry(port) + P_ROUTED) != 0) return NODE_L3;
  return gatewayWanted(port, d) ? NODE_GATEWAY : NODE_L2;
}
