// Benchmark of the control-plane kit against a local nats-server: Create→acknowledged latency
// (p50/p99) through gRPC for a kind with status (ack = stored in KV) and one without (ack =
// applied by the device), creates/s with concurrent clients, and lease failover time between
// two replica processes. Prints a table, then one JSON line. `--quick` runs fewer iterations.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { evpnGwV1alpha1 as evpn, storageV1 as storage } from '@opi/api';
import { startAgent } from '@opi/runtime';
import { freePort, startNatsServer } from '@opi/testing';
import { startResourceAgent, type KindReconciler } from '../src/index.js';
import { allKinds } from '../tests/support/kinds.js';

// --smoke only proves that every measurement runs (tests); --quick gives rough figures.
const smoke = process.argv.includes('--smoke');
const quick = smoke || process.argv.includes('--quick');
const sequential = smoke ? 20 : quick ? 300 : 2000;
const concurrentTotal = smoke ? 64 : quick ? 1000 : 5000;
const concurrency = 32;
const failovers = smoke ? 1 : quick ? 2 : 5;

const accepting: KindReconciler = {
  apply: async () => ({ components: [{ name: 'bench', state: 'SUCCESS' }] }),
  remove: async () => undefined,
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function unary(client: grpc.Client, method: string, request: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!.call(
      client,
      request,
      (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response)),
    );
  });
}

async function measureLatency(create: (i: number) => Promise<unknown>, count: number) {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await create(i);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function measureThroughput(create: (i: number) => Promise<unknown>, total: number) {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await create(next++);
    }),
  );
  return total / ((performance.now() - start) / 1000);
}

