import type { JsonObject } from './descriptor.js';
import { invalidArgument } from './errors.js';
import { cloneJson, getPath, setPath, snakeToCamel } from './json-path.js';

/** Options of {@link applyFieldMask}. */
export interface FieldMaskOptions {
  /** Top-level JSON fields of the message; a path outside them is INVALID_ARGUMENT. */
  fields: ReadonlySet<string>;
  /** JSON paths clients cannot write (name, status, output-only); silently kept from `current`. */
  protectedPaths: readonly string[];
}

/**
 * applyFieldMask merges `patch` into `current` (both protobuf JSON) as an AIP-134 update:
 * `*` replaces every writable field (absent fields are cleared), an empty mask updates the
 * fields present in the patch, and listed paths (snake_case or camelCase, dotted for nested
 * fields) replace exactly those fields.
 * @throws KitError INVALID_ARGUMENT `update_mask` for an unknown path or `*` combined with others.
 */
export function applyFieldMask(
  current: JsonObject,
  patch: JsonObject,
  paths: readonly string[] | undefined,
  options: FieldMaskOptions,
): JsonObject {
  const isProtected = (path: string) =>
    options.protectedPaths.some(
      (p) => path === p || path.startsWith(p + '.') || p.startsWith(path + '.'),
    );
  const keepProtected = (result: JsonObject) => {
    for (const path of options.protectedPaths)
      setPath(result, path, cloneJson(getPath(current, path)));
    return result;
  };
  const normalized = (paths ?? [])
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter((p) => p !== '');

  if (normalized.includes('*')) {
    if (normalized.length > 1)
      throw invalidArgument('update_mask', '"*" cannot be combined with other paths');
    return keepProtected(cloneJson(patch));
  }
  const result = cloneJson(current);
  if (normalized.length === 0) {
    for (const [key, value] of Object.entries(patch)) {
      if (!isProtected(key)) result[key] = cloneJson(value);
    }
    return keepProtected(result);
  }
  for (const raw of normalized) {
    const path = raw.split('.').map(snakeToCamel).join('.');
    const top = path.split('.')[0]!;
    if (!options.fields.has(top))
      throw invalidArgument('update_mask', `unknown field path "${raw}"`);
    if (isProtected(path)) continue;
    setPath(result, path, cloneJson(getPath(patch, path)));
  }
  return keepProtected(result);
}
