import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { Svcm, type Service } from '@nats-io/services';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { BusConfigError, DiscoveryError, formatIssues } from './errors.js';
import { isNotFound, msToNanos } from './event-stream.js';
import { subjects, validateToken } from './subjects.js';
import { busJetStream } from './jetstream-client.js';

// @nats-io/services 3.0.0-25 ships its own copy of nats-core types; the connection is the same
// object at runtime, only the declaration files differ.
type ServicesConnection = ConstructorParameters<typeof Svcm>[0];

/** Health an agent reports in its heartbeats (the gRPC health vocabulary). */
export type AgentHealth = 'SERVING' | 'NOT_SERVING';

/** Stream keeping the latest heartbeat of every instance, so a one-shot discovery sees it. */
export const HEARTBEAT_STREAM = 'OPI_HEARTBEATS';
/** How long the heartbeat stream keeps a heartbeat; longer than 3 intervals of any agent. */
export const HEARTBEAT_RETENTION_MS = 60_000;
/** Default heartbeat period. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;

/** Metadata keys of our `$SRV.INFO` answers; other services on the same NATS lack them. */
export const discoveryMetadataKeys = {
  node: 'opi_node',
  instance: 'opi_instance',
  endpoint: 'opi_endpoint',
  started: 'opi_started',
  version: 'opi_version',
} as const;

/** heartbeatSchema validates the body of `opi.<node>.hb.<agent>.<instance>` messages. */
export const heartbeatSchema = z.object({
  name: z.string().min(1),
  id: z.string().min(1),
  node: z.string().min(1),
  version: z.string(),
  health: z.enum(['SERVING', 'NOT_SERVING']),
  time: z.iso.datetime({ offset: true }),
  intervalMs: z.number().int().positive(),
  seq: z.number().int().nonnegative(),
});

/** One heartbeat message. */
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** Options of {@link registerAgentInstance}. */
export interface AgentRegistrationOptions {
  /** Agent (service) name, e.g. `network-agent`. */
  name: string;
  /** Semantic version of the agent, e.g. `0.1.0`. */
  version: string;
  nodeId: string;
  /** Defaults to a random UUID. */
  instanceId?: string;
  /** gRPC `host:port` clients should use. */
  endpoint: string;
  description?: string;
  /** Extra string metadata in the `$SRV.INFO` answer. */
  metadata?: Record<string, string>;
  heartbeatIntervalMs?: number;
  /** Polled for every heartbeat; a throwing function counts as NOT_SERVING. */
  health: () => AgentHealth;
  logger?: Logger;
}

/** A registered agent instance; `stop()` on shutdown. */
export interface AgentRegistration {
  readonly instanceId: string;
  /** ISO time of registration. */
  readonly started: string;
  /** Id the NATS services protocol assigned (addresses `$SRV.PING.<name>.<serviceId>`). */
  readonly serviceId: string;
  /** Publishes a heartbeat now (e.g. right after health changed). */
  heartbeat(): void;
  /** Publishes a last NOT_SERVING heartbeat and stops answering discovery. */
  stop(): Promise<void>;
}

/**
 * registerAgentInstance makes an agent instance discoverable: it answers `$SRV.PING`,
 * `$SRV.INFO` and `$SRV.STATS` through `@nats-io/services` (metadata: node, instance,
 * endpoint, started, version), serves a `health` endpoint on
 * `opi.<node>.svc.<agent>.<instance>.health`, and publishes heartbeats carrying `health()`
 * on `opi.<node>.hb.<agent>.<instance>` every `heartbeatIntervalMs`. It also makes sure the
 * heartbeat stream exists (best effort: without JetStream, heartbeats are only live).
 *
 * Throws {@link InvalidTokenError} for bad names and {@link DiscoveryError} for a version
 * that is not semver or metadata that is not a string map.
 */
