import { z } from 'zod';
import { alarmEventSchema } from './alarm.js';
import { resourceChangedEventSchema, statusChangedEventSchema } from './resource.js';
import { telemetrySampleBatchSchema } from './telemetry.js';

/**
 * eventTypes maps each event to its CloudEvents `type`. The trailing `.vN` is the schema
 * version: an incompatible change gets a new type string (and a new schema file), never a
 * silent change of an existing one.
 */
export const eventTypes = Object.freeze({
  resourceChanged: 'io.opi.resource.changed.v1',
  statusChanged: 'io.opi.resource.status.v1',
  alarm: 'io.opi.alarm.v1',
  telemetrySamples: 'io.opi.telemetry.samples.v1',
} as const);

/** EventType is one CloudEvents `type` string of `eventTypes`. */
export type EventType = (typeof eventTypes)[keyof typeof eventTypes];

/** eventDataSchemas maps each event type to the zod schema of its `data`. */
export const eventDataSchemas = Object.freeze({
  [eventTypes.resourceChanged]: resourceChangedEventSchema,
  [eventTypes.statusChanged]: statusChangedEventSchema,
  [eventTypes.alarm]: alarmEventSchema,
  [eventTypes.telemetrySamples]: telemetrySampleBatchSchema,
} as const);

/** EventData is the validated `data` of an event of type `T`. */
export type EventData<T extends EventType> = z.infer<(typeof eventDataSchemas)[T]>;

/** isEventType tells whether `type` is one of our event types. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventDataSchemas, type);
}

/** EventDataError reports event data that does not match its schema, naming each field. */
export class EventDataError extends Error {
  /** One `path: message` entry per problem, e.g. `samples.3.value: counters are never negative`. */
  readonly issues: readonly string[];

  constructor(type: string, issues: readonly string[]) {
    super(`invalid ${type} event data: ${issues.join('; ')}`);
    this.name = 'EventDataError';
    this.issues = issues;
  }
}

/**
 * parseEventData validates `data` against the schema of `type` and returns it typed (unknown
 * keys removed). Throws EventDataError naming every offending field.
 */
export function parseEventData<T extends EventType>(type: T, data: unknown): EventData<T> {
  const schema: z.ZodType = eventDataSchemas[type];
  if (!schema) throw new EventDataError(type, ['type: unknown event type']);
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new EventDataError(
      type,
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return result.data as EventData<T>;
}

/**
 * eventJsonSchema returns the JSON Schema (draft-07, the most widely supported draft) of the data of `type`; the committed
 * files in libs/api/schemas/ are exactly these.
 */
export function eventJsonSchema(type: EventType): Record<string, unknown> {
  const schema = z.toJSONSchema(eventDataSchemas[type], {
    target: 'draft-7',
    // The wire form a subscriber validates; tolerant of fields a later v1 publisher may add.
    io: 'input',
  });
  return { ...schema, $id: `urn:opi:event-data:${type}` };
}
