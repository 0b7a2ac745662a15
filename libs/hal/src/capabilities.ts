// What a backend can realize. Objects that need an absent capability fail with
// CapabilityMissingError naming it, so the agent can report a component ERROR.
import { CapabilityMissingError } from './errors.js';
import type { BridgePortSpec, BridgeSpec, ObjectKind, SpecOf, VrfSpec } from './model.js';

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

/**
 * requiredCapabilities lists what realizing `spec` of `kind` needs, as groups of which the
 * device must have at least one capability each (e.g. a TRUNK port needs vlanFiltering or
 * vlanDevices).
 */
export function requiredCapabilities<K extends ObjectKind>(
  kind: K,
  spec: SpecOf<K>,
): CapabilityName[][] {
  const needs: CapabilityName[][] = [];
  if (kind === 'bridgePort' && (spec as BridgePortSpec).type === 'trunk') {
    needs.push(['vlanFiltering', 'vlanDevices']);
  }
  if (kind === 'vrf') needs.push(['vrfDevice', 'policyRoutingVrf']);
  if (kind === 'svi') needs.push(['svi']);
  if ((kind === 'bridge' || kind === 'vrf') && (spec as BridgeSpec | VrfSpec).vni !== undefined) {
    needs.push(['vxlan']);
  }
  if (kind === 'bridge' && (spec as BridgeSpec).remoteVteps?.length > 0) {
    needs.push(['headEndReplication']);
  }
  return needs;
}

/**
 * requireCapabilitiesFor throws CapabilityMissingError for the first capability group that
 * realizing `spec` of `kind` needs and `capabilities` lacks.
 */
export function requireCapabilitiesFor<K extends ObjectKind>(
  capabilities: NetworkCapabilities,
  kind: K,
  spec: SpecOf<K>,
): void {
  for (const anyOf of requiredCapabilities(kind, spec)) {
    requireCapability(capabilities, anyOf, kind, spec.id);
  }
}
