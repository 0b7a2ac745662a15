// Composition root of opictl, the command-line client for people.
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerAgentsCommand } from './commands/agents.js';
import { registerPcapCommands } from './commands/pcap.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command('opictl')
  .description('Control the OPI DPU agents')
  .version(version)
  .showHelpAfterError();
registerAgentsCommand(program);
registerPcapCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`opictl: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
