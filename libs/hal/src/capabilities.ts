// What a backend can realize. Objects that need an absent capability fail with
// CapabilityMissingError naming it, so the agent can report a component ERROR.
import { CapabilityMissingError } from './errors.js';
import type { ObjectKind } from './model.js';

/** NetworkCapabilities declares what a network device backend can realize. */
export interface NetworkCapabilities {
  /** Bridges can filter and tag by 802.1Q VLAN (one bridge, many VLANs). */
  vlanFiltering: boolean;
  /** 802.1Q sub-interfaces can be created on ports. */
  vlanDevices: boolean;
  /** VXLAN tunnels to remote VTEPs. */
  vxlan: boolean;
  /** Flooding to a configured list of remote VTEPs (head-end replication). */
  headEndReplication: boolean;
  /** A VRF device (an isolated routing table with its own interface). */
  vrfDevice: boolean;
  /** VRFs realized as policy-routing tables selected by ingress interface. */
  policyRoutingVrf: boolean;
  /** Gateway addresses and MAC on a bridge. */
  svi: boolean;
  /** MAC learning from received (also decapsulated) traffic. */
  macLearning: boolean;
  /** Per-port traffic counters. */
  portCounters: boolean;
  /** IP neighbour (ARP/ND) table on SVIs. */
  neighbourTable: boolean;
}

/** CapabilityName names one capability. */
export type CapabilityName = keyof NetworkCapabilities;

/** CAPABILITY_NAMES lists every capability name. */
export const CAPABILITY_NAMES: readonly CapabilityName[] = [
  'vlanFiltering',
  'vlanDevices',
  'vxlan',
  'headEndReplication',
  'vrfDevice',
  'policyRoutingVrf',
  'svi',
  'macLearning',
  'portCounters',
  'neighbourTable',
];

/** hasAnyCapability tells whether `capabilities` includes at least one of `anyOf`. */
export function hasAnyCapability(
  capabilities: NetworkCapabilities,
  anyOf: readonly CapabilityName[],
): boolean {
  return anyOf.some((name) => capabilities[name]);
}

/**
 * requireCapability throws CapabilityMissingError unless `capabilities` includes one of
 * `anyOf`; `kind`/`id` name the object that needs it.
 */
export function requireCapability(
  capabilities: NetworkCapabilities,
  anyOf: readonly CapabilityName[],
  kind: ObjectKind,
  id: string,
): void {
  if (!hasAnyCapability(capabilities, anyOf)) {
    throw new CapabilityMissingError(anyOf, kind, id);
  }
}
