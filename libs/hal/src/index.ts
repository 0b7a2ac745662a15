// Public API of @opi/hal: everything importable from outside is listed here.
export {
  canonicalIpAddress,
  canonicalIpPrefix,
  canonicalMac,
  ipFamilyOf,
  isUnicastMac,
  prefixNetwork,
} from './addressing.js';
export {
  CAPABILITY_NAMES,
  hasAnyCapability,
  requireCapabilitiesFor,
  requireCapability,
  requiredCapabilities,
} from './capabilities.js';
export type { CapabilityName, NetworkCapabilities } from './capabilities.js';
export type { NetworkDevice } from './device.js';
export {
  CapabilityMissingError,
  DeviceError,
  HalError,
  InvalidSpecError,
  StaleFenceError,
  UnknownBackendError,
  isHalError,
} from './errors.js';
export type { DeviceErrorReason, HalErrorCode } from './errors.js';
export { FencingGuard } from './fencing.js';
export type { FencingToken } from './fencing.js';
export { FLOOD_MAC, OBJECT_KINDS, ZERO_COUNTERS } from './model.js';
export type {
  BridgePortSpec,
  BridgePortType,
  BridgeSpec,
  DevicePort,
  DevicePortConfig,
  DevicePortSettings,
  IpAddress,
  IpPrefix,
  MacAddress,
  MacEntry,
  MacEntryOrigin,
  NeighbourEntry,
  ObjectKind,
  PortCounters,
  PortOperState,
  RealizedObject,
  SpecByKind,
  SpecOf,
  SviSpec,
  VrfSpec,
} from './model.js';
export { DEFAULT_HAL_BACKEND, HAL_BACKEND_SETTING, NetworkDeviceRegistry } from './registry.js';
export type { NetworkDeviceFactory, NetworkDeviceOptions } from './registry.js';
export { realizationOutcome, specDifferences } from './realization.js';
export type { RealizationOutcome, RealizationState } from './realization.js';
export {
  MAX_MTU,
  MAX_VNI,
  MIN_MTU,
  RESERVED_VLAN_ID,
  assertObjectKind,
  normalizePortSettings,
  normalizeSpec,
  specsEqual,
} from './validation.js';
