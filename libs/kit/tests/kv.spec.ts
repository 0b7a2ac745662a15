// The kit's buckets against a real nats-server: @opi/bus stores with the kit's callback watch.
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import * as bus from '@opi/bus';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@opi/testing';
import { JsonBucket, KvConflictError, KvValueError } from '../src/index.js';
import { watchBucket, type BucketChange } from '../src/kv.js';
import { useNatsServer } from './support/nats.js';

const nats = useNatsServer();

interface Item {
  n: number;
}

describe('JsonBucket', () => {
  it('is a bus KV store: its errors are the bus errors, keys take a subject filter', async () => {
    expect(KvConflictError).toBe(bus.KvConflictError);
    expect(KvValueError).toBe(bus.KvValueError);
    const bucket = await JsonBucket.open<Item>(nats.nc, 'kit-kv-plain', { history: 2 });
    const revision = await bucket.create('a', { n: 1 });
    await expect(bucket.create('a', { n: 2 })).rejects.toBeInstanceOf(KvConflictError);
    await bucket.update('a', { n: 3 }, revision);
    await expect(bucket.update('a', { n: 4 }, revision)).rejects.toBeInstanceOf(KvConflictError);
    await bucket.create('a.child', { n: 5 });
    expect(await bucket.keys('a.*')).toEqual(['a.child']);
    expect((await bucket.get('a'))?.value).toEqual({ n: 3 });
    const raw = await new Kvm(nats.nc).open('kit-kv-plain');
    await raw.put('broken', 'not json');
    await expect(bucket.get('broken')).rejects.toBeInstanceOf(KvValueError);
    expect((await bucket.entries()).map((entry) => entry.key)).toEqual(['a', 'a.child']);
  });
});

describe('watchBucket', () => {
  it('delivers current values, then changes in order, malformed ones flagged, despite a throwing callback', async () => {
    const bucket = await JsonBucket.open<Item>(nats.nc, 'kit-kv-watch');
    const raw = await new Kvm(nats.nc).open('kit-kv-watch');
    await bucket.create('x.before', { n: 1 });
    await bucket.create('other', { n: 0 });
    const seen: Array<BucketChange<Item>> = [];
    const stop = new AbortController();
    watchBucket(
      bucket,
      async (change) => {
        seen.push(change);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (change.value?.n === 2) throw new Error('callback failure');
      },
      stop.signal,
      'x.*',
    );
    await waitFor(() => seen.length === 1, { message: 'the current value' });
    await bucket.put('x.live', { n: 2 });
    const malformedRevision = await raw.put('x.live', '{oops');
    await bucket.put('other', { n: 9 });
    await bucket.delete('x.before');
    await waitFor(() => seen.length === 4, { message: 'three changes' });
    stop.abort();
    await bucket.put('x.after', { n: 3 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.map(({ key, value, malformed }) => [key, value?.n, malformed ?? false])).toEqual([
      ['x.before', 1, false],
      ['x.live', 2, false],
      ['x.live', undefined, true],
      ['x.before', undefined, false],
    ]);
    expect(seen[2]?.revision).toBe(malformedRevision);
  });

  it('resolves once the watcher exists and rejects when it cannot start', async () => {
    const bucket = await JsonBucket.open<Item>(nats.nc, 'kit-kv-started');
    const seen: string[] = [];
    const stop = new AbortController();
    await watchBucket(bucket, (change) => void seen.push(change.key), stop.signal);
    await bucket.put('first', { n: 1 });
    await waitFor(() => seen.length === 1, { message: 'the first change' });
    stop.abort();
    expect(seen).toEqual(['first']);

    const closing = await connect({ servers: nats.server.url });
    const orphan = await JsonBucket.open<Item>(closing, 'kit-kv-started');
    await closing.close();
    await expect(
      watchBucket(orphan, () => undefined, new AbortController().signal),
    ).rejects.toThrow();
  });
});
