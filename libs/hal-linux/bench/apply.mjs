// Benchmark (not a test): apply/remove latency of the linux backend in a throwaway namespace.
// Run: NX_DAEMON=false npx nx run hal-linux:bench   (needs root; builds first)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createLinuxNetworkDevice } from '../dist/index.js';

const BRIDGES = Number(process.env.BENCH_BRIDGES ?? 200);
const PORTS = Number(process.env.BENCH_PORTS ?? 50);

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
    `${label.padEnd(34)} n=${String(count).padStart(4)}  ${(count / seconds).toFixed(1).padStart(7)}/s` +
      `  p50 ${quantile(latencies, 0.5).toFixed(1)} ms  p99 ${quantile(latencies, 0.99).toFixed(1)} ms`,
  );
}

const ns = `opihal-bench-${randomBytes(4).toString('hex')}`;
const hosts = `${ns}-h`;
const ip = (...args) => execFileSync('ip', args);
ip('netns', 'add', ns);
ip('netns', 'add', hosts);
try {
  const macs = [];
  for (let index = 0; index < PORTS; index += 1) {
    const mac = `02:be:00:00:${(index >> 8).toString(16).padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`;
    ip(
      '-n',
      ns,
      'link',
      'add',
      `pf${index}`,
      'address',
      mac,
      'type',
      'veth',
      'peer',
      'name',
      `h${index}`,
      'netns',
      hosts,
    );
    macs.push(mac);
  }
  const device = await createLinuxNetworkDevice({ netns: ns });
  const bridge = (index, vni) => ({
    id: `bridge-${index}`,
    vlanId: (index % 4094) + 1,
    ...(vni
      ? { vni: 10_000 + index, vtepAddress: '192.0.2.1', remoteVteps: ['192.0.2.2', '192.0.2.3'] }
      : {}),
    remoteVteps: vni ? ['192.0.2.2', '192.0.2.3'] : [],
  });
  console.log(`linux backend, namespace with ${PORTS} device ports`);
  await timed('apply bridge (local)', BRIDGES / 2, (i) =>
    device.apply('bridge', bridge(i, false), 1),
  );
  await timed('apply bridge (VNI + 2 remote VTEPs)', BRIDGES / 2, (i) =>
    device.apply('bridge', bridge(BRIDGES / 2 + i, true), 1),
  );
  await timed('re-apply unchanged bridge', BRIDGES / 2, (i) =>
    device.apply('bridge', bridge(i, false), 1),
  );
  await timed('apply access port', PORTS, (i) =>
    device.apply(
      'bridgePort',
      { id: `port-${i}`, mac: macs[i], type: 'access', bridges: [`bridge-${i}`] },
      1,
    ),
  );
  await timed('list bridges', 10, () => device.list('bridge'));
  await timed('remove access port', PORTS, (i) => device.remove('bridgePort', `port-${i}`, 1));
  await timed('remove bridge', BRIDGES, (i) => device.remove('bridge', `bridge-${i}`, 1));
} finally {
  ip('netns', 'del', ns);
  ip('netns', 'del', hosts);
}
