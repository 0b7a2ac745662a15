import { describe, expect, it } from 'vitest';
import * as bus from '../src/index.js';

describe('the public API of @opi/bus', () => {
  it('exports exactly these runtime names (changing them breaks other projects)', () => {
    expect(Object.keys(bus).sort()).toMatchInlineSnapshot(`
      [
        "BusConfigError",
        "BusConnectError",
        "BusError",
        "CLOUDEVENTS_CONTENT_TYPE",
        "CLOUDEVENTS_SPEC_VERSION",
        "DEFAULT_HEARTBEAT_INTERVAL_MS",
        "DEFAULT_NATS_URL",
        "DiscoveryError",
        "EVENT_STREAM",
        "EventValidationError",
        "HEARTBEAT_RETENTION_MS",
        "HEARTBEAT_STREAM",
        "InvalidTokenError",
        "JetStreamUnavailableError",
        "KvConflictError",
        "KvKeyError",
        "KvValueError",
        "MAX_TOKEN_LENGTH",
        "RESERVED_AREAS",
        "SUBJECT_ROOT",
        "buildCloudEvent",
        "busEnvironmentVariables",
        "busOptionsFromEnv",
        "cloudEventEnvelopeSchema",
        "connectBus",
        "consumeEvents",
        "createEventPublisher",
        "discoverAgents",
        "discoveryMetadataKeys",
        "ensureEventStream",
        "ensureHeartbeatStream",
        "heartbeatSchema",
        "kvBucketName",
        "openKvStore",
        "parseCloudEvent",
        "parseNatsTls",
        "parseSubject",
        "readEvents",
        "redactUrl",
        "registerAgentInstance",
        "subjects",
        "subscribeEvents",
        "subscribeHeartbeats",
        "validateEventType",
        "validateKvKey",
        "validateToken",
      ]
    `);
  });

  it('derives every error class from BusError, which carries the retryable flag', () => {
    const errors = Object.entries(bus).filter(
      ([name]) => name.endsWith('Error') && name !== 'BusError',
    );
    expect(errors.length).toBe(9);
    expect(new bus.KvConflictError('b', 'k', 3).retryable).toBe(true);
    expect(new bus.InvalidTokenError('nodeId', 'a.b', 'dot').retryable).toBe(false);
    for (const [name, ErrorClass] of errors) {
      expect((ErrorClass as { prototype: unknown }).prototype, name).toBeInstanceOf(bus.BusError);
    }
  });
});
