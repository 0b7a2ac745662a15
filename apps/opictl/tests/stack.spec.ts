import { writeFile } from 'node:fs/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killSpawnedProcesses,
  spawnProcess,
  startNatsServer,
  tempDir,
  waitFor,
  type TempDir,
} from '@opi/testing';
import {
  healthStatus,
  runOpictl,
  stackAgents,
  startAgentProcess,
  waitUntilServing,
  workspaceRoot,
  type AgentProcess,
} from './stack-harness.js';

type Nats = Awaited<ReturnType<typeof startNatsServer>>;
/** The documented contract of `opictl agents --json` (not the bus's internal record). */
interface ListedAgent {
  name: string;
  id: string;
  node: string;
  version: string;
  started: string;
  endpoint: string;
  healthy: boolean;
}

describe('the four agents on a real nats-server', () => {
  let nats: Nats;
  let state: TempDir;
  let nc: NatsConnection;
  const nodeId = `stack${process.pid}`;
  const agents = new Map<string, AgentProcess>();
  const env = () => ({ OPI_NATS_URL: nats.url, OPI_NODE_ID: nodeId, OPI_STATE_DIR: state.path });
  const listAgents = async () => {
    const result = await runOpictl(['agents', '--json', '--node', nodeId], env());
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as ListedAgent[];
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    state = await tempDir('opi-stack');
    nc = await connect({ servers: nats.url });
    for (const agent of stackAgents)
      agents.set(agent.name, await startAgentProcess(agent.name, env()));
    await Promise.all([...agents.values()].map((agent) => waitUntilServing(agent)));
  });

  afterAll(async () => {
    await nc?.close();
    await killSpawnedProcesses();
    await nats?.stop();
    await state?.cleanup();
  });

  it('every agent reports SERVING on grpc.health.v1', async () => {
    for (const agent of agents.values()) expect(await healthStatus(agent.grpcAddr)).toBe('SERVING');
  });

  it('every agent answers a raw $SRV.PING request by its service name', async () => {
    for (const name of agents.keys()) {
      const reply = await nc.request(`$SRV.PING.${name}`, undefined, { timeout: 2000 });
      const ping = reply.json<{ name: string; type: string; id: string }>();
      expect(ping.name).toBe(name);
      expect(ping.type).toBe('io.nats.micro.v1.ping_response');
    }
  });

  it('opictl agents --json lists the four instances as healthy with their endpoints', async () => {
    const listed = await waitFor(
      async () => {
        const list = await listAgents();
        return list.length === 4 && list.every((a) => a.healthy) ? list : undefined;
      },
      { timeoutMs: 10_000, message: 'four healthy agents in opictl agents' },
    );
    expect(listed.map((a) => a.name).sort()).toEqual([...agents.keys()].sort());
    for (const entry of listed) {
      expect(Object.keys(entry).sort()).toEqual([
        'endpoint',
        'healthy',
        'id',
        'name',
        'node',
        'started',
        'version',
      ]);
      expect(entry.node).toBe(nodeId);
      expect(entry.endpoint).toBe(agents.get(entry.name)!.grpcAddr);
      expect(entry.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(Number.isNaN(Date.parse(entry.started))).toBe(false);
      expect(entry.id).toMatch(/\S+/);
    }
  });

  it('opictl agents prints a table by default', async () => {
    const result = await runOpictl(['agents', '--node', nodeId], env());
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^NAME\s+ID\s+NODE\s+VERSION\s+STARTED\s+ENDPOINT\s+HEALTHY$/,
    );
    expect(result.stdout).toContain('storage-agent');
  });

  it('a reflection client lists the health, reflection and OPI services on every port', async () => {
    const expected: Record<string, string> = {
      'storage-agent': 'opi_api.storage.v1.FrontendNvmeService',
      'network-agent': 'opi_api.network.evpn_gw.v1alpha1.LogicalBridgeService',
      'security-agent': 'opi_api.security.v1.IPsecService',
      'telemetry-agent': 'opi_api.inventory.v1.InventoryService',
    };
    for (const agent of agents.values()) {
      const buf = spawnProcess(
        'npx',
        [
          'buf',
          'curl',
          '--protocol',
          'grpc',
          '--http2-prior-knowledge',
          '--list-services',
          `http://${agent.grpcAddr}`,
        ],
        { cwd: workspaceRoot },
      );
      const exit = await buf.exited;
      expect(exit.code, buf.stderr()).toBe(0);
      const services = buf.stdout().trim().split('\n');
      expect(services).toContain('grpc.health.v1.Health');
      expect(services).toContain('grpc.reflection.v1.ServerReflection');
      expect(services).toContain(expected[agent.name]);
      // only what this agent answers: no other agent's OPI services
      const otherAgents = Object.entries(expected).filter(([name]) => name !== agent.name);
      for (const [, service] of otherAgents) expect(services).not.toContain(service);
    }
  });

  it('opictl apply -f creates a multi-kind EVPN file in dependency order; a second run changes nothing', async () => {
    const file = `${state.path}/evpn.yaml`;
    // The kinds are listed out of order on purpose: apply sorts them by their references.
    await writeFile(
      file,
      [
        'kind: Svi',
        'id: web-gw',
        'spec:',
        '  vrf: //network.opiproject.org/vrfs/blue',
        '  logicalBridge: //network.opiproject.org/bridges/web0',
        '  macAddress: AgAAXgEB',
        '  gwIpPrefix: [{ addr: { af: IP_AF_INET, v4Addr: 167772417 }, len: 24 }]',
        '---',
        'kind: BridgePort',
        'id: pf0-web',
        'spec:',
        '  macAddress: AgAAAAAB', // 02:00:00:00:00:01, the first emulated PF
        '  ptype: BRIDGE_PORT_TYPE_ACCESS',
        '  logicalBridges: [//network.opiproject.org/bridges/web0]',
        '---',
        'kind: LogicalBridge',
        'id: web0',
        'spec: { vlanId: 10, vni: 2000 }',
        '---',
        'kind: Vrf',
        'id: blue',
        'spec:',
        '  vni: 1000',
        '  loopbackIpPrefix: { addr: { af: IP_AF_INET, v4Addr: 167837697 }, len: 32 }',
        '',
      ].join('\n'),
    );
    const addr = ['--addr', agents.get('network-agent')!.grpcAddr];
    const first = await runOpictl(['apply', '-f', file, ...addr], env());
    expect(first.code, first.stderr).toBe(0);
    for (const name of ['vrfs/blue', 'bridges/web0', 'ports/pf0-web', 'svis/web-gw']) {
      expect(first.stdout).toMatch(new RegExp(`created .*${name}`));
    }
    expect(first.stdout).toContain('4 created, 0 updated, 0 unchanged');
    const second = await runOpictl(['apply', '-f', file, ...addr], env());
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('0 created, 0 updated, 4 unchanged');

    const port = await waitFor(
      async () => {
        const got = await runOpictl(
          ['bridge-port', 'get', '//network.opiproject.org/ports/pf0-web', '-o', 'json', ...addr],
          env(),
        );
        const parsed = JSON.parse(got.stdout) as { status?: { operStatus?: string } };
        return parsed.status?.operStatus === 'BP_OPER_STATUS_UP' ? parsed : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 300, message: 'the bridge port to come UP' },
    );
    expect(port).toBeDefined();
  });

  it('an instance killed with SIGKILL leaves opictl agents within 10 s', async () => {
    const victim = agents.get('telemetry-agent')!;
    victim.process.kill('SIGKILL');
    await victim.process.exited;
    const started = Date.now();
    await waitFor(async () => !(await listAgents()).some((a) => a.name === 'telemetry-agent'), {
      timeoutMs: 10_000,
      intervalMs: 200,
      message: 'the killed telemetry-agent to disappear',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('SIGTERM stops an agent with exit code 0 within the drain deadline', async () => {
    const agent = agents.get('security-agent')!;
    const started = Date.now();
    agent.process.kill('SIGTERM');
    const exit = await agent.process.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000 + 2000);
    expect(agent.process.stdout()).toContain('"msg":"stopped"');
  });

  it('a bad configuration exits non-zero with a message naming the key', async () => {
    const bad = await startAgentProcess('storage-agent', { ...env(), OPI_LOG_LEVEL: 'chatty' });
    const exit = await bad.process.exited;
    expect(exit.code).not.toBe(0);
    expect(bad.process.stderr()).toContain('OPI_LOG_LEVEL');

    const badFlag = await startAgentProcess('network-agent', env(), ['--grpc-addr', 'nowhere']);
    expect((await badFlag.process.exited).code).not.toBe(0);
    expect(badFlag.process.stderr()).toContain('--grpc-addr');
  });
});
