// Benchmark (not a test): apply/remove latency of the sim backend over the WebAssembly datapath.
// Run: NX_DAEMON=false npx nx run hal-sim:bench   (builds first)
import { performance } from 'node:perf_hooks';
import { createSimNetworkDevice } from '../dist/index.js';

const BRIDGES = 200;
const PORTS = 128;

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timed(label, count, operation) {
  const latencies = [];
  const started = performance.now();
  for (let index = 0; index < count; index += 1) {
    const before = performance.now();
    await operation(index);
    latencies.push(performance.now() - before);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} n=${String(count).padStart(4)}  ${(count / seconds).toFixed(0).padStart(7)}/s` +
      `  p50 ${(quantile(latencies, 0.5) * 1000).toFixed(0)} µs  p99 ${(quantile(latencies, 0.99) * 1000).toFixed(0)} µs`,
  );
}

const ports = Array.from({ length: PORTS }, (_, index) => ({
  name: `pf${index}`,
  mac: `02:be:00:00:00:${index.toString(16).padStart(2, '0')}`,
}));
const device = await createSimNetworkDevice({ ports });
console.log(`sim backend, ${PORTS} device ports, WebAssembly datapath fabric`);
await timed('apply bridge (local)', BRIDGES / 2, (i) =>
  device.apply('bridge', { id: `bridge-${i}`, vlanId: i + 1, remoteVteps: [] }, 1),
);
await timed('apply bridge (VNI + 1 remote VTEP)', BRIDGES / 2 - 40, (i) =>
  device.apply(
    'bridge',
    {
      id: `bridge-${BRIDGES / 2 + i}`,
      vlanId: BRIDGES / 2 + i + 1,
      vni: 10_000 + i,
      vtepAddress: '192.0.2.1',
      remoteVteps: ['192.0.2.2'],
    },
    1,
  ),
);
await timed('apply access port', PORTS, (i) =>
  device.apply(
    'bridgePort',
    { id: `port-${i}`, mac: ports[i].mac, type: 'access', bridges: [`bridge-${i}`] },
    1,
  ),
);
await timed('remove access port', PORTS, (i) => device.remove('bridgePort', `port-${i}`, 1));
await timed('remove bridge', BRIDGES - 40, (i) =>
  device.remove('bridge', `bridge-${i < BRIDGES / 2 ? i : i}`, 1),
);
