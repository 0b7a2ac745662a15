import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { z } from 'zod';
import {
  BusConfigError,
  BusError,
  KvConflictError,
  KvKeyError,
  KvValueError,
  formatIssues,
} from './errors.js';
import { isNotFound, jetstreamManagerOrThrow, msToNanos, wrapJetStream } from './event-stream.js';
import { busJetStream } from './jetstream-client.js';

const BUCKET = /^[A-Za-z0-9_-]+$/;
const KEY = /^[-/_=.a-zA-Z0-9]+$/;
const KEY_TOKEN = /^[-/_=a-zA-Z0-9]+$/;

/**
 * kvBucketName joins parts (e.g. a resource kind and a node id) into a valid bucket name:
 * characters outside `[A-Za-z0-9_-]` become `-`, parts are joined with `_`. Example:
 * `kvBucketName('opi.network.Port', 'dpu0')` → `opi-network-Port_dpu0`. Throws
 * {@link KvKeyError} for an empty part.
 */
export function kvBucketName(...parts: string[]): string {
  if (parts.length === 0) throw new KvKeyError('kvBucketName needs at least one part');
  return parts
    .map((part, index) => {
      if (typeof part !== 'string' || part.length === 0) {
        throw new KvKeyError(`kvBucketName part ${index + 1} is empty`);
      }
      return part.replace(/[^A-Za-z0-9_-]/g, '-');
    })
    .join('_');
}

/** validateKvKey throws {@link KvKeyError} unless `key` is a valid NATS KV key. */
export function validateKvKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new KvKeyError('kv key must be a non-empty string');
  if (!KEY.test(key) || key.startsWith('.') || key.endsWith('.') || key.includes('..')) {
    throw new KvKeyError(
      `kv key ${JSON.stringify(key)} is invalid: use A-Z a-z 0-9 - / _ = and non-leading, non-trailing single dots`,
    );
  }
  return key;
}

/**
 * validateKvKeyFilter throws {@link KvKeyError} unless `filter` is a key or a subject-style
 * pattern over keys: dot-separated tokens, each a key token, `*` (one token) or, last, `>`
 * (one or more tokens).
 */
function validateKvKeyFilter(filter: unknown): string {
  if (typeof filter !== 'string' || filter.length === 0)
    throw new KvKeyError('kv key filter must be a non-empty string');
  const tokens = filter.split('.');
  tokens.forEach((token, index) => {
    const wildcard = token === '*' || (token === '>' && index === tokens.length - 1);
    if (!wildcard && !KEY_TOKEN.test(token)) {
      throw new KvKeyError(
        `kv key filter ${JSON.stringify(filter)} is invalid: use dot-separated key tokens, * or a final >`,
      );
    }
  });
  return filter;
}

/** Options of {@link openKvStore}. */
export interface KvStoreOptions<S extends z.ZodType> {
  /** Bucket name, e.g. from {@link kvBucketName}. */
  bucket: string;
  /** Validates values on write and on read. */
  schema: S;
  /** Revisions kept per key (1–64, default 1). */
  history?: number;
  /** Age after which the server removes an entry (bucket-wide TTL); default none. */
  maxAgeMs?: number;
  replicas?: number;
  /** File (default) or memory storage. */
  storage?: 'file' | 'memory';
}

/** A stored value with its revision (the stream sequence of the write). */
export interface KvValue<T> {
  value: T;
  revision: number;
}

/** What happened to a key. */
export type KvOperation = 'put' | 'delete' | 'purge';

/** One change seen by `watch` or `history`; `value` is undefined for deletes and purges. */
export interface KvChange<T> {
  key: string;
  value: T | undefined;
  revision: number;
  operation: KvOperation;
  /** When the server stored the change. */
  created: Date;
}

/** Options of `KvStore.entries`. */
export interface KvEntriesOptions {
  /** Only keys matching this pattern (wildcards `*` and `>` allowed); default all. */
  filter?: string;
  /** Receives values that fail the schema; they are skipped. Default: ignored silently. */
  onInvalid?: (error: KvValueError) => void;
}

