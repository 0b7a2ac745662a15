// Helpers for tests that run the real agent processes against a real nats-server.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { freePort, spawnProcess, waitFor, type SpawnedProcess } from '@opi/testing';

export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The four agents with their entry points and default ports (as in tools/stack.mjs). */
export const stackAgents = (
  (await import(join(workspaceRoot, 'tools/stack.mjs'))) as {
    agents: Array<{
      name: string;
      project: string;
      entry: string;
      grpcPort: number;
      env: Record<string, string>;
    }>;
  }
).agents;

export interface AgentProcess {
  name: string;
  grpcAddr: string;
  process: SpawnedProcess;
}

/** Starts one agent process on a free gRPC port. */
export async function startAgentProcess(
  name: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<AgentProcess> {
  const agent = stackAgents.find((a) => a.name === name);
  if (!agent) throw new Error(`unknown agent ${name}`);
  const grpcAddr = `127.0.0.1:${await freePort()}`;
  const child = spawnProcess(process.execPath, [join(workspaceRoot, agent.entry), ...args], {
    cwd: workspaceRoot,
    env: { ...process.env, ...agent.env, OPI_GRPC_ADDR: grpcAddr, ...env },
  });
  return { name, grpcAddr, process: child };
}

/** Runs `opictl` to completion and returns its output. */
export async function runOpictl(args: string[], env: Record<string, string>) {
  const child = spawnProcess(
    process.execPath,
    [join(workspaceRoot, 'apps/opictl/bin/opictl.mjs'), ...args],
    {
      cwd: workspaceRoot,
      env: { ...process.env, ...env },
    },
  );
  const exit = await child.exited;
  return { code: exit.code, stdout: child.stdout(), stderr: child.stderr() };
}

type HealthCheck = (
  request: { service: string },
  options: grpc.CallOptions,
  callback: (error: Error | null, reply?: { status: string }) => void,
) => void;
type HealthClient = grpc.Client & { Check: HealthCheck };
const healthPackage = grpc.loadPackageDefinition(
  loadSync(healthProtoPath, { enums: String }),
) as unknown as {
  grpc: {
    health: {
      v1: { Health: new (...args: ConstructorParameters<typeof grpc.Client>) => HealthClient };
    };
  };
};

/** Asks `grpc.health.v1.Health/Check` for the overall status of a server. */
export function healthStatus(address: string): Promise<string> {
  // A private subchannel pool: the shared one would keep the reconnect backoff of earlier
  // attempts made before the server listened.
  const client = new healthPackage.grpc.health.v1.Health(
    address,
    grpc.credentials.createInsecure(),
    {
      'grpc.use_local_subchannel_pool': 1,
    },
  );
  return new Promise((resolvePromise, reject) => {
    client.Check({ service: '' }, { deadline: Date.now() + 2000 }, (error, reply) => {
      client.close();
      if (error) reject(error);
      else resolvePromise(String(reply?.status));
    });
  });
}

/** Waits until an agent reports SERVING; on failure the error carries the agent's output. */
export async function waitUntilServing(agent: AgentProcess, timeoutMs = 20_000) {
  try {
    await waitFor(async () => (await healthStatus(agent.grpcAddr)) === 'SERVING', {
      timeoutMs,
      intervalMs: 100,
      message: `${agent.name} to report SERVING`,
    });
  } catch (error) {
    const output = `${agent.process.stdout().slice(-1500)}\n${agent.process.stderr().slice(-1500)}`;
    throw new Error(`${(error as Error).message}\n--- ${agent.name} output ---\n${output}`);
  }
}
