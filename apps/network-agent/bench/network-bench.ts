// Benchmark of the network agent (not a test): a real nats-server, the real agent process on
// the sim backend, and a gRPC load generator in a third process. Reports creates/s and p50/p99
// latency of CreateLogicalBridge and CreateBridgePort with 32 calls in flight, the time until a
// whole batch is UP, and the time from Create to UP of single objects. Prints a table, then one
// JSON line. `--quick` runs one round instead of five.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort, spawnProcess, startNatsServer } from '@opi/testing';

const quick = process.argv.includes('--quick');
const agentEntry = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const loadGenerator = fileURLToPath(new URL('./load-generator.js', import.meta.url));

// The sim fabric has 128 device ports, 256 bridges and 64 VXLAN tunnels: batches stay below
// that, and no remote VTEPs are configured (each would take one tunnel per bridge).
const DEVICE_PORTS = 120;
const plan = {
  concurrency: 32,
  rounds: quick ? 1 : 5,
  bridgesPerRound: 240,
  upSamples: quick ? 30 : 100,
};

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (v: number) => Number(v.toFixed(2));

const nats = await startNatsServer();
const ports = Array.from({ length: DEVICE_PORTS }, (_, i) => ({
  name: `pf${i}`,
  mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
}));
const address = `127.0.0.1:${await freePort()}`;
const agent = spawnProcess(process.execPath, [agentEntry], {
  env: {
    ...process.env,
    OPI_NATS_URL: nats.url,
    OPI_GRPC_ADDR: address,
    OPI_LOG_LEVEL: 'info',
    OPI_PORTS: JSON.stringify(ports),
    OPI_VTEP_ADDRESS: '10.0.0.1',
    OPI_RESYNC_MS: '0',
  },
});
try {
  await agent.waitForOutput(/"msg":"ready"/, { timeoutMs: 20_000, stream: 'stdout' });
  const child = spawn(
    process.execPath,
    [loadGenerator, JSON.stringify({ ...plan, address, portMacs: ports.map((p) => p.mac) })],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const r = JSON.parse(output.trim().split('\n').pop()!) as {
    bridgeLatencies: number[];
    bridgeSeconds: number;
    portLatencies: number[];
    portSeconds: number;
    drainMs: number[];
    portDrainMs: number[];
    toUp: number[];
  };
  const result = {
    bench: 'network-agent',
    quick,
    cpus: cpus().length,
    backend: 'sim',
    concurrency: plan.concurrency,
    createLogicalBridge: {
      count: r.bridgeLatencies.length,
      perSecond: Math.round(r.bridgeLatencies.length / r.bridgeSeconds),
      p50Ms: ms(percentile(r.bridgeLatencies, 50)),
      p99Ms: ms(percentile(r.bridgeLatencies, 99)),
    },
    createBridgePort: {
      count: r.portLatencies.length,
      perSecond: Math.round(r.portLatencies.length / r.portSeconds),
      p50Ms: ms(percentile(r.portLatencies, 50)),
      p99Ms: ms(percentile(r.portLatencies, 99)),
    },
    batchAllUpAfterLastCreateMs: {
      p50: ms(percentile(r.drainMs, 50)),
      max: ms(Math.max(...r.drainMs)),
    },
    portBatchAllUpAfterLastCreateMs: {
      p50: ms(percentile(r.portDrainMs, 50)),
      max: ms(Math.max(...r.portDrainMs)),
    },
    createToUpMs: {
      count: r.toUp.length,
      p50: ms(percentile(r.toUp, 50)),
      p99: ms(percentile(r.toUp, 99)),
    },
  };
  const rows: Array<[string, string]> = [
    [
      'CreateLogicalBridge',
      `${result.createLogicalBridge.perSecond}/s  p50 ${result.createLogicalBridge.p50Ms} ms  p99 ${result.createLogicalBridge.p99Ms} ms  (n=${result.createLogicalBridge.count})`,
    ],
    [
      'CreateBridgePort',
      `${result.createBridgePort.perSecond}/s  p50 ${result.createBridgePort.p50Ms} ms  p99 ${result.createBridgePort.p99Ms} ms  (n=${result.createBridgePort.count})`,
    ],
    [
      `batch of ${plan.bridgesPerRound} bridges all UP`,
      `p50 ${result.batchAllUpAfterLastCreateMs.p50} ms after the last Create returned`,
    ],
    [
      `batch of ${DEVICE_PORTS} ports all UP`,
      `p50 ${result.portBatchAllUpAfterLastCreateMs.p50} ms after the last Create returned`,
    ],
    [
      'Create → UP (single bridge)',
      `p50 ${result.createToUpMs.p50} ms  p99 ${result.createToUpMs.p99} ms  (n=${result.createToUpMs.count})`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(
    `network-agent benchmark (sim backend, ${plan.concurrency} in flight, ${cpus().length} CPUs${quick ? ', quick' : ''})\n`,
  );
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await agent.stop(5000);
  await nats.stop();
}
