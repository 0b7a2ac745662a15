// Public API of @opi/api: everything importable from outside is listed here.

// Generated protobuf code, one namespace per proto package (see README "Naming").
export * as storageV1 from './gen/index.opi_api.storage.v1.js';
export * as evpnGwV1alpha1 from './gen/index.opi_api.network.evpn_gw.v1alpha1.js';
export * as opinetcommonV1alpha1 from './gen/index.opi_api.network.opinetcommon.v1alpha1.js';
export * as securityV1 from './gen/index.opi_api.security.v1.js';
export * as inventoryV1 from './gen/index.opi_api.inventory.v1.js';
export * as telemetryExtV1 from './gen/index.opi_ext.telemetry.v1.js';
export * as googleProtobuf from './gen/index.google.protobuf.js';

// gRPC service registry and runtime proto loading (reflection).
export { opiServices, opiServicesFor } from './services.js';
export type { OpiAgent, OpiService } from './services.js';
export {
  descriptorSetPath,
  googleProtoRoot,
  loadOpiPackageDefinition,
  opiProtoFiles,
  protoRoot,
} from './package-definition.js';

// Event and telemetry data schemas.
export {
  EventDataError,
  eventDataSchemas,
  eventJsonSchema,
  eventTypes,
  isEventType,
  parseEventData,
} from './events/event-types.js';
export type { EventData, EventType } from './events/event-types.js';
export {
  messageTypeSchema,
  resourceChangedEventSchema,
  resourceChangeTypes,
  resourceKindSchema,
  resourceNameSchema,
  resourcePhases,
  statusChangedEventSchema,
  stripWriteOnlyFields,
  writeOnlyFieldPaths,
} from './events/resource.js';
export type {
  ResourceChangedEvent,
  ResourceChangeType,
  ResourcePhase,
  StatusChangedEvent,
} from './events/resource.js';
export { alarmEventSchema, alarmSeverities } from './events/alarm.js';
export type { AlarmEvent, AlarmSeverity } from './events/alarm.js';
export {
  histogramSchema,
  maxSamplesPerBatch,
  metricTypes,
  telemetrySampleBatchSchema,
  telemetrySampleSchema,
} from './events/telemetry.js';
export type {
  Histogram,
  MetricType,
  TelemetrySample,
  TelemetrySampleBatch,
} from './events/telemetry.js';
