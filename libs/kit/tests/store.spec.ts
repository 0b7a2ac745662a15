import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import { GrpcStatus, KitError, type JsonObject, type ResourceKind } from '../src/index.js';
import { allKinds } from './support/kinds.js';
import { startKit, type KitUnderTest } from './support/harness.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let nats: RunningNatsServer;
let kit: KitUnderTest;

beforeAll(async () => {
  nats = await startNatsServer();
  kit = await startKit({ url: nats.url, nodeId: 'semantics', kinds: allKinds });
});
afterAll(async () => {
  await kit?.stop();
  await nats?.stop();
});

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; field?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof KitError)) throw error;
    return { code: error.code, field: error.field, message: error.message };
  }
  throw new Error('expected the call to fail');
}

const volume = (blockSize = 512, blocksCount = 64): JsonObject => ({ blockSize, blocksCount });
const create = (
  kind: string,
  id: string | undefined,
  resource: JsonObject | undefined,
  parent?: string,
) => kit.store.create(kind, { id, resource, parent });

describe('ids and names', () => {
  it('generates a UUIDv4 as the last name segment when the id is absent', async () => {
    const created = await create('NullVolume', undefined, volume());
    const id = String(created['name']).replace('volumes/', '');
    expect(id).toMatch(uuid);
    expect(created).toMatchObject({ name: `volumes/${id}`, blockSize: 512, blocksCount: 64 });
  });

  it('uses the client id and answers to the proto-pattern name too', async () => {
    await create('NullVolume', 'named-1', volume());
    expect((await kit.store.get('NullVolume', 'nullVolumes/named-1'))['name']).toBe(
      'volumes/named-1',
    );
    expect((await kit.store.get('NullVolume', 'volumes/named-1'))['name']).toBe('volumes/named-1');
  });

  it.each([
    ['too short', 'abc'],
    ['upper case', 'Vol1'],
    ['leading dash', '-vol1'],
    ['a UUID', '1b4e28ba-2fa1-41d2-883f-0016d3cca427'],
    ['a dot', 'vol.1'],
  ])('rejects an id that is %s naming null_volume_id', async (_title, id) => {
    expect(await failure(create('NullVolume', id, volume()))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      field: 'null_volume_id',
    });
  });

  it.each([
    ['an empty name', '', GrpcStatus.INVALID_ARGUMENT],
    ['a name of another kind', '//network.opiproject.org/bridges/x', GrpcStatus.INVALID_ARGUMENT],
    ['a well-formed name that does not exist', 'volumes/missing-1', GrpcStatus.NOT_FOUND],
    ['a name whose id could never be stored', 'volumes/Malloc0', GrpcStatus.NOT_FOUND],
  ])('Get of %s fails naming name', async (_title, name, code) => {
    expect(await failure(kit.store.get('NullVolume', name))).toMatchObject({ code, field: 'name' });
  });
});

