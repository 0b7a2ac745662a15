// From a device call's result to what OPI's status reports: a component SUCCESS only when the
// spec read back equals the desired one, PENDING while it differs, ERROR with details on failure.
import { isHalError } from './errors.js';
import type { ObjectKind, RealizedObject, SpecOf } from './model.js';
import { normalizeSpec } from './validation.js';

/** RealizationState mirrors OPI's component status for one object on the device. */
export type RealizationState = 'SUCCESS' | 'PENDING' | 'ERROR';

/** RealizationOutcome is the component status of one apply and whether to try again. */
export interface RealizationOutcome {
  state: RealizationState;
  /** Empty on SUCCESS; otherwise what differs or what failed (safe to show to clients). */
  details: string;
  /** Whether reconciling again may change the outcome. */
  retry: boolean;
}

function normalizedOrUndefined<K extends ObjectKind>(
  kind: K,
  spec: unknown,
): Record<string, unknown> | undefined {
  try {
    return normalizeSpec(kind, spec) as unknown as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * specDifferences lists the top-level fields in which `realized` differs from `desired`
 * (both normalized first, where well-formed), sorted.
 */
export function specDifferences<K extends ObjectKind>(
  kind: K,
  desired: SpecOf<K>,
  realized: SpecOf<K>,
): string[] {
  const want = normalizedOrUndefined(kind, desired) ?? { ...desired };
  const have = normalizedOrUndefined(kind, realized) ?? { ...realized };
  const fields = new Set([...Object.keys(want), ...Object.keys(have)]);
  return [...fields]
    .filter((field) => JSON.stringify(want[field]) !== JSON.stringify(have[field]))
    .sort();
}

/**
 * realizationOutcome turns the result of `device.apply(kind, desired, …)` — the realized
 * object it returned, or the error it threw — into a component status.
 */
export function realizationOutcome<K extends ObjectKind>(
  kind: K,
  desired: SpecOf<K>,
  result: { realized: RealizedObject<K> } | { error: unknown },
): RealizationOutcome {
  if ('error' in result) {
    const { error } = result;
    if (isHalError(error))
      return { state: 'ERROR', details: error.message, retry: error.retryable };
    const message = error instanceof Error ? error.message : String(error);
    return { state: 'ERROR', details: `device failure: ${message}`, retry: true };
  }
  const differences = specDifferences(kind, desired, result.realized.spec);
  if (differences.length === 0) return { state: 'SUCCESS', details: '', retry: false };
  return {
    state: 'PENDING',
    details: `device reads back a different ${differences.join(', ')}`,
    retry: true,
  };
}
