// Backend selection at the composition root: the agent builds a registry with the backends it
// links, then creates the one its configuration names. No module-global registry exists.
import { UnknownBackendError } from './errors.js';
import type { NetworkDevice } from './device.js';
import type { DevicePortConfig } from './model.js';

/** NetworkDeviceOptions configures a backend; each backend documents what it uses. */
export interface NetworkDeviceOptions {
  /** Device ports: the sim creates exactly these; linux restricts itself to these names. */
  ports?: DevicePortConfig[];
  /** Network namespace the linux backend programs (default: the agent's own). */
  netns?: string;
}

/** NetworkDeviceFactory creates a backend's device from options. */
export type NetworkDeviceFactory = (options: NetworkDeviceOptions) => Promise<NetworkDevice>;

/** DEFAULT_HAL_BACKEND is the backend used when none is configured. */
export const DEFAULT_HAL_BACKEND = 'sim';

/** HAL_BACKEND_SETTING is the configuration key (environment variable) naming the backend. */
export const HAL_BACKEND_SETTING = 'OPI_HAL';

/** NetworkDeviceRegistry maps backend names to factories; one instance per composition root. */
export class NetworkDeviceRegistry {
  readonly #factories = new Map<string, NetworkDeviceFactory>();

  /** NetworkDeviceRegistry.register adds `factory` under `name`; a name registers once. */
  register(name: string, factory: NetworkDeviceFactory): this {
    if (this.#factories.has(name)) throw new Error(`backend "${name}" is already registered`);
    this.#factories.set(name, factory);
    return this;
  }

  /** NetworkDeviceRegistry.names lists the registered backend names, sorted. */
  names(): string[] {
    return [...this.#factories.keys()].sort();
  }

  /**
   * NetworkDeviceRegistry.create makes a device with the backend `name`, where `name` is the
   * value of the `OPI_HAL` setting (absent or empty → `sim`). Throws UnknownBackendError
   * naming the setting when no such backend is registered.
   */
  async create(name: string | undefined, options: NetworkDeviceOptions): Promise<NetworkDevice> {
    const chosen = name === undefined || name === '' ? DEFAULT_HAL_BACKEND : name;
    const factory = this.#factories.get(chosen);
    if (!factory) throw new UnknownBackendError(HAL_BACKEND_SETTING, chosen, this.names());
    return factory(options);
  }
}