describe('create', () => {
  it('returns the stored object on an identical re-create and ALREADY_EXISTS on a different one', async () => {
    const first = await create('NullVolume', 'again-1', volume());
    expect(await create('NullVolume', 'again-1', volume())).toEqual(first);
    expect(await failure(create('NullVolume', 'again-1', volume(4096)))).toMatchObject({
      code: GrpcStatus.ALREADY_EXISTS,
      field: 'null_volume_id',
    });
  });

  it('shares one id namespace between volume kinds', async () => {
    await create('NullVolume', 'shared-1', volume());
    expect(await failure(create('MallocVolume', 'shared-1', volume()))).toMatchObject({
      code: GrpcStatus.ALREADY_EXISTS,
      field: 'malloc_volume_id',
    });
  });

  it.each([
    ['the resource is absent', undefined, 'null_volume'],
    ['a required field is missing', { blockSize: 512 }, 'null_volume.blocks_count'],
    ['kind validation fails', { blockSize: 500, blocksCount: 1 }, 'null_volume.block_size'],
    ['a field has the wrong type', { blockSize: 'big', blocksCount: 1 }, 'null_volume.block_size'],
  ])('is INVALID_ARGUMENT when %s', async (_title, resource, field) => {
    expect(await failure(create('NullVolume', undefined, resource as JsonObject))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      field,
    });
  });

  it('is INVALID_ARGUMENT naming the field for an unknown enum value', async () => {
    expect(
      await failure(create('BridgePort', 'enum-1', { spec: { ptype: 'BP_TYPE_TEAPOT' } })),
    ).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, field: 'bridge_port.spec.ptype' });
  });

  it('ignores output-only input: name and status are the server’s', async () => {
    const created = await create('LogicalBridge', 'out-1', {
      name: 'x/y',
      spec: { vlanId: 11 },
      status: { operStatus: 'LB_OPER_STATUS_UP' },
    });
    expect(created['name']).toBe('//network.opiproject.org/bridges/out-1');
  });

  it('does not return write-only fields', async () => {
    const created = await create('NvmeSubsystem', 'secret-1', {
      spec: { nqn: 'nqn.2022-09.io.spdk:secret1', psk: 'c2VjcmV0' },
    });
    expect(JSON.stringify(created)).not.toContain('c2VjcmV0');
    expect(
      JSON.stringify(await kit.store.get('NvmeSubsystem', 'nvmeSubsystems/secret-1')),
    ).not.toContain('c2VjcmV0');
    const described = await kit.store.describe('NvmeSubsystem', 'nvmeSubsystems/secret-1');
    expect(getSpec(described.record.resource)['psk']).toBe('c2VjcmV0'); // kept for the device
  });
});

const getSpec = (r: JsonObject) => r['spec'] as JsonObject;

