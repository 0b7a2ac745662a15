import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import {
  BusConfigError,
  connectBus,
  createEventPublisher,
  EventValidationError,
  JetStreamUnavailableError,
  subjects,
  subscribeEvents,
  type CloudEvent,
} from '../src/index.js';
import { memoryLogger } from './support/memory-logger.js';

const portCreated = z.object({ name: z.string().min(1), mtu: z.number().int().min(68).max(9216) });
type PortCreated = z.infer<typeof portCreated>;

describe('typed events', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectBus({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('publishes a CloudEvents 1.0 envelope on the agent event subject', async () => {
    const seen: Array<{ subject: string; body: Record<string, unknown>; contentType?: string }> =
      [];
    const sub = nc.subscribe(subjects.allEvents('dpu0'), {
      callback: (_err, msg) =>
        void seen.push({
          subject: msg.subject,
          body: msg.json(),
          contentType: msg.headers?.get('Content-Type'),
        }),
    });
    await nc.flush();
    const publisher = createEventPublisher(nc, { nodeId: 'dpu0', source: 'network-agent' });
    const sent = await publisher.publish('port.created', 'ports/p1', portCreated, {
      name: 'p1',
      mtu: 1500,
    });
    await waitFor(() => seen.length === 1, { message: 'the event' });
    sub.unsubscribe();

    expect(seen[0]?.subject).toBe('opi.dpu0.evt.network-agent.port.created');
    expect(seen[0]?.contentType).toBe('application/cloudevents+json');
    expect(seen[0]?.body).toEqual({
      specversion: '1.0',
      id: sent.id,
      source: 'network-agent',
      type: 'port.created',
      time: sent.time,
      subject: 'ports/p1',
      datacontenttype: 'application/json',
      opinode: 'dpu0',
      data: { name: 'p1', mtu: 1500 },
    });
    expect(sent.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(sent.time)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses invalid data with a named error and publishes nothing', async () => {
    let received = 0;
    const sub = nc.subscribe(subjects.allEvents('dpu-invalid'), {
      callback: () => void received++,
    });
    await nc.flush();
    const publisher = createEventPublisher(nc, { nodeId: 'dpu-invalid', source: 'network-agent' });
    const error = await publisher
      .publish('port.created', 'ports/p1', portCreated, { name: 'p1', mtu: 20 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues[0]).toMatch(/^data\.mtu: /);
    expect((error as EventValidationError).retryable).toBe(false);
    await nc.flush();
    sub.unsubscribe();
    expect(received).toBe(0);
  });

  it('needs an explicit agent when the source is a URI path', () => {
    expect(() =>
      createEventPublisher(nc, { nodeId: 'dpu0', source: '/opi/dpu0/network-agent' }),
    ).toThrow(BusConfigError);
    const publisher = createEventPublisher(nc, {
      nodeId: 'dpu0',
      source: '/opi/dpu0/network-agent',
      agent: 'network-agent',
    });
    expect(publisher).toBeDefined();
  });

  it('delivers valid events and counts and skips malformed ones without stopping', async () => {
    const handled: Array<CloudEvent<PortCreated>> = [];
    const log = memoryLogger();
    const subscription = subscribeEvents(nc, {
      subject: subjects.allEvents('dpu1'),
      dataSchema: portCreated,
      handler: (event) => void handled.push(event),
      logger: log.logger,
    });
    await nc.flush();
    const publisher = createEventPublisher(nc, { nodeId: 'dpu1', source: 'network-agent' });
    const subject = subjects.events('dpu1', 'network-agent', 'port.created');

    nc.publish(subject, 'TOPSECRET=hunter2 not json');
    nc.publish(subject, JSON.stringify({ specversion: '0.3', id: 'x' }));
    // A well-formed envelope whose data does not match the subscriber's schema.
    nc.publish(
      subject,
      JSON.stringify({
        specversion: '1.0',
        id: 'e1',
        source: 'evil',
        type: 'port.created',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        opinode: 'dpu1',
        data: { name: 42 },
      }),
    );
    await publisher.publish('port.created', 'ports/p2', portCreated, { name: 'p2', mtu: 9000 });

    await waitFor(() => handled.length === 1, { message: 'the valid event' });
    await subscription.stop();
    expect(handled[0]?.data).toEqual({ name: 'p2', mtu: 9000 });
    expect(subscription.stats()).toEqual({
      received: 4,
      handled: 1,
      malformed: 3,
      handlerErrors: 0,
    });
    const warnings = log.lines.filter((line) => line.msg === 'malformed event skipped');
    expect(warnings.map((w) => w.subject)).toEqual([subject, subject, subject]);
    expect(JSON.stringify(warnings[2])).toContain('data.name');
    expect(log.text()).not.toContain('TOPSECRET');
  });

  it('counts handler failures and keeps delivering', async () => {
    let calls = 0;
    const subscription = subscribeEvents(nc, {
      subject: subjects.allEvents('dpu2'),
      dataSchema: portCreated,
      handler: () => {
        calls++;
        if (calls === 1) throw new Error('handler bug');
      },
    });
    await nc.flush();
    const publisher = createEventPublisher(nc, { nodeId: 'dpu2', source: 'network-agent' });
    await publisher.publish('port.created', undefined, portCreated, { name: 'a', mtu: 1500 });
    await publisher.publish('port.created', undefined, portCreated, { name: 'b', mtu: 1500 });
    await waitFor(() => calls === 2, { message: 'two handler calls' });
    await subscription.stop();
    expect(subscription.stats()).toEqual({
      received: 2,
      handled: 1,
      malformed: 0,
      handlerErrors: 1,
    });
  });

  it('shares events among the subscribers of a queue group', async () => {
    const counts = [0, 0];
    const group = [0, 1].map((index) =>
      subscribeEvents(nc, {
        subject: subjects.allEvents('dpu4'),
        dataSchema: portCreated,
        queue: 'workers',
        handler: () => void counts[index]!++,
      }),
    );
    await nc.flush();
    const publisher = createEventPublisher(nc, { nodeId: 'dpu4', source: 'network-agent' });
    for (let i = 0; i < 20; i++) {
      await publisher.publish('port.created', undefined, portCreated, { name: `p${i}`, mtu: 1500 });
    }
    await waitFor(() => counts[0]! + counts[1]! === 20, { message: 'all 20 events handled once' });
    await Promise.all(group.map((subscription) => subscription.stop()));
    expect(counts[0]! + counts[1]!).toBe(20);
  });

  it('says that persisting needs a stream when none captures the subject', async () => {
    const publisher = createEventPublisher(nc, { nodeId: 'dpu3', source: 'network-agent' });
    const error = await publisher
      .publish(
        'port.created',
        undefined,
        portCreated,
        { name: 'a', mtu: 1500 },
        { persist: true, timeoutMs: 1000 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JetStreamUnavailableError);
    expect((error as Error).message).toMatch(/ensureEventStream/);
  });
});