/** Options of `KvStore.watch`. */
export interface KvWatchOptions {
  /** Replay every retained revision first (default: only the latest value of each key). */
  includeHistory?: boolean;
  /** Only changes made after the watch starts. */
  updatesOnly?: boolean;
  /**
   * Resume: every change from this revision on (e.g. the last revision handled plus one), then
   * live changes; overrides `includeHistory` and `updatesOnly`. Changes the bucket no longer
   * retains (history limit, max age) are gone.
   */
  fromRevision?: number;
  /** Only these keys (wildcards `*` and `>` allowed). */
  key?: string;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** Receives values that fail the schema; they are skipped. Default: ignored silently. */
  onInvalid?: (error: KvValueError) => void;
  /**
   * Called once the server-side watcher exists, before any change is delivered: a caller that
   * consumes the iteration in the background can wait for this (e.g. before reporting ready).
   */
  onStarted?: () => void;
}

/** A typed view of one JetStream KV bucket; see {@link openKvStore}. */
export interface KvStore<T> {
  readonly bucket: string;
  /** The latest value, or undefined if missing or deleted. Throws {@link KvValueError} if corrupt. */
  get(key: string): Promise<KvValue<T> | undefined>;
  /** Creates the key; throws {@link KvConflictError} if it exists. Returns the new revision. */
  create(key: string, value: T): Promise<number>;
  /** Writes if the key is at `expectedRevision`, else throws {@link KvConflictError}. */
  update(key: string, value: T, expectedRevision: number): Promise<number>;
  /** Writes unconditionally; returns the new revision. */
  put(key: string, value: T): Promise<number>;
  /** Deletes (keeps history); with `expectedRevision`, only if the key is at that revision. */
  delete(key: string, expectedRevision?: number): Promise<void>;
  /**
   * Keys that currently have a value, sorted; with `filter`, only those matching it (e.g.
   * `'bridge1.*'` or `'bridge1.>'`). Throws {@link KvKeyError} for a malformed filter.
   */
  keys(filter?: string): Promise<string[]>;
  /** Current values of the keys (all or `filter`ed), sorted by key; corrupt values are reported through `onInvalid` and skipped. */
  entries(options?: KvEntriesOptions): Promise<Array<KvValue<T> & { key: string }>>;
  /**
   * The current value of every key first (unless `updatesOnly` or `fromRevision`), then changes
   * as they happen. The server-side watcher starts with the first `next()` of the iteration;
   * nothing is missed in between because the current values are delivered.
   */
  watch(options?: KvWatchOptions): AsyncIterable<KvChange<T>>;
  /** Retained revisions of `key`, oldest first. */
  history(key: string): Promise<Array<KvChange<T>>>;
}

/**
 * openKvStore creates the bucket if needed (updating history and max age of an existing one
 * to the options) and returns a typed store whose values are JSON validated by `schema` on
 * write and on read.
 */
export async function openKvStore<S extends z.ZodType>(
  nc: NatsConnection,
  options: KvStoreOptions<S>,
): Promise<KvStore<z.output<S>>> {
  const bucket = options.bucket;
  if (typeof bucket !== 'string' || !BUCKET.test(bucket)) {
    throw new BusConfigError(
      'bucket',
      `${JSON.stringify(bucket)} is not a valid bucket name (use kvBucketName)`,
    );
  }
  const history = options.history ?? 1;
  if (!Number.isInteger(history) || history < 1 || history > 64) {
    throw new BusConfigError('history', 'must be an integer from 1 to 64');
  }
  if (options.maxAgeMs !== undefined && !(options.maxAgeMs > 0)) {
    throw new BusConfigError('maxAgeMs', 'must be a positive number');
  }
  const jsm = await jetstreamManagerOrThrow(nc);
  let kv: KV;
  try {
    kv = await new Kvm(busJetStream(nc)).create(bucket, {
      history,
      replicas: options.replicas ?? 1,
      storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      ...(options.maxAgeMs === undefined ? {} : { ttl: options.maxAgeMs }),
    });
    const info = await jsm.streams.info(`KV_${bucket}`);
    const wantAge = options.maxAgeMs === undefined ? 0 : msToNanos(options.maxAgeMs);
    if (info.config.max_msgs_per_subject !== history || info.config.max_age !== wantAge) {
      await jsm.streams.update(`KV_${bucket}`, {
        ...info.config,
        max_msgs_per_subject: history,
        max_age: wantAge,
      });
    }
  } catch (error) {
    throw wrapJetStream(error, `opening kv bucket ${bucket}`);
  }
  return new TypedKvStore(bucket, kv, options.schema, nc);
}

