import { Command, Option } from 'commander';
import { discoverAgents, type AgentInstance } from '@opi/bus';
import { connectCli, withNatsOptions, type NatsFlags } from '../nats-options.js';
import { printTable } from '../table.js';

/** `opictl agents`: live agent instances from NATS discovery and heartbeats. */
export function registerAgentsCommand(program: Command): void {
  withNatsOptions(
    program
      .command('agents')
      .description('list live agent instances (NATS service discovery + heartbeats)')
      .option('--json', 'print a JSON array')
      .addOption(new Option('--node <id>', 'only instances of this node id').env('OPI_NODE_ID'))
      .option('--timeout <ms>', 'how long to collect discovery answers', '1000'),
  ).action(async (flags: NatsFlags & { json?: boolean; node?: string; timeout: string }) => {
    const nc = await connectCli(flags);
    try {
      const agents = await discoverAgents(nc, {
        nodeId: flags.node,
        timeoutMs: Number(flags.timeout),
      });
      agents.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      if (flags.json) {
        process.stdout.write(JSON.stringify(agents.map(toJson), null, 2) + '\n');
      } else if (agents.length === 0) {
        process.stdout.write(`no agents answered on ${flags.natsUrl}\n`);
      } else {
        printTable(
          ['NAME', 'ID', 'NODE', 'VERSION', 'STARTED', 'ENDPOINT', 'HEALTHY'],
          agents.map((a) => [
            a.name,
            a.id,
            a.node,
            a.version,
            a.started,
            a.endpoint,
            a.healthy ? 'yes' : 'NO',
          ]),
        );
      }
    } finally {
      await nc.close();
    }
  });
}

function toJson(agent: AgentInstance) {
  const { name, id, node, version, started, endpoint, healthy } = agent;
  return { name, id, node, version, started, endpoint, healthy };
}
