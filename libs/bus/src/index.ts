// Public API of @opi/bus: NATS plumbing (connection, subjects, events, event stream, KV, discovery).
export { connectBus, redactUrl } from './connection.js';
export type { BusConnectionOptions, BusTlsOptions } from './connection.js';
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  discoverAgents,
  discoveryMetadataKeys,
  ensureHeartbeatStream,
  HEARTBEAT_RETENTION_MS,
  HEARTBEAT_STREAM,
  heartbeatSchema,
  registerAgentInstance,
  subscribeHeartbeats,
} from './discovery.js';
export type {
  AgentHealth,
  AgentInstance,
  AgentRegistration,
  AgentRegistrationOptions,
  DiscoverAgentsOptions,
  Heartbeat,
  HeartbeatSubscription,
  SubscribeHeartbeatsOptions,
} from './discovery.js';
export {
  busEnvironmentVariables,
  busOptionsFromEnv,
  DEFAULT_NATS_URL,
  parseNatsTls,
} from './env.js';
export {
  buildCloudEvent,
  CLOUDEVENTS_CONTENT_TYPE,
  CLOUDEVENTS_SPEC_VERSION,
  cloudEventEnvelopeSchema,
  parseCloudEvent,
} from './envelope.js';
export type { CloudEvent, CloudEventInput } from './envelope.js';
export {
  BusConfigError,
  BusConnectError,
  BusError,
  DiscoveryError,
  EventValidationError,
  InvalidTokenError,
  JetStreamUnavailableError,
  KvConflictError,
  KvKeyError,
  KvValueError,
} from './errors.js';
export { consumeEvents, ensureEventStream, EVENT_STREAM, readEvents } from './event-stream.js';
export type {
  ConsumeEventsOptions,
  EventConsumer,
  EventStartPosition,
  EventStreamOptions,
  ReadEventsOptions,
  StoredEvent,
  StreamEventMeta,
} from './event-stream.js';
export { createEventPublisher, subscribeEvents } from './events.js';
export type {
  EventPublisher,
  EventPublisherOptions,
  EventStats,
  EventSubscription,
  PublishEventOptions,
  SubscribeEventsOptions,
} from './events.js';
export { kvBucketName, openKvStore, validateKvKey } from './kv.js';
export type {
  KvChange,
  KvEntriesOptions,
  KvOperation,
  KvStore,
  KvStoreOptions,
  KvValue,
  KvWatchOptions,
} from './kv.js';
export {
  MAX_TOKEN_LENGTH,
  parseSubject,
  RESERVED_AREAS,
  SUBJECT_ROOT,
  subjects,
  validateEventType,
  validateToken,
} from './subjects.js';
export type { ParsedSubject } from './subjects.js';
