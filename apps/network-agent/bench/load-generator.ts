// The gRPC load generator of the network benchmark, run as its own process so that client work
// does not share a CPU queue with the agent's event loop. It creates LogicalBridges and
// BridgePorts with `concurrency` calls in flight, measures each call, then how long objects
// take from Create to UP. Input: one JSON argument; output: one JSON line.
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { evpnGwV1alpha1 as evpn } from '@opi/api';

/** What the driver asks for. */
export interface LoadPlan {
  address: string;
  concurrency: number;
  rounds: number;
  bridgesPerRound: number;
  portMacs: string[];
  upSamples: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
const credentials = grpc.credentials.createInsecure();
const bridges = new evpn.LogicalBridgeServiceClient(plan.address, credentials);
const ports = new evpn.BridgePortServiceClient(plan.address, credentials);

type Method = (q: unknown, cb: (e: grpc.ServiceError | null, r: unknown) => void) => unknown;
const call = <R>(client: grpc.Client, method: unknown, request: unknown) =>
  new Promise<R>((resolve, reject) =>
    (method as Method).call(client, request, (error, response) =>
      error ? reject(error) : resolve(response as R),
    ),
  );

const bridgeName = (id: string) => `//network.opiproject.org/bridges/${id}`;
const portName = (id: string) => `//network.opiproject.org/ports/${id}`;
const macBytes = (mac: string) => Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));

const createBridge = (id: string, index: number) =>
  call(bridges, bridges.createLogicalBridge, {
    logicalBridgeId: id,
    logicalBridge: evpn.LogicalBridge.fromPartial({
      spec: { vlanId: index + 1, vni: 10_000 + index },
    }),
  });
const createPort = (id: string, mac: string, bridge: string) =>
  call(ports, ports.createBridgePort, {
    bridgePortId: id,
    bridgePort: evpn.BridgePort.fromPartial({
      spec: {
        macAddress: macBytes(mac),
        ptype: evpn.BridgePortType.BRIDGE_PORT_TYPE_ACCESS,
        logicalBridges: [bridgeName(bridge)],
      },
    }),
  });

/** Runs `count` operations with `concurrency` in flight; returns each one's latency (ms). */
async function load(count: number, operation: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await operation(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - start) / 1000 };
}

/** Waits until every listed object of a kind is UP; returns when that happened. */
async function allUp(
  list: () => Promise<Array<{ status?: { operStatus: number } }>>,
  up: number,
  count: number,
) {
  for (;;) {
    const items = await list();
    if (items.length >= count && items.every((i) => i.status?.operStatus === up))
      return performance.now();
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function listAll<T>(page: (token: string) => Promise<{ items: T[]; next: string }>) {
  const out: T[] = [];
  let token = '';
  do {
    const { items, next } = await page(token);
    out.push(...items);
    token = next;
  } while (token);
  return out;
}
const listBridges = () =>
  listAll(async (pageToken) => {
    const r = await call<evpn.ListLogicalBridgesResponse>(bridges, bridges.listLogicalBridges, {
      pageSize: 250,
      pageToken,
    });
    return { items: r.logicalBridges, next: r.nextPageToken };
  });
const listPorts = () =>
  listAll(async (pageToken) => {
    const r = await call<evpn.ListBridgePortsResponse>(ports, ports.listBridgePorts, {
      pageSize: 250,
      pageToken,
    });
    return { items: r.bridgePorts, next: r.nextPageToken };
  });

async function waitGone(list: () => Promise<unknown[]>) {
  while ((await list()).length > 0) await new Promise((r) => setTimeout(r, 5));
}

const bridgeLatencies: number[] = [];
const portLatencies: number[] = [];
let bridgeSeconds = 0;
let portSeconds = 0;
const drainMs: number[] = [];
const portDrainMs: number[] = [];
const LB_UP = evpn.LBOperStatus.LB_OPER_STATUS_UP;
const BP_UP = evpn.BPOperStatus.BP_OPER_STATUS_UP;

for (let round = 0; round < plan.rounds; round++) {
  const ids = Array.from({ length: plan.bridgesPerRound }, (_, i) => `bench-${round}-${i}`);
  const b = await load(ids.length, (i) => createBridge(ids[i]!, i));
  bridgeLatencies.push(...b.latencies);
  bridgeSeconds += b.seconds;
  const bridgesDone = performance.now();
  drainMs.push((await allUp(listBridges, LB_UP, ids.length)) - bridgesDone);

  const portCount = Math.min(plan.portMacs.length, ids.length);
  const p = await load(portCount, (i) =>
    createPort(`bench-port-${round}-${i}`, plan.portMacs[i]!, ids[i]!),
  );
  portLatencies.push(...p.latencies);
  portSeconds += p.seconds;
  const portsDone = performance.now();
  portDrainMs.push((await allUp(listPorts, BP_UP, portCount)) - portsDone);

  // Clean up for the next round (ports first: bridges in use cannot be deleted).
  await load(portCount, (i) =>
    call(ports, ports.deleteBridgePort, {
      name: portName(`bench-port-${round}-${i}`),
      allowMissing: false,
    }),
  );
  await waitGone(listPorts);
  await load(ids.length, (i) =>
    call(bridges, bridges.deleteLogicalBridge, { name: bridgeName(ids[i]!), allowMissing: false }),
  );
  await waitGone(listBridges);
}

// Create → UP on an otherwise idle agent: one object at a time, Get polled back to back.
const toUp: number[] = [];
for (let i = 0; i < plan.upSamples; i++) {
  const id = `bench-up-${i}`;
  const t0 = performance.now();
  await createBridge(id, 3000 + i);
  for (;;) {
    const lb = await call<evpn.LogicalBridge>(bridges, bridges.getLogicalBridge, {
      name: bridgeName(id),
    });
    if (lb.status?.operStatus === LB_UP) break;
  }
  toUp.push(performance.now() - t0);
}

process.stdout.write(
  JSON.stringify({
    bridgeLatencies,
    bridgeSeconds,
    portLatencies,
    portSeconds,
    drainMs,
    portDrainMs,
    toUp,
  }) + '\n',
);
bridges.close();
ports.close();
