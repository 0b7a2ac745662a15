// Public API of @opi/hal-linux: everything importable from outside is listed here.
export {
  LINUX_CAPABILITIES,
  LinuxNetworkDevice,
  VXLAN_UDP_PORT,
  createLinuxNetworkDevice,
  linuxNetworkDeviceFactory,
} from './linux-device.js';
export type { LinuxNetworkDeviceOptions } from './linux-device.js';
