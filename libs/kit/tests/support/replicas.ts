// Starts fixture agent replicas as separate processes and talks to them over gRPC.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { freePort, spawnProcess, tempDir, type SpawnedProcess, type TempDir } from '@opi/testing';

const fixture = fileURLToPath(
  new URL('../fixtures/dist/tests/fixtures/fixture-agent.js', import.meta.url),
);

export interface Replica {
  process: SpawnedProcess;
  address: string;
  instanceId: string;
  /** Whether it held the lease when it became ready. */
  drivingAtReady: boolean;
  /** Wall-clock time (ms) when READY was printed. */
  readyAt: number;
}

export interface ReplicaOptions {
  natsUrl: string;
  nodeId: string;
  deviceBucket: string;
  applyDelayMs?: number;
  leaseTtlMs?: number;
}

/** startReplica starts one replica; a start that fails (e.g. a port taken meanwhile) is retried once. */
export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  try {
    return await startReplicaOnce(options);
  } catch (error) {
    process.stderr.write(`replica start failed, retrying once: ${(error as Error).message}\n`);
    return startReplicaOnce(options);
  }
}

async function startReplicaOnce(options: ReplicaOptions): Promise<Replica> {
  const port = await freePort();
  const state = await tempDir('kit-replica');
  const child = spawnProcess(process.execPath, [fixture], {
    env: {
      ...process.env,
      OPI_NATS_URL: options.natsUrl,
      OPI_NODE_ID: options.nodeId,
      OPI_GRPC_ADDR: `127.0.0.1:${port}`,
      OPI_STATE_DIR: state.path,
      OPI_LOG_LEVEL: 'warn',
      OPI_DEVICE_BUCKET: options.deviceBucket,
      OPI_APPLY_DELAY_MS: String(options.applyDelayMs ?? 0),
      OPI_LEASE_TTL_MS: String(options.leaseTtlMs ?? 1500),
    },
  });
  const match = await child
    .waitForOutput(/READY (\S+) driving=(true|false)/, {
      timeoutMs: 20_000,
      stream: 'stdout',
    })
    .catch((error: Error) => {
      throw new Error(`${error.message}\n${child.stderr()}\n${child.stdout()}`);
    });
  const readyAt = Date.now();
  stateDirs.add(state);
  return {
    process: child,
    address: `127.0.0.1:${port}`,
    instanceId: match[1]!,
    drivingAtReady: match[2] === 'true',
    readyAt,
  };
}

const stateDirs = new Set<TempDir>();

/** removeReplicaStateDirs deletes the state directories of every replica started (call in afterAll). */
export async function removeReplicaStateDirs(): Promise<void> {
  await Promise.all([...stateDirs].map((dir) => dir.cleanup()));
  stateDirs.clear();
}

type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;

/** unary calls a method of a ts-proto generated client and resolves with the response. */
export function unary<T = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  request: unknown,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as Record<string, (...args: unknown[]) => void>)[method]!;
    call.call(
      client,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error: grpc.ServiceError | null, response: T) => (error ? reject(error) : resolve(response)),
    );
  });
}

export function clientFor(Client: unknown, address: string): grpc.Client {
  return new (Client as ClientConstructor)(address, grpc.credentials.createInsecure());
}
