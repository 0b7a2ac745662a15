// Overlay tunnels most specs configure the same way, so a change to the tunnel options is made
// once. Each call returns a fresh object: the datapath and the reference each get their own.
import type { VxlanTunnelOptions } from '../src/index.js';

/** Tunnel port 100 on bridge 1: VNI 5001 over IPv4 192.168.0.1 → .2, underlay port 9. */
export function tunnelV4(extra: Partial<VxlanTunnelOptions> = {}): VxlanTunnelOptions {
  return {
    port: 100,
    bridge: 1,
    vni: 5001,
    local: '192.168.0.1',
    remote: '192.168.0.2',
    localMac: '02:00:00:00:aa:01',
    remoteMac: '02:00:00:00:aa:02',
    underlayPort: 9,
    ...extra,
  };
}

/** Tunnel port 101 on bridge 2: VNI 6001 over IPv6 fd00::1 → ::2, underlay port 9. */
export function tunnelV6(extra: Partial<VxlanTunnelOptions> = {}): VxlanTunnelOptions {
  return {
    port: 101,
    bridge: 2,
    vni: 6001,
    local: 'fd00::1',
    remote: 'fd00::2',
    localMac: '02:00:00:00:aa:01',
    remoteMac: '02:00:00:00:aa:03',
    underlayPort: 9,
    ...extra,
  };
}
