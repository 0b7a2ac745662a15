// Shape and range checks for specs, producing the canonical spec that backends realize and
// read back. The first problem found becomes an InvalidSpecError naming its field.
import { z } from 'zod';
import { canonicalIpAddress, canonicalIpPrefix, canonicalMac, isUnicastMac } from './addressing.js';
import { InvalidSpecError } from './errors.js';
import { OBJECT_KINDS } from './model.js';
import type { DevicePortSettings, ObjectKind, SpecOf } from './model.js';

/** MAX_VNI is the largest 24-bit VXLAN network identifier. */
export const MAX_VNI = 16_777_215;
/** RESERVED_VLAN_ID is accepted by the API but reserved by 802.1Q, so no device realizes it. */
export const RESERVED_VLAN_ID = 4095;

const objectId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1–128 characters of [A-Za-z0-9._-]');

const unicastMac = z.string().transform((value, ctx) => {
  const mac = canonicalMac(value);
  if (!mac) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a MAC like 02:00:00:00:00:01` });
    return z.NEVER;
  }
  if (!isUnicastMac(mac)) {
    ctx.addIssue({ code: 'custom', message: `${mac} is not a unicast MAC` });
    return z.NEVER;
  }
  return mac;
});

const ipAddress = z.string().transform((value, ctx) => {
  const address = canonicalIpAddress(value);
  if (!address) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not an IPv4 or IPv6 address` });
    return z.NEVER;
  }
  return address;
});

const ipPrefix = z.string().transform((value, ctx) => {
  const prefix = canonicalIpPrefix(value);
  if (!prefix) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not an address/length prefix` });
    return z.NEVER;
  }
  return prefix;
});

const vlanId = z
  .number()
  .int()
  .min(1)
  .max(RESERVED_VLAN_ID)
  .refine((value) => value !== RESERVED_VLAN_ID, {
    message: '4095 is reserved by 802.1Q and cannot be realized on the device',
  });

const vni = z.number().int().min(1).max(MAX_VNI);

function sortedUnique<T extends string>(values: T[]): T[] {
  return [...new Set(values)].sort();
}

// Without a VNI there is no tunnel: VTEP fields are dropped so that the desired spec equals
// what any backend reads back.
const bridgeSchema = z
  .object({
    id: objectId,
    vlanId,
    vni: vni.optional(),
    vtepAddress: ipAddress.optional(),
    remoteVteps: z.array(ipAddress).default([]).transform(sortedUnique),
  })
  .transform((spec) =>
    spec.vni === undefined ? { ...spec, vtepAddress: undefined, remoteVteps: [] } : spec,
  );

const bridgePortSchema = z
  .object({
    id: objectId,
    mac: unicastMac,
    type: z.enum(['access', 'trunk']),
    bridges: z.array(objectId).transform(sortedUnique),
  })
  .superRefine((spec, ctx) => {
    if (spec.type === 'access' && spec.bridges.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['bridges'],
        message: `an access port needs exactly one bridge, got ${spec.bridges.length}`,
      });
    }
    if (spec.type === 'trunk' && spec.bridges.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['bridges'], message: 'a trunk port needs a bridge' });
    }
  });

const vrfSchema = z
  .object({
    id: objectId,
    vni: vni.optional(),
    loopbackPrefix: ipPrefix,
    vtepAddress: ipAddress.optional(),
  })
  .transform((spec) => (spec.vni === undefined ? { ...spec, vtepAddress: undefined } : spec));

const sviSchema = z.object({
  id: objectId,
  vrf: objectId,
  bridge: objectId,
  mac: unicastMac,
  gatewayPrefixes: z.array(ipPrefix).transform(sortedUnique),
});

const schemas = {
  bridge: bridgeSchema,
  bridgePort: bridgePortSchema,
  vrf: vrfSchema,
  svi: sviSchema,
} as const;

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * normalizeSpec checks `spec` as a spec of `kind` and returns it in canonical form (MACs lower
 * case, addresses canonical, unordered lists sorted and deduplicated, absent optionals
 * omitted). Throws InvalidSpecError naming the first offending field.
 */
export function normalizeSpec<K extends ObjectKind>(kind: K, spec: unknown): SpecOf<K> {
  assertObjectKind(kind);
  const schema = schemas[kind];
  const result = schema.safeParse(spec);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : kind;
    throw new InvalidSpecError(field, issue?.message ?? 'invalid');
  }
  return dropUndefined(result.data) as SpecOf<K>;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}

/**
 * specsEqual tells whether two specs of `kind` describe the same device state, e.g. a desired
 * spec and the one a backend read back. Both are normalized first; a malformed spec (such as
 * a half-realized object read back) equals nothing.
 */
export function specsEqual<K extends ObjectKind>(kind: K, a: SpecOf<K>, b: SpecOf<K>): boolean {
  try {
    return canonicalJson(normalizeSpec(kind, a)) === canonicalJson(normalizeSpec(kind, b));
  } catch (error) {
    if (error instanceof InvalidSpecError) return false;
    throw error;
  }
}

/** MIN_MTU and MAX_MTU bound a device port's MTU (IPv4's minimum, the 16-bit maximum). */
export const MIN_MTU = 68;
/** MAX_MTU is the largest MTU a device port accepts. */
export const MAX_MTU = 65_535;

const portSettingsSchema = z
  .object({
    adminUp: z.boolean().optional(),
    mtu: z.number().int().min(MIN_MTU).max(MAX_MTU).optional(),
  })
  .strict();

/**
 * normalizePortSettings checks device port settings and returns them without absent fields.
 * Throws InvalidSpecError naming the offending field (`mtu`, `adminUp`, or an unknown one).
 */
export function normalizePortSettings(settings: unknown): DevicePortSettings {
  const result = portSettingsSchema.safeParse(settings);
  if (!result.success) {
    const issue = result.error.issues[0];
    const keys = issue && 'keys' in issue ? (issue.keys as string[]) : [];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : (keys[0] ?? 'settings');
    throw new InvalidSpecError(field, issue?.message ?? 'invalid');
  }
  return dropUndefined(result.data);
}

/** assertObjectKind throws InvalidSpecError (field `kind`) unless `kind` is an ObjectKind. */
export function assertObjectKind(kind: unknown): asserts kind is ObjectKind {
  if (!OBJECT_KINDS.includes(kind as ObjectKind)) {
    throw new InvalidSpecError('kind', `unknown object kind "${String(kind)}"`);
  }
}