describe('parents, references and uniqueness', () => {
  beforeAll(async () => {
    await create('NvmeSubsystem', 'ss-1', { spec: { nqn: 'nqn.2022-09.io.spdk:ss1' } });
    await create('NullVolume', 'ref-vol-1', volume());
  });

  it.each([
    ['no parent', undefined, GrpcStatus.INVALID_ARGUMENT],
    ['a parent that does not exist', 'nvmeSubsystems/nope-1', GrpcStatus.NOT_FOUND],
    ['a parent of the wrong shape', 'volumes/ref-vol-1', GrpcStatus.INVALID_ARGUMENT],
  ])('creating a child with %s fails naming parent', async (_title, parent, code) => {
    expect(
      await failure(
        create('NvmeController', 'ctrl-x', { spec: { trtype: 'NVME_TRANSPORT_TYPE_TCP' } }, parent),
      ),
    ).toMatchObject({
      code,
      field: 'parent',
    });
  });

  it('names a child under its parent and lists it by parent', async () => {
    const ctrl = await create(
      'NvmeController',
      'ctrl-1',
      { spec: { maxNsq: 4 } },
      'nvmeSubsystems/ss-1',
    );
    expect(ctrl['name']).toBe('nvmeSubsystems/ss-1/nvmeControllers/ctrl-1');
    const listed = await kit.store.list('NvmeController', { parent: 'nvmeSubsystems/ss-1' });
    expect(listed.items.map((i) => i['name'])).toEqual([
      'nvmeSubsystems/ss-1/nvmeControllers/ctrl-1',
    ]);
  });

  it('refuses to delete a parent that has children (FAILED_PRECONDITION)', async () => {
    expect(
      await failure(kit.store.delete('NvmeSubsystem', { name: 'nvmeSubsystems/ss-1' })),
    ).toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
      field: 'name',
    });
  });

  it('requires referenced objects to exist, accepting a bare id or a name', async () => {
    expect(
      await failure(
        create(
          'NvmeNamespace',
          'ns-x',
          { spec: { volumeNameRef: 'Malloc0' } },
          'nvmeSubsystems/ss-1',
        ),
      ),
    ).toMatchObject({ code: GrpcStatus.NOT_FOUND, field: 'nvme_namespace.spec.volume_name_ref' });
    expect(
      await failure(create('NvmeNamespace', 'ns-x', { spec: {} }, 'nvmeSubsystems/ss-1')),
    ).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      field: 'nvme_namespace.spec.volume_name_ref',
    });
    await create(
      'NvmeNamespace',
      'ns-1',
      { spec: { volumeNameRef: 'ref-vol-1' } },
      'nvmeSubsystems/ss-1',
    );
    await create(
      'NvmeNamespace',
      'ns-2',
      { spec: { volumeNameRef: 'volumes/ref-vol-1' } },
      'nvmeSubsystems/ss-1',
    );
  });

  it('refuses to delete a referenced object (FAILED_PRECONDITION) and allows it once unreferenced', async () => {
    await create('NullVolume', 'ref-vol-2', volume());
    await create(
      'NvmeNamespace',
      'ns-3',
      { spec: { volumeNameRef: 'ref-vol-2' } },
      'nvmeSubsystems/ss-1',
    );
    const refused = await failure(kit.store.delete('NullVolume', { name: 'volumes/ref-vol-2' }));
    expect(refused).toMatchObject({ code: GrpcStatus.FAILED_PRECONDITION, field: 'name' });
    expect(refused.message).toContain('nvmeNamespaces/ns-3');
    await kit.store.delete('NvmeNamespace', { name: 'nvmeSubsystems/ss-1/nvmeNamespaces/ns-3' });
    await waitFor(
      async () =>
        (await failure(kit.store.get('NvmeNamespace', 'nvmeSubsystems/ss-1/nvmeNamespaces/ns-3')))
          .code === GrpcStatus.NOT_FOUND,
    );
    await kit.store.delete('NullVolume', { name: 'volumes/ref-vol-2' });
  });

  it('enforces a uniqueness constraint across ids, and frees the value on delete', async () => {
    await create('NvmeSubsystem', 'uniq-1', { spec: { nqn: 'nqn.2022-09.io.spdk:uniq' } });
    expect(
      await failure(
        create('NvmeSubsystem', 'uniq-2', { spec: { nqn: 'nqn.2022-09.io.spdk:uniq' } }),
      ),
    ).toMatchObject({
      code: GrpcStatus.ALREADY_EXISTS,
      field: 'nvme_subsystem.spec.nqn',
    });
    await kit.store.delete('NvmeSubsystem', { name: 'nvmeSubsystems/uniq-1' });
    await waitFor(
      async () =>
        (await failure(kit.store.get('NvmeSubsystem', 'nvmeSubsystems/uniq-1'))).code ===
        GrpcStatus.NOT_FOUND,
    );
    await create('NvmeSubsystem', 'uniq-2', { spec: { nqn: 'nqn.2022-09.io.spdk:uniq' } });
  });

  it('takes over a uniqueness claim whose owner changed its value', async () => {
    await create('NvmeSubsystem', 'uniq-3', { spec: { nqn: 'nqn.2022-09.io.spdk:moving' } });
    await kit.store.update('NvmeSubsystem', {
      resource: { name: 'nvmeSubsystems/uniq-3', spec: { nqn: 'nqn.2022-09.io.spdk:moved' } },
      updateMask: ['spec.nqn'],
    });
    await create('NvmeSubsystem', 'uniq-4', { spec: { nqn: 'nqn.2022-09.io.spdk:moving' } });
  });
});

