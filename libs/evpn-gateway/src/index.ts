// Public API of @opi/evpn-gateway: everything importable from outside is listed here.
export {
  ipAddressToText,
  ipPrefixFromText,
  ipPrefixToText,
  macFromBytes,
  macToBytes,
} from './addresses.js';
export { BRIDGE_PORT, EVPN_GATEWAY_KINDS, LOGICAL_BRIDGE, MAX_VLAN_ID, SVI, VRF } from './kinds.js';
export { bridgePortSpecOf, bridgeSpecOf, sviSpecOf, vrfSpecOf } from './mapping.js';
export type { FabricSettings } from './mapping.js';
export {
  NET_INTERFACE_NAMES,
  createNetInterfaceService,
  netInterfaceName,
  toNetInterface,
} from './net-interfaces.js';
export type { NetInterfaceServiceOptions } from './net-interfaces.js';
export { PortSettingsStore, portSettingsBucketName } from './port-settings.js';
export {
  DEVICE_COMPONENT,
  HAL_KIND_OF,
  ReadBackMismatchError,
  createEvpnReconcilers,
  halSpecOf,
} from './reconciler.js';
export type { EvpnReconcilerOptions } from './reconciler.js';
