// The network device contract every backend implements.
import type { NetworkCapabilities } from './capabilities.js';
import type { FencingToken } from './fencing.js';
import type {
  DevicePort,
  DevicePortSettings,
  MacEntry,
  NeighbourEntry,
  ObjectKind,
  RealizedObject,
  SpecOf,
} from './model.js';

/**
 * NetworkDevice is a DPU's network device as a reconciler sees it: device ports, plus
 * bridges (with their VXLAN tunnels), bridge ports, VRFs and SVIs that can be applied,
 * removed and read back one object at a time.
 *
 * Writes are idempotent (applying the same spec twice changes nothing; applying a changed spec
 * updates the object) and carry a fencing token: the backend rejects a token older than the
 * newest it has seen with StaleFenceError. Errors are HalError subclasses:
 * InvalidSpecError (field named), CapabilityMissingError (capability named), DeviceError
 * (`retryable` or terminal) and StaleFenceError.
 */
export interface NetworkDevice {
  /** NetworkDevice.backend names the backend (`sim`, `linux`). */
  readonly backend: string;
  /** NetworkDevice.capabilities declares what this backend can realize. */
  readonly capabilities: NetworkCapabilities;

  /** NetworkDevice.listPorts returns the device ports with state and counters, sorted by name. */
  listPorts(): Promise<DevicePort[]>;

  /**
   * NetworkDevice.configurePort changes the admin state and/or MTU of the device port `name`
   * and returns the port as read back. Unknown port: DeviceError PORT_NOT_FOUND (retryable:
   * ports can appear later); bad settings: InvalidSpecError naming the field. Binding a bridge
   * port never changes a device port's admin state.
   */
  configurePort(
    name: string,
    settings: DevicePortSettings,
    fence: FencingToken,
  ): Promise<DevicePort>;

  /**
   * NetworkDevice.apply creates or updates the object `spec.id` of `kind`, then reads it back
   * from the device and returns what it read. Bridges and VRFs an object refers to must be
   * applied first (DeviceError DEPENDENCY_MISSING, retryable, otherwise).
   */
  apply<K extends ObjectKind>(
    kind: K,
    spec: SpecOf<K>,
    fence: FencingToken,
  ): Promise<RealizedObject<K>>;

  /**
   * NetworkDevice.remove deletes the object `id` of `kind`; removing an absent object is a
   * no-op. A bridge or VRF still used by ports or SVIs fails with DeviceError IN_USE.
   */
  remove(kind: ObjectKind, id: string, fence: FencingToken): Promise<void>;

  /** NetworkDevice.read reads the object `id` of `kind` back from the device, if present. */
  read<K extends ObjectKind>(kind: K, id: string): Promise<RealizedObject<K> | undefined>;

  /** NetworkDevice.list reads back every object of `kind` this backend owns, sorted by id. */
  list<K extends ObjectKind>(kind: K): Promise<RealizedObject<K>[]>;

  /** NetworkDevice.listMacEntries returns forwarding entries, optionally of one bridge. */
  listMacEntries(filter?: { bridge?: string }): Promise<MacEntry[]>;

  /** NetworkDevice.listNeighbours returns neighbour entries on SVIs, optionally of one VRF. */
  listNeighbours(filter?: { vrf?: string }): Promise<NeighbourEntry[]>;

  /** NetworkDevice.close releases backend resources; device state stays as applied. */
  close(): Promise<void>;
}