export async function registerAgentInstance(
  nc: NatsConnection,
  options: AgentRegistrationOptions,
): Promise<AgentRegistration> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const name = validateToken('name', options.name);
  const nodeId = validateToken('nodeId', options.nodeId);
  const instanceId = validateToken('instanceId', options.instanceId ?? randomUUID());
  const intervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 50) {
    throw new BusConfigError('heartbeatIntervalMs', 'must be an integer ≥ 50');
  }
  if (typeof options.endpoint !== 'string' || options.endpoint.length === 0) {
    throw new BusConfigError('endpoint', 'must be a non-empty host:port');
  }
  const extra = z.record(z.string(), z.string()).safeParse(options.metadata ?? {});
  if (!extra.success) {
    throw new DiscoveryError(
      `metadata must map strings to strings: ${formatIssues(extra.error.issues, 'metadata').join('; ')}`,
    );
  }
  const started = new Date().toISOString();
  const currentHealth = (): AgentHealth => {
    try {
      return options.health() === 'SERVING' ? 'SERVING' : 'NOT_SERVING';
    } catch {
      return 'NOT_SERVING';
    }
  };

  await ensureHeartbeatStream(nc).catch((error: unknown) =>
    logger.warn(
      { err: (error as Error).message },
      'heartbeat stream unavailable; heartbeats are live only',
    ),
  );

  let service: Service;
  try {
    service = await new Svcm(nc as unknown as ServicesConnection).add({
      name,
      version: options.version,
      description: options.description ?? `${name} on ${nodeId}`,
      metadata: {
        ...extra.data,
        [discoveryMetadataKeys.node]: nodeId,
        [discoveryMetadataKeys.instance]: instanceId,
        [discoveryMetadataKeys.endpoint]: options.endpoint,
        [discoveryMetadataKeys.started]: started,
        [discoveryMetadataKeys.version]: options.version,
      },
    });
  } catch (error) {
    throw new DiscoveryError(`cannot register ${name}: ${(error as Error).message}`, error);
  }
  service.addEndpoint('health', {
    subject: subjects.serviceEndpoint(nodeId, name, instanceId, 'health'),
    handler: (_err, msg) => {
      msg.respond(JSON.stringify({ health: currentHealth(), time: new Date().toISOString() }));
    },
  });

  const heartbeatSubject = subjects.heartbeat(nodeId, name, instanceId);
  let seq = 0;
  const publishHeartbeat = (health: AgentHealth) => {
    if (nc.isClosed()) return;
    const beat: Heartbeat = {
      name,
      id: instanceId,
      node: nodeId,
      version: options.version,
      health,
      time: new Date().toISOString(),
      intervalMs,
      seq: seq++,
    };
    try {
      nc.publish(heartbeatSubject, JSON.stringify(beat));
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'heartbeat publish failed');
    }
  };
  publishHeartbeat(currentHealth());
  // Once this resolves, the server knows the subscriptions: a discovery right after sees us.
  await nc.flush().catch(() => undefined);
  const timer = setInterval(() => publishHeartbeat(currentHealth()), intervalMs);
  timer.unref();
  // After a reconnect the server may be a fresh one (or lost its JetStream state): make sure the
  // heartbeat stream exists again and announce ourselves at once instead of at the next tick.
  const statusEvents = nc.status();
  void (async () => {
    for await (const status of statusEvents) {
      if (status.type !== 'reconnect') continue;
      await ensureHeartbeatStream(nc).catch((error: unknown) =>
        logger.warn(
          { err: (error as Error).message },
          'heartbeat stream unavailable after reconnect',
        ),
      );
      publishHeartbeat(currentHealth());
    }
  })();
  logger.info(
    { agent: name, nodeId, instanceId, serviceId: service.info().id, intervalMs },
    'agent instance registered',
  );

  let stopping: Promise<void> | undefined;
  return {
    instanceId,
    started,
    serviceId: service.info().id,
    heartbeat: () => publishHeartbeat(currentHealth()),
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        // The status iterator is a QueuedIterator at runtime; stopping it unregisters the listener.
        (statusEvents as { stop?: () => void }).stop?.();
        publishHeartbeat('NOT_SERVING');
        if (!service.isStopped) await service.stop();
        if (!nc.isClosed()) await nc.flush().catch(() => undefined);
        logger.info({ agent: name, instanceId }, 'agent instance deregistered');
      })();
      return stopping;
    },
  };
}

/**
 * ensureHeartbeatStream creates the stream keeping the last heartbeat per instance
 * (`opi.*.hb.>`, one message per subject, {@link HEARTBEAT_RETENTION_MS} max age). Idempotent.
 */
