// Several replica processes of one agent on one node, against a real nats-server.
import type * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { evpnGwV1alpha1 as evpn, storageV1 as storage } from '@opi/api';
import {
  killSpawnedProcesses,
  sleep,
  startNatsServer,
  waitFor,
  type RunningNatsServer,
} from '@opi/testing';
import { GrpcStatus } from '../src/index.js';
import { RecordingDevice, type DeviceState } from './fixtures/recording-device.js';
import {
  clientFor,
  removeReplicaStateDirs,
  startReplica,
  unary,
  type Replica,
} from './support/replicas.js';

let nats: RunningNatsServer;
const clients: grpc.Client[] = [];
const replicas: Replica[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
});
afterEach(async () => {
  clients.splice(0).forEach((c) => c.close());
  await Promise.all(replicas.splice(0).map((r) => r.process.stop(2000)));
});
afterAll(async () => {
  await killSpawnedProcesses();
  await removeReplicaStateDirs();
  await nats?.stop();
});

async function replica(
  nodeId: string,
  options: { applyDelayMs?: number; leaseTtlMs?: number } = {},
) {
  const started = await startReplica({
    natsUrl: nats.url,
    nodeId,
    deviceBucket: `device-${nodeId}`,
    ...options,
  });
  replicas.push(started);
  return started;
}
const client = (Client: unknown, r: Replica) => {
  const c = clientFor(Client, r.address);
  clients.push(c);
  return c;
};
const device = (nodeId: string): Promise<DeviceState> =>
  RecordingDevice.read(nats.url, `device-${nodeId}`);

