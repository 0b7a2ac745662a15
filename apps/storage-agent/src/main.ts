// Composition root of the storage agent.
import { createRequire } from 'node:module';
import { runAgent } from '@opi/runtime';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

await runAgent({
  name: 'storage-agent',
  agent: 'storage',
  version,
  defaultGrpcPort: 50051,
  async start(ctx) {
    ctx.logger.debug('no storage services implemented yet; OPI RPCs answer UNIMPLEMENTED');
  },
});
