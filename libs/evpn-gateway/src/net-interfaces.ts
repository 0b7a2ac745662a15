// opi_api.network.opinetcommon.v1alpha1.NetInterfaceService over the device ports. Ports are
// the device's, not desired state: Get/List read the device, Update changes MTU and admin state
// on it. The kit derives only Create/Get/List/Update/Delete services, so this one is written
// here with the kit's errors and pagination.
import * as grpc from '@grpc/grpc-js';
import { opinetcommonV1alpha1 as common } from '@opi/api';
import type { DevicePort, DevicePortSettings, NetworkDevice } from '@opi/hal';
import {
  GrpcStatus,
  KitError,
  LeaseLostError,
  NameTemplate,
  invalidArgument,
  notFound,
  paginate,
  toGrpcError,
  unavailable,
  type Fence,
  type ResourceService,
} from '@opi/kit';
import type { PortSettingsStore } from './port-settings.js';

/** NET_INTERFACE_NAMES: canonical name of a device port and the accepted input aliases. */
export const NET_INTERFACE_NAMES = {
  canonical: new NameTemplate('//network.opiproject.org/interfaces/{interface}'),
  aliases: [
    new NameTemplate('interfaces/{interface}'),
    new NameTemplate('netInterfaces/{interface}'),
  ],
};

/** Options of {@link createNetInterfaceService}. */
export interface NetInterfaceServiceOptions {
  device: NetworkDevice;
  /** The fence of the current lease holder; `check()` throws on a replica that does not drive. */
  fence(): Fence;
  /** Where changed settings are kept so that they survive restarts and failovers. */
  settings?: PortSettingsStore;
}

/** netInterfaceName is the wire name of the device port `port`. */
export const netInterfaceName = (port: string) => NET_INTERFACE_NAMES.canonical.format([port]);

/** Port name from a wire name in any accepted form, or a bare port name. */
function portNameOf(name: string, field: string): string {
  if (!name) throw invalidArgument(field, 'required');
  for (const template of [NET_INTERFACE_NAMES.canonical, ...NET_INTERFACE_NAMES.aliases]) {
    const ids = template.parse(name);
    if (ids) return ids[0]!;
  }
  if (/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) return name;
  throw invalidArgument(field, `"${name}" is not a NetInterface name`);
}

const operStateOf: Record<DevicePort['operState'], common.OperState> = {
  up: common.OperState.OPER_STATE_UP,
  down: common.OperState.OPER_STATE_DOWN,
  unknown: common.OperState.OPER_STATE_UNKNOWN,
};

/**
 * toNetInterface renders a device port: configuration (MTU, enabled), state (admin/oper,
 * counters, and its attachment — bridge port and bridges — in `state.description`) and MAC.
 */
export function toNetInterface(port: DevicePort): common.NetInterface {
  const attachment = port.bridgePort
    ? `bridge-port=${port.bridgePort} bridges=${port.bridges.join(',')}`
    : 'unbound';
  const c = port.counters;
  return common.NetInterface.fromPartial({
    name: netInterfaceName(port.name),
    config: {
      name: port.name,
      type: common.InterfaceType.INTERFACE_TYPE_ETHERNET,
      mtu: port.mtu,
      enabled: port.adminUp,
    },
    state: {
      name: port.name,
      type: common.InterfaceType.INTERFACE_TYPE_ETHERNET,
      mtu: port.mtu,
      enabled: port.adminUp,
      description: attachment,
      adminState: port.adminUp
        ? common.AdminState.ADMIN_STATE_ENABLE
        : common.AdminState.ADMIN_STATE_DISABLE,
      operState: operStateOf[port.operState],
      counters: {
        rxOctets: c.rxOctets,
        rxPackets: c.rxPackets,
        rxMulticastPkts: c.rxMulticastPackets,
        rxErrors: c.rxErrors,
        rxDiscards: c.rxDiscards,
        outOctets: c.txOctets,
        outPackets: c.txPackets,
        outErrors: c.txErrors,
        outDiscards: c.txDiscards,
      },
    },
    ethernet: { state: { macAddress: port.mac, hwMacAddress: port.mac } },
  });
}

