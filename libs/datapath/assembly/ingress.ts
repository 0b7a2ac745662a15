// First stage a packet takes after parse (or after VXLAN decapsulation, on its tunnel port).
import { NODE_POLICER } from './nodes';
import { policerApplies } from './policer';
import { afterPolicer } from './acl';

/**
 * Policer when the port (or its flows, or its bridge) is policed, then ACL when bound, then
 * the bridge gateway, L3 on routed ports or L2.
 */
export function ingressNode(port: u32, d: usize): u8 {
  return policerApplies(port) ? NODE_POLICER : afterPolicer(port, d);
}
