// Port settings kept in JetStream KV (real nats-server) and restored onto a real sim device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createSimNetworkDevice } from '@opi/hal-sim';
import { startNatsServer, type RunningNatsServer } from '@opi/testing';
import { PortSettingsStore } from '../src/index.js';

let nats: RunningNatsServer;
let nc: NatsConnection;
const fence = { epoch: 1, check: () => undefined };

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('PortSettingsStore', () => {
  it('merges settings per port, including names KV keys cannot hold', async () => {
    const store = await PortSettingsStore.open(nc, 'merge-node');
    await store.merge('pf0', { mtu: 9000 });
    await store.merge('pf0', { adminUp: false });
    await store.merge('eth0:1', { mtu: 1400 });
    expect(Object.fromEntries(await store.all())).toEqual({
      pf0: { mtu: 9000, adminUp: false },
      'eth0:1': { mtu: 1400 },
    });
    const otherNode = await PortSettingsStore.open(nc, 'other-node');
    expect((await otherNode.all()).size).toBe(0);
  });

  it('restores stored settings onto a fresh device and reports ports it lacks', async () => {
    const store = await PortSettingsStore.open(nc, 'restore-node');
    await store.merge('pf1', { mtu: 9000, adminUp: false });
    await store.merge('gone0', { mtu: 1400 });
    const device = await createSimNetworkDevice({
      ports: [
        { name: 'pf0', mac: '02:00:00:00:00:01' },
        { name: 'pf1', mac: '02:00:00:00:00:02' },
      ],
    });
    expect(await store.restore(device, fence)).toEqual({ restored: ['pf1'], missing: ['gone0'] });
    const pf1 = (await device.listPorts()).find((p) => p.name === 'pf1');
    expect(pf1).toMatchObject({ mtu: 9000, adminUp: false });
    expect((await device.listPorts()).find((p) => p.name === 'pf0')).toMatchObject({
      mtu: 1500,
      adminUp: true,
    });
  });
});