/** Paths of NetInterface that UpdateNetInterface may change. */
const UPDATABLE_PATHS = ['config.mtu', 'config.enabled'] as const;

/** The port settings an update asks for, per its mask (`*` or empty: every updatable path). */
function settingsOf(update: common.NetInterface, mask: readonly string[]): DevicePortSettings {
  const paths = mask.length === 0 || mask.includes('*') ? [...UPDATABLE_PATHS] : mask;
  const config = update.config;
  const settings: DevicePortSettings = {};
  for (const path of paths) {
    if (path === 'config.mtu' || path === 'config') {
      if (config?.mtu) settings.mtu = config.mtu;
      else if (path === 'config.mtu' && mask.length > 0)
        throw invalidArgument('net_interface.config.mtu', 'must be 68-65535, got 0');
    }
    if (path === 'config.enabled' || path === 'config') {
      if (config) settings.adminUp = config.enabled;
    }
    if (!['config', ...UPDATABLE_PATHS].includes(path))
      throw invalidArgument(
        'update_mask',
        `"${path}" cannot be updated; updatable: ${UPDATABLE_PATHS.join(', ')}`,
      );
  }
  return settings;
}

/** HAL and lease errors of a port update as API errors naming the request field. */
function halToKit(error: unknown): unknown {
  const e = error as { code?: unknown; field?: unknown; message?: string };
  if (e?.code === 'INVALID_SPEC')
    return invalidArgument(
      `net_interface.config.${e.field === 'adminUp' ? 'enabled' : String(e.field)}`,
      e.message ?? '',
    );
  if (e?.code === 'PORT_NOT_FOUND')
    return new KitError(GrpcStatus.NOT_FOUND, e.message ?? 'port not found', 'net_interface.name');
  if (error instanceof LeaseLostError)
    return unavailable('this replica does not drive the device; retry against the active one');
  return error;
}

/**
 * createNetInterfaceService implements NetInterfaceService (Get, List, Update) over the
 * device's ports; add it to the agent's gRPC server next to the kit's services.
 */
export function createNetInterfaceService(options: NetInterfaceServiceOptions): ResourceService {
  const { device } = options;
  const definition = common.NetInterfaceServiceService as unknown as grpc.ServiceDefinition;
  const findPort = async (name: string, field: string) => {
    const portName = portNameOf(name, field);
    const port = (await device.listPorts()).find((p) => p.name === portName);
    if (!port) throw notFound(name, field);
    return port;
  };
  type Handler = (request: never) => Promise<unknown>;
  const handlers: Record<string, Handler> = {
    getNetInterface: async (request: common.GetNetInterfaceRequest) =>
      toNetInterface(await findPort(request.name, 'name')),
    listNetInterfaces: async (request: common.ListNetInterfacesRequest) => {
      const ports = await device.listPorts();
      const byName = new Map(ports.map((p) => [netInterfaceName(p.name), p]));
      const { page, nextPageToken } = paginate(
        [...byName.keys()].sort(),
        'NetInterface',
        request.pageSize,
        request.pageToken,
      );
      return common.ListNetInterfacesResponse.fromPartial({
        netInterfaces: page.map((name) => toNetInterface(byName.get(name)!)),
        nextPageToken,
      });
    },
    updateNetInterface: async (request: common.UpdateNetInterfaceRequest) => {
      const update = request.netInterface;
      if (!update) throw invalidArgument('net_interface', 'required');
      const port = await findPort(update.name, 'net_interface.name');
      const settings = settingsOf(update, request.updateMask ?? []);
      const fence = options.fence();
      try {
        fence.check();
        const configured = await device.configurePort(port.name, settings, fence.epoch);
        await options.settings?.merge(port.name, settings);
        return toNetInterface(configured);
      } catch (error) {
        throw halToKit(error);
      }
    },
  };
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    if (!definition[method]) throw new Error(`NetInterfaceService has no ${method}`);
    implementation[method] = (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      handler(call.request as never).then(
        (response) => callback(null, response),
        (error: unknown) => callback(toGrpcError(halToKit(error)) as grpc.ServiceError),
      );
    };
  }
  return { definition, implementation };
}