class TypedKvStore<S extends z.ZodType> implements KvStore<z.output<S>> {
  constructor(
    readonly bucket: string,
    private readonly kv: KV,
    private readonly schema: S,
    private readonly nc: NatsConnection,
  ) {}

  async get(key: string): Promise<KvValue<z.output<S>> | undefined> {
    validateKvKey(key);
    const entry = await this.kv.get(key).catch((error: unknown) => {
      throw wrapJetStream(error, `kv get ${this.bucket}/${key}`);
    });
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return { value: this.decode(fromKvEntry(entry)), revision: entry.revision };
  }

  async create(key: string, value: z.output<S>): Promise<number> {
    validateKvKey(key);
    const body = this.encode(key, value);
    try {
      return await this.kv.create(key, body);
    } catch (error) {
      throw this.writeError(error, key, 0);
    }
  }

  async update(key: string, value: z.output<S>, expectedRevision: number): Promise<number> {
    validateKvKey(key);
    if (!Number.isInteger(expectedRevision) || expectedRevision < 1) {
      throw new BusConfigError(
        'expectedRevision',
        'must be an integer ≥ 1 (use create for new keys)',
      );
    }
    const body = this.encode(key, value);
    try {
      return await this.kv.update(key, body, expectedRevision);
    } catch (error) {
      throw this.writeError(error, key, expectedRevision);
    }
  }

  async put(key: string, value: z.output<S>): Promise<number> {
    validateKvKey(key);
    const body = this.encode(key, value);
    return await this.kv.put(key, body).catch((error: unknown) => {
      throw wrapJetStream(error, `kv put ${this.bucket}/${key}`);
    });
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    validateKvKey(key);
    try {
      await this.kv.delete(
        key,
        expectedRevision === undefined ? undefined : { previousSeq: expectedRevision },
      );
    } catch (error) {
      throw this.writeError(error, key, expectedRevision ?? 0);
    }
  }

  async keys(filter = '>'): Promise<string[]> {
    validateKvKeyFilter(filter);
    // Headers only: listing keys need not transfer every value.
    const latest = await this.scan(filter, DeliverPolicy.LastPerSubject, true);
    return latest.filter((entry) => entry.operation === 'PUT').map((entry) => entry.key);
  }

  async entries(
    options: KvEntriesOptions = {},
  ): Promise<Array<KvValue<z.output<S>> & { key: string }>> {
    const { filter = '>', onInvalid } = options;
    validateKvKeyFilter(filter);
    const out: Array<KvValue<z.output<S>> & { key: string }> = [];
    for (const entry of await this.scan(filter, DeliverPolicy.LastPerSubject)) {
      if (entry.operation !== 'PUT') continue;
      try {
        out.push({ key: entry.key, value: this.decode(entry), revision: entry.revision });
      } catch (error) {
        if (error instanceof KvValueError) onInvalid?.(error);
        else throw error;
      }
    }
    return out;
  }

  async *watch(options: KvWatchOptions = {}): AsyncIterable<KvChange<z.output<S>>> {
    if (options.signal?.aborted) return;
    if (
      options.fromRevision !== undefined &&
      !(Number.isInteger(options.fromRevision) && options.fromRevision >= 1)
    ) {
      throw new BusConfigError('fromRevision', 'must be an integer ≥ 1');
    }
    const iterator = await this.kv.watch({
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(options.fromRevision === undefined
        ? { include: options.updatesOnly ? 'updates' : options.includeHistory ? 'history' : '' }
        : { resumeFromRevision: options.fromRevision }),
    });
    const abort = () => iterator.stop();
    options.signal?.addEventListener('abort', abort, { once: true });
    options.onStarted?.();
    try {
      for await (const entry of iterator) {
        const change = this.change(fromKvEntry(entry), options.onInvalid);
        if (change) yield change;
      }
    } finally {
      options.signal?.removeEventListener('abort', abort);
      iterator.stop();
    }
  }

