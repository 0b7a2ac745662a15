// OPI EVPN messages (protobuf JSON, as the kit stores them) to the HAL's device-neutral specs.
// References become object ids; the fabric defaults (local VTEP, static remote VTEPs) are filled
// in here so that the HAL sees complete specs.
import { evpnGwV1alpha1 as evpn } from '@opi/api';
import type { BridgePortSpec, BridgeSpec, SviSpec, VrfSpec } from '@opi/hal';
import { invalidArgument, type JsonObject } from '@opi/kit';
import { ipPrefixToText, macFromBytes } from './addresses.js';
import { LOGICAL_BRIDGE, VRF } from './kinds.js';

/** FabricSettings are the agent's fabric defaults: its VTEP and the static remote VTEP list. */
export interface FabricSettings {
  /** Local VTEP address used when a bridge or VRF has no `vtep_ip_prefix`. */
  vtepAddress?: string;
  /** Remote VTEPs every VNI bridge floods to (head-end replication). */
  remoteVteps: readonly string[];
}

const addressOf = (prefix: string) => prefix.slice(0, prefix.lastIndexOf('/'));

/** idOfReference turns a full resource name of `kind` into its id, naming `field` on failure. */
function idOfReference(
  kind: typeof LOGICAL_BRIDGE | typeof VRF,
  name: string,
  field: string,
): string {
  const ids = kind.nameForms.parse(name);
  if (!ids || ids.length !== 1)
    throw invalidArgument(field, `"${name}" is not a ${kind.kind} name`);
  return ids[0]!;
}

/** bridgeSpecOf maps a stored LogicalBridge to a BridgeSpec with id `id`. */
export function bridgeSpecOf(id: string, resource: JsonObject, fabric: FabricSettings): BridgeSpec {
  const spec = evpn.LogicalBridge.fromJSON(resource).spec;
  if (!spec) throw invalidArgument('logical_bridge.spec', 'required');
  const stretched = spec.vni !== undefined;
  const vtep = spec.vtepIpPrefix
    ? addressOf(ipPrefixToText(spec.vtepIpPrefix, 'logical_bridge.spec.vtep_ip_prefix'))
    : fabric.vtepAddress;
  return {
    id,
    vlanId: spec.vlanId,
    ...(stretched ? { vni: spec.vni } : {}),
    ...(stretched && vtep ? { vtepAddress: vtep } : {}),
    remoteVteps: stretched ? [...fabric.remoteVteps] : [],
  };
}

/** bridgePortSpecOf maps a stored BridgePort to a BridgePortSpec with id `id`. */
export function bridgePortSpecOf(id: string, resource: JsonObject): BridgePortSpec {
  const spec = evpn.BridgePort.fromJSON(resource).spec;
  if (!spec) throw invalidArgument('bridge_port.spec', 'required');
  return {
    id,
    mac: macFromBytes(spec.macAddress, 'bridge_port.spec.mac_address'),
    type: spec.ptype === evpn.BridgePortType.BRIDGE_PORT_TYPE_TRUNK ? 'trunk' : 'access',
    bridges: spec.logicalBridges.map((name) =>
      idOfReference(LOGICAL_BRIDGE, name, 'bridge_port.spec.logical_bridges'),
    ),
  };
}

/** vrfSpecOf maps a stored Vrf to a VrfSpec with id `id`. */
export function vrfSpecOf(id: string, resource: JsonObject, fabric: FabricSettings): VrfSpec {
  const spec = evpn.Vrf.fromJSON(resource).spec;
  if (!spec) throw invalidArgument('vrf.spec', 'required');
  const vtep = spec.vtepIpPrefix
    ? addressOf(ipPrefixToText(spec.vtepIpPrefix, 'vrf.spec.vtep_ip_prefix'))
    : fabric.vtepAddress;
  return {
    id,
    ...(spec.vni !== undefined ? { vni: spec.vni } : {}),
    loopbackPrefix: ipPrefixToText(spec.loopbackIpPrefix, 'vrf.spec.loopback_ip_prefix'),
    ...(spec.vni !== undefined && vtep ? { vtepAddress: vtep } : {}),
  };
}

/** sviSpecOf maps a stored Svi to an SviSpec with id `id`. */
export function sviSpecOf(id: string, resource: JsonObject): SviSpec {
  const spec = evpn.Svi.fromJSON(resource).spec;
  if (!spec) throw invalidArgument('svi.spec', 'required');
  return {
    id,
    vrf: idOfReference(VRF, spec.vrf, 'svi.spec.vrf'),
    bridge: idOfReference(LOGICAL_BRIDGE, spec.logicalBridge, 'svi.spec.logical_bridge'),
    mac: macFromBytes(spec.macAddress, 'svi.spec.mac_address'),
    gatewayPrefixes: spec.gwIpPrefix.map((prefix, i) =>
      ipPrefixToText(prefix, `svi.spec.gw_ip_prefix[${i}]`),
    ),
  };
}
