// Composition root of the network agent.
import { createRequire } from 'node:module';
import { runAgent } from '@opi/runtime';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

await runAgent({
  name: 'network-agent',
  agent: 'network',
  version,
  defaultGrpcPort: 50151,
  async start(ctx) {
    ctx.logger.debug('no network services implemented yet; OPI RPCs answer UNIMPLEMENTED');
  },
});