export async function ensureHeartbeatStream(nc: NatsConnection): Promise<void> {
  const jsm = await busJetStream(nc).jetstreamManager();
  try {
    await jsm.streams.info(HEARTBEAT_STREAM);
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await jsm.streams.add({
      name: HEARTBEAT_STREAM,
      subjects: [subjects.allHeartbeats()],
      // File storage: a memory stream vanishes, definition included, when the server restarts.
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 1,
      max_age: msToNanos(HEARTBEAT_RETENTION_MS),
      num_replicas: 1,
    });
  } catch (error) {
    // Another instance created it at the same moment.
    if (!/already in use/i.test((error as Error).message)) throw error;
  }
}

/** A live agent instance as seen by {@link discoverAgents}. */
export interface AgentInstance {
  name: string;
  /** Instance id (the one in heartbeat subjects). */
  id: string;
  node: string;
  version: string;
  /** ISO time the instance registered. */
  started: string;
  /** gRPC host:port. */
  endpoint: string;
  /** Answered discovery and its latest heartbeat is fresh and says SERVING. */
  healthy: boolean;
  /** Health of the latest heartbeat, or UNKNOWN when none was seen or it is stale. */
  health: AgentHealth | 'UNKNOWN';
  /** ISO time of the latest heartbeat seen, if any. */
  lastHeartbeat?: string;
  /** Id from the NATS services protocol. */
  serviceId: string;
  /** All metadata of the `$SRV.INFO` answer. */
  metadata: Record<string, string>;
}

/** Options of {@link discoverAgents}. */
export interface DiscoverAgentsOptions {
  /** Only instances of this node. */
  nodeId?: string;
  /** Only instances of this agent name. */
  name?: string;
  /** How long to collect `$SRV.INFO` answers (default 1000 ms). */
  timeoutMs?: number;
  /** Heartbeats older than this many intervals are stale (default 3). */
  staleAfterIntervals?: number;
  logger?: Logger;
}

const infoReplySchema = z.object({
  type: z.literal('io.nats.micro.v1.info_response'),
  name: z.string().min(1),
  id: z.string().min(1),
  version: z.string(),
  metadata: z.record(z.string(), z.string()),
});

/**
 * discoverAgents asks every service on the bus for `$SRV.INFO`, keeps the answers that carry
 * our metadata (and match `nodeId`/`name`), and joins them with the latest heartbeat of each
 * instance: live heartbeats received during the call plus the last stored one per instance in
 * {@link HEARTBEAT_STREAM}. Nothing is cached between calls, so a killed instance, which cannot
 * answer, is absent from the next call. Garbage answers are skipped.
 */
export async function discoverAgents(
  nc: NatsConnection,
  options: DiscoverAgentsOptions = {},
): Promise<AgentInstance[]> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const nodeId = options.nodeId === undefined ? undefined : validateToken('nodeId', options.nodeId);
  const name = options.name === undefined ? undefined : validateToken('name', options.name);
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!(timeoutMs > 0)) throw new BusConfigError('timeoutMs', 'must be a positive number');
  const staleAfter = options.staleAfterIntervals ?? 3;

  const heartbeats = new Map<string, Heartbeat>();
  const remember = (data: Uint8Array) => {
    const parsed = parseHeartbeat(data);
    if (!parsed) return;
    const previous = heartbeats.get(parsed.id);
    if (!previous || Date.parse(previous.time) <= Date.parse(parsed.time))
      heartbeats.set(parsed.id, parsed);
  };
  const live = nc.subscribe(subjects.allHeartbeats(nodeId), {
    callback: (_err, msg) => remember(msg.data),
  });
  const stored = readStoredHeartbeats(nc, nodeId, timeoutMs, remember).catch((error: unknown) =>
    logger.debug({ err: (error as Error).message }, 'no stored heartbeats'),
  );

  const found = new Map<string, AgentInstance>();
  try {
    const replies = await nc.requestMany(`$SRV.INFO${name ? `.${name}` : ''}`, '', {
      strategy: 'timer',
      maxWait: timeoutMs,
    });
    for await (const msg of replies) {
      const instance = parseInfoReply(msg.data);
      if (!instance) continue;
      if (nodeId !== undefined && instance.node !== nodeId) continue;
      found.set(instance.id, instance);
    }
  } catch (error) {
    // No service at all answers with "no responders": an empty bus is not an error.
    if (!/no responders|503/i.test((error as Error).message)) throw error;
  }
  await stored;
  live.unsubscribe();

  const now = Date.now();
  return [...found.values()].map((instance) => {
    const beat = heartbeats.get(instance.id);
    const fresh = beat !== undefined && now - Date.parse(beat.time) <= staleAfter * beat.intervalMs;
    return {
      ...instance,
      health: beat && fresh ? beat.health : 'UNKNOWN',
      healthy: fresh && beat?.health === 'SERVING',
      ...(beat ? { lastHeartbeat: beat.time } : {}),
    };
  });
}

