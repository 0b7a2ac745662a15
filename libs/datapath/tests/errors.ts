// What the "errors name the field" checks share: which field a thrown DatapathConfigError names.
import { expect } from 'vitest';
import { DatapathConfigError } from '../src/index.js';

/** The field named by the DatapathConfigError `f` throws; fails the test if it throws anything else or nothing. */
export function thrownField(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(DatapathConfigError);
    return (err as DatapathConfigError).field;
  }
  throw new Error('did not throw');
}

/** The field named by the DatapathConfigError `f` throws, or null if it does not throw; other errors propagate. */
export function configErrorField(f: () => unknown): string | null {
  try {
    f();
  } catch (e) {
    if (e instanceof DatapathConfigError) return e.field;
    throw e;
  }
  return null;
}
