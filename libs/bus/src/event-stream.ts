import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JsMsg,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { pino, type Logger } from 'pino';
import type { z } from 'zod';
import { parseCloudEvent, type CloudEvent } from './envelope.js';
import { BusConfigError, BusError, JetStreamUnavailableError } from './errors.js';
import { logMalformed, type EventStats } from './events.js';
import { subjects, validateToken } from './subjects.js';
import { busJetStream, busJetStreamManager } from './jetstream-client.js';

/** Name of the stream that captures every agent event of every node. */
export const EVENT_STREAM = 'OPI_EVENTS';

/** Options of {@link ensureEventStream}. */
export interface EventStreamOptions {
  /** Stream name (default {@link EVENT_STREAM}). */
  name?: string;
  /** Upper bound of the stored bytes; the oldest events are dropped beyond it. */
  maxBytes: number;
  /** Upper bound of an event's age in the stream. */
  maxAgeMs: number;
  /** JetStream replicas (1 on a single server; 3 in a cluster). */
  replicas?: number;
  /** Window in which a re-published event id is dropped as a duplicate (default 2 min). */
  duplicateWindowMs?: number;
}

/**
 * ensureEventStream creates the file-backed stream capturing `opi.*.evt.>` (all agents, all
 * nodes), or updates its limits when it exists. Returns the stream info. Throws
 * {@link JetStreamUnavailableError} when the server has no JetStream.
 */
export async function ensureEventStream(
  nc: NatsConnection,
  options: EventStreamOptions,
): Promise<StreamInfo> {
  const name = options.name ?? EVENT_STREAM;
  if (!/^[A-Za-z0-9_-]+$/.test(name))
    throw new BusConfigError('name', `${JSON.stringify(name)} is not a stream name`);
  positive('maxBytes', options.maxBytes);
  positive('maxAgeMs', options.maxAgeMs);
  const config: Partial<StreamConfig> & { name: string } = {
    name,
    subjects: [subjects.allEvents()],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_bytes: options.maxBytes,
    max_age: msToNanos(options.maxAgeMs),
    num_replicas: options.replicas ?? 1,
    // JetStream refuses a duplicate window longer than the max age.
    duplicate_window: msToNanos(Math.min(options.duplicateWindowMs ?? 120_000, options.maxAgeMs)),
  };
  const jsm = await jetstreamManagerOrThrow(nc);
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!isNotFound(error)) throw wrapJetStream(error, `reading stream ${name}`);
    return await jsm.streams.add(config).catch((e: unknown) => {
      throw wrapJetStream(e, `creating stream ${name}`);
    });
  }
  const { storage: _storage, retention: _retention, ...updatable } = config;
  return await jsm.streams.update(name, updatable).catch((e: unknown) => {
    throw wrapJetStream(e, `updating stream ${name}`);
  });
}

/** Where a new durable consumer starts; an existing durable always resumes where it left off. */
export type EventStartPosition =
  | { from: 'all' }
  | { from: 'new' }
  | { from: 'sequence'; sequence: number }
  | { from: 'time'; time: Date };

/** Where an event came from in the stream, handed to consumer handlers. */
export interface StreamEventMeta {
  streamSequence: number;
  /** 1 on first delivery, more when redelivered after a handler error or a crash. */
  deliveryCount: number;
  subject: string;
}

/** Options of {@link consumeEvents}. */
export interface ConsumeEventsOptions<S extends z.ZodType> {
  /** Durable consumer name: restarting with the same name resumes after the last ack. */
  durable: string;
  /** Stream (default {@link EVENT_STREAM}). */
  stream?: string;
  /** Subject filter, e.g. `subjects.agentEvents('dpu0', 'network-agent')`; default all events. */
  filterSubject?: string;
  dataSchema: S;
  /** Called once per valid event; the event is acked when it returns, redelivered if it throws. */
  handler: (event: CloudEvent<z.output<S>>, meta: StreamEventMeta) => void | Promise<void>;
  /** Start of a consumer created now (default all); ignored when the durable exists. */
  start?: EventStartPosition;
  /** Redelivery delay after a handler error (default 1000 ms). */
  retryDelayMs?: number;
  /** Give up on an event after this many deliveries (default 5). */
  maxDeliver?: number;
  /**
   * Events fetched ahead of the handler (default 64). The ack wait of a new consumer
   * (`ackWaitMs`, default 30 s) must cover handling a whole batch, or events are redelivered.
   */
  batchSize?: number;
  /** Ack wait of a consumer created now (default 30 000 ms). */
  ackWaitMs?: number;
  logger?: Logger;
}