describe('update', () => {
  it.each([
    [
      '"*" replaces the whole object',
      ['*'],
      { blockSize: 4096, blocksCount: 8 },
      { blockSize: 4096, blocksCount: 8 },
    ],
    [
      'a path updates one field',
      ['blocks_count'],
      { blockSize: 4096, blocksCount: 9 },
      { blockSize: 512, blocksCount: 9 },
    ],
    [
      'no mask updates the fields sent',
      undefined,
      { blocksCount: 10 },
      { blockSize: 512, blocksCount: 10 },
    ],
  ])('%s', async (_title, updateMask, patch, expected) => {
    const id = `upd-${Math.random().toString(36).slice(2, 8)}`;
    await create('NullVolume', id, volume());
    const updated = await kit.store.update('NullVolume', {
      resource: { name: `volumes/${id}`, ...patch },
      updateMask,
    });
    expect(updated).toMatchObject({ name: `volumes/${id}`, ...expected });
    expect(await kit.store.get('NullVolume', `volumes/${id}`)).toEqual(updated);
    expect((await kit.store.describe('NullVolume', `volumes/${id}`)).record.generation).toBe(2);
  });

  it.each([
    [
      'a missing object',
      { name: 'volumes/absent-1', blockSize: 512, blocksCount: 1 },
      ['*'],
      GrpcStatus.NOT_FOUND,
      'null_volume.name',
    ],
    ['no name', { blockSize: 512 }, ['*'], GrpcStatus.INVALID_ARGUMENT, 'null_volume.name'],
    [
      'an unknown mask path',
      { name: 'volumes/named-1' },
      ['colour'],
      GrpcStatus.INVALID_ARGUMENT,
      'update_mask',
    ],
    [
      'a result that fails validation',
      { name: 'volumes/named-1', blockSize: 100 },
      ['block_size'],
      GrpcStatus.INVALID_ARGUMENT,
      'null_volume.block_size',
    ],
  ])('fails for %s', async (_title, resource, updateMask, code, field) => {
    expect(await failure(kit.store.update('NullVolume', { resource, updateMask }))).toMatchObject({
      code,
      field,
    });
  });

  it('creates a missing object with allow_missing', async () => {
    const created = await kit.store.update('NullVolume', {
      resource: { name: 'volumes/upsert-1', blockSize: 512, blocksCount: 2 },
      updateMask: ['*'],
      allowMissing: true,
    });
    expect(created).toMatchObject({ name: 'volumes/upsert-1', blocksCount: 2 });
  });

  it('does not bump the generation for an update that changes nothing', async () => {
    await create('NullVolume', 'same-1', volume());
    await kit.store.update('NullVolume', {
      resource: { name: 'volumes/same-1', ...volume() },
      updateMask: ['*'],
    });
    expect((await kit.store.describe('NullVolume', 'volumes/same-1')).record.generation).toBe(1);
  });
});

describe('delete', () => {
  it.each([
    ['a missing object without allow_missing', 'volumes/gone-1', false, GrpcStatus.NOT_FOUND],
    ['a malformed name', 'nope', true, GrpcStatus.INVALID_ARGUMENT],
  ])('fails for %s', async (_title, name, allowMissing, code) => {
    expect(await failure(kit.store.delete('NullVolume', { name, allowMissing }))).toMatchObject({
      code,
      field: 'name',
    });
  });

  it('is OK for a missing object with allow_missing', async () => {
    await expect(
      kit.store.delete('NullVolume', { name: 'volumes/gone-1', allowMissing: true }),
    ).resolves.toBeUndefined();
  });

  it('of a kind without status returns after the device removed it', async () => {
    await create('NullVolume', 'del-1', volume());
    expect(kit.device.objects.has('NullVolume/del-1')).toBe(true);
    await kit.store.delete('NullVolume', { name: 'volumes/del-1' });
    expect(kit.device.objects.has('NullVolume/del-1')).toBe(false);
    expect(await failure(kit.store.get('NullVolume', 'volumes/del-1'))).toMatchObject({
      code: GrpcStatus.NOT_FOUND,
    });
  });
});

