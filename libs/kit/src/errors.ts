import { status as GrpcStatus } from '@grpc/grpc-js';

/** The gRPC status codes the kit produces, re-exported so callers need not import grpc-js. */
export { GrpcStatus };

/**
 * KitError is an error with a gRPC status code and, for validation failures, the offending
 * field. Handlers turn it into the RPC status; anything else becomes INTERNAL.
 */
export class KitError extends Error {
  constructor(
    readonly code: GrpcStatus,
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'KitError';
  }
}

/** invalidArgument builds an INVALID_ARGUMENT error naming the field. */
export const invalidArgument = (field: string, message: string) =>
  new KitError(GrpcStatus.INVALID_ARGUMENT, message, field);
/** notFound builds a NOT_FOUND error for a resource name. */
export const notFound = (name: string, field = 'name') =>
  new KitError(GrpcStatus.NOT_FOUND, `${name} not found`, field);
/** alreadyExists builds an ALREADY_EXISTS error. */
export const alreadyExists = (message: string, field?: string) =>
  new KitError(GrpcStatus.ALREADY_EXISTS, message, field);
/** failedPrecondition builds a FAILED_PRECONDITION error. */
export const failedPrecondition = (message: string, field?: string) =>
  new KitError(GrpcStatus.FAILED_PRECONDITION, message, field);
/** aborted builds an ABORTED error (a concurrent writer won; the client may retry). */
export const aborted = (message: string) => new KitError(GrpcStatus.ABORTED, message);
/** unavailable builds an UNAVAILABLE error (backend or bus not reachable). */
export const unavailable = (message: string) => new KitError(GrpcStatus.UNAVAILABLE, message);
/** deadlineExceeded builds a DEADLINE_EXCEEDED error. */
export const deadlineExceeded = (message: string) =>
  new KitError(GrpcStatus.DEADLINE_EXCEEDED, message);

/**
 * TerminalError tells the reconciler not to retry: the desired state can never be applied as
 * it stands (a user must change it). Any other thrown error is retried with backoff.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/**
 * FencedError means a device write carried a lease epoch older than one the device has seen:
 * the writer lost its lease and must stop driving the device. It is terminal.
 */
export class FencedError extends TerminalError {
  constructor(
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(`fenced: write with lease epoch ${epoch}, device has seen epoch ${currentEpoch}`);
    this.name = 'FencedError';
  }
}

/**
 * toKitError maps any thrown value to a KitError: KitErrors pass through, TerminalError becomes
 * FAILED_PRECONDITION, anything else INTERNAL with its message.
 */
export function toKitError(error: unknown): KitError {
  if (error instanceof KitError) return error;
  if (error instanceof TerminalError)
    return new KitError(GrpcStatus.FAILED_PRECONDITION, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new KitError(GrpcStatus.INTERNAL, message);
}
