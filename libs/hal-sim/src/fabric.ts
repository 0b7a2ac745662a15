// The seam between the emulated device and its fabric. The sim keeps the device model (what
// was applied) and programs the fabric's tables from it; `datapathFabric` is the fabric made
// of the WebAssembly datapath (@opi/datapath).
import { createDatapath } from '@opi/datapath';
import type { Datapath } from '@opi/datapath';
import { DeviceError, ZERO_COUNTERS } from '@opi/hal';
import type { PortCounters } from '@opi/hal';

/** FabricTunnel is one point-to-point VXLAN tunnel: a virtual port of a bridge. */
export interface FabricTunnel {
  /** Virtual port number of the tunnel. */
  port: number;
  bridge: number;
  vni: number;
  local: string;
  remote: string;
}

/** FabricMacEntry is one entry of the fabric's MAC table. */
export interface FabricMacEntry {
  bridge: number;
  mac: string;
  port: number;
  static: boolean;
}

/** FabricFrameResult is the fabric's decision for one frame. */
export interface FabricFrameResult {
  verdict: 'pass' | 'forward' | 'flood' | 'drop';
  drop: string | null;
  outPort: number | null;
  floodPorts: number[];
  /** Head-end replication: the flood's encapsulated copies, one per remote VTEP of the bridge. */
  floodCopies: Array<{ outPort: number; frame: Uint8Array }>;
  frame: Uint8Array;
}

/**
 * SimFabric is what the sim needs from a packet fabric: numbered bridges, ports and tunnels,
 * a MAC table, port counters and frame processing. Numbers are the fabric's own handles; the
 * sim maps object ids and port names to them.
 */
export interface SimFabric {
  addBridge(bridge: number): void;
  deleteBridge(bridge: number): void;
  /** Puts physical `port` into `bridge` (null: into none). */
  setPortBridge(port: number, bridge: number | null): void;
  addTunnel(tunnel: number, options: FabricTunnel): void;
  deleteTunnel(tunnel: number): void;
  addStaticMac(bridge: number, mac: string, port: number): void;
  deleteMac(bridge: number, mac: string): void;
  macEntries(): FabricMacEntry[];
  portCounters(port: number): PortCounters;
  process(frames: Array<{ port: number; data: Uint8Array }>, nowMs: number): FabricFrameResult[];
}

/** FabricUnderlay says where encapsulated frames leave the fabric and with which MACs. */
export interface FabricUnderlay {
  /** Port number of the underlay uplink. */
  port: number;
  /** Source MAC of encapsulated frames. */
  localMac: string;
  /** Next-hop MAC of encapsulated frames. */
  nextHopMac: string;
}

/** DEFAULT_UNDERLAY is the underlay of a sim that was configured without one. */
export const DEFAULT_UNDERLAY: Readonly<FabricUnderlay> = Object.freeze({
  port: 255,
  localMac: '02:00:00:00:ff:01',
  nextHopMac: '02:00:00:00:ff:02',
});

function fabricCall<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new DeviceError(
      'DEVICE_FAILURE',
      `datapath ${what}: ${(error as Error).message}`,
      false,
      {
        cause: error,
      },
    );
  }
}

/** datapathFabric makes a SimFabric of a WebAssembly datapath (a new one unless given). */
export function datapathFabric(
  underlay: FabricUnderlay = DEFAULT_UNDERLAY,
  datapath: Datapath = createDatapath(),
): SimFabric {
  return {
    addBridge: (bridge) => fabricCall('addBridge', () => datapath.addBridge(bridge)),
    deleteBridge: (bridge) => fabricCall('deleteBridge', () => datapath.deleteBridge(bridge)),
    setPortBridge: (port, bridge) =>
      fabricCall('setPort', () => datapath.setPort(port, { bridge })),
    addTunnel: (tunnel, options) =>
      fabricCall('addVxlanTunnel', () =>
        datapath.addVxlanTunnel(tunnel, {
          ...options,
          localMac: underlay.localMac,
          remoteMac: underlay.nextHopMac,
          underlayPort: underlay.port,
        }),
      ),
    deleteTunnel: (tunnel) =>
      fabricCall('deleteVxlanTunnel', () => datapath.deleteVxlanTunnel(tunnel)),
    addStaticMac: (bridge, mac, port) =>
      fabricCall('macTable.add', () => datapath.macTable.add(bridge, mac, port, { static: true })),
    deleteMac: (bridge, mac) => {
      fabricCall('macTable.delete', () => datapath.macTable.delete(bridge, mac));
    },
    macEntries: () =>
      [...datapath.macTable.iterate()].map(({ bridge, mac, port, static: isStatic }) => ({
        bridge,
        mac,
        port,
        static: isStatic,
      })),
    portCounters: (port) => {
      const counters = datapath.counters().ports[port];
      if (!counters) return { ...ZERO_COUNTERS };
      return {
        ...ZERO_COUNTERS,
        rxOctets: counters.rxBytes,
        rxPackets: counters.rxPackets,
        rxDiscards: counters.drops,
        txOctets: counters.txBytes,
        txPackets: counters.txPackets,
      };
    },
    process: (frames, nowMs) => datapath.process(frames, nowMs),
  };
}
