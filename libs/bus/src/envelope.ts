import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EventValidationError, formatIssues } from './errors.js';

/** CloudEvents spec version of our envelope; bump together with the envelope schema. */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';
/** Content type of structured-mode CloudEvents (the NATS `Content-Type` header we set). */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

/**
 * CloudEvent is the versioned envelope of every event on the bus: the CloudEvents 1.0 context
 * attributes, JSON data, and the `opinode` extension attribute carrying the node id (extension
 * names must be lower-case alphanumerics, hence no dash).
 */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  /** Unique per event (a UUID); also the JetStream de-duplication id. */
  id: string;
  /** Who emitted it, a URI-reference such as `/opi/dpu0/network-agent`. */
  source: string;
  /** What happened, e.g. `port.created`; also the tail of the NATS subject. */
  type: string;
  /** RFC 3339 timestamp of the occurrence. */
  time: string;
  /** What it happened to, e.g. `ports/p1` (CloudEvents `subject`, not a NATS subject). */
  subject?: string;
  datacontenttype: 'application/json';
  /** Node id of the emitter (CloudEvents extension attribute). */
  opinode: string;
  data: T;
}

/** cloudEventEnvelopeSchema validates the envelope; unknown extension attributes are kept. */
export const cloudEventEnvelopeSchema = z
  .object({
    specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    time: z.iso.datetime({ offset: true }),
    subject: z.string().min(1).optional(),
    datacontenttype: z.literal('application/json'),
    opinode: z.string().min(1),
    data: z.unknown(),
  })
  .loose();

/** Attributes that {@link buildCloudEvent} fills in from the caller. */
export interface CloudEventInput<T> {
  source: string;
  type: string;
  subject?: string;
  nodeId: string;
  data: T;
  /** Defaults to now. */
  time?: Date;
  /** Defaults to a random UUID. */
  id?: string;
}

/**
 * buildCloudEvent validates `data` with `dataSchema` and wraps the parsed value in an envelope.
 * Throws {@link EventValidationError} naming the offending `data.*` fields.
 */
export function buildCloudEvent<S extends z.ZodType>(
  dataSchema: S,
  input: CloudEventInput<z.input<S>>,
): CloudEvent<z.output<S>> {
  const parsed = dataSchema.safeParse(input.data);
  if (!parsed.success) {
    throw new EventValidationError(
      `event ${input.type} has invalid data`,
      formatIssues(parsed.error.issues, 'data'),
    );
  }
  const event: CloudEvent<z.output<S>> = {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: input.id ?? randomUUID(),
    source: input.source,
    type: input.type,
    time: (input.time ?? new Date()).toISOString(),
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    datacontenttype: 'application/json',
    opinode: input.nodeId,
    data: parsed.data,
  };
  const envelope = cloudEventEnvelopeSchema.safeParse(event);
  if (!envelope.success) {
    throw new EventValidationError(
      `event ${input.type} has an invalid envelope`,
      formatIssues(envelope.error.issues),
    );
  }
  return event;
}

/**
 * parseCloudEvent decodes a message body into a typed event: JSON, then the envelope, then
 * `data` with `dataSchema`. Throws {@link EventValidationError} saying which step failed.
 */
export function parseCloudEvent<S extends z.ZodType>(
  dataSchema: S,
  body: Uint8Array,
): CloudEvent<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    // JSON.parse quotes the body in its message; bodies may hold secrets, so say only where.
    throw new EventValidationError('event is not JSON', [
      `body (${body.length} bytes) is not valid JSON`,
    ]);
  }
  const envelope = cloudEventEnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    throw new EventValidationError(
      'event envelope is invalid',
      formatIssues(envelope.error.issues),
    );
  }
  const data = dataSchema.safeParse(envelope.data.data);
  if (!data.success) {
    throw new EventValidationError(
      `event ${envelope.data.type} has invalid data`,
      formatIssues(data.error.issues, 'data'),
    );
  }
  return { ...(envelope.data as CloudEvent<unknown>), data: data.data };
}
