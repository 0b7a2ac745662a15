// Composition root of opictl, the command-line client for people.
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerAgentsCommand } from './commands/agents.js';
import { registerPcapCommands } from './commands/pcap.js';
import { registerResourceCommands } from './commands/resources.js';
import { EVPN_GATEWAY_KINDS } from '@opi/evpn-gateway';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command('opictl')
  .description('Control the OPI DPU agents')
  .version(version)
  .showHelpAfterError();
registerAgentsCommand(program);
registerPcapCommands(program);
// Kinds are linked statically so that `--help` lists them even when no agent runs.
registerResourceCommands(program, [...EVPN_GATEWAY_KINDS]);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`opictl: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