/** A running durable consumer. */
export interface EventConsumer {
  /** Consumer info as created or found. */
  readonly info: ConsumerInfo;
  stats(): EventStats;
  /** Stops fetching; events already handled stay acked, so the durable resumes after them. */
  stop(): Promise<void>;
  /** Resolves when consumption has ended. */
  readonly done: Promise<void>;
}

/**
 * consumeEvents replays and follows events with a durable pull consumer: created at `start`
 * if new, resumed if it exists. Each valid event is acked after its handler returns (so a
 * crash re-delivers it); malformed messages are terminated (never redelivered), counted and
 * logged; a throwing handler gets the event again after `retryDelayMs`, up to `maxDeliver`.
 */
export async function consumeEvents<S extends z.ZodType>(
  nc: NatsConnection,
  options: ConsumeEventsOptions<S>,
): Promise<EventConsumer> {
  const durable = validateToken('durable', options.durable);
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new BusConfigError('batchSize', 'must be an integer ≥ 1');
  if (options.ackWaitMs !== undefined && !(options.ackWaitMs > 0)) {
    throw new BusConfigError('ackWaitMs', 'must be a positive number');
  }
  const stream = options.stream ?? EVENT_STREAM;
  const logger = options.logger ?? pino({ level: 'silent' });
  const jsm = await jetstreamManagerOrThrow(nc);
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (!isNotFound(error)) throw wrapJetStream(error, `reading consumer ${stream}/${durable}`);
    info = await jsm.consumers.add(stream, consumerConfig(durable, options)).catch((e: unknown) => {
      throw wrapJetStream(e, `creating consumer ${stream}/${durable}`);
    });
  }
  const consumer = await busJetStream(nc).consumers.get(stream, durable);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: batchSize });
  const stats: EventStats = { received: 0, handled: 0, malformed: 0, handlerErrors: 0 };
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const done = (async () => {
    for await (const msg of messages) {
      stats.received++;
      await handleStreamMessage(msg, options, stats, logger, retryDelayMs);
    }
  })();
  return {
    info,
    stats: () => ({ ...stats }),
    async stop() {
      await messages.close();
      await done;
    },
    done,
  };
}

async function handleStreamMessage<S extends z.ZodType>(
  msg: JsMsg,
  options: ConsumeEventsOptions<S>,
  stats: EventStats,
  logger: Logger,
  retryDelayMs: number,
): Promise<void> {
  let event: CloudEvent<z.output<S>>;
  try {
    event = parseCloudEvent(options.dataSchema, msg.data);
  } catch (error) {
    stats.malformed++;
    logMalformed(logger, msg.subject, error);
    msg.term('malformed event');
    return;
  }
  try {
    await options.handler(event, {
      streamSequence: msg.info.streamSequence,
      deliveryCount: msg.info.deliveryCount,
      subject: msg.subject,
    });
  } catch (error) {
    stats.handlerErrors++;
    logger.error(
      {
        subject: msg.subject,
        eventId: event.id,
        delivery: msg.info.deliveryCount,
        err: (error as Error).message,
      },
      'event handler failed; will redeliver',
    );
    msg.nak(retryDelayMs);
    return;
  }
  try {
    // ackAck waits for the server, so a durable restarted right after resumes after this event.
    await msg.ackAck();
    stats.handled++;
  } catch (error) {
    logger.warn(
      { subject: msg.subject, err: (error as Error).message },
      'ack failed; event may be redelivered',
    );
  }
}

function consumerConfig<S extends z.ZodType>(
  durable: string,
  options: ConsumeEventsOptions<S>,
): ConsumerConfig {
  const start = options.start ?? { from: 'all' };
  const config: ConsumerConfig = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    max_deliver: options.maxDeliver ?? 5,
    ack_wait: msToNanos(options.ackWaitMs ?? 30_000),
    filter_subject: options.filterSubject ?? subjects.allEvents(),
  };
  switch (start.from) {
    case 'all':
      break;
    case 'new':
      config.deliver_policy = DeliverPolicy.New;
      break;
    case 'sequence':
      if (!Number.isInteger(start.sequence) || start.sequence < 1) {
        throw new BusConfigError('start.sequence', 'must be an integer ≥ 1');
      }
      config.deliver_policy = DeliverPolicy.StartSequence;
      config.opt_start_seq = start.sequence;
      break;
    case 'time':
      if (Number.isNaN(start.time.getTime()))
        throw new BusConfigError('start.time', 'is not a valid date');
      config.deliver_policy = DeliverPolicy.StartTime;
      config.opt_start_time = start.time.toISOString();
      break;
  }
  return config;
}

