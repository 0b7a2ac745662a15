// The agents of the stack, their entry points and gRPC ports: one list for `npm start`, the
// container image and the tests that check them against each other.
export const agents = [
  {
    name: 'storage-agent',
    project: 'storage-agent',
    entry: 'apps/storage-agent/dist/main.js',
    grpcPort: 50051,
  },
  {
    name: 'network-agent',
    project: 'network-agent',
    entry: 'apps/network-agent/dist/main.js',
    grpcPort: 50151,
  },
  {
    name: 'security-agent',
    project: 'security-agent',
    entry: 'apps/security-agent/dist/main.js',
    grpcPort: 50251,
  },
  {
    name: 'telemetry-agent',
    project: 'telemetry-agent',
    entry: 'apps/telemetry-agent/dist/main.js',
    grpcPort: 50351,
  },
];
