// Runs the real network-agent process (dist/main.js) against a real nats-server and talks to it
// over gRPC with the generated OPI clients.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { evpnGwV1alpha1 as evpn, opinetcommonV1alpha1 as common } from '@opi/api';
import { freePort, spawnProcess, type SpawnedProcess } from '@opi/testing';

const entry = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A running network-agent process. */
export interface AgentUnderTest {
  process: SpawnedProcess;
  address: string;
  clients: EvpnClients;
  stop(): Promise<void>;
}

/** startNetworkAgent spawns the agent with `env` (OPI_* settings) and waits until it serves. */
export async function startNetworkAgent(env: Record<string, string>): Promise<AgentUnderTest> {
  const address = `127.0.0.1:${await freePort()}`;
  const child = spawnProcess(process.execPath, [entry], {
    env: {
      ...process.env,
      OPI_GRPC_ADDR: address,
      OPI_LOG_LEVEL: 'info',
      OPI_RESYNC_MS: '0',
      ...env,
    },
  });
  try {
    await child.waitForOutput(/"msg":"ready"/, { timeoutMs: 20_000, stream: 'stdout' });
  } catch (error) {
    await child.stop(1000);
    throw error;
  }
  const clients = evpnClients(address);
  return {
    process: child,
    address,
    clients,
    async stop() {
      clients.close();
      await child.stop(5000);
    },
  };
}

type Callback<R> = (error: grpc.ServiceError | null, response: R) => void;
type UnaryMethod<Q, R> = (
  request: Q,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: Callback<R>,
) => unknown;

/** Promise form of one unary RPC with a 10 s deadline. */
function unary<Q, R>(client: grpc.Client, method: UnaryMethod<Q, R>) {
  return (request: Q): Promise<R> =>
    new Promise((resolve, reject) =>
      method.call(
        client,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
}

/** The OPI network services as promise-returning functions. */
export interface EvpnClients {
  createLogicalBridge(r: Partial<evpn.CreateLogicalBridgeRequest>): Promise<evpn.LogicalBridge>;
  getLogicalBridge(r: evpn.GetLogicalBridgeRequest): Promise<evpn.LogicalBridge>;
  listLogicalBridges(
    r: Partial<evpn.ListLogicalBridgesRequest>,
  ): Promise<evpn.ListLogicalBridgesResponse>;
  updateLogicalBridge(r: Partial<evpn.UpdateLogicalBridgeRequest>): Promise<evpn.LogicalBridge>;
  deleteLogicalBridge(r: Partial<evpn.DeleteLogicalBridgeRequest>): Promise<unknown>;
  createBridgePort(r: Partial<evpn.CreateBridgePortRequest>): Promise<evpn.BridgePort>;
  getBridgePort(r: evpn.GetBridgePortRequest): Promise<evpn.BridgePort>;
  listBridgePorts(r: Partial<evpn.ListBridgePortsRequest>): Promise<evpn.ListBridgePortsResponse>;
  updateBridgePort(r: Partial<evpn.UpdateBridgePortRequest>): Promise<evpn.BridgePort>;
  deleteBridgePort(r: Partial<evpn.DeleteBridgePortRequest>): Promise<unknown>;
  createVrf(r: Partial<evpn.CreateVrfRequest>): Promise<evpn.Vrf>;
  getVrf(r: evpn.GetVrfRequest): Promise<evpn.Vrf>;
  listVrfs(r: Partial<evpn.ListVrfsRequest>): Promise<evpn.ListVrfsResponse>;
  updateVrf(r: Partial<evpn.UpdateVrfRequest>): Promise<evpn.Vrf>;
  deleteVrf(r: Partial<evpn.DeleteVrfRequest>): Promise<unknown>;
  createSvi(r: Partial<evpn.CreateSviRequest>): Promise<evpn.Svi>;
  getSvi(r: evpn.GetSviRequest): Promise<evpn.Svi>;
  listSvis(r: Partial<evpn.ListSvisRequest>): Promise<evpn.ListSvisResponse>;
  updateSvi(r: Partial<evpn.UpdateSviRequest>): Promise<evpn.Svi>;
  deleteSvi(r: Partial<evpn.DeleteSviRequest>): Promise<unknown>;
  getNetInterface(r: common.GetNetInterfaceRequest): Promise<common.NetInterface>;
  listNetInterfaces(
    r: Partial<common.ListNetInterfacesRequest>,
  ): Promise<common.ListNetInterfacesResponse>;
  updateNetInterface(r: Partial<common.UpdateNetInterfaceRequest>): Promise<common.NetInterface>;
  close(): void;
}

/** evpnClients opens one client per OPI network service at `address`. */
export function evpnClients(address: string): EvpnClients {
  const credentials = grpc.credentials.createInsecure();
  const lb = new evpn.LogicalBridgeServiceClient(address, credentials);
  const bp = new evpn.BridgePortServiceClient(address, credentials);
  const vrf = new evpn.VrfServiceClient(address, credentials);
  const svi = new evpn.SviServiceClient(address, credentials);
  const ni = new common.NetInterfaceServiceClient(address, credentials);
  // Requests go through fromPartial so that tests may leave fields out.
  const bind = <Q, R>(client: grpc.Client, name: string) => {
    const typeName = `${name.charAt(0).toUpperCase()}${name.slice(1)}Request`;
    const type = ((evpn as Record<string, unknown>)[typeName] ??
      (common as Record<string, unknown>)[typeName]) as { fromPartial(q: Q): Q };
    const call = unary<Q, R>(
      client,
      (client as unknown as Record<string, UnaryMethod<Q, R>>)[name]!,
    );
    return (request: Q) => call(type.fromPartial(request));
  };
  const out: Record<string, unknown> = {};
  for (const [client, names] of [
    [
      lb,
      [
        'createLogicalBridge',
        'getLogicalBridge',
        'listLogicalBridges',
        'updateLogicalBridge',
        'deleteLogicalBridge',
      ],
    ],
    [
      bp,
      [
        'createBridgePort',
        'getBridgePort',
        'listBridgePorts',
        'updateBridgePort',
        'deleteBridgePort',
      ],
    ],
    [vrf, ['createVrf', 'getVrf', 'listVrfs', 'updateVrf', 'deleteVrf']],
    [svi, ['createSvi', 'getSvi', 'listSvis', 'updateSvi', 'deleteSvi']],
    [ni, ['getNetInterface', 'listNetInterfaces', 'updateNetInterface']],
  ] as const) {
    for (const name of names) out[name] = bind(client, name);
  }
  out['close'] = () => [lb, bp, vrf, svi, ni].forEach((c) => c.close());
  return out as unknown as EvpnClients;
}

/** grpcError runs `call` and returns the gRPC error it fails with (fails the test if it succeeds). */
export async function grpcError(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