/** Options of {@link readEvents}. */
export interface ReadEventsOptions<S extends z.ZodType> {
  stream?: string;
  filterSubject?: string;
  dataSchema: S;
  start?: EventStartPosition;
  /** Stop after this many events (default 10 000). */
  limit?: number;
}

/** One event read back from the stream; `event` is undefined for a malformed message. */
export interface StoredEvent<T> {
  streamSequence: number;
  subject: string;
  event?: CloudEvent<T>;
  error?: Error;
}

/**
 * readEvents replays the events stored now (from `start`, default all) with an ephemeral
 * ordered consumer and returns them, including malformed ones with their error, up to `limit`.
 */
export async function readEvents<S extends z.ZodType>(
  nc: NatsConnection,
  options: ReadEventsOptions<S>,
): Promise<Array<StoredEvent<z.output<S>>>> {
  const stream = options.stream ?? EVENT_STREAM;
  const limit = options.limit ?? 10_000;
  await jetstreamManagerOrThrow(nc);
  const start = options.start ?? { from: 'all' };
  const ordered: Parameters<ReturnType<typeof busJetStream>['consumers']['get']>[1] = {
    filter_subjects: options.filterSubject ?? subjects.allEvents(),
    inactive_threshold: 5000,
    ...(start.from === 'sequence'
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.sequence }
      : {}),
    ...(start.from === 'time'
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() }
      : {}),
    ...(start.from === 'new' ? { deliver_policy: DeliverPolicy.New } : {}),
  };
  const consumer = await busJetStream(nc)
    .consumers.get(stream, ordered)
    .catch((e: unknown) => {
      throw wrapJetStream(e, `reading stream ${stream}`);
    });
  const out: Array<StoredEvent<z.output<S>>> = [];
  try {
    if ((await consumer.info()).num_pending === 0) return out;
    const messages = await consumer.consume({ max_messages: Math.min(limit, 256) });
    try {
      for await (const msg of messages) {
        const stored: StoredEvent<z.output<S>> = {
          streamSequence: msg.info.streamSequence,
          subject: msg.subject,
        };
        try {
          stored.event = parseCloudEvent(options.dataSchema, msg.data);
        } catch (error) {
          stored.error = error as Error;
        }
        out.push(stored);
        if (msg.info.pending === 0 || out.length >= limit) break;
      }
    } finally {
      await messages.close();
    }
  } finally {
    // Ephemeral consumers otherwise linger for their inactive threshold (5 min by default).
    await consumer.delete().catch(() => undefined);
  }
  return out;
}

/** Opens the JetStream manager, turning "no JetStream" into {@link JetStreamUnavailableError}. */
export async function jetstreamManagerOrThrow(nc: NatsConnection) {
  try {
    return await busJetStreamManager(nc);
  } catch (error) {
    throw wrapJetStream(error, 'opening JetStream');
  }
}

/** wrapJetStream classifies a JetStream failure as unavailable or a retryable bus error. */
export function wrapJetStream(error: unknown, doing: string): BusError {
  if (error instanceof BusError) return error;
  const message = (error as Error)?.message ?? String(error);
  if (/jetstream not enabled|not enabled for account|no responders|503/i.test(message)) {
    return new JetStreamUnavailableError(
      `${doing}: JetStream is not available (${message})`,
      error,
    );
  }
  return new BusError(`${doing}: ${message}`, { retryable: true, cause: error });
}

/** isNotFound recognises "stream/consumer not found" API errors. */
export function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 10059 || code === 10014 || /not found/i.test((error as Error)?.message ?? '');
}

function positive(field: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0)
    throw new BusConfigError(field, 'must be a positive number');
}

/** msToNanos converts milliseconds to the nanoseconds JetStream configs use. */
export function msToNanos(ms: number): number {
  return Math.round(ms * 1_000_000);
}
