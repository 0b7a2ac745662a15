import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep, startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import {
  BusConfigError,
  connectBus,
  KvConflictError,
  KvKeyError,
  KvValueError,
  kvBucketName,
  openKvStore,
  type KvChange,
  type KvStore,
} from '../src/index.js';

const portSpec = z.object({ mtu: z.number().int().positive(), enabled: z.boolean() });
type PortSpec = z.infer<typeof portSpec>;

describe('KV store', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  let store: KvStore<PortSpec>;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectBus({ servers: server.url });
    store = await openKvStore(nc, {
      bucket: kvBucketName('ports', 'dpu0'),
      schema: portSpec,
      history: 5,
    });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('creates a key once and refuses to create it again', async () => {
    const revision = await store.create('p1', { mtu: 1500, enabled: true });
    expect(await store.get('p1')).toEqual({ value: { mtu: 1500, enabled: true }, revision });
    const error = await store.create('p1', { mtu: 9000, enabled: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KvConflictError);
    expect((error as KvConflictError).retryable).toBe(true);
    expect((error as Error).message).toBe('kv ports_dpu0/p1 already exists');
    expect((await store.get('p1'))?.value.mtu).toBe(1500);
  });

  it('updates with the expected revision and refuses a stale one', async () => {
    const r1 = await store.create('p2', { mtu: 1500, enabled: true });
    const r2 = await store.update('p2', { mtu: 9000, enabled: true }, r1);
    expect(r2).toBeGreaterThan(r1);
    const error = await store
      .update('p2', { mtu: 1400, enabled: false }, r1)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KvConflictError);
    expect((error as KvConflictError).expectedRevision).toBe(r1);
    expect(await store.get('p2')).toEqual({ value: { mtu: 9000, enabled: true }, revision: r2 });
  });

  it('deletes only at the expected revision when one is given', async () => {
    const r1 = await store.create('p3', { mtu: 1500, enabled: true });
    const r2 = await store.update('p3', { mtu: 1600, enabled: true }, r1);
    await expect(store.delete('p3', r1)).rejects.toBeInstanceOf(KvConflictError);
    await store.delete('p3', r2);
    expect(await store.get('p3')).toBeUndefined();
    // A deleted key can be created again.
    expect(await store.create('p3', { mtu: 1700, enabled: false })).toBeGreaterThan(r2);
    expect((await store.history('p3')).map((c) => [c.operation, c.value?.mtu])).toEqual([
      ['put', 1500],
      ['put', 1600],
      ['delete', undefined],
      ['put', 1700],
    ]);
  });

  it('validates values on write', async () => {
    const error = await store.put('bad', { mtu: -1, enabled: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KvValueError);
    expect((error as KvValueError).issues[0]).toMatch(/^value\.mtu: /);
    expect(await store.get('bad')).toBeUndefined();
  });

  it('reports a corrupt stored value as a named error, not a crash', async () => {
    const raw = await new Kvm(nc).open(kvBucketName('ports', 'dpu0'));
    await raw.put('corrupt', '{"mtu": "huge"}');
    await raw.put('not-json', 'TOPSECRET-PSK is not json');
    const error = await store.get('corrupt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KvValueError);
    expect((error as KvValueError).key).toBe('corrupt');
    const notJson = await store.get('not-json').catch((e: unknown) => e);
    expect((notJson as Error).message).toMatch(/value \(\d+ bytes\) is not valid JSON/);
    expect((notJson as Error).message).not.toContain('TOPSECRET');
    const invalid: string[] = [];
    const entries = await store.entries({ onInvalid: (e) => invalid.push(e.key) });
    expect(invalid.sort()).toEqual(['corrupt', 'not-json']);
    expect(entries.map((e) => e.key)).not.toContain('corrupt');
    await raw.delete('corrupt');
    await raw.delete('not-json');
  });

  it('lists keys and entries that currently have values', async () => {
    const fresh = await openKvStore(nc, { bucket: 'list-test', schema: portSpec });
    expect(await fresh.keys()).toEqual([]);
    expect(await fresh.entries()).toEqual([]);
    await fresh.create('b', { mtu: 2, enabled: true });
    await fresh.create('a', { mtu: 1, enabled: true });
    await fresh.create('gone', { mtu: 3, enabled: true });
    await fresh.delete('gone');
    expect(await fresh.keys()).toEqual(['a', 'b']);
    expect((await fresh.entries()).map((e) => [e.key, e.value.mtu])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('lists only the keys and entries a subject-style filter matches', async () => {
    const tree = await openKvStore(nc, { bucket: 'filter-test', schema: portSpec });
    for (const [key, mtu] of [
      ['br1', 1],
      ['br1.p1', 2],
      ['br1.p2', 3],
      ['br1.p2.q', 4],
      ['br10.p1', 5],
      ['br2.p1', 6],
    ] as const) {
      await tree.create(key, { mtu, enabled: true });
    }
    await tree.delete('br1.p1');
    expect(await tree.keys('br1.*')).toEqual(['br1.p2']);
    expect(await tree.keys('br1.>')).toEqual(['br1.p2', 'br1.p2.q']);
    expect(await tree.keys('*.p1')).toEqual(['br10.p1', 'br2.p1']);
    expect(await tree.keys('br1')).toEqual(['br1']);
    expect(await tree.keys('br3.*')).toEqual([]);
    expect((await tree.entries({ filter: 'br1.>' })).map((e) => [e.key, e.value.mtu])).toEqual([
      ['br1.p2', 3],
      ['br1.p2.q', 4],
    ]);
    for (const bad of ['', 'br1.', '>.p1', 'br1..p1', 'br 1.*', 'br1.p*']) {
      await expect(tree.keys(bad)).rejects.toBeInstanceOf(KvKeyError);
      await expect(tree.entries({ filter: bad })).rejects.toBeInstanceOf(KvKeyError);
    }
  });

  it('starts a watch with the current value of every matching key, then follows changes', async () => {
    const watched = await openKvStore(nc, { bucket: 'watch-initial', schema: portSpec });
    const r1 = await watched.create('a.one', { mtu: 1, enabled: true });
    await watched.update('a.one', { mtu: 2, enabled: true }, r1);
    await watched.create('a.two', { mtu: 3, enabled: true });
    await watched.create('a.gone', { mtu: 4, enabled: true });
    await watched.delete('a.gone');
    await watched.create('b.other', { mtu: 5, enabled: true });
    const controller = new AbortController();
    const changes: Array<KvChange<PortSpec>> = [];
    const watching = (async () => {
      for await (const change of watched.watch({ key: 'a.*', signal: controller.signal }))
        changes.push(change);
    })();
    // The latest state of each matching key, deletes included, and nothing of other keys.
    await waitFor(() => changes.length === 3, { message: 'the current values' });
    await watched.put('b.other', { mtu: 6, enabled: true });
    await watched.put('a.two', { mtu: 7, enabled: false });
    await waitFor(() => changes.length === 4, { message: 'a live change' });
    controller.abort();
    await watching;
    expect(changes.map((c) => [c.key, c.operation, c.value?.mtu])).toEqual([
      ['a.one', 'put', 2],
      ['a.two', 'put', 3],
      ['a.gone', 'delete', undefined],
      ['a.two', 'put', 7],
    ]);
  });

  it('watches changes and deletes as they happen', async () => {
    const watched = await openKvStore(nc, { bucket: 'watch-test', schema: portSpec });
    await watched.create('before', { mtu: 1, enabled: true });
    const controller = new AbortController();
    const changes: Array<KvChange<PortSpec>> = [];
    const watching = (async () => {
      for await (const change of watched.watch({ signal: controller.signal })) changes.push(change);
    })();
    await waitFor(() => changes.length === 1, { message: 'the initial value' });
    const r = await watched.create('live', { mtu: 2, enabled: true });
    await watched.update('live', { mtu: 3, enabled: false }, r);
    await watched.delete('live');
    await waitFor(() => changes.length === 4, { message: 'three live changes' });
    controller.abort();
    await watching;
    expect(changes.map((c) => [c.key, c.operation, c.value?.mtu])).toEqual([
      ['before', 'put', 1],
      ['live', 'put', 2],
      ['live', 'put', 3],
      ['live', 'delete', undefined],
    ]);
  });

  it('tells when the watcher has started, before any change, so none after it is missed', async () => {
    const watched = await openKvStore(nc, { bucket: 'watch-started', schema: portSpec });
    const controller = new AbortController();
    const seen: string[] = [];
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const watching = (async () => {
      for await (const change of watched.watch({
        updatesOnly: true,
        signal: controller.signal,
        onStarted: started,
      }))
        seen.push(change.key);
    })();
    await ready;
    expect(seen).toEqual([]);
    await watched.put('after-start', { mtu: 1, enabled: true });
    await waitFor(() => seen.length === 1, { message: 'the change after onStarted' });
    controller.abort();
    await watching;
    expect(seen).toEqual(['after-start']);
  });

  it('resumes a watch from a revision', async () => {
    const resumed = await openKvStore(nc, { bucket: 'resume-test', schema: portSpec, history: 10 });
    const r1 = await resumed.create('k', { mtu: 1, enabled: true });
    const r2 = await resumed.update('k', { mtu: 2, enabled: true }, r1);
    await resumed.update('k', { mtu: 3, enabled: true }, r2);
    const controller = new AbortController();
    const seen: Array<[number, number | undefined]> = [];
    const watching = (async () => {
      for await (const change of resumed.watch({ fromRevision: r2, signal: controller.signal })) {
        seen.push([change.revision, change.value?.mtu]);
      }
    })();
    await waitFor(() => seen.length === 2, { message: 'revisions from r2 on' });
    await resumed.put('k', { mtu: 4, enabled: true });
    await waitFor(() => seen.length === 3, { message: 'a live change after the replay' });
    controller.abort();
    await watching;
    expect(seen.map(([, mtu]) => mtu)).toEqual([2, 3, 4]);
    expect(seen[0]?.[0]).toBe(r2);
  });

  it('ends a watch at once when its signal is already aborted', async () => {
    const changes: unknown[] = [];
    for await (const change of store.watch({ signal: AbortSignal.abort() })) changes.push(change);
    expect(changes).toEqual([]);
  });

  it('skips a corrupt value in a watch and reports it', async () => {
    const watched = await openKvStore(nc, { bucket: 'watch-corrupt', schema: portSpec });
    const raw = await new Kvm(nc).open('watch-corrupt');
    const controller = new AbortController();
    const changes: string[] = [];
    const invalid: string[] = [];
    const watching = (async () => {
      for await (const change of watched.watch({
        signal: controller.signal,
        updatesOnly: true,
        onInvalid: (error) => invalid.push(`${error.key}@${error.revision}`),
      }))
        changes.push(change.key);
    })();
    await sleep(100);
    const corruptRevision = await raw.put('bad', '[1,2,3]');
    await watched.put('good', { mtu: 1, enabled: true });
    await waitFor(() => changes.length === 1, { message: 'the valid change' });
    controller.abort();
    await watching;
    expect(changes).toEqual(['good']);
    expect(invalid).toEqual([`bad@${corruptRevision}`]);
  });

  it('lists, reads and scans history without leaving consumers on the server', async () => {
    const jsz = async () =>
      (
        (await (
          await fetch(`http://127.0.0.1:${server.monitorPort}/jsz?consumers=true`)
        ).json()) as {
          consumers: number;
        }
      ).consumers;
    const before = await jsz();
    for (let i = 0; i < 3; i++) {
      await store.keys();
      await store.keys('*');
      await store.entries();
      await store.entries({ filter: 'p1' });
      await store.history('p2');
    }
    expect(await jsz()).toBe(before);
  });

  it('keeps the configured number of revisions as history', async () => {
    let revision = await store.create('h', { mtu: 1, enabled: true });
    for (let mtu = 2; mtu <= 7; mtu++)
      revision = await store.update('h', { mtu, enabled: true }, revision);
    const history = await store.history('h');
    expect(history.map((c) => c.value?.mtu)).toEqual([3, 4, 5, 6, 7]);
    expect(history.every((c) => c.operation === 'put')).toBe(true);
  });

  it('sets bucket-wide max age for leases and updates it on reopen', async () => {
    await openKvStore(nc, { bucket: 'leases', schema: portSpec, maxAgeMs: 5000 });
    await openKvStore(nc, { bucket: 'leases', schema: portSpec, maxAgeMs: 10_000, history: 2 });
    const info = await (await jetstreamManager(nc)).streams.info('KV_leases');
    expect(info.config.max_age).toBe(10_000 * 1_000_000);
    expect(info.config.max_msgs_per_subject).toBe(2);
  });

  it('rejects bad bucket names, keys and revisions with named errors', async () => {
    await expect(openKvStore(nc, { bucket: 'a.b', schema: portSpec })).rejects.toThrow(/^bucket: /);
    await expect(
      openKvStore(nc, { bucket: 'ok', schema: portSpec, history: 65 }),
    ).rejects.toBeInstanceOf(BusConfigError);
    await expect(store.get('bad key')).rejects.toBeInstanceOf(KvKeyError);
    await expect(store.get('.leading')).rejects.toBeInstanceOf(KvKeyError);
    await expect(store.update('p1', { mtu: 1, enabled: true }, 0)).rejects.toThrow(
      /^expectedRevision: /,
    );
  });
});

describe('kvBucketName', () => {
  it('joins parts with underscores and replaces characters buckets cannot hold', () => {
    expect(kvBucketName('opi.network.Port', 'dpu0')).toBe('opi-network-Port_dpu0');
    expect(kvBucketName('leases')).toBe('leases');
    expect(() => kvBucketName('kind', '')).toThrow(/part 2 is empty/);
    expect(() => kvBucketName()).toThrow(KvKeyError);
  });
});
