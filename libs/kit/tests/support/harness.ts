// Starts the kit in-process against a real nats-server: store, lease, controller, test device.
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Controller, Lease, ResourceStore, type ResourceKind } from '../../src/index.js';
import { MemoryDevice } from './memory-device.js';

export interface KitUnderTest {
  nc: NatsConnection;
  store: ResourceStore;
  lease: Lease;
  controller: Controller;
  device: MemoryDevice;
  stop(): Promise<void>;
}

export async function startKit(options: {
  url: string;
  nodeId: string;
  kinds: ResourceKind[];
  device?: MemoryDevice;
  drive?: boolean;
  ttlMs?: number;
  defaultWaitMs?: number;
  resyncMs?: number;
}): Promise<KitUnderTest> {
  const nc = await connect({ servers: options.url });
  const store = await ResourceStore.open(nc, {
    nodeId: options.nodeId,
    kinds: options.kinds,
    defaultWaitMs: options.defaultWaitMs ?? 5000,
  });
  const lease = await Lease.open(nc, {
    nodeId: options.nodeId,
    agent: 'test',
    instanceId: randomUUID(),
    ttlMs: options.ttlMs ?? 1500,
  });
  const device = options.device ?? new MemoryDevice();
  const controller = new Controller({
    store,
    lease,
    reconcilers: device.reconcilers(options.kinds.map((k) => k.kind)),
    backoff: { baseMs: 20, capMs: 200 },
    resyncMs: options.resyncMs ?? 0,
  });
  const abort = new AbortController();
  if (options.drive !== false) await controller.start(abort.signal);
  return {
    nc,
    store,
    lease,
    controller,
    device,
    async stop() {
      abort.abort();
      await lease.release();
      store.close();
      await nc.drain();
    },
  };
}
