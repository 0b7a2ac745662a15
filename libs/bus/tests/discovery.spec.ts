import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killSpawnedProcesses,
  spawnProcess,
  startNatsServer,
  waitFor,
  type RunningNatsServer,
} from '@opi/testing';
import {
  connectBus,
  discoverAgents,
  heartbeatSchema,
  registerAgentInstance,
  subjects,
  subscribeHeartbeats,
  type AgentHealth,
  type AgentRegistration,
  type Heartbeat,
} from '../src/index.js';

const libRoot = fileURLToPath(new URL('..', import.meta.url));

describe('agent discovery', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  let agentConnection: NatsConnection;
  const registrations: AgentRegistration[] = [];
  const register = async (options: Parameters<typeof registerAgentInstance>[1]) => {
    const registration = await registerAgentInstance(agentConnection, options);
    registrations.push(registration);
    return registration;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectBus({ servers: server.url, name: 'discoverer' });
    agentConnection = await connectBus({ servers: server.url, name: 'agents' });
  });
  afterAll(async () => {
    await Promise.all(registrations.map((r) => r.stop()));
    await killSpawnedProcesses();
    await agentConnection?.close();
    await nc?.close();
    await server?.stop();
  });

  it('answers a raw $SRV.PING, $SRV.INFO and $SRV.STATS request', async () => {
    const registration = await register({
      name: 'ping-agent',
      version: '0.1.0',
      nodeId: 'dpu-ping',
      endpoint: '10.0.0.1:50051',
      health: () => 'SERVING',
    });
    const ping = (await nc.request('$SRV.PING.ping-agent', '', { timeout: 2000 })).json<
      Record<string, unknown>
    >();
    expect(ping).toMatchObject({
      type: 'io.nats.micro.v1.ping_response',
      name: 'ping-agent',
      version: '0.1.0',
    });
    expect(ping.id).toBe(registration.serviceId);

    const info = (await nc.request('$SRV.INFO.ping-agent', '', { timeout: 2000 })).json<{
      metadata: Record<string, string>;
      endpoints: Array<{ subject: string }>;
    }>();
    expect(info.metadata).toMatchObject({
      opi_node: 'dpu-ping',
      opi_instance: registration.instanceId,
      opi_endpoint: '10.0.0.1:50051',
      opi_started: registration.started,
      opi_version: '0.1.0',
    });
    expect(info.endpoints.map((e) => e.subject)).toEqual([
      subjects.serviceEndpoint('dpu-ping', 'ping-agent', registration.instanceId, 'health'),
    ]);

    const stats = (await nc.request('$SRV.STATS.ping-agent', '', { timeout: 2000 })).json<{
      type: string;
    }>();
    expect(stats.type).toBe('io.nats.micro.v1.stats_response');

    const health = await nc.request(info.endpoints[0]!.subject, '', { timeout: 2000 });
    expect(health.json<{ health: string }>().health).toBe('SERVING');
    await registration.stop();
  });

  it('publishes heartbeats with the health value on the heartbeat subject', async () => {
    const beats: unknown[] = [];
    const sub = nc.subscribe(subjects.allHeartbeats('dpu-hb'), {
      callback: (_e, m) => void beats.push(m.json()),
    });
    const followed: Heartbeat[] = [];
    const follower = subscribeHeartbeats(nc, {
      nodeId: 'dpu-hb',
      handler: (beat) => void followed.push(beat),
    });
    await nc.flush();
    nc.publish(subjects.heartbeat('dpu-hb', 'hb-agent', 'forged'), '{"health":"SERVING"}');
    const registration = await register({
      name: 'hb-agent',
      version: '0.1.0',
      nodeId: 'dpu-hb',
      endpoint: '127.0.0.1:1',
      heartbeatIntervalMs: 100,
      health: () => 'SERVING',
    });
    await waitFor(() => beats.length >= 4, { message: 'the forged message and three heartbeats' });
    sub.unsubscribe();
    await follower.stop();
    await registration.stop();
    const parsed = beats.slice(1).map((b) => heartbeatSchema.parse(b));
    expect(follower.stats().invalid).toBe(1);
    // Both subscriptions see the same stream; the follower may have drained one more.
    expect(followed.slice(0, parsed.length).map((b) => b.seq)).toEqual(parsed.map((b) => b.seq));
    expect(parsed[0]).toMatchObject({
      name: 'hb-agent',
      id: registration.instanceId,
      node: 'dpu-hb',
      health: 'SERVING',
    });
    expect(parsed.map((b) => b.seq).slice(0, 3)).toEqual([0, 1, 2]);
  });

  it('discovers two instances with their node, endpoint and health', async () => {
    const a = await register({
      name: 'network-agent',
      version: '0.2.0',
      nodeId: 'dpu-a',
      endpoint: '127.0.0.1:50151',
      health: () => 'SERVING',
    });
    const b = await register({
      name: 'storage-agent',
      version: '0.3.0',
      nodeId: 'dpu-b',
      endpoint: '127.0.0.1:50152',
      health: () => 'SERVING',
    });
    const agents = await discoverAgents(nc, { timeoutMs: 500 });
    const mine = agents.filter((x) => x.node === 'dpu-a' || x.node === 'dpu-b');
    expect(
      mine
        .map(({ name, id, node, version, started, endpoint, healthy }) => ({
          name,
          id,
          node,
          version,
          started,
          endpoint,
          healthy,
        }))
        .sort((x, y) => x.name.localeCompare(y.name)),
    ).toEqual([
      {
        name: 'network-agent',
        id: a.instanceId,
        node: 'dpu-a',
        version: '0.2.0',
        started: a.started,
        endpoint: '127.0.0.1:50151',
        healthy: true,
      },
      {
        name: 'storage-agent',
        id: b.instanceId,
        node: 'dpu-b',
        version: '0.3.0',
        started: b.started,
        endpoint: '127.0.0.1:50152',
        healthy: true,
      },
    ]);
    const onlyB = await discoverAgents(nc, { nodeId: 'dpu-b', timeoutMs: 500 });
    expect(onlyB.map((x) => x.id)).toEqual([b.instanceId]);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('forgets a stopped instance at once', async () => {
    const r = await register({
      name: 'network-agent',
      version: '0.1.0',
      nodeId: 'dpu-stop',
      endpoint: '127.0.0.1:1',
      health: () => 'SERVING',
    });
    expect(
      (await discoverAgents(nc, { nodeId: 'dpu-stop', timeoutMs: 500 })).map((x) => x.id),
    ).toEqual([r.instanceId]);
    await r.stop();
    expect(await discoverAgents(nc, { nodeId: 'dpu-stop', timeoutMs: 500 })).toEqual([]);
  });

  it('turns unhealthy when the heartbeat says NOT_SERVING, and healthy again', async () => {
    let health: AgentHealth = 'SERVING';
    const r = await register({
      name: 'network-agent',
      version: '0.1.0',
      nodeId: 'dpu-flip',
      endpoint: '127.0.0.1:1',
      heartbeatIntervalMs: 100,
      health: () => health,
    });
    const healthOf = async () =>
      (await discoverAgents(nc, { nodeId: 'dpu-flip', timeoutMs: 500 }))[0];
    expect((await healthOf())?.healthy).toBe(true);
    health = 'NOT_SERVING';
    await waitFor(async () => (await healthOf())?.healthy === false, { message: 'unhealthy' });
    expect((await healthOf())?.health).toBe('NOT_SERVING');
    health = 'SERVING';
    await waitFor(async () => (await healthOf())?.healthy === true, { message: 'healthy again' });
    await r.stop();
  });

  it('knows the health of an instance that has not beaten during the call, from the heartbeat stream', async () => {
    const r = await register({
      name: 'slow-agent',
      version: '0.1.0',
      nodeId: 'dpu-slow',
      endpoint: '127.0.0.1:1',
      heartbeatIntervalMs: 60_000,
      health: () => 'SERVING',
    });
    // Only the heartbeat sent at registration exists; the next is a minute away.
    const [found] = await discoverAgents(nc, { nodeId: 'dpu-slow', timeoutMs: 500 });
    expect(found).toMatchObject({ id: r.instanceId, healthy: true, health: 'SERVING' });
    await r.stop();
  });

  it('does not call an instance healthy that answers discovery but sends no heartbeats', async () => {
    const silent = await new Svcm(agentConnection as never).add({
      name: 'silent-agent',
      version: '0.1.0',
      metadata: {
        opi_node: 'dpu-silent',
        opi_instance: 'silent-1',
        opi_endpoint: '127.0.0.1:1',
        opi_started: new Date().toISOString(),
      },
    });
    await agentConnection.flush();
    const [found] = await discoverAgents(nc, { nodeId: 'dpu-silent', timeoutMs: 500 });
    await silent.stop();
    expect(found).toMatchObject({ id: 'silent-1', healthy: false, health: 'UNKNOWN' });
  });

  it('skips garbage answers and services that are not agents', async () => {
    const r = await register({
      name: 'network-agent',
      version: '0.1.0',
      nodeId: 'dpu-garbage',
      endpoint: '127.0.0.1:1',
      health: () => 'SERVING',
    });
    const garbage = agentConnection.subscribe('$SRV.INFO', {
      callback: (_e, m) => {
        m.respond('not json');
        m.respond(JSON.stringify({ type: 'io.nats.micro.v1.info_response', name: 'x' }));
      },
    });
    const foreign = await new Svcm(agentConnection as never).add({
      name: 'foreign',
      version: '1.0.0',
    });
    await agentConnection.flush();
    const agents = await discoverAgents(nc, { timeoutMs: 500 });
    garbage.unsubscribe();
    await foreign.stop();
    expect(agents.map((a) => a.id)).toContain(r.instanceId);
    expect(agents.some((a) => a.name === 'foreign' || a.name === 'x')).toBe(false);
    await r.stop();
  });

  it('leaves no JetStream consumer behind, however often it is called', async () => {
    const consumers = async () =>
      (
        (await (
          await fetch(`http://127.0.0.1:${server.monitorPort}/jsz?consumers=true`)
        ).json()) as {
          consumers: number;
        }
      ).consumers;
    const r = await register({
      name: 'network-agent',
      version: '0.1.0',
      nodeId: 'dpu-often',
      endpoint: '127.0.0.1:1',
      health: () => 'SERVING',
    });
    const before = await consumers();
    for (let i = 0; i < 5; i++) {
      expect(await discoverAgents(nc, { nodeId: 'dpu-often', timeoutMs: 300 })).toHaveLength(1);
    }
    expect(await consumers()).toBe(before);
    await r.stop();
  });

  it('returns an empty list when nothing answers', async () => {
    expect(await discoverAgents(nc, { nodeId: 'nobody-here', timeoutMs: 500 })).toEqual([]);
  });

  it('rejects bad names and versions with named errors', async () => {
    const base = { nodeId: 'dpu0', endpoint: 'x:1', health: () => 'SERVING' as const };
    await expect(
      registerAgentInstance(agentConnection, { ...base, name: 'bad.name', version: '0.1.0' }),
    ).rejects.toThrow(/^name "bad.name"/);
    await expect(
      registerAgentInstance(agentConnection, { ...base, name: 'ok', version: 'latest' }),
    ).rejects.toThrow(/cannot register ok/);
  });

  it('drops a SIGKILLed agent process from discovery within 10 s', async () => {
    await promisify(execFile)(
      fileURLToPath(new URL('../../../node_modules/.bin/tsc', import.meta.url)),
      ['-b', 'tsconfig.lib.json'],
      { cwd: libRoot },
    );
    const child = spawnProcess(process.execPath, [
      fileURLToPath(new URL('fixtures/agent-instance.mjs', import.meta.url)),
      server.url,
      'dpu-kill',
      'doomed-agent',
    ]);
    const [, instanceId] = await child.waitForOutput(/registered (\S+)/, { timeoutMs: 15_000 });
    const listed = await discoverAgents(nc, { nodeId: 'dpu-kill', timeoutMs: 500 });
    expect(listed.map((a) => [a.id, a.healthy])).toEqual([[instanceId, true]]);
    child.kill('SIGKILL');
    await child.exited;
    const killedAt = Date.now();
    await waitFor(
      async () => (await discoverAgents(nc, { nodeId: 'dpu-kill', timeoutMs: 500 })).length === 0,
      {
        timeoutMs: 10_000,
        message: 'the killed instance to vanish',
      },
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  });
});

describe('agent discovery across a server restart', () => {
  let server: RunningNatsServer;
  afterAll(() => server?.stop());

  it('finds the instance and its stored heartbeat again after the server restarts', async () => {
    server = await startNatsServer();
    const agent = await connectBus({ servers: server.url, reconnectTimeWaitMs: 100 });
    const registration = await registerAgentInstance(agent, {
      name: 'network-agent',
      version: '0.1.0',
      nodeId: 'dpu-restart',
      endpoint: '127.0.0.1:1',
      heartbeatIntervalMs: 60_000,
      health: () => 'SERVING',
    });
    await server.restart();
    const viewer = await connectBus({ servers: server.url });
    try {
      const [found] = await waitFor(
        async () => {
          const agents = await discoverAgents(viewer, { nodeId: 'dpu-restart', timeoutMs: 500 });
          return agents.length === 1 ? agents : undefined;
        },
        { message: 'the instance after the restart' },
      );
      expect(found).toMatchObject({ id: registration.instanceId, healthy: true });
    } finally {
      await registration.stop();
      await viewer.close();
      await agent.close();
    }
  });
});