describe('list', () => {
  const ids = Array.from({ length: 23 }, (_, i) => `lst-${String(i).padStart(2, '0')}`);
  beforeAll(async () => {
    for (const id of [...ids].reverse())
      await create('LogicalBridge', id, { spec: { vlanId: 100 } });
  });

  it('pages through every item once, sorted by name, with stateless tokens', async () => {
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await kit.store.list('LogicalBridge', { pageSize: 5, pageToken });
      expect(page.items.length).toBeLessThanOrEqual(5);
      seen.push(...page.items.map((i) => String(i['name'])));
      pageToken = page.nextPageToken;
    } while (pageToken);
    const mine = seen.filter((n) => n.includes('/lst-'));
    expect(mine).toEqual(ids.map((id) => `//network.opiproject.org/bridges/${id}`));
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('uses 50 by default and clamps to 250', async () => {
    expect((await kit.store.list('LogicalBridge', {})).items.length).toBeLessThanOrEqual(50);
    expect((await kit.store.list('LogicalBridge', { pageSize: 1000 })).nextPageToken).toBe('');
  });

  it.each([
    [{ pageSize: -1 }, 'page_size'],
    [{ pageToken: 'garbage' }, 'page_token'],
  ])('rejects %o naming %s', async (query, field) => {
    expect(await failure(kit.store.list('LogicalBridge', query))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      field,
    });
  });

  it('lists an empty collection OK', async () => {
    expect(await kit.store.list('BridgePort', {})).toEqual({ items: [], nextPageToken: '' });
  });
});