/** Options of {@link subscribeHeartbeats}. */
export interface SubscribeHeartbeatsOptions {
  /** Only this node's instances (default all nodes). */
  nodeId?: string;
  /** Called for every valid heartbeat; invalid messages are counted and skipped. */
  handler: (heartbeat: Heartbeat, subject: string) => void;
}

/** A running heartbeat subscription. */
export interface HeartbeatSubscription {
  /** Valid heartbeats handed to the handler, and messages skipped as invalid. */
  stats(): { received: number; invalid: number };
  stop(): Promise<void>;
}

/**
 * subscribeHeartbeats follows heartbeats as they arrive, e.g. to notice an instance going
 * NOT_SERVING or falling silent without polling discovery. Malformed messages are skipped.
 */
export function subscribeHeartbeats(
  nc: NatsConnection,
  options: SubscribeHeartbeatsOptions,
): HeartbeatSubscription {
  const nodeId = options.nodeId === undefined ? undefined : validateToken('nodeId', options.nodeId);
  const stats = { received: 0, invalid: 0 };
  const sub = nc.subscribe(subjects.allHeartbeats(nodeId), {
    callback: (_err, msg) => {
      const beat = parseHeartbeat(msg.data);
      if (!beat) {
        stats.invalid++;
        return;
      }
      stats.received++;
      try {
        options.handler(beat, msg.subject);
      } catch {
        // A failing handler must not end the subscription; the caller owns its own errors.
      }
    },
  });
  return {
    stats: () => ({ ...stats }),
    async stop() {
      if (!sub.isClosed()) await sub.drain();
    },
  };
}

function parseHeartbeat(data: Uint8Array): Heartbeat | undefined {
  try {
    const parsed = heartbeatSchema.safeParse(JSON.parse(new TextDecoder().decode(data)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function parseInfoReply(data: Uint8Array): AgentInstance | undefined {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  const parsed = infoReplySchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { metadata } = parsed.data;
  const node = metadata[discoveryMetadataKeys.node];
  const id = metadata[discoveryMetadataKeys.instance];
  const endpoint = metadata[discoveryMetadataKeys.endpoint];
  const started = metadata[discoveryMetadataKeys.started];
  if (!node || !id || endpoint === undefined || !started) return undefined;
  return {
    name: parsed.data.name,
    id,
    node,
    version: metadata[discoveryMetadataKeys.version] ?? parsed.data.version,
    started,
    endpoint,
    healthy: false,
    health: 'UNKNOWN',
    serviceId: parsed.data.id,
    metadata,
  };
}

async function readStoredHeartbeats(
  nc: NatsConnection,
  nodeId: string | undefined,
  timeoutMs: number,
  remember: (data: Uint8Array) => void,
): Promise<void> {
  const consumer = await busJetStream(nc).consumers.get(HEARTBEAT_STREAM, {
    filter_subjects: subjects.allHeartbeats(nodeId),
    deliver_policy: DeliverPolicy.LastPerSubject,
    // Backstop only: the consumer is deleted below, so frequent discovery leaves nothing behind.
    inactive_threshold: 5000,
  });
  try {
    if ((await consumer.info(true)).num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: 512 });
    const guard = setTimeout(() => void messages.close(), timeoutMs);
    try {
      for await (const msg of messages) {
        remember(msg.data);
        if (msg.info.pending === 0) break;
      }
    } finally {
      clearTimeout(guard);
      await messages.close();
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
