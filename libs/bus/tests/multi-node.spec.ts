import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freePort, startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import {
  connectBus,
  createEventPublisher,
  discoverAgents,
  ensureEventStream,
  readEvents,
  registerAgentInstance,
  subjects,
  type AgentRegistration,
} from '../src/index.js';

const tick = z.object({ n: z.number() });

// Two DPUs, each with a leaf nats-server, share one hub: the subjects carry the node id, so
// nothing is renamed, and discovery and the event stream see both DPUs from the hub.
describe('many DPUs sharing one NATS system through leaf nodes', () => {
  let hub: RunningNatsServer;
  const leaves: RunningNatsServer[] = [];
  const connections: NatsConnection[] = [];
  const registrations: AgentRegistration[] = [];

  beforeAll(async () => {
    const leafPort = await freePort();
    hub = await startNatsServer({ config: `leafnodes { listen: "127.0.0.1:${leafPort}" }\n` });
    for (let i = 0; i < 2; i++) {
      leaves.push(
        await startNatsServer({
          jetstream: false,
          config: `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }\n`,
        }),
      );
    }
    await waitFor(
      async () => {
        const leafz = (await (await fetch(`http://127.0.0.1:${hub.monitorPort}/leafz`)).json()) as {
          leafnodes: number;
        };
        return leafz.leafnodes === 2;
      },
      { message: 'both leaf nodes connected to the hub' },
    );
  });
  afterAll(async () => {
    await Promise.all(registrations.map((r) => r.stop()));
    await Promise.all(connections.map((nc) => nc.close()));
    await Promise.all(leaves.map((leaf) => leaf.stop()));
    await hub?.stop();
  });

  const connect = async (server: RunningNatsServer) => {
    const nc = await connectBus({ servers: server.url });
    connections.push(nc);
    return nc;
  };

  it('discovers the agents of both DPUs from the hub, each with its node id', async () => {
    for (const [index, nodeId] of ['dpu-a', 'dpu-b'].entries()) {
      const nc = await connect(leaves[index]!);
      registrations.push(
        await registerAgentInstance(nc, {
          name: 'network-agent',
          version: '0.1.0',
          nodeId,
          endpoint: `10.0.${index}.1:50151`,
          heartbeatIntervalMs: 200,
          health: () => 'SERVING',
        }),
      );
    }
    const viewer = await connect(hub);
    const agents = await waitFor(
      async () => {
        const found = await discoverAgents(viewer, { timeoutMs: 300 });
        return found.length === 2 && found.every((a) => a.healthy) ? found : undefined;
      },
      { message: 'two healthy agents seen from the hub' },
    );
    expect(agents.map((a) => [a.node, a.endpoint]).sort()).toEqual([
      ['dpu-a', '10.0.0.1:50151'],
      ['dpu-b', '10.0.1.1:50151'],
    ]);
    const onlyB = await discoverAgents(await connect(leaves[0]!), {
      nodeId: 'dpu-b',
      timeoutMs: 300,
    });
    expect(onlyB.map((a) => a.node)).toEqual(['dpu-b']);
  });

  it('captures events persisted on either DPU in the hub’s stream', async () => {
    const hubConnection = await connect(hub);
    await ensureEventStream(hubConnection, { maxBytes: 16 * 1024 * 1024, maxAgeMs: 600_000 });
    for (const [index, nodeId] of ['dpu-a', 'dpu-b'].entries()) {
      const publisher = createEventPublisher(await connect(leaves[index]!), {
        nodeId,
        source: 'network-agent',
      });
      await publisher.publish('tick', undefined, tick, { n: index }, { persist: true });
    }
    const stored = await readEvents(hubConnection, { dataSchema: tick });
    expect(stored.map((s) => [s.subject, s.event?.opinode])).toEqual([
      [subjects.events('dpu-a', 'network-agent', 'tick'), 'dpu-a'],
      [subjects.events('dpu-b', 'network-agent', 'tick'), 'dpu-b'],
    ]);
  });
});
