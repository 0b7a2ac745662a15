// Composition root of the security agent.
import { createRequire } from 'node:module';
import { runAgent } from '@opi/runtime';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

await runAgent({
  name: 'security-agent',
  agent: 'security',
  version,
  defaultGrpcPort: 50251,
  async start(ctx) {
    ctx.logger.debug('no security services implemented yet; OPI RPCs answer UNIMPLEMENTED');
  },
});
