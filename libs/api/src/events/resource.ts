import { z } from 'zod';

/** resourceKindSchema validates a short resource kind: the proto message name, e.g. `Vrf`. */
export const resourceKindSchema = z
  .string()
  .regex(/^[A-Z][A-Za-z0-9]*$/, 'must be a proto message name such as MallocVolume');

/** messageTypeSchema validates a fully qualified proto message name. */
export const messageTypeSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9]*$/,
    'must be a fully qualified proto message name such as opi_api.storage.v1.MallocVolume',
  );

/** resourceNameSchema validates an OPI resource name such as `volumes/v1`. */
export const resourceNameSchema = z.string().min(1).max(512);

/** resourceChangeTypes lists the kinds of change a resource-changed event reports. */
export const resourceChangeTypes = ['created', 'updated', 'deleted'] as const;

/** ResourceChangeType is one of `resourceChangeTypes`. */
export type ResourceChangeType = (typeof resourceChangeTypes)[number];

/**
 * writeOnlyFieldPaths lists, per resource message, the proto3-JSON paths of fields that
 * clients may write but that are never read back, logged or published (secrets). A test
 * keeps this list equal to the fields marked `INPUT_ONLY` in the protos.
 */
export const writeOnlyFieldPaths: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'opi_api.storage.v1.EncryptedVolume': Object.freeze(['key']),
  'opi_api.storage.v1.NvmeRemoteController': Object.freeze(['tcp.psk']),
  'opi_api.storage.v1.NvmeSubsystem': Object.freeze(['spec.psk']),
});

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function hasPath(object: JsonObject, path: string): boolean {
  let node: unknown = object;
  for (const key of path.split('.')) {
    if (!isObject(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}

/**
 * stripWriteOnlyFields returns a copy of `object` (the proto3 JSON form of a `messageType`
 * resource) without its write-only fields. The input is not modified.
 */
export function stripWriteOnlyFields(messageType: string, object: JsonObject): JsonObject {
  const copy = structuredClone(object);
  for (const path of writeOnlyFieldPaths[messageType] ?? []) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let node: unknown = copy;
    for (const key of keys) node = isObject(node) ? node[key] : undefined;
    if (isObject(node)) delete node[last];
  }
  return copy;
}

/**
 * resourceChangedEventSchema is the data of `io.opi.resource.changed.v1`: an OPI resource was
 * created, updated or deleted. `object` is the new state in proto3 JSON form (what
 * `Message.toJSON` returns) without write-only fields; on delete it is the last state.
 */
export const resourceChangedEventSchema = z
  .object({
    kind: resourceKindSchema.describe('Proto message name of the resource, e.g. MallocVolume'),
    messageType: messageTypeSchema.describe('Fully qualified proto message name'),
    name: resourceNameSchema.describe('Resource name as returned by the OPI API'),
    revision: z
      .number()
      .int()
      .nonnegative()
      .describe('Store revision of this change; increases with every change of any resource'),
    generation: z
      .number()
      .int()
      .positive()
      .describe('Spec generation of the resource; increases when its desired state changes'),
    change: z.enum(resourceChangeTypes),
    object: z
      .record(z.string(), z.unknown())
      .describe('The resource in proto3 JSON form, without write-only fields'),
  })
  .superRefine((event, ctx) => {
    for (const path of writeOnlyFieldPaths[event.messageType] ?? []) {
      if (hasPath(event.object, path)) {
        ctx.addIssue({
          code: 'custom',
          path: ['object', ...path.split('.')],
          message: `object.${path} is write-only and must not be published`,
        });
      }
    }
    if (!event.messageType.endsWith(`.${event.kind}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['kind'],
        message: `kind ${event.kind} does not match messageType ${event.messageType}`,
      });
    }
  })
  .meta({
    title: 'Resource changed',
    description: 'An OPI resource was created, updated or deleted',
  });

/** ResourceChangedEvent is the data of a resource-changed event. */
export type ResourceChangedEvent = z.infer<typeof resourceChangedEventSchema>;

/** resourcePhases lists the realization phases a status event reports. */
export const resourcePhases = ['pending', 'ready', 'error', 'deleting'] as const;

/** ResourcePhase is one of `resourcePhases`. */
export type ResourcePhase = (typeof resourcePhases)[number];

/**
 * statusChangedEventSchema is the data of `io.opi.resource.status.v1`: how far the device has
 * realized a resource's desired state. `status` is the resource's status message in proto3
 * JSON form when it has one (e.g. `{ operStatus: 'VRF_OPER_STATUS_UP', components: [...] }`).
 */
export const statusChangedEventSchema = z
  .object({
    kind: resourceKindSchema,
    messageType: messageTypeSchema,
    name: resourceNameSchema,
    observedGeneration: z
      .number()
      .int()
      .nonnegative()
      .describe('The spec generation this status describes'),
    phase: z.enum(resourcePhases),
    reason: z
      .string()
      .max(1024)
      .optional()
      .describe('Why the phase is what it is; required for error'),
    status: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((event, ctx) => {
    if (event.phase === 'error' && !event.reason) {
      ctx.addIssue({
        code: 'custom',
        path: ['reason'],
        message: 'reason is required when phase is error',
      });
    }
  })
  .meta({ title: 'Resource status changed', description: 'Realization status of an OPI resource' });

/** StatusChangedEvent is the data of a status event. */
export type StatusChangedEvent = z.infer<typeof statusChangedEventSchema>;
