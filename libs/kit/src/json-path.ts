import type { JsonObject } from './descriptor.js';

/** Converts a FieldMask path segment from proto (snake_case) to JSON (camelCase) spelling. */
export const snakeToCamel = (segment: string): string =>
  segment.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** getPath reads a dotted JSON path; undefined when any step is missing. */
export function getPath(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const segment of path.split('.')) {
    if (!isObject(current)) return undefined;
    current = current[segment];
  }
  return current;
}

/** setPath writes (or, for undefined, removes) a dotted JSON path, creating objects on the way. */
export function setPath(object: JsonObject, path: string, value: unknown): void {
  const segments = path.split('.');
  let current: JsonObject = object;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    if (!isObject(next)) {
      if (value === undefined) return;
      current[segment] = {};
    }
    current = current[segment] as JsonObject;
  }
  const last = segments[segments.length - 1]!;
  if (value === undefined) delete current[last];
  else current[last] = value;
}

/** cloneJson deep-copies a JSON value. */
export const cloneJson = <T>(value: T): T => structuredClone(value);

/** canonicalJson serializes with sorted keys, so equal content gives equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/** isEmptyValue is true for values protobuf JSON would omit (defaults). */
export const isEmptyValue = (value: unknown): boolean =>
  value === undefined ||
  value === null ||
  value === '' ||
  value === 0 ||
  value === '0' ||
  value === false ||
  (Array.isArray(value) && value.length === 0) ||
  (isObject(value) && Object.keys(value).length === 0);