describe('replicas', () => {
  it('serve the OPI API from every replica: writes through one are read through the other', async () => {
    const a = await replica('grpc');
    const b = await replica('grpc');
    expect([a.drivingAtReady, b.drivingAtReady]).toEqual([true, false]);
    const viaA = client(storage.NullVolumeServiceClient, a);
    const viaB = client(storage.NullVolumeServiceClient, b);
    const created = await unary(
      viaB,
      'createNullVolume',
      storage.CreateNullVolumeRequest.fromPartial({
        nullVolumeId: 'vol-1',
        nullVolume: { blockSize: 512, blocksCount: 8 },
      }),
    );
    expect(created).toMatchObject({ name: 'volumes/vol-1', blockSize: 512, blocksCount: 8 });
    expect(
      await unary(
        viaA,
        'getNullVolume',
        storage.GetNullVolumeRequest.fromPartial({ name: 'nullVolumes/vol-1' }),
      ),
    ).toEqual(created);
    expect((await device('grpc')).objects['NullVolume/vol-1']).toEqual({ generation: 1 }); // applied before the ack
    const bad = await unary(
      viaA,
      'createNullVolume',
      storage.CreateNullVolumeRequest.fromPartial({
        nullVolumeId: 'BAD',
        nullVolume: { blockSize: 512, blocksCount: 8 },
      }),
    ).catch((e: grpc.ServiceError) => e);
    expect(bad).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    expect((bad as grpc.ServiceError).details).toContain('null_volume_id');
    const list = await unary<{ nullVolumes: unknown[]; nextPageToken: string }>(
      viaB,
      'listNullVolumes',
      storage.ListNullVolumesRequest.fromPartial({ pageSize: 0 }),
    );
    expect(list.nullVolumes).toHaveLength(1);
    const stats = await unary(
      viaA,
      'statsNullVolume',
      storage.StatsNullVolumeRequest.fromPartial({ name: 'volumes/vol-1' }),
    );
    expect(stats).toMatchObject({ stats: { readOpsCount: 'volumes/vol-1'.length } });
    const missingStats = await unary(
      viaA,
      'statsNullVolume',
      storage.StatsNullVolumeRequest.fromPartial({ name: 'volumes/none' }),
    ).catch((e: grpc.ServiceError) => e);
    expect(missingStats).toMatchObject({ code: GrpcStatus.NOT_FOUND });
    const malloc = clientFor(storage.MallocVolumeServiceClient, a.address);
    clients.push(malloc);
    const unsupported = await unary(
      malloc,
      'statsMallocVolume',
      storage.StatsMallocVolumeRequest.fromPartial({ name: 'volumes/vol-1' }),
    ).catch((e: grpc.ServiceError) => e);
    expect(unsupported).toMatchObject({ code: GrpcStatus.UNIMPLEMENTED });
    await unary(
      viaA,
      'deleteNullVolume',
      storage.DeleteNullVolumeRequest.fromPartial({ name: 'volumes/vol-1' }),
    );
    expect((await device('grpc')).objects['NullVolume/vol-1']).toBeUndefined();
  });

  it('lose no update when two replica processes write the same keys concurrently', async () => {
    const a = await replica('cas');
    const b = await replica('cas');
    const viaA = client(storage.FrontendNvmeServiceClient, a);
    const viaB = client(storage.FrontendNvmeServiceClient, b);
    const ids = Array.from({ length: 12 }, (_, i) => `ss-${i}`);
    // Both replicas create every subsystem at once: one create wins, the other is an idempotent re-create.
    await Promise.all(
      ids.flatMap((id) =>
        [viaA, viaB].map((c) =>
          unary(
            c,
            'createNvmeSubsystem',
            storage.CreateNvmeSubsystemRequest.fromPartial({
              nvmeSubsystemId: id,
              nvmeSubsystem: { spec: { nqn: `nqn.2022-09.io.spdk:${id}` } },
            }),
          ),
        ),
      ),
    );
    // Four masked updates of different fields per subsystem, split over both replicas, all at once.
    const update = (c: grpc.Client, id: string, spec: Record<string, unknown>, path: string) =>
      unary(
        c,
        'updateNvmeSubsystem',
        storage.UpdateNvmeSubsystemRequest.fromPartial({
          nvmeSubsystem: {
            name: `nvmeSubsystems/${id}`,
            spec: { nqn: `nqn.2022-09.io.spdk:${id}`, ...spec },
          },
          updateMask: [path],
        }),
      );
    await Promise.all(
      ids.flatMap((id) => [
        update(viaA, id, { serialNumber: 'serial-a' }, 'spec.serial_number'),
        update(viaB, id, { modelNumber: 'model-b' }, 'spec.model_number'),
        update(viaA, id, { maxNamespaces: 32 }, 'spec.max_namespaces'),
        update(viaB, id, { hostnqn: 'nqn.2022-09.io.host:b' }, 'spec.hostnqn'),
      ]),
    );
    for (const id of ids) {
      const got = await unary<{ spec: Record<string, unknown> }>(
        viaA,
        'getNvmeSubsystem',
        storage.GetNvmeSubsystemRequest.fromPartial({ name: `nvmeSubsystems/${id}` }),
      );
      expect(got.spec).toMatchObject({
        serialNumber: 'serial-a',
        modelNumber: 'model-b',
        maxNamespaces: 32,
        hostnqn: 'nqn.2022-09.io.host:b',
      });
    }
    // A conflicting re-create through the other replica is refused.
    const conflict = await unary(
      viaB,
      'createNvmeSubsystem',
      storage.CreateNvmeSubsystemRequest.fromPartial({
        nvmeSubsystemId: 'ss-0',
        nvmeSubsystem: { spec: { nqn: 'nqn.2022-09.io.spdk:other' } },
      }),
    ).catch((e: grpc.ServiceError) => e);
    expect(conflict).toMatchObject({ code: GrpcStatus.ALREADY_EXISTS });
  });

  it('finish the work of a lease holder killed mid-reconcile, applying everything once, with no write after fencing', async () => {
    const a = await replica('failover', { applyDelayMs: 40, leaseTtlMs: 1500 });
    const b = await replica('failover', { applyDelayMs: 40, leaseTtlMs: 1500 });
    expect(a.drivingAtReady).toBe(true);
    const viaB = client(evpn.LogicalBridgeServiceClient, b);
    const ids = Array.from({ length: 40 }, (_, i) => `lb-${String(i).padStart(2, '0')}`);
    await Promise.all(
      ids.map((id, i) =>
        unary(
          viaB,
          'createLogicalBridge',
          evpn.CreateLogicalBridgeRequest.fromPartial({
            logicalBridgeId: id,
            logicalBridge: { spec: { vlanId: 100 + i } },
          }),
        ),
      ),
    );
    await waitFor(async () => (await device('failover')).log.length >= 5, { timeoutMs: 10_000 });
    a.process.kill('SIGKILL');
    const killedAt = Date.now();
    await a.process.exited;
    const done = await waitFor(
      async () => {
        const state = await device('failover');
        return ids.every((id) => state.objects[`LogicalBridge/${id}`]) ? state : undefined;
      },
      { timeoutMs: 20_000, message: 'the standby did not finish the work' },
    );
    expect(done.log.length).toBeLessThan(ids.length + 1);
    const firstNew = done.log.findIndex((entry) => entry.instance === b.instanceId);
    expect(firstNew).toBeGreaterThan(0);
    expect(done.log[firstNew]!.at - killedAt).toBeLessThan(6000); // failover within a few seconds
    // Every object applied exactly once (generation 1), old holder's writes all before the new epoch.
    const applied = done.log.filter((e) => e.op === 'apply').map((e) => `${e.key}@${e.generation}`);
    expect(new Set(applied).size).toBe(applied.length);
    expect(done.log.slice(firstNew).every((e) => e.instance === b.instanceId)).toBe(true);
    expect(done.log.slice(0, firstNew).every((e) => e.instance === a.instanceId)).toBe(true);
    const epochs = done.log.map((e) => e.epoch);
    expect(epochs).toEqual([...epochs].sort((x, y) => x - y));
    // And the API reports every bridge UP once the new holder wrote status.
    const viaBAgain = client(evpn.LogicalBridgeServiceClient, b);
    await waitFor(async () => {
      const page = await unary<{ logicalBridges: Array<{ status?: { operStatus: number } }> }>(
        viaBAgain,
        'listLogicalBridges',
        evpn.ListLogicalBridgesRequest.fromPartial({ pageSize: 100 }),
      );
      return (
        page.logicalBridges.length === ids.length &&
        page.logicalBridges.every(
          (lb) => lb.status?.operStatus === evpn.LBOperStatus.LB_OPER_STATUS_UP,
        )
      );
    });
  });

  it('fence a paused holder: after it lost the lease, nothing it does reaches the device', async () => {
    const a = await replica('pause', { applyDelayMs: 30, leaseTtlMs: 1000 });
    const b = await replica('pause', { applyDelayMs: 30, leaseTtlMs: 1000 });
    const viaB = client(evpn.LogicalBridgeServiceClient, b);
    const ids = Array.from({ length: 30 }, (_, i) => `pz-${String(i).padStart(2, '0')}`);
    await Promise.all(
      ids.map((id, i) =>
        unary(
          viaB,
          'createLogicalBridge',
          evpn.CreateLogicalBridgeRequest.fromPartial({
            logicalBridgeId: id,
            logicalBridge: { spec: { vlanId: 200 + i } },
          }),
        ),
      ),
    );
    await waitFor(async () => (await device('pause')).log.length >= 3, { timeoutMs: 10_000 });
    a.process.kill('SIGSTOP');
    await b.process.waitForOutput(/LEASE ACQUIRED/, { timeoutMs: 10_000, stream: 'stdout' });
    await waitFor(
      async () =>
        ids.every(async () => true) &&
        Object.keys((await device('pause')).objects).length === ids.length,
      { timeoutMs: 20_000 },
    );
    const before = (await device('pause')).log.length;
    a.process.kill('SIGCONT'); // the old holder wakes up in the middle of its work
    await a.process.waitForOutput(/stopped driving the device/, { timeoutMs: 5000 });
    await sleep(1000);
    const after = await device('pause');
    expect(after.log.length).toBe(before);
    const firstNew = after.log.findIndex((entry) => entry.instance === b.instanceId);
    expect(after.log.slice(firstNew).every((e) => e.instance === b.instanceId)).toBe(true);
    expect(after.fence).toBe(Math.max(...after.log.map((e) => e.epoch)));
  });

  it('reconcile everything in KV before reporting ready after a restart', async () => {
    const first = await replica('restart');
    const via = client(storage.NullVolumeServiceClient, first);
    const ids = Array.from({ length: 25 }, (_, i) => `rv-${String(i).padStart(2, '0')}`);
    for (const id of ids)
      await unary(
        via,
        'createNullVolume',
        storage.CreateNullVolumeRequest.fromPartial({
          nullVolumeId: id,
          nullVolume: { blockSize: 4096, blocksCount: 16 },
        }),
      );
    await first.process.stop(5000);
    replicas.splice(replicas.indexOf(first), 1);
    await RecordingDevice.wipe(nats.url, 'device-restart'); // the device lost its in-memory state
    expect(Object.keys((await device('restart')).objects)).toHaveLength(0);
    const second = await replica('restart', { applyDelayMs: 10 });
    const state = await device('restart');
    expect(second.drivingAtReady).toBe(true);
    expect(Object.keys(state.objects).sort()).toEqual(ids.map((id) => `NullVolume/${id}`));
    expect(Math.max(...state.log.map((e) => e.at))).toBeLessThanOrEqual(second.readyAt);
  });
});
