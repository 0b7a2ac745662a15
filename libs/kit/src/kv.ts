// The kit's buckets are @opi/bus KV stores; this module only adds what is the kit's own: values
// validated by the kit rather than by a bus schema, and a callback watch for reconcilers.
import type { NatsConnection } from '@nats-io/transport-node';
import { openKvStore, type KvStore } from '@opi/bus';
import { z } from 'zod';

export { KvConflictError, KvValueError } from '@opi/bus';

/**
 * JsonBucket is a `@opi/bus` {@link KvStore} of JSON values the kit validates itself (resource
 * records against their kind, leases and claims by construction), so the store's schema accepts
 * any value.
 */
export type JsonBucket<T> = KvStore<T>;

/** JsonBucket.open creates the bucket if needed (idempotent) and binds to it. */
export const JsonBucket = {
  /** open binds bucket `name`, keeping `history` revisions per key (default 1). */
  open<T>(
    nc: NatsConnection,
    name: string,
    options: { history?: number } = {},
  ): Promise<JsonBucket<T>> {
    return openKvStore(nc, { bucket: name, schema: z.custom<T>(), history: options.history ?? 1 });
  },
};

/** One change seen by {@link watchBucket}. */
export interface BucketChange<T> {
  key: string;
  revision: number;
  /** undefined for a delete or purge, or when the value is malformed. */
  value: T | undefined;
  /** Set when the stored value is not valid JSON. */
  malformed?: boolean;
}

/**
 * watchBucket calls `onChange` with the current value of every key matching `key` (subject
 * wildcards allowed), then with every change, until `signal` aborts; calls run one at a time
 * in revision order. Unlike the bus watch it passes on a value that is not JSON (as
 * `malformed`: the key still matters to waiters and the reconciler), and a throwing callback
 * does not end the watch for everyone. Resolves once the watcher exists; rejects if it could
 * not be started.
 */
export function watchBucket<T>(
  bucket: JsonBucket<T>,
  onChange: (change: BucketChange<T>) => void | Promise<void>,
  signal: AbortSignal,
  key = '>',
): Promise<void> {
  // One chain keeps malformed entries (reported synchronously by the bus watch while it reads
  // the next entry) in order with the valid ones.
  let delivered = Promise.resolve();
  const deliver = (change: BucketChange<T>) =>
    (delivered = delivered.then(async () => {
      try {
        await onChange(change);
      } catch {
        // The callback reports its own failures.
      }
    }));
  return new Promise((resolve, reject) => {
    let started = false;
    const changes = bucket.watch({
      key,
      signal,
      onStarted: () => {
        started = true;
        resolve();
      },
      onInvalid: (error) =>
        void deliver({
          key: error.key,
          revision: error.revision,
          value: undefined,
          malformed: true,
        }),
    });
    void (async () => {
      for await (const change of changes) {
        await deliver({ key: change.key, revision: change.revision, value: change.value });
      }
    })()
      // An error after the start ends the watch quietly, as a stop would.
      .then(resolve, (error: unknown) => (started ? undefined : reject(error)));
  });
}
