import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import type { z } from 'zod';
import {
  buildCloudEvent,
  CLOUDEVENTS_CONTENT_TYPE,
  parseCloudEvent,
  type CloudEvent,
} from './envelope.js';
import {
  BusConfigError,
  BusError,
  EventValidationError,
  JetStreamUnavailableError,
} from './errors.js';
import { subjects, validateToken } from './subjects.js';
import { busJetStream } from './jetstream-client.js';

/** Options of {@link createEventPublisher}. */
export interface EventPublisherOptions {
  /** Node id of this DPU; goes into every subject and the `opinode` attribute. */
  nodeId: string;
  /** CloudEvents `source`, e.g. `/opi/dpu0/network-agent` or just `network-agent`. */
  source: string;
  /**
   * Agent name used in the subject (`opi.<node>.evt.<agent>.<type>`). Defaults to `source`
   * when that is a plain token; required otherwise.
   */
  agent?: string;
}

/** Per-publish options. */
export interface PublishEventOptions {
  /** Publish through JetStream and await the stream's ack (the event stream must exist). */
  persist?: boolean;
  /** How long to wait for the JetStream ack (default 5000 ms). */
  timeoutMs?: number;
}

/** Publishes typed CloudEvents of one agent on one node. */
export interface EventPublisher {
  /**
   * Validates `data` with `dataSchema`, wraps it in a CloudEvents envelope and publishes it on
   * `opi.<node>.evt.<agent>.<type>`. Returns the event sent. Throws
   * {@link EventValidationError} (nothing is published) or {@link InvalidTokenError} for a bad
   * type; with `persist`, {@link JetStreamUnavailableError} when no stream captures the subject.
   */
  publish<S extends z.ZodType>(
    type: string,
    subject: string | undefined,
    dataSchema: S,
    data: z.input<S>,
    options?: PublishEventOptions,
  ): Promise<CloudEvent<z.output<S>>>;
}

/** createEventPublisher returns a publisher bound to one node and agent. */
export function createEventPublisher(
  nc: NatsConnection,
  options: EventPublisherOptions,
): EventPublisher {
  const nodeId = validateToken('nodeId', options.nodeId);
  if (typeof options.source !== 'string' || options.source.length === 0) {
    throw new BusConfigError('source', 'must be a non-empty CloudEvents source');
  }
  let agent = options.agent;
  if (agent === undefined) {
    try {
      agent = validateToken('source', options.source);
    } catch {
      throw new BusConfigError(
        'agent',
        `source ${JSON.stringify(options.source)} is not a plain token; pass agent`,
      );
    }
  }
  validateToken('agent', agent);
  const js = busJetStream(nc);
  const source = options.source;
  const agentName = agent;

  return {
    async publish(type, subject, dataSchema, data, publishOptions = {}) {
      const natsSubject = subjects.events(nodeId, agentName, type);
      const event = buildCloudEvent(dataSchema, { source, type, subject, nodeId, data });
      const body = JSON.stringify(event);
      const h = natsHeaders();
      h.set('Content-Type', CLOUDEVENTS_CONTENT_TYPE);
      if (!publishOptions.persist) {
        nc.publish(natsSubject, body, { headers: h });
        return event;
      }
      try {
        await js.publish(natsSubject, body, {
          headers: h,
          msgID: event.id,
          timeout: publishOptions.timeoutMs ?? 5000,
        });
      } catch (error) {
        const message = (error as Error).message ?? String(error);
        // The client reports "no responders" for a subject no stream captures as "jetstream is not enabled".
        if (/no responders|503|stream not found|not enabled/i.test(message)) {
          throw new JetStreamUnavailableError(
            `no JetStream stream captures ${natsSubject} (call ensureEventStream first): ${message}`,
            error,
          );
        }
        throw new BusError(`persisting event ${type} failed: ${message}`, {
          retryable: true,
          cause: error,
        });
      }
      return event;
    },
  };
}

/** Counters of an event subscription or consumer. */
export interface EventStats {
  /** Messages received. */
  received: number;
  /** Valid events handed to the handler and handled without throwing. */
  handled: number;
  /** Messages that were not a valid event of the expected schema (skipped). */
  malformed: number;
  /** Valid events whose handler threw. */
  handlerErrors: number;
}

/** Options of {@link subscribeEvents}. */
export interface SubscribeEventsOptions<S extends z.ZodType> {
  /** A subject or wildcard from {@link subjects}, e.g. `subjects.allEvents('dpu0')`. */
  subject: string;
  dataSchema: S;
  /** Called once per valid event, in order; may be async. Throwing is counted and logged. */
  handler: (event: CloudEvent<z.output<S>>, msg: Msg) => void | Promise<void>;
  /** Queue group: share the events among the subscribers of the group. */
  queue?: string;
  logger?: Logger;
}

/** A running event subscription. */
export interface EventSubscription {
  stats(): EventStats;
  /** Drains the subscription: queued events are still handled, then it ends. */
  stop(): Promise<void>;
  /** Resolves when the subscription has ended (stop, or the connection closed). */
  readonly done: Promise<void>;
}

/**
 * subscribeEvents delivers validated events from a core NATS subscription. Messages that are
 * not JSON, not a CloudEvents envelope, or whose data fails `dataSchema` are counted as
 * `malformed`, logged (without their data) and skipped; the subscription keeps running.
 */
export function subscribeEvents<S extends z.ZodType>(
  nc: NatsConnection,
  options: SubscribeEventsOptions<S>,
): EventSubscription {
  const logger = options.logger ?? pino({ level: 'silent' });
  const stats: EventStats = { received: 0, handled: 0, malformed: 0, handlerErrors: 0 };
  const sub = nc.subscribe(
    options.subject,
    options.queue === undefined ? {} : { queue: options.queue },
  );
  const done = (async () => {
    for await (const msg of sub) {
      stats.received++;
      let event: CloudEvent<z.output<S>>;
      try {
        event = parseCloudEvent(options.dataSchema, msg.data);
      } catch (error) {
        stats.malformed++;
        logMalformed(logger, msg.subject, error);
        continue;
      }
      try {
        await options.handler(event, msg);
        stats.handled++;
      } catch (error) {
        stats.handlerErrors++;
        logger.error(
          { subject: msg.subject, eventId: event.id, err: (error as Error).message },
          'event handler failed',
        );
      }
    }
  })();
  return {
    stats: () => ({ ...stats }),
    async stop() {
      if (!sub.isClosed()) await sub.drain();
      await done;
    },
    done,
  };
}

/** logMalformed warns about a skipped message with its subject and issues, never its body. */
export function logMalformed(logger: Logger, subject: string, error: unknown): void {
  const issues = error instanceof EventValidationError ? error.issues.slice(0, 5) : undefined;
  logger.warn(
    { subject, issues, err: (error as Error).message.slice(0, 500) },
    'malformed event skipped',
  );
}
