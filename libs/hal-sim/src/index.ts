// Public API of @opi/hal-sim: everything importable from outside is listed here.
export { DEFAULT_UNDERLAY, datapathFabric } from './fabric.js';
export type {
  FabricFrameResult,
  FabricMacEntry,
  FabricTunnel,
  FabricUnderlay,
  SimFabric,
} from './fabric.js';
export {
  FIRST_GATEWAY_PORT,
  SIM_CAPABILITIES,
  SimNetworkDevice,
  createSimNetworkDevice,
  simNetworkDeviceFactory,
} from './sim-device.js';
export type { SimFramePort, SimFrameResult, SimNetworkDeviceOptions } from './sim-device.js';