async function measureFailover(natsUrl: string): Promise<number[]> {
  const fixture = fileURLToPath(new URL('../tests/fixtures/fixture-agent.js', import.meta.url));
  const results: number[] = [];
  for (let round = 0; round < failovers; round++) {
    const nodeId = `failover${round}`;
    const start = async () => {
      const port = await freePort();
      const state = mkdtempSync(join(tmpdir(), 'kit-bench-'));
      const child = spawn(process.execPath, [fixture], {
        env: {
          ...process.env,
          OPI_NATS_URL: natsUrl,
          OPI_NODE_ID: nodeId,
          OPI_GRPC_ADDR: `127.0.0.1:${port}`,
          OPI_STATE_DIR: state,
          OPI_LOG_LEVEL: 'error',
          OPI_LEASE_TTL_MS: '1500',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      const lines: Array<(line: string) => void> = [];
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        for (const line of output.split('\n')) lines.forEach((l) => l(line));
      });
      await new Promise<void>((resolve, reject) => {
        lines.push((line) => line.startsWith('READY') && resolve());
        child.once('exit', (code) => reject(new Error(`fixture agent exited with ${code}`)));
      });
      return {
        child,
        cleanup: () => rmSync(state, { recursive: true, force: true }),
        acquired: () =>
          new Promise<number>((resolve) =>
            lines.push(
              (line) => line.startsWith('LEASE ACQUIRED') && resolve(Number(line.split(' ')[3])),
            ),
          ),
      };
    };
    const started: Array<Awaited<ReturnType<typeof start>>> = [];
    try {
      const holder = await start();
      started.push(holder);
      const standby = await start();
      started.push(standby);
      const acquired = standby.acquired();
      const killedAt = Date.now();
      holder.child.kill('SIGKILL');
      results.push((await acquired) - killedAt);
    } finally {
      for (const replica of started) {
        if (replica.child.exitCode === null && replica.child.signalCode === null) {
          replica.child.kill('SIGTERM');
          await new Promise((r) => replica.child.once('exit', r));
        }
        replica.cleanup();
      }
    }
  }
  return results;
}

async function measureAll(natsUrl: string, state: string) {
  const port = await freePort();
  const agent = await startAgent(
    {
      name: 'kit-bench-agent',
      agent: 'storage',
      version: '0.0.0',
      defaultGrpcPort: port,
      start: (ctx) =>
        startResourceAgent(ctx, {
          agent: 'bench',
          kinds: allKinds,
          reconcilers: Object.fromEntries(allKinds.map((k) => [k.kind, accepting])),
        }).then(() => undefined),
    },
    [],
    {
      OPI_NATS_URL: natsUrl,
      OPI_GRPC_ADDR: `127.0.0.1:${port}`,
      OPI_STATE_DIR: state,
      OPI_LOG_LEVEL: 'error',
      OPI_NODE_ID: 'bench',
    },
  );
  const bridges = new evpn.LogicalBridgeServiceClient(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  const volumes = new storage.NullVolumeServiceClient(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  const createBridge = (prefix: string) => (i: number) =>
    unary(
      bridges,
      'createLogicalBridge',
      evpn.CreateLogicalBridgeRequest.fromPartial({
        logicalBridgeId: `${prefix}-${i}`,
        logicalBridge: { spec: { vlanId: 1 + (i % 4000) } },
      }),
    );
  const createVolume = (prefix: string) => (i: number) =>
    unary(
      volumes,
      'createNullVolume',
      storage.CreateNullVolumeRequest.fromPartial({
        nullVolumeId: `${prefix}-${i}`,
        nullVolume: { blockSize: 512, blocksCount: 64 },
      }),
    );

  await measureLatency(createBridge('warm'), 50);
  const statusLatency = await measureLatency(createBridge('seq'), sequential);
  const syncLatency = await measureLatency(createVolume('seq'), sequential);
  const statusRate = await measureThroughput(createBridge('par'), concurrentTotal);
  const syncRate = await measureThroughput(createVolume('par'), concurrentTotal);
  bridges.close();
  volumes.close();
  await agent.stop();
  const failover = await measureFailover(natsUrl);
  return { statusLatency, syncLatency, statusRate, syncRate, failover };
}

const nats = await startNatsServer();
const state = mkdtempSync(join(tmpdir(), 'kit-bench-'));
let measured: {
  statusLatency: { p50: number; p99: number };
  syncLatency: { p50: number; p99: number };
  statusRate: number;
  syncRate: number;
  failover: number[];
};
try {
  measured = await measureAll(nats.url, state);
} finally {
  await nats.stop();
  rmSync(state, { recursive: true, force: true });
}
const { statusLatency, syncLatency, statusRate, syncRate, failover } = measured;

const round = (n: number) => Math.round(n * 100) / 100;
const rows: Array<[string, string]> = [
  ['create→ack p50, status kind (LogicalBridge)', `${round(statusLatency.p50)} ms`],
  ['create→ack p99, status kind (LogicalBridge)', `${round(statusLatency.p99)} ms`],
  ['create→ack p50, device-synchronous kind (NullVolume)', `${round(syncLatency.p50)} ms`],
  ['create→ack p99, device-synchronous kind (NullVolume)', `${round(syncLatency.p99)} ms`],
  [`creates/s, ${concurrency} concurrent, status kind`, `${Math.round(statusRate)}`],
  [`creates/s, ${concurrency} concurrent, device-synchronous kind`, `${Math.round(syncRate)}`],
  [
    `lease failover (SIGKILL → standby holds lease), ttl 1500 ms, median of ${failover.length}`,
    `${[...failover].sort((a, b) => a - b)[Math.floor(failover.length / 2)]} ms`,
  ],
];
const width = Math.max(...rows.map(([k]) => k.length));
process.stdout.write(
  `kit benchmark (${smoke ? 'smoke' : quick ? 'quick' : 'full'}; ${sequential} sequential creates per kind, ${concurrentTotal} concurrent)\n`,
);
for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
process.stdout.write(
  JSON.stringify({
    bench: 'kit',
    quick,
    smoke,
    createAckMs: {
      status: { p50: round(statusLatency.p50), p99: round(statusLatency.p99) },
      sync: { p50: round(syncLatency.p50), p99: round(syncLatency.p99) },
    },
    createsPerSecond: { status: Math.round(statusRate), sync: Math.round(syncRate), concurrency },
    leaseFailoverMs: failover,
  }) + '\n',
);
process.exit(0);
