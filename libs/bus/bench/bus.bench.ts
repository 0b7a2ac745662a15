// Throughput of the bus helpers against a real nats-server: `npx nx run bus:bench`.
// Figures depend on the machine; they are for comparing changes, not for asserting.
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { z } from 'zod';
import { startNatsServer, type RunningNatsServer } from '@opi/testing';
import {
  buildCloudEvent,
  connectBus,
  createEventPublisher,
  ensureEventStream,
  openKvStore,
  parseCloudEvent,
  subjects,
  type EventPublisher,
  type KvStore,
} from '../src/index.js';

const portSchema = z.object({
  name: z.string().min(1),
  mtu: z.number().int().min(68).max(9216),
  macAddress: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
  vlans: z.array(z.number().int().min(1).max(4094)).max(64),
});
const port = { name: 'port-17', mtu: 1500, macAddress: '02:00:00:00:00:11', vlans: [10, 20, 30] };
const encoded = new TextEncoder().encode(
  JSON.stringify(
    buildCloudEvent(portSchema, {
      source: 'bench',
      type: 'port.created',
      nodeId: 'dpu0',
      data: port,
    }),
  ),
);

let server: RunningNatsServer;
let nc: NatsConnection;
let events: EventPublisher;
let kv: KvStore<z.infer<typeof portSchema>>;
let revision = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connectBus({ servers: server.url });
  await ensureEventStream(nc, { maxBytes: 256 * 1024 * 1024, maxAgeMs: 3_600_000 });
  events = createEventPublisher(nc, { nodeId: 'dpu0', source: 'bench' });
  kv = await openKvStore(nc, { bucket: 'bench', schema: portSchema });
  revision = await kv.create('p', port);
  // Something must receive core events for the publish path to be realistic.
  nc.subscribe(subjects.allEvents('dpu0'), { callback: () => undefined });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('events', () => {
  bench('parseCloudEvent (JSON + envelope + data schema)', () => {
    parseCloudEvent(portSchema, encoded);
  });
  bench('publish, core NATS (validate + envelope + publish)', async () => {
    await events.publish('port.created', 'ports/p', portSchema, port);
  });
  bench('publish, persist (JetStream ack awaited)', async () => {
    await events.publish('port.created', 'ports/p', portSchema, port, { persist: true });
  });
});

describe('kv', () => {
  bench('update with expected revision (CAS)', async () => {
    revision = await kv.update('p', port, revision);
  });
  bench('get (validated)', async () => {
    await kv.get('p');
  });
});
