// Named error classes of the datapath library.

/** A configuration value was rejected; `field` names it. */
export class DatapathConfigError extends Error {
  override readonly name = 'DatapathConfigError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** A table operation could not be carried out (for example, the table is full). */
export class DatapathTableError extends Error {
  override readonly name = 'DatapathTableError';
}

/** A capture file could not be read: unreadable, corrupt or of an unsupported link type. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

/** Validates an integer host-API argument in [min, max]; DatapathConfigError names `field`. */
export function checkInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DatapathConfigError(
      field,
      `expected an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}
