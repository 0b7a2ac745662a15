import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * How long a JetStream API request may take. The client's default (5 s) is shorter than a busy
 * server needs on a loaded 2-core machine to create a file-backed stream or bucket, and an agent
 * that gives up then fails its start; a slow answer is better than none.
 */
export const JETSTREAM_API_TIMEOUT_MS = 15_000;

/** The JetStream client every part of the bus uses, with {@link JETSTREAM_API_TIMEOUT_MS}. */
export function busJetStream(nc: NatsConnection): JetStreamClient {
  return jetstream(nc, { timeout: JETSTREAM_API_TIMEOUT_MS });
}

/** The JetStream manager every part of the bus uses, with {@link JETSTREAM_API_TIMEOUT_MS}. */
export function busJetStreamManager(nc: NatsConnection): Promise<JetStreamManager> {
  return jetstreamManager(nc, { timeout: JETSTREAM_API_TIMEOUT_MS });
}
