// Minimal JSON key-value adapter over @nats-io/kv (see README "Decisions": replace with
// @opi/bus openKvStore once it offers the same operations).
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/** KvConflictError: a create found the key present, or an update saw another revision. */
export class KvConflictError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'KvConflictError';
  }
}

/** KvValueError: a stored value is not valid JSON (written by something else, or corrupted). */
export class KvValueError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`${bucket}/${key}: stored value is not valid JSON`);
    this.name = 'KvValueError';
  }
}

/** A stored value with the revision to pass to a conditional update. */
export interface Versioned<T> {
  value: T;
  revision: number;
}

/** One change seen by {@link JsonBucket.watch}. */
export interface BucketChange<T> {
  key: string;
  revision: number;
  /** undefined for a delete or purge, or when the value is malformed. */
  value: T | undefined;
  /** Set when the stored value is not valid JSON. */
  malformed?: boolean;
}

const isConflict = (error: unknown) =>
  error instanceof Error &&
  /wrong last sequence|key exists|10071/i.test(
    `${error.message} ${String((error as { code?: unknown }).code ?? '')}`,
  );

/** JsonBucket stores JSON values in one JetStream KV bucket with optimistic concurrency. */
export class JsonBucket<T> {
  private constructor(
    readonly name: string,
    private readonly kv: KV,
    private readonly nc: NatsConnection,
  ) {}

  /** open creates the bucket if needed (idempotent) and binds to it. */
  static async open<T>(
    nc: NatsConnection,
    name: string,
    options: { history?: number } = {},
  ): Promise<JsonBucket<T>> {
    const kv = await new Kvm(nc).create(name, { history: options.history ?? 1 });
    return new JsonBucket<T>(name, kv, nc);
  }

  /** get returns the value and revision, or undefined when absent or deleted. */
  async get(key: string): Promise<Versioned<T> | undefined> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return undefined;
    let value: T;
    try {
      value = entry.json<T>();
    } catch {
      throw new KvValueError(this.name, key);
    }
    return { value, revision: entry.revision };
  }

  /** create stores a new key. @throws KvConflictError when the key exists. */
  async create(key: string, value: T): Promise<number> {
    try {
      return await this.kv.create(key, JSON.stringify(value));
    } catch (error) {
      if (isConflict(error)) throw new KvConflictError(key, 'already exists');
      throw error;
    }
  }

  /** update stores a value if the key is still at `revision`. @throws KvConflictError otherwise. */
  async update(key: string, value: T, revision: number): Promise<number> {
    try {
      return await this.kv.update(key, JSON.stringify(value), revision);
    } catch (error) {
      if (isConflict(error)) throw new KvConflictError(key, `changed since revision ${revision}`);
      throw error;
    }
  }

  /** put stores unconditionally (only for values one writer owns, e.g. reconciler status). */
  put(key: string, value: T): Promise<number> {
    return this.kv.put(key, JSON.stringify(value));
  }

  /** delete removes a key, conditionally on `revision` when given. @throws KvConflictError. */
  async delete(key: string, revision?: number): Promise<void> {
    try {
      await this.kv.delete(key, revision === undefined ? undefined : { previousSeq: revision });
    } catch (error) {
      if (isConflict(error)) throw new KvConflictError(key, `changed since revision ${revision}`);
      throw error;
    }
  }

  /** keys lists the present keys matching `filter` (NATS subject wildcards). */
  async keys(filter = '>'): Promise<string[]> {
    return (await this.scan(filter, true)).map((entry) => entry.key);
  }

  /** entries reads the present keys matching `filter` with their values in one pass (skipping malformed ones). */
  async entries(filter = '>'): Promise<Array<Versioned<T> & { key: string }>> {
    const out: Array<Versioned<T> & { key: string }> = [];
    for (const entry of await this.scan(filter, false)) {
      try {
        out.push({
          key: entry.key,
          revision: entry.revision,
          value: JSON.parse(new TextDecoder().decode(entry.data)) as T,
        });
      } catch {
        // Malformed values are skipped here; get() reports them with KvValueError.
      }
    }
    return out;
  }

  /**
   * scan reads the latest message of every key matching `filter` with one ordered consumer that
   * it deletes afterwards (the KV client's keys() leaves its consumer on the server for minutes,
   * which adds up when List runs often). Deleted keys are skipped.
   */
  private async scan(
    filter: string,
    headersOnly: boolean,
  ): Promise<Array<{ key: string; revision: number; data: Uint8Array }>> {
    const prefix = `$KV.${this.name}.`;
    const consumer = await jetstream(this.nc).consumers.get(`KV_${this.name}`, {
      filter_subjects: `${prefix}${filter}`,
      deliver_policy: DeliverPolicy.LastPerSubject,
      headers_only: headersOnly,
      inactive_threshold: 5000,
    });
    const out: Array<{ key: string; revision: number; data: Uint8Array }> = [];
    try {
      if ((await consumer.info(true)).num_pending === 0) return out;
      const messages = await consumer.consume({ max_messages: 256 });
      try {
        for await (const msg of messages) {
          const operation = msg.headers?.get('KV-Operation');
          if (operation !== 'DEL' && operation !== 'PURGE') {
            out.push({
              key: msg.subject.slice(prefix.length),
              revision: msg.info.streamSequence,
              data: msg.data,
            });
          }
          if (msg.info.pending === 0) break;
        }
      } finally {
        await messages.close();
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return out;
  }

  /**
   * watch delivers the current value of every key, then every change, until `signal` aborts.
   * `onChange` runs sequentially in revision order.
   */
  async watch(
    onChange: (change: BucketChange<T>) => void | Promise<void>,
    signal: AbortSignal,
    key = '>',
  ): Promise<void> {
    const iterator = await this.kv.watch({ key });
    const stop = () => iterator.stop();
    signal.addEventListener('abort', stop, { once: true });
    void (async () => {
      for await (const entry of iterator as AsyncIterable<KvWatchEntry>) {
        // A value that is not JSON is passed on as `malformed` (the key still matters to
        // watchers); a throwing callback must not end the watch for everyone.
        let value: T | undefined;
        let malformed = false;
        if (entry.operation === 'PUT') {
          try {
            value = entry.json<T>();
          } catch {
            malformed = true;
          }
        }
        try {
          await onChange({
            key: entry.key,
            revision: entry.revision,
            value,
            ...(malformed ? { malformed } : {}),
          });
        } catch {
          // The callback reports its own failures.
        }
      }
    })().catch(() => undefined);
  }
}
