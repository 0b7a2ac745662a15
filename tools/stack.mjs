// The agents of the stack, their entry points, gRPC ports and lab defaults: one list for
// `npm start`, the compose file's tests and the stack tests.

/** The emulated DPU's host-facing functions: four PFs, as a lab DPU would show. */
const simPorts = [0, 1, 2, 3].map((i) => ({ name: `pf${i}`, mac: `02:00:00:00:00:0${i + 1}` }));

export const agents = [
  {
    name: 'storage-agent',
    project: 'storage-agent',
    entry: 'apps/storage-agent/dist/main.js',
    grpcPort: 50051,
    env: {},
  },
  {
    name: 'network-agent',
    project: 'network-agent',
    entry: 'apps/network-agent/dist/main.js',
    grpcPort: 50151,
    env: { OPI_PORTS: JSON.stringify(simPorts), OPI_VTEP_ADDRESS: '127.0.0.1' },
  },
  {
    name: 'security-agent',
    project: 'security-agent',
    entry: 'apps/security-agent/dist/main.js',
    grpcPort: 50251,
    env: {},
  },
  {
    name: 'telemetry-agent',
    project: 'telemetry-agent',
    entry: 'apps/telemetry-agent/dist/main.js',
    grpcPort: 50351,
    env: {},
  },
];
