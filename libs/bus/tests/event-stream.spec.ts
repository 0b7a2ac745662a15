import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep, startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import {
  connectBus,
  consumeEvents,
  createEventPublisher,
  ensureEventStream,
  EVENT_STREAM,
  readEvents,
  subjects,
  type EventPublisher,
} from '../src/index.js';

const counter = z.object({ n: z.number().int() });

describe('the event stream', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  let dpu0: EventPublisher;
  let dpu1: EventPublisher;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectBus({ servers: server.url });
    await ensureEventStream(nc, { maxBytes: 64 * 1024 * 1024, maxAgeMs: 3_600_000 });
    dpu0 = createEventPublisher(nc, { nodeId: 'dpu0', source: 'network-agent' });
    dpu1 = createEventPublisher(nc, { nodeId: 'dpu1', source: 'storage-agent' });
    for (let n = 1; n <= 5; n++) {
      await dpu0.publish('tick', undefined, counter, { n }, { persist: true });
      await dpu1.publish('tick', undefined, counter, { n: 100 + n }, { persist: true });
    }
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('is a bounded file stream capturing the events of every node', async () => {
    const info = await (await jetstreamManager(nc)).streams.info(EVENT_STREAM);
    expect(info.config.storage).toBe('file');
    expect(info.config.subjects).toEqual(['opi.*.evt.>']);
    expect(info.config.max_bytes).toBe(64 * 1024 * 1024);
    expect(info.config.max_age).toBe(3_600_000 * 1_000_000);
    expect(info.state.messages).toBe(10);
  });

  it('updates the limits when ensured again', async () => {
    const info = await ensureEventStream(nc, { maxBytes: 32 * 1024 * 1024, maxAgeMs: 60_000 });
    expect(info.config.max_bytes).toBe(32 * 1024 * 1024);
    expect(info.state.messages).toBe(10);
    await ensureEventStream(nc, { maxBytes: 64 * 1024 * 1024, maxAgeMs: 3_600_000 });
  });

  it('rejects limits that are not positive, naming the option', async () => {
    await expect(ensureEventStream(nc, { maxBytes: 0, maxAgeMs: 1000 })).rejects.toThrow(
      /^maxBytes: /,
    );
  });

  it('drops a re-published event id as a duplicate', async () => {
    const before = (await (await jetstreamManager(nc)).streams.info(EVENT_STREAM)).state.messages;
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    const subject = subjects.events('dpu9', 'x', 'dup');
    const ack1 = await js.publish(subject, '{}', { msgID: 'same-id' });
    const ack2 = await js.publish(subject, '{}', { msgID: 'same-id' });
    expect(ack2.duplicate).toBe(true);
    expect(ack2.seq).toBe(ack1.seq);
    const after = (await (await jetstreamManager(nc)).streams.info(EVENT_STREAM)).state.messages;
    expect(after).toBe(before + 1);
    await (await jetstreamManager(nc)).streams.deleteMessage(EVENT_STREAM, ack1.seq);
  });

  it('replays one node’s events from the start with a durable consumer', async () => {
    const seen: number[] = [];
    const consumer = await consumeEvents(nc, {
      durable: 'replay-dpu0',
      filterSubject: subjects.allEvents('dpu0'),
      dataSchema: counter,
      handler: (event) => void seen.push(event.data.n),
    });
    await waitFor(() => seen.length === 5, { message: 'five replayed events' });
    await consumer.stop();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(consumer.stats()).toMatchObject({ handled: 5, malformed: 0 });
  });

  it('resumes a durable consumer after the last acked event', async () => {
    const first: number[] = [];
    const a = await consumeEvents(nc, {
      durable: 'resume-dpu1',
      filterSubject: subjects.allEvents('dpu1'),
      dataSchema: counter,
      handler: (event) => void first.push(event.data.n),
    });
    await waitFor(() => first.length === 5, { message: 'first pass' });
    await a.stop();

    await dpu1.publish('tick', undefined, counter, { n: 106 }, { persist: true });
    await dpu1.publish('tick', undefined, counter, { n: 107 }, { persist: true });

    const second: number[] = [];
    const b = await consumeEvents(nc, {
      durable: 'resume-dpu1',
      filterSubject: subjects.allEvents('dpu1'),
      dataSchema: counter,
      handler: (event) => void second.push(event.data.n),
    });
    await waitFor(() => second.length === 2, { message: 'events published while stopped' });
    await b.stop();
    expect(first).toEqual([101, 102, 103, 104, 105]);
    expect(second).toEqual([106, 107]);
  });

  it('starts a new durable consumer at a given stream sequence', async () => {
    const all = await readEvents(nc, {
      filterSubject: subjects.allEvents('dpu0'),
      dataSchema: counter,
    });
    const third = all[2]!;
    const seen: number[] = [];
    const consumer = await consumeEvents(nc, {
      durable: 'from-seq',
      filterSubject: subjects.allEvents('dpu0'),
      dataSchema: counter,
      start: { from: 'sequence', sequence: third.streamSequence },
      handler: (event) => void seen.push(event.data.n),
    });
    await waitFor(() => seen.length === 3, { message: 'events from the third on' });
    await consumer.stop();
    expect(seen).toEqual([3, 4, 5]);
  });

  it('starts a new durable consumer at a time or at new events only', async () => {
    const publisher = createEventPublisher(nc, { nodeId: 'dpu6', source: 'network-agent' });
    await publisher.publish('tick', undefined, counter, { n: 1 }, { persist: true });
    await sleep(20);
    const boundary = new Date();
    await sleep(20);
    await publisher.publish('tick', undefined, counter, { n: 2 }, { persist: true });

    const fromTime: number[] = [];
    const byTime = await consumeEvents(nc, {
      durable: 'from-time',
      filterSubject: subjects.allEvents('dpu6'),
      dataSchema: counter,
      start: { from: 'time', time: boundary },
      handler: (event) => void fromTime.push(event.data.n),
    });
    const onlyNew: number[] = [];
    const byNew = await consumeEvents(nc, {
      durable: 'only-new',
      filterSubject: subjects.allEvents('dpu6'),
      dataSchema: counter,
      start: { from: 'new' },
      handler: (event) => void onlyNew.push(event.data.n),
    });
    await publisher.publish('tick', undefined, counter, { n: 3 }, { persist: true });
    await waitFor(() => fromTime.length === 2 && onlyNew.length === 1, {
      message: 'both consumers',
    });
    await Promise.all([byTime.stop(), byNew.stop()]);
    expect(fromTime).toEqual([2, 3]);
    expect(onlyNew).toEqual([3]);
  });

  it('redelivers an event whose handler failed and terminates malformed ones', async () => {
    nc.publish(subjects.events('dpu5', 'network-agent', 'tick'), 'garbage');
    await createEventPublisher(nc, { nodeId: 'dpu5', source: 'network-agent' }).publish(
      'tick',
      undefined,
      counter,
      { n: 1 },
      { persist: true },
    );
    const deliveries: number[] = [];
    const consumer = await consumeEvents(nc, {
      durable: 'flaky',
      filterSubject: subjects.allEvents('dpu5'),
      dataSchema: counter,
      retryDelayMs: 50,
      handler: (_event, meta) => {
        deliveries.push(meta.deliveryCount);
        if (meta.deliveryCount === 1) throw new Error('transient failure');
      },
    });
    await waitFor(() => deliveries.length === 2, { message: 'a redelivery' });
    await consumer.stop();
    expect(deliveries).toEqual([1, 2]);
    expect(consumer.stats()).toMatchObject({
      received: 3,
      handled: 1,
      malformed: 1,
      handlerErrors: 1,
    });
  });

  it('reads stored events back, marking malformed ones, and leaves no consumer behind', async () => {
    const consumerCount = async () =>
      (await (await jetstreamManager(nc)).streams.info(EVENT_STREAM)).state.consumer_count;
    const before = await consumerCount();
    const stored = await readEvents(nc, {
      filterSubject: subjects.allEvents('dpu5'),
      dataSchema: counter,
    });
    expect(stored.map((s) => (s.event ? s.event.data.n : s.error?.name))).toEqual([
      'EventValidationError',
      1,
    ]);
    expect(
      await readEvents(nc, { filterSubject: subjects.allEvents('nobody'), dataSchema: counter }),
    ).toEqual([]);
    expect(await consumerCount()).toBe(before);
  });
});
