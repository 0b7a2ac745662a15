// Node (stage) ids of the graph. Ids follow a topological order: a stage only ever hands a
// packet to a stage with a larger id, so one pass over the nodes runs a whole batch.
export const NODE_PARSE: u8 = 0;
export const NODE_VXLAN_DECAP: u8 = 1;
export const NODE_POLICER: u8 = 2;
export const NODE_CONNTRACK: u8 = 3;
export const NODE_ACL: u8 = 4;
export const NODE_GATEWAY: u8 = 5;
export const NODE_L2: u8 = 6;
export const NODE_L3: u8 = 7;
export const NODE_L3V6: u8 = 8;
export const NODE_ACL_EGRESS: u8 = 9;
export const NODE_VXLAN_ENCAP: u8 = 10;
export const NODE_TX: u8 = 11;
export const NODE_DROP: u8 = 12;
export const NODE_COUNT: i32 = 13;
