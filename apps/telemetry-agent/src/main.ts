// Composition root of the telemetry agent.
import { createRequire } from 'node:module';
import { runAgent } from '@opi/runtime';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

await runAgent({
  name: 'telemetry-agent',
  agent: 'telemetry',
  version,
  defaultGrpcPort: 50351,
  async start(ctx) {
    ctx.logger.debug('no telemetry services implemented yet; OPI RPCs answer UNIMPLEMENTED');
  },
});
