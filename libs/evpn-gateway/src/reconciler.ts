// The device side of the four kinds: each kit reconcile maps the stored OPI object to a HAL spec,
// applies it, and reports SUCCESS only when the spec the backend read back equals the desired one.
import { realizationOutcome, type NetworkDevice, type ObjectKind, type SpecOf } from '@opi/hal';
import {
  TerminalError,
  type ApplyResult,
  type DeviceObject,
  type JsonObject,
  type KindReconciler,
} from '@opi/kit';
import {
  bridgePortSpecOf,
  bridgeSpecOf,
  sviSpecOf,
  vrfSpecOf,
  type FabricSettings,
} from './mapping.js';

/** DEVICE_COMPONENT is the component name under which an object's realization is reported. */
export const DEVICE_COMPONENT = 'device';

/**
 * ReadBackMismatchError: the device accepted the write but reads back something else (another
 * writer, a kernel that changed it). Retryable: the next reconcile rewrites it.
 */
export class ReadBackMismatchError extends Error {
  /** Always retried. */
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'ReadBackMismatchError';
  }
}

/** The HAL object kind behind each OPI kind. */
export const HAL_KIND_OF: Readonly<Record<string, ObjectKind>> = {
  LogicalBridge: 'bridge',
  BridgePort: 'bridgePort',
  Vrf: 'vrf',
  Svi: 'svi',
};

/** Options of {@link createEvpnReconcilers}. */
export interface EvpnReconcilerOptions {
  device: NetworkDevice;
  fabric: FabricSettings;
}

/** halSpecOf maps a stored OPI object of `kind` to the HAL spec of its object kind. */
export function halSpecOf(
  kind: string,
  id: string,
  resource: JsonObject,
  fabric: FabricSettings,
): SpecOf<ObjectKind> {
  switch (kind) {
    case 'LogicalBridge':
      return bridgeSpecOf(id, resource, fabric);
    case 'BridgePort':
      return bridgePortSpecOf(id, resource);
    case 'Vrf':
      return vrfSpecOf(id, resource, fabric);
    case 'Svi':
      return sviSpecOf(id, resource);
    default:
      throw new Error(`${kind} is not an EVPN gateway kind`);
  }
}

function reconcilerFor(kind: string, options: EvpnReconcilerOptions): KindReconciler {
  const { device, fabric } = options;
  const halKind = HAL_KIND_OF[kind]!;
  return {
    async apply(object: DeviceObject, context): Promise<ApplyResult> {
      let desired: SpecOf<ObjectKind>;
      try {
        desired = halSpecOf(kind, object.key, object.resource, fabric);
      } catch (error) {
        // The API validated this object; a stored one that no longer maps cannot be retried.
        throw new TerminalError((error as Error).message, { cause: error });
      }
      context.fence.check();
      const realized = await device.apply(halKind, desired, context.fence.epoch);
      const outcome = realizationOutcome(halKind, desired, { realized });
      if (outcome.state !== 'SUCCESS') throw new ReadBackMismatchError(outcome.details);
      return { components: [{ name: DEVICE_COMPONENT, state: 'SUCCESS' }] };
    },
    async remove(object, context): Promise<void> {
      context.fence.check();
      await device.remove(halKind, object.key, context.fence.epoch);
    },
    async listKeys(): Promise<string[]> {
      return (await device.list(halKind)).map((realized) => realized.spec.id);
    },
  };
}

/**
 * createEvpnReconcilers returns the kit reconcilers of the four kinds over one network device.
 * HAL errors pass through: retryable ones (a missing dependency, a bridge still in use) are
 * retried with backoff, terminal ones (a missing capability, VLAN 4095) become component
 * ERRORs whose details name the cause.
 */
export function createEvpnReconcilers(
  options: EvpnReconcilerOptions,
): Record<string, KindReconciler> {
  return Object.fromEntries(
    Object.keys(HAL_KIND_OF).map((kind) => [kind, reconcilerFor(kind, options)]),
  );
}