describe('status and the device', () => {
  it('reports a new status object DOWN/PENDING, then UP/SUCCESS once realized', async () => {
    kit.device.delayMs = 150;
    try {
      const created = await create('LogicalBridge', 'st-1', { spec: { vlanId: 7 } });
      expect(created['status']).toEqual({ operStatus: 'LB_OPER_STATUS_DOWN', components: [] });
      await waitFor(
        async () =>
          (
            (await kit.store.get('LogicalBridge', '//network.opiproject.org/bridges/st-1'))[
              'status'
            ] as JsonObject
          )['operStatus'] === 'LB_OPER_STATUS_UP',
      );
      expect((await kit.store.get('LogicalBridge', 'logicalBridges/st-1'))['status']).toEqual({
        operStatus: 'LB_OPER_STATUS_UP',
        components: [{ name: 'dataplane', status: 'COMP_STATUS_SUCCESS' }],
      });
    } finally {
      kit.device.delayMs = 0;
    }
  });

  it('shows TO_BE_DELETED until the device has removed a status object', async () => {
    await create('LogicalBridge', 'st-2', { spec: { vlanId: 8 } });
    await waitFor(() => kit.device.objects.has('LogicalBridge/st-2'));
    kit.device.failNext('LogicalBridge', 'st-2', new Error('device busy'));
    await kit.store.delete('LogicalBridge', { name: '//network.opiproject.org/bridges/st-2' });
    const during = await kit.store
      .get('LogicalBridge', '//network.opiproject.org/bridges/st-2')
      .catch(() => undefined);
    if (during)
      expect((during['status'] as JsonObject)['operStatus']).toBe('LB_OPER_STATUS_TO_BE_DELETED');
    await waitFor(
      async () =>
        (await failure(kit.store.get('LogicalBridge', 'logicalBridges/st-2'))).code ===
        GrpcStatus.NOT_FOUND,
    );
    expect(kit.device.objects.has('LogicalBridge/st-2')).toBe(false);
  });

  it('reports a device error in the components and recovers on retry', async () => {
    kit.device.failNext('LogicalBridge', 'st-3', new Error('vlan busy'), new Error('vlan busy'));
    await create('LogicalBridge', 'st-3', { spec: { vlanId: 9 } });
    await waitFor(() => kit.device.objects.has('LogicalBridge/st-3'));
    const status = (await kit.store.get('LogicalBridge', 'logicalBridges/st-3'))[
      'status'
    ] as JsonObject;
    expect(status['operStatus']).toBe('LB_OPER_STATUS_UP');
  });

  it('returns a device error from Create of a kind without status and keeps no desired state', async () => {
    kit.device.failNext(
      'NullVolume',
      'dev-err-1',
      new KitError(GrpcStatus.RESOURCE_EXHAUSTED, 'no memory'),
    );
    const error = await failure(create('NullVolume', 'dev-err-1', volume()));
    expect(error.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(error.message).toContain('no memory');
    expect(await failure(kit.store.get('NullVolume', 'volumes/dev-err-1'))).toMatchObject({
      code: GrpcStatus.NOT_FOUND,
    });
    await create('NullVolume', 'dev-err-1', volume()); // the id is free again
  });

  it('restores the previous desired state when the device refuses an update', async () => {
    await create('NullVolume', 'dev-err-2', volume());
    kit.device.failNext(
      'NullVolume',
      'dev-err-2',
      new KitError(GrpcStatus.FAILED_PRECONDITION, 'cannot shrink'),
    );
    const error = await failure(
      kit.store.update('NullVolume', {
        resource: { name: 'volumes/dev-err-2', blocksCount: 1 },
        updateMask: ['blocks_count'],
      }),
    );
    expect(error.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect((await kit.store.get('NullVolume', 'volumes/dev-err-2'))['blocksCount']).toBe(64);
  });

  it('merges output-only values the device reports', async () => {
    const created = await create('NullVolume', 'dev-out-1', volume());
    expect(created['uuid']).toBe('uuid-dev-out-1');
  });
});

describe('events', () => {
  it('publishes a CloudEvent for every change and status, without write-only fields', async () => {
    const seen: Array<{ type: string; data: JsonObject }> = [];
    const sub = kit.nc.subscribe('opi.semantics.evt.kit.>', {
      callback: (_err, msg) => void seen.push(msg.json<{ type: string; data: JsonObject }>()),
    });
    await kit.nc.flush();
    await create('NvmeSubsystem', 'evt-1', {
      spec: { nqn: 'nqn.2022-09.io.spdk:evt1', psk: 'c2VjcmV0' },
    });
    await kit.store.update('NvmeSubsystem', {
      resource: { name: 'nvmeSubsystems/evt-1', spec: { modelNumber: 'm1' } },
      updateMask: ['spec.model_number'],
    });
    await kit.store.delete('NvmeSubsystem', { name: 'nvmeSubsystems/evt-1' });
    await waitFor(() => seen.some((e) => e.data['change'] === 'deleted'));
    sub.unsubscribe();
    const changes = seen
      .filter((e) => e.type === 'io.opi.resource.changed.v1')
      .map((e) => e.data['change']);
    expect(changes).toEqual(['created', 'updated', 'updated', 'deleted']); // the 2nd update starts deletion
    const statuses = seen.filter((e) => e.type === 'io.opi.resource.status.v1');
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses[0]!.data).toMatchObject({
      kind: 'NvmeSubsystem',
      name: 'nvmeSubsystems/evt-1',
      phase: 'ready',
    });
    expect(seen[0]!.data).toMatchObject({
      messageType: 'opi_api.storage.v1.NvmeSubsystem',
      generation: 1,
    });
    expect(JSON.stringify(seen)).not.toContain('c2VjcmV0');
  });
});

describe('schema versions', () => {
  it('upgrades records written with an older payload version through the migration hook', async () => {
    const { defineResourceKind, desiredBucketName, JsonBucket } = await import('../src/index.js');
    const { mallocVolume } = await import('./support/kinds.js');
    const v2 = defineResourceKind({
      ...mallocVolume,
      schemaVersion: 2,
      migrate: (resource, from) => {
        // v1 stored the block count as "blocks".
        if (from >= 2) return resource;
        const { blocks, ...rest } = resource;
        return { ...rest, blocksCount: blocks };
      },
    });
    const bucket = await JsonBucket.open(kit.nc, desiredBucketName('migrate', 'MallocVolume'), {
      history: 3,
    });
    await bucket.create('old-1', {
      recordVersion: 1,
      schemaVersion: 1,
      kind: 'MallocVolume',
      name: 'volumes/old-1',
      uid: 'u',
      generation: 1,
      resource: { blockSize: 512, blocks: 99 },
      createTime: '2026-01-01T00:00:00Z',
      updateTime: '2026-01-01T00:00:00Z',
    });
    const migrated = await startKit({
      url: nats.url,
      nodeId: 'migrate',
      kinds: [v2] as ResourceKind[],
    });
    const store = migrated.store;
    try {
      expect(await store.get('MallocVolume', 'volumes/old-1')).toMatchObject({
        name: 'volumes/old-1',
        blockSize: 512,
        blocksCount: 99,
      });
      // Reconciled at start (before ready) with the migrated payload.
      expect(migrated.device.objects.get('MallocVolume/old-1')?.resource).toEqual({
        blockSize: 512,
        blocksCount: 99,
      });
      const updated = await store.update('MallocVolume', {
        resource: { name: 'volumes/old-1', blockSize: 4096 },
        updateMask: ['block_size'],
      });
      expect(updated).toMatchObject({ blockSize: 4096, blocksCount: 99 });
      expect((await store.describe('MallocVolume', 'volumes/old-1')).record.schemaVersion).toBe(2);
    } finally {
      await migrated.stop();
    }
  });
});

describe('drift', () => {
  it('removes device objects missing from KV before ready, and repairs drift on resync', async () => {
    const { MemoryDevice } = await import('./support/memory-device.js');
    const device = new MemoryDevice();
    device.objects.set('LogicalBridge/orphan-1', { generation: 1, resource: {} });
    const drifting = await startKit({
      url: nats.url,
      nodeId: 'drift',
      kinds: allKinds,
      device,
      resyncMs: 200,
    });
    try {
      expect(device.objects.has('LogicalBridge/orphan-1')).toBe(false);
      await drifting.store.create('LogicalBridge', {
        id: 'kept-1',
        resource: { spec: { vlanId: 5 } },
      });
      await waitFor(() => device.objects.has('LogicalBridge/kept-1'));
      device.objects.clear(); // someone removed it behind our back
      await waitFor(() => device.objects.has('LogicalBridge/kept-1'), { timeoutMs: 5000 });
    } finally {
      await drifting.stop();
    }
  });
});

describe('update with allow_missing', () => {
  it('re-creates an object under a server-generated (UUID) name', async () => {
    const created = await create('NullVolume', undefined, volume());
    const name = String(created['name']);
    await kit.store.delete('NullVolume', { name });
    const again = await kit.store.update('NullVolume', {
      resource: { name, blockSize: 512, blocksCount: 3 },
      updateMask: ['*'],
      allowMissing: true,
    });
    expect(again).toMatchObject({ name, blocksCount: 3 });
  });
});

describe('stale observations', () => {
  it('ignores a status left by an earlier object of the same name', async () => {
    await kit.store.statusBucket('NullVolume').put('stale-1', {
      recordVersion: 1,
      uid: 'an-earlier-object',
      observedGeneration: 5,
      phase: 'ERROR',
      components: [],
      details: 'old failure',
      code: GrpcStatus.INTERNAL,
      epoch: 1,
      updateTime: '2026-01-01T00:00:00Z',
    });
    const created = await create('NullVolume', 'stale-1', volume());
    expect(created).toMatchObject({ name: 'volumes/stale-1', uuid: 'uuid-stale-1' });
  });
});

describe('corrupt records', () => {
  it('answer INTERNAL for the corrupt object, list the others, and keep the reconciler running', async () => {
    const { Kvm } = await import('@nats-io/kv');
    const { desiredBucketName } = await import('../src/index.js');
    const raw = await new Kvm(kit.nc).open(desiredBucketName('semantics', 'LogicalBridge'));
    await raw.put('corrupt-1', '{not json');
    const error = await failure(kit.store.get('LogicalBridge', 'logicalBridges/corrupt-1'));
    expect(error.code).toBe(GrpcStatus.INTERNAL);
    expect(error.message).toContain('not valid JSON');
    const listed = await kit.store.list('LogicalBridge', { pageSize: 250 });
    expect(listed.items.length).toBeGreaterThan(0);
    expect(listed.items.map((i) => i['name'])).not.toContain(
      '//network.opiproject.org/bridges/corrupt-1',
    );
    await create('LogicalBridge', 'after-corrupt-1', { spec: { vlanId: 33 } });
    await waitFor(() => kit.device.objects.has('LogicalBridge/after-corrupt-1'));
    await raw.delete('corrupt-1');
  });
});
