// Where a unicast packet goes once its egress port is known (and the egress ACL passed it).
import { P_KIND, PORT_KIND_TUNNEL, portEntry } from './layout';
import { NODE_TX, NODE_VXLAN_ENCAP } from './nodes';

/** VXLAN encapsulation for a tunnel port, tx for the rest. */
export function tunnelOrTx(out: u32): u8 {
  return load<u8>(portEntry(out) + P_KIND) == PORT_KIND_TUNNEL ? NODE_VXLAN_ENCAP : NODE_TX;
}
