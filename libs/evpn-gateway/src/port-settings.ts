// Device port settings changed through UpdateNetInterface are desired state too: kept in KV per
// node, so that a restarted agent or a replica taking over the lease puts them back on its
// device (the sim starts with defaults; a kernel may have been reset).
import type { NatsConnection } from '@nats-io/transport-node';
import { isHalError, type DevicePortSettings, type NetworkDevice } from '@opi/hal';
import { JsonBucket, KvConflictError, type Fence } from '@opi/kit';

/** portSettingsBucketName is the KV bucket of a node's device port settings. */
export const portSettingsBucketName = (nodeId: string) => `opi-network-${nodeId}-port-settings`;

// Port names may hold characters KV keys cannot (`:`); keys are their base64url form.
const keyOf = (port: string) => Buffer.from(port).toString('base64url');
const portOf = (key: string) => Buffer.from(key, 'base64url').toString();

/** PortSettingsStore keeps the settings UpdateNetInterface made, per device port. */
export class PortSettingsStore {
  private constructor(private readonly bucket: JsonBucket<DevicePortSettings>) {}

  /** open binds (creating if needed) the node's port-settings bucket. */
  static async open(nc: NatsConnection, nodeId: string): Promise<PortSettingsStore> {
    return new PortSettingsStore(await JsonBucket.open(nc, portSettingsBucketName(nodeId)));
  }

  /** merge records `settings` for `port` on top of what is stored (absent fields stay). */
  async merge(port: string, settings: DevicePortSettings): Promise<void> {
    const key = keyOf(port);
    for (;;) {
      const current = await this.bucket.get(key);
      const next = { ...current?.value, ...settings };
      try {
        if (current) await this.bucket.update(key, next, current.revision);
        else await this.bucket.create(key, next);
        return;
      } catch (error) {
        if (!(error instanceof KvConflictError)) throw error;
      }
    }
  }

  /** all returns the stored settings by port name. */
  async all(): Promise<Map<string, DevicePortSettings>> {
    const out = new Map<string, DevicePortSettings>();
    for (const key of await this.bucket.keys()) {
      const entry = await this.bucket.get(key);
      if (entry) out.set(portOf(key), entry.value);
    }
    return out;
  }

  /**
   * restore applies every stored setting to `device` with the lease's fence; ports the device
   * does not have (yet) are skipped and returned, any other device error is thrown.
   */
  async restore(
    device: NetworkDevice,
    fence: Fence,
  ): Promise<{ restored: string[]; missing: string[] }> {
    const restored: string[] = [];
    const missing: string[] = [];
    for (const [port, settings] of await this.all()) {
      fence.check();
      try {
        await device.configurePort(port, settings, fence.epoch);
        restored.push(port);
      } catch (error) {
        if (isHalError(error) && error.code === 'PORT_NOT_FOUND') missing.push(port);
        else throw error;
      }
    }
    return { restored, missing };
  }
}
