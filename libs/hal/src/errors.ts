// Named errors of the network device HAL. Every error says whether retrying the same call
// can succeed later (`retryable`), so a reconciler can requeue or report a terminal ERROR.
import type { CapabilityName } from './capabilities.js';
import type { ObjectKind } from './model.js';

/** HalErrorCode identifies the kind of a HalError without `instanceof`. */
export type HalErrorCode =
  'CAPABILITY_MISSING' | 'INVALID_SPEC' | 'STALE_FENCE' | 'UNKNOWN_BACKEND' | DeviceErrorReason;

/** DeviceErrorReason classifies a DeviceError. */
export type DeviceErrorReason =
  /** An object this one refers to (bridge, VRF) is not on the device yet. */
  | 'DEPENDENCY_MISSING'
  /** No device port has the MAC a BridgePort asks for. */
  | 'PORT_NOT_FOUND'
  /** Another object (or a foreign one) already holds the resource. */
  | 'CONFLICT'
  /** The object is still used by others (ports, SVIs) and cannot be removed. */
  | 'IN_USE'
  /** The device refused or failed a command. */
  | 'DEVICE_FAILURE';

/** HalError is the base class of every error the HAL throws on purpose. */
export abstract class HalError extends Error {
  /** HalError.code identifies the error kind. */
  abstract readonly code: HalErrorCode;
  /** HalError.retryable tells whether the same call may succeed later. */
  abstract readonly retryable: boolean;
}

/** CapabilityMissingError: the object needs a capability the backend declares absent. */
export class CapabilityMissingError extends HalError {
  override readonly name = 'CapabilityMissingError';
  readonly code = 'CAPABILITY_MISSING';
  readonly retryable = false;
  /** The capabilities of which the object needs one. */
  readonly capabilities: readonly CapabilityName[];

  constructor(
    capabilities: readonly CapabilityName[],
    readonly kind: ObjectKind,
    readonly id: string,
  ) {
    super(`${kind} ${id} needs capability ${capabilities.join(' or ')}, which this device lacks`);
    this.capabilities = [...capabilities];
  }
}

/** InvalidSpecError: a spec field is malformed or cannot be realized; `field` names it. */
export class InvalidSpecError extends HalError {
  override readonly name = 'InvalidSpecError';
  readonly code = 'INVALID_SPEC';
  readonly retryable = false;

  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** StaleFenceError: a write carried a fencing token older than one the device has seen. */
export class StaleFenceError extends HalError {
  override readonly name = 'StaleFenceError';
  readonly code = 'STALE_FENCE';
  readonly retryable = false;

  constructor(
    readonly token: number,
    readonly highestSeen: number,
  ) {
    super(`fencing token ${token} is older than ${highestSeen}: another writer holds the lease`);
  }
}

/** UnknownBackendError: the configured backend name is not registered. */
export class UnknownBackendError extends HalError {
  override readonly name = 'UnknownBackendError';
  readonly code = 'UNKNOWN_BACKEND';
  readonly retryable = false;

  constructor(
    readonly setting: string,
    readonly value: string,
    readonly known: readonly string[],
  ) {
    super(`${setting}: unknown network device backend "${value}" (known: ${known.join(', ')})`);
  }
}

/** DeviceError: the device cannot apply the object now (`retryable`) or at all. */
export class DeviceError extends HalError {
  override readonly name = 'DeviceError';

  constructor(
    readonly code: DeviceErrorReason,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** isHalError tells whether `error` is one of the HAL's named errors. */
export function isHalError(error: unknown): error is HalError {
  return error instanceof HalError;
}
