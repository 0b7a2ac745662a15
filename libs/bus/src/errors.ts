/**
 * BusError is the base of every error @opi/bus throws. `retryable` tells callers whether the
 * same call may succeed later unchanged (a conflict after re-reading, a connection that comes
 * back) or will fail again until the input changes (bad names, invalid data).
 */
export class BusError extends Error {
  override name = 'BusError';
  /** True when retrying the same operation later can succeed. */
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
  }
}

/** InvalidTokenError: a node id, agent name or other subject part is not a single NATS token. */
export class InvalidTokenError extends BusError {
  override name = 'InvalidTokenError';
  /** Which argument was wrong, e.g. `nodeId`. */
  readonly field: string;

  constructor(field: string, value: unknown, reason: string) {
    super(`${field} ${JSON.stringify(value)} is not a valid NATS subject token: ${reason}`, {
      retryable: false,
    });
    this.field = field;
  }
}

/** BusConfigError: connection or helper options are invalid (names the option). */
export class BusConfigError extends BusError {
  override name = 'BusConfigError';
  /** The offending option, e.g. `credsFile`. */
  readonly field: string;

  constructor(field: string, message: string, cause?: unknown) {
    super(`${field}: ${message}`, { retryable: false, cause });
    this.field = field;
  }
}

/** BusConnectError: the first connection to NATS failed (server down, auth, TLS). */
export class BusConnectError extends BusError {
  override name = 'BusConnectError';

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options);
  }
}

/** EventValidationError: event data or an envelope does not match its schema. */
export class EventValidationError extends BusError {
  override name = 'EventValidationError';
  /** Dotted paths of the offending fields with zod's messages, e.g. `data.mtu: Too big`. */
  readonly issues: string[];

  constructor(message: string, issues: string[]) {
    super(`${message}: ${issues.join('; ')}`, { retryable: false });
    this.issues = issues;
  }
}

/** KvConflictError: `create` found the key present, or `update`/`delete` saw another revision. */
export class KvConflictError extends BusError {
  override name = 'KvConflictError';
  readonly bucket: string;
  readonly key: string;
  /** The revision the caller expected (0 for create). */
  readonly expectedRevision: number;

  constructor(bucket: string, key: string, expectedRevision: number, cause?: unknown) {
    const what =
      expectedRevision === 0 ? 'already exists' : `is no longer at revision ${expectedRevision}`;
    // Retryable: re-read the entry and apply the change again.
    super(`kv ${bucket}/${key} ${what}`, { retryable: true, cause });
    this.bucket = bucket;
    this.key = key;
    this.expectedRevision = expectedRevision;
  }
}

/** KvValueError: a stored value is not JSON or does not match the store's schema. */
export class KvValueError extends BusError {
  override name = 'KvValueError';
  readonly bucket: string;
  readonly key: string;
  readonly revision: number;
  /** Dotted paths of the offending fields with zod's messages (values are never quoted). */
  readonly issues: string[];

  constructor(bucket: string, key: string, revision: number, issues: string[]) {
    super(`kv ${bucket}/${key}@${revision} holds an invalid value: ${issues.join('; ')}`, {
      retryable: false,
    });
    this.bucket = bucket;
    this.key = key;
    this.revision = revision;
    this.issues = issues;
  }
}

/** KvKeyError: a key or bucket name has characters NATS KV does not allow. */
export class KvKeyError extends BusError {
  override name = 'KvKeyError';

  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** JetStreamUnavailableError: the server has no JetStream (or the account has none). */
export class JetStreamUnavailableError extends BusError {
  override name = 'JetStreamUnavailableError';

  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/** DiscoveryError: registering an agent instance failed (bad name/version/metadata). */
export class DiscoveryError extends BusError {
  override name = 'DiscoveryError';

  constructor(message: string, cause?: unknown) {
    super(message, { retryable: false, cause });
  }
}

/** formatIssues turns zod issues into `path: message` strings for error messages. */
export function formatIssues(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  prefix = '',
): string[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'}: ${issue.message}`;
  });
}