  async history(key: string): Promise<Array<KvChange<z.output<S>>>> {
    validateKvKey(key);
    const out: Array<KvChange<z.output<S>>> = [];
    for (const entry of await this.scan(key, DeliverPolicy.All)) {
      const change = this.change(entry);
      if (change) out.push(change);
    }
    return out;
  }

  /**
   * scan reads the stored entries of `keyFilter` (latest per key, or all revisions) with one
   * ephemeral ordered consumer that it deletes afterwards. The KV client's own keys() and
   * history() leave their consumers on the server for 5 minutes, which adds up in loops.
   * With `headersOnly`, `data` is empty.
   */
  private async scan(
    keyFilter: string,
    deliverPolicy: DeliverPolicy,
    headersOnly = false,
  ): Promise<RawKvEntry[]> {
    const prefix = `$KV.${this.bucket}.`;
    const consumer = await busJetStream(this.nc)
      .consumers.get(`KV_${this.bucket}`, {
        filter_subjects: `${prefix}${keyFilter}`,
        deliver_policy: deliverPolicy,
        headers_only: headersOnly,
        inactive_threshold: 5000,
      })
      .catch((error: unknown) => {
        throw wrapJetStream(error, `kv scan ${this.bucket}`);
      });
    const out: RawKvEntry[] = [];
    try {
      if ((await consumer.info(true)).num_pending === 0) return out;
      const messages = await consumer.consume({ max_messages: 256 });
      try {
        for await (const msg of messages) {
          const operation = msg.headers?.get('KV-Operation');
          out.push({
            key: msg.subject.slice(prefix.length),
            revision: msg.info.streamSequence,
            operation: operation === 'DEL' || operation === 'PURGE' ? operation : 'PUT',
            created: new Date(Math.floor(msg.info.timestampNanos / 1_000_000)),
            data: msg.data,
          });
          if (msg.info.pending === 0) break;
        }
      } finally {
        await messages.close();
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.revision - b.revision));
  }

  private change(
    entry: RawKvEntry,
    onInvalid?: (error: KvValueError) => void,
  ): KvChange<z.output<S>> | undefined {
    const operation: KvOperation =
      entry.operation === 'PUT' ? 'put' : entry.operation === 'DEL' ? 'delete' : 'purge';
    let value: z.output<S> | undefined;
    if (operation === 'put') {
      try {
        value = this.decode(entry);
      } catch (error) {
        if (!(error instanceof KvValueError)) throw error;
        onInvalid?.(error);
        return undefined;
      }
    }
    return { key: entry.key, value, revision: entry.revision, operation, created: entry.created };
  }

  private encode(key: string, value: z.output<S>): string {
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) {
      throw new KvValueError(this.bucket, key, 0, formatIssues(parsed.error.issues, 'value'));
    }
    return JSON.stringify(parsed.data);
  }

  private decode(entry: RawKvEntry): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(entry.data));
    } catch {
      // JSON.parse quotes the text in its message, and values may hold secrets.
      throw new KvValueError(this.bucket, entry.key, entry.revision, [
        `value (${entry.data.length} bytes) is not valid JSON`,
      ]);
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      throw new KvValueError(
        this.bucket,
        entry.key,
        entry.revision,
        formatIssues(parsed.error.issues, 'value'),
      );
    }
    return parsed.data;
  }

  private writeError(error: unknown, key: string, expectedRevision: number): BusError {
    const code = (error as { code?: unknown })?.code;
    const message = (error as Error)?.message ?? '';
    if (code === 10071 || code === 10164 || /wrong last sequence|key exists/i.test(message)) {
      return new KvConflictError(this.bucket, key, expectedRevision, error);
    }
    if (isNotFound(error)) return wrapJetStream(error, `kv ${this.bucket}/${key}`);
    return wrapJetStream(error, `kv write ${this.bucket}/${key}`);
  }
}

/** One stored KV message, from the KV client or from a scan. */
interface RawKvEntry {
  key: string;
  revision: number;
  operation: 'PUT' | 'DEL' | 'PURGE';
  created: Date;
  data: Uint8Array;
}

function fromKvEntry(entry: KvEntry): RawKvEntry {
  return {
    key: entry.key,
    revision: entry.revision,
    operation: entry.operation,
    created: entry.created,
    data: entry.value,
  };
}
