// First stage a packet takes after parse (or after VXLAN decapsulation, on its tunnel port).
import { NODE_POLICER } from './nodes';
import { policerOfPort } from './policer';
import { afterPolicer } from './acl';

/** Policer when the port has one, then ACL when bound, then L3 on routed ports or L2. */
export function ingressNode(port: u32): u8 {
  return policerOfPort(port) != 0 ? NODE_POLICER : afterPolicer(port);
}
