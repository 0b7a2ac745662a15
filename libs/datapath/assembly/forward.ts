// Which forwarding stage a packet takes after ingress processing.
import { P_ROUTED, portEntry } from './layout';
import { NODE_L2, NODE_L3 } from './nodes';

/** L3 for packets arriving on a routed port, L2 for the rest. */
export function forwardNode(port: u32): u8 {
  return load<u8>(portEntry(port) + P_ROUTED) != 0 ? NODE_L3 : NODE_L2;
}
