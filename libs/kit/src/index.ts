// Public API of @opi/kit: everything importable from outside is listed here.
export { startResourceAgent } from './agent.js';
export type { KitAgentContext, ResourceAgent, ResourceAgentOptions } from './agent.js';
export { backoffDelay, defaultBackoff } from './backoff.js';
export {
  describeKind,
  fetchKindCatalogs,
  kindCatalogSubject,
  resolveKind,
  serveKindCatalog,
} from './catalog.js';
export type { KindCatalog, KindSummary } from './catalog.js';
export type { BackoffPolicy } from './backoff.js';
export { Controller, isTerminal } from './controller.js';
export type {
  ApplyContext,
  ApplyResult,
  ControllerMetrics,
  ControllerOptions,
  DeviceObject,
  KindReconciler,
} from './controller.js';
export { defineResourceKind, operStatusRule, sortKindsByDependency } from './descriptor.js';
export { getPath, setPath, canonicalJson } from './json-path.js';
export type {
  CliRule,
  ComponentObservation,
  ComponentState,
  JsonObject,
  MessageFns,
  Observation,
  ReferenceRule,
  ResourceKind,
  ResourceKindSpec,
  StatusRule,
  UniqueConstraint,
} from './descriptor.js';
export {
  aborted,
  alreadyExists,
  deadlineExceeded,
  failedPrecondition,
  FencedError,
  GrpcStatus,
  invalidArgument,
  KitError,
  notFound,
  TerminalError,
  toKitError,
  unavailable,
} from './errors.js';
export { applyFieldMask } from './field-mask.js';
export { createResourceServices, toGrpcError } from './grpc.js';
export type { ResourceService, ResourceServicesOptions, StatsProvider } from './grpc.js';
export type { FieldMaskOptions } from './field-mask.js';
export { JsonBucket, KvConflictError, KvValueError } from './kv.js';
export { Lease, leaseBucketName, LeaseLostError } from './lease.js';
export type { Fence, LeaseOptions, LeaseRecord } from './lease.js';
export { generateResourceId, NameTemplate, ResourceNames, validateResourceId } from './names.js';
export {
  DEFAULT_PAGE_SIZE,
  decodePageToken,
  encodePageToken,
  MAX_PAGE_SIZE,
  paginate,
  resolvePageSize,
} from './pagination.js';
export {
  claimsBucketName,
  desiredBucketName,
  observationOf,
  RECORD_VERSION,
  ResourceStore,
  statusBucketName,
} from './store.js';
export type {
  CallOptions,
  ListQuery,
  ResourceStoreOptions,
  StoredResource,
  StoredStatus,
} from './store.js';
export { WorkQueue } from './work-queue.js';
export type { WorkQueueOptions } from './work-queue.js';
