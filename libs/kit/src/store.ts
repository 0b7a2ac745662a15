import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  eventTypes,
  resourceChangedEventSchema,
  statusChangedEventSchema,
  type ResourcePhase,
} from '@opi/api';
import { createEventPublisher, type EventPublisher, type KvValue } from '@opi/bus';
import type { ComponentObservation, JsonObject, Observation, ResourceKind } from './descriptor.js';
import {
  aborted,
  alreadyExists,
  deadlineExceeded,
  failedPrecondition,
  GrpcStatus,
  invalidArgument,
  KitError,
  notFound,
} from './errors.js';
import { applyFieldMask } from './field-mask.js';
import { canonicalJson, cloneJson, getPath, isEmptyValue, setPath } from './json-path.js';
import { JsonBucket, KvConflictError, KvValueError, watchBucket, type BucketChange } from './kv.js';
import { generateResourceId, idsOfStorageKey, storageKey, validateResourceId } from './names.js';
import { paginate } from './pagination.js';

/** Version of the kit's record envelope; records of older versions are upgraded on read. */
export const RECORD_VERSION = 1;

/** StoredResource is the desired state of one resource as kept in KV. */
export interface StoredResource {
  recordVersion: number;
  /** Version of the resource payload (the kind's `schemaVersion`). */
  schemaVersion: number;
  kind: string;
  name: string;
  uid: string;
  /** Incremented on every change of the desired state (including the start of deletion). */
  generation: number;
  /** The resource in protobuf JSON, without name, status and output-only fields. */
  resource: JsonObject;
  /** Two-phase delete: set until the device has removed the resource. */
  deleting?: boolean;
  createTime: string;
  updateTime: string;
}

/** StoredStatus is what the reconciler last observed for a resource (kept next to it in KV). */
export interface StoredStatus {
  recordVersion: number;
  /** uid of the record observed: a status left by an earlier object of the same name never counts. */
  uid?: string;
  observedGeneration: number;
  phase: 'SUCCESS' | 'ERROR';
  components: ComponentObservation[];
  details?: string;
  /** gRPC status code of a device error, returned by synchronous kinds. */
  code?: number;
  /** Output-only values reported by the device, merged into responses. */
  device?: JsonObject;
  /** Lease epoch of the writer. */
  epoch: number;
  updateTime: string;
}

/** Options of a mutating call. */
export interface CallOptions {
  /** Epoch milliseconds after which a call waiting for the device gives up. */
  deadline?: number;
  /** Internal: the id comes from a parsed name (allow_missing), not from a client `*_id`. */
  idFromName?: boolean;
}

/** A list request in kit terms. */
export interface ListQuery {
  parent?: string;
  pageSize?: number;
  pageToken?: string;
}

/** ResourceStoreOptions configures {@link ResourceStore.open}. */
export interface ResourceStoreOptions {
  nodeId: string;
  kinds: ReadonlyArray<ResourceKind<never>> | ReadonlyArray<ResourceKind>;
  /** Default wait for synchronous kinds when a call has no deadline. */
  defaultWaitMs?: number;
  /** Agent name in event subjects (`opi.<node>.evt.<agent>.<type>`). Default `kit`. */
  agent?: string;
  /** Publish events through JetStream (the event stream must exist). Default false. */
  persistEvents?: boolean;
}

/** A caller waiting for the device, told about every change of its key in either bucket. */
type Waiter = (bucket: 'desired' | 'status', change: BucketChange<unknown>) => void;

interface Claim {
  kind: string;
  key: string;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const snakePath = (path: string) => path.split('.').map(snake).join('.');
const now = () => new Date().toISOString();
const MAX_CAS_ATTEMPTS = 8;

/** Bucket names: one desired-state and one status bucket per kind and node, one claims bucket per node. */
export const desiredBucketName = (nodeId: string, kind: string) => `opi-kit-${nodeId}-${kind}`;
/** statusBucketName: where the reconciler writes what it observed. */
export const statusBucketName = (nodeId: string, kind: string) =>
  `opi-kit-${nodeId}-${kind}-status`;
/** claimsBucketName: uniqueness and shared-name reservations of a node. */
export const claimsBucketName = (nodeId: string) => `opi-kit-${nodeId}-claims`;

/**
 * ResourceStore implements the OPI/AIP resource semantics over durable desired state in
 * JetStream KV. Every replica of an agent opens one; all of them answer reads and writes.
 * Inputs and outputs are protobuf JSON objects; the gRPC layer converts messages.
 */
export class ResourceStore {
  private readonly byKind = new Map<string, ResourceKind>();
  private readonly desired = new Map<string, JsonBucket<StoredResource>>();
  private readonly status = new Map<string, JsonBucket<StoredStatus>>();
  /** Callers of synchronous kinds waiting for the device, by `kind/key`. */
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly watchAbort = new AbortController();

  private constructor(
    private readonly events: EventPublisher,
    private readonly persistEvents: boolean,
    readonly nodeId: string,
    private readonly claims: JsonBucket<Claim>,
    private readonly defaultWaitMs: number,
  ) {}

  /** open binds (creating if needed) the buckets of every kind. */
  static async open(nc: NatsConnection, options: ResourceStoreOptions): Promise<ResourceStore> {
    const claims = await JsonBucket.open<Claim>(nc, claimsBucketName(options.nodeId));
    const agent = options.agent ?? 'kit';
    const events = createEventPublisher(nc, { nodeId: options.nodeId, source: agent, agent });
    const store = new ResourceStore(
      events,
      options.persistEvents ?? false,
      options.nodeId,
      claims,
      options.defaultWaitMs ?? 10_000,
    );
    for (const kind of options.kinds as ReadonlyArray<ResourceKind>) {
      if (store.byKind.has(kind.kind)) throw new Error(`kind ${kind.kind} declared twice`);
      store.byKind.set(kind.kind, kind);
      store.desired.set(
        kind.kind,
        await JsonBucket.open(nc, desiredBucketName(options.nodeId, kind.kind), { history: 3 }),
      );
      store.status.set(
        kind.kind,
        await JsonBucket.open(nc, statusBucketName(options.nodeId, kind.kind)),
      );
    }
    for (const kind of store.byKind.values()) {
      if (kind.parent && !store.byKind.has(kind.parent))
        throw new Error(`${kind.kind}: parent kind ${kind.parent} not in this store`);
      // Synchronous kinds wait for the reconciler: one watcher per bucket wakes the waiters of the changed key.
      if (!kind.status) {
        const wake = (bucket: 'desired' | 'status') => (change: BucketChange<unknown>) =>
          store.waiters.get(`${kind.kind}/${change.key}`)?.forEach((w) => w(bucket, change));
        await watchBucket(store.statusBucket(kind.kind), wake('status'), store.watchAbort.signal);
        await watchBucket(store.desiredBucket(kind.kind), wake('desired'), store.watchAbort.signal);
      }
    }
    return store;
  }

  /** close stops the store's watchers. */
  close(): void {
    this.watchAbort.abort();
  }

  /** kinds lists the declared kinds. */
  get kinds(): ResourceKind[] {
    return [...this.byKind.values()];
  }

  /** kind returns a declared kind. @throws Error for an undeclared kind (a programming error). */
  kind(kind: string): ResourceKind {
    const found = this.byKind.get(kind);
    if (!found) throw new Error(`kind ${kind} is not declared in this store`);
    return found;
  }

  /** desiredBucket is the desired-state bucket of a kind (for controllers). */
  desiredBucket(kind: string): JsonBucket<StoredResource> {
    return this.desired.get(this.kind(kind).kind)!;
  }

  /** statusBucket is the observed-state bucket of a kind (for controllers). */
  statusBucket(kind: string): JsonBucket<StoredStatus> {
    return this.status.get(this.kind(kind).kind)!;
  }

  // ---------------------------------------------------------------- reads

  /** get returns the resource in wire JSON. @throws KitError NOT_FOUND / INVALID_ARGUMENT `name`. */
  async get(kindName: string, name: string): Promise<JsonObject> {
    const kind = this.kind(kindName);
    const key = this.keyOf(kind, name, 'name');
    const stored = await this.readDesired(kind, key);
    if (!stored) throw notFound(name);
    return this.render(kind, stored.value, (await this.statusBucket(kind.kind).get(key))?.value);
  }

  /** list returns one page of resources sorted by name, and the next page token. */
  async list(
    kindName: string,
    query: ListQuery,
  ): Promise<{ items: JsonObject[]; nextPageToken: string }> {
    const kind = this.kind(kindName);
    let filter = '>';
    let scope = kind.kind;
    if (kind.parent && query.parent) {
      const parentKind = this.kind(kind.parent);
      filter = `${this.keyOf(parentKind, query.parent, 'parent')}.*`;
      scope += `|${filter}`;
    }
    const keys = await this.desiredBucket(kind.kind).keys(filter);
    const nameToKey = new Map(keys.map((k) => [kind.nameForms.format(idsOfStorageKey(k)), k]));
    const sorted = [...nameToKey.keys()].sort();
    const { page, nextPageToken } = paginate(sorted, scope, query.pageSize, query.pageToken);
    const items = await Promise.all(
      page.map(async (name) => {
        const key = nameToKey.get(name)!;
        // A record that cannot be read is left out of the list rather than failing all of it.
        const [stored, status] = await Promise.all([
          this.readDesired(kind, key).catch(() => undefined),
          this.statusBucket(kind.kind)
            .get(key)
            .catch(() => undefined),
        ]);
        return stored ? this.render(kind, stored.value, status?.value) : undefined;
      }),
    );
    return { items: items.filter((i): i is JsonObject => i !== undefined), nextPageToken };
  }

  /** observe returns the stored record, status and observation of a resource (for `status` commands and tests). */
  async describe(
    kindName: string,
    name: string,
  ): Promise<{ record: StoredResource; status?: StoredStatus; observation: Observation }> {
    const kind = this.kind(kindName);
    const key = this.keyOf(kind, name, 'name');
    const stored = await this.readDesired(kind, key);
    if (!stored) throw notFound(name);
    const status = (await this.statusBucket(kind.kind).get(key))?.value;
    return { record: stored.value, status, observation: observationOf(stored.value, status) };
  }

  // ---------------------------------------------------------------- writes

  /**
   * create implements Create: validates, generates a UUID when `id` is empty, returns the stored
   * object for an identical re-create, ALREADY_EXISTS for a conflicting one. Kinds without status
   * return only once the device has applied the object.
   */
  async create(
    kindName: string,
    input: { parent?: string; id?: string; resource: JsonObject | undefined },
    options: CallOptions = {},
  ): Promise<JsonObject> {
    const kind = this.kind(kindName);
    const idField = snake(kind.idField);
    let parentIds: string[] = [];
    if (kind.parent) {
      if (!input.parent) throw invalidArgument('parent', 'required');
      const parentKind = this.kind(kind.parent);
      const parentKey = this.keyOf(parentKind, input.parent, 'parent');
      const parent = await this.readDesired(parentKind, parentKey);
      if (!parent || parent.value.deleting) throw notFound(input.parent, 'parent');
      parentIds = idsOfStorageKey(parentKey);
    }
    // Ids taken from an existing name (Update with allow_missing) may be server-generated UUIDs.
    if (input.id && !options.idFromName) validateResourceId(input.id, idField);
    const id = input.id || generateResourceId();
    const ids = [...parentIds, id];
    const key = storageKey(ids);
    const name = kind.nameForms.format(ids);
    const resource = this.prepareInput(kind, input.resource, 'create');

    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const existing = await this.readDesired(kind, key);
      if (existing) return this.existingOnCreate(kind, key, existing.value, resource, idField);
      await this.checkReferences(kind, resource);
      const claims = await this.claim(kind, key, resource, name);
      const record: StoredResource = {
        recordVersion: RECORD_VERSION,
        schemaVersion: kind.payloadVersion,
        kind: kind.kind,
        name,
        uid: generateResourceId(),
        generation: 1,
        resource,
        createTime: now(),
        updateTime: now(),
      };
      let revision: number;
      try {
        revision = await this.desiredBucket(kind.kind).create(key, record);
      } catch (error) {
        if (error instanceof KvConflictError) continue; // a concurrent create won; compare with it
        await this.release(claims, kind, key);
        throw error;
      }
      this.publish(kind, 'created', record, revision);
      if (!kind.status) {
        const waited = await this.waitForDevice(kind, key, record.uid, record.generation, options);
        if (waited.outcome !== 'applied') {
          await this.desiredBucket(kind.kind)
            .delete(key, revision)
            .catch(() => undefined);
          await this.release(claims, kind, key);
          throw waited.outcome;
        }
        return this.render(kind, record, waited.status);
      }
      // A new object of a status kind has no observation yet: it renders as pending.
      return this.render(kind, record, undefined);
    }
    throw aborted(`${name}: too many concurrent writers, retry`);
  }

  /**
   * update implements Update with a field mask (`*` = all fields); `allowMissing` creates an
   * absent resource. Concurrent updates re-read and re-apply their mask, so none is lost.
   */
  async update(
    kindName: string,
    input: {
      resource: JsonObject | undefined;
      updateMask?: readonly string[];
      allowMissing?: boolean;
    },
    options: CallOptions = {},
  ): Promise<JsonObject> {
    const kind = this.kind(kindName);
    const field = snake(kind.resourceField);
    if (!input.resource) throw invalidArgument(field, 'required');
    const name = input.resource['name'];
    if (typeof name !== 'string' || name === '') throw invalidArgument(`${field}.name`, 'required');
    const key = this.keyOf(kind, name, `${field}.name`);
    const patch = this.stripOutputOnly(kind, input.resource);

    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const existing = await this.readDesired(kind, key);
      if (!existing) {
        if (!input.allowMissing) throw notFound(name, `${field}.name`);
        const ids = idsOfStorageKey(key);
        const parent = kind.parent
          ? this.kind(kind.parent).nameForms.format(ids.slice(0, -1))
          : undefined;
        try {
          return await this.createWithId(kind, parent, ids[ids.length - 1]!, patch, options);
        } catch (error) {
          if (error instanceof KitError && error.code === GrpcStatus.ALREADY_EXISTS) continue;
          throw error;
        }
      }
      if (existing.value.deleting)
        throw failedPrecondition(`${name} is being deleted`, `${field}.name`);
      const merged = applyFieldMask(existing.value.resource, patch, input.updateMask, {
        fields: kind.fields,
        protectedPaths: this.protectedPaths(kind),
      });
      const resource = this.prepareInput(kind, merged, 'update');
      if (canonicalJson(resource) === canonicalJson(existing.value.resource)) {
        return this.render(
          kind,
          existing.value,
          (await this.statusBucket(kind.kind).get(key))?.value,
        );
      }
      await this.checkReferences(kind, resource);
      await this.claim(kind, key, resource, existing.value.name);
      const record: StoredResource = {
        ...existing.value,
        generation: existing.value.generation + 1,
        resource,
        updateTime: now(),
      };
      let revision: number;
      try {
        revision = await this.desiredBucket(kind.kind).update(key, record, existing.revision);
      } catch (error) {
        if (error instanceof KvConflictError) continue;
        throw error;
      }
      await this.releaseUnused(
        this.claimKeys(kind, key, existing.value.resource),
        kind,
        key,
        resource,
      );
      this.publish(kind, 'updated', record, revision);
      if (!kind.status) {
        const waited = await this.waitForDevice(kind, key, record.uid, record.generation, options);
        if (waited.outcome !== 'applied') {
          // The device refused: put the previous desired state back (as a new generation).
          const restored: StoredResource = {
            ...record,
            generation: record.generation + 1,
            resource: existing.value.resource,
          };
          await this.desiredBucket(kind.kind)
            .update(key, restored, revision)
            .then((restoredRevision) => this.publish(kind, 'updated', restored, restoredRevision))
            .catch(() => undefined);
          throw waited.outcome;
        }
        return this.render(kind, record, waited.status);
      }
      return this.render(kind, record, (await this.statusBucket(kind.kind).get(key))?.value);
    }
    throw aborted(`${name}: too many concurrent writers, retry`);
  }

  /**
   * delete implements Delete: NOT_FOUND unless `allowMissing`, FAILED_PRECONDITION while children
   * or referring resources exist. Deletion is two-phase: the resource is marked and the reconciler
   * removes it from the device, then from KV. Kinds without status wait for that.
   */
  async delete(
    kindName: string,
    input: { name: string; allowMissing?: boolean },
    options: CallOptions = {},
  ): Promise<void> {
    const kind = this.kind(kindName);
    if (!input.name) throw invalidArgument('name', 'required');
    const key = this.keyOf(kind, input.name, 'name', input.allowMissing);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const existing = key === undefined ? undefined : await this.readDesired(kind, key);
      if (!existing || key === undefined) {
        if (input.allowMissing) return;
        throw notFound(input.name);
      }
      await this.checkNotInUse(kind, key, existing.value.name);
      let record = existing.value;
      let revision = existing.revision;
      if (!record.deleting) {
        record = {
          ...record,
          deleting: true,
          generation: record.generation + 1,
          updateTime: now(),
        };
        try {
          revision = await this.desiredBucket(kind.kind).update(key, record, existing.revision);
        } catch (error) {
          if (error instanceof KvConflictError) continue;
          throw error;
        }
        this.publish(kind, 'updated', record, revision);
      }
      if (kind.status) return;
      const waited = await this.waitForDevice(kind, key, record.uid, record.generation, options);
      if (waited.outcome === 'applied') return;
      // The device could not remove it: the object stays, as it was.
      const restored: StoredResource = {
        ...record,
        deleting: false,
        generation: record.generation + 1,
      };
      await this.desiredBucket(kind.kind)
        .update(key, restored, revision)
        .catch(() => undefined);
      throw waited.outcome;
    }
    throw aborted(`${input.name}: too many concurrent writers, retry`);
  }

  // ---------------------------------------------------------------- reconciler side

  /** readRecord returns a resource's desired state by storage key (reconcilers). */
  readRecord(kindName: string, key: string): Promise<KvValue<StoredResource> | undefined> {
    return this.readDesired(this.kind(kindName), key);
  }

  /** writeStatus records what the reconciler observed and publishes a status event. */
  async writeStatus(
    kindName: string,
    key: string,
    record: StoredResource,
    status: Omit<StoredStatus, 'recordVersion' | 'updateTime'>,
  ) {
    const kind = this.kind(kindName);
    const full: StoredStatus = { recordVersion: RECORD_VERSION, updateTime: now(), ...status };
    await this.statusBucket(kind.kind).put(key, full);
    this.publishStatus(kind, record, full);
  }

  /**
   * finalizeDelete removes a resource the device no longer has: status first, then the desired
   * record conditionally on its revision (a concurrent re-create wins), then its claims.
   */
  async finalizeDelete(
    kindName: string,
    key: string,
    record: KvValue<StoredResource> | undefined,
  ): Promise<void> {
    const kind = this.kind(kindName);
    await this.statusBucket(kind.kind)
      .delete(key)
      .catch(() => undefined);
    if (record) {
      await this.desiredBucket(kind.kind).delete(key, record.revision);
      await this.releaseUnused(
        this.claimKeys(kind, key, record.value.resource),
        kind,
        key,
        undefined,
      );
      this.publish(kind, 'deleted', record.value, record.revision);
    }
  }

  // ---------------------------------------------------------------- helpers

  private async createWithId(
    kind: ResourceKind,
    parent: string | undefined,
    id: string,
    resource: JsonObject,
    options: CallOptions,
  ) {
    return this.create(kind.kind, { parent, id, resource }, { ...options, idFromName: true });
  }

  private async readDesired(
    kind: ResourceKind,
    key: string,
  ): Promise<KvValue<StoredResource> | undefined> {
    let entry: KvValue<StoredResource> | undefined;
    try {
      entry = await this.desiredBucket(kind.kind).get(key);
    } catch (error) {
      if (error instanceof KvValueError) throw new KitError(GrpcStatus.INTERNAL, error.message);
      throw error;
    }
    return entry ? this.migrated(kind, entry) : undefined;
  }

  /** Upgrades a record written with an older payload version through the kind's hook. */
  private migrated(kind: ResourceKind, entry: KvValue<StoredResource>): KvValue<StoredResource> {
    const value = entry.value;
    if (value.schemaVersion < kind.payloadVersion && kind.migrate) {
      return {
        revision: entry.revision,
        value: {
          ...value,
          resource: kind.migrate(value.resource, value.schemaVersion),
          schemaVersion: kind.payloadVersion,
        },
      };
    }
    return { revision: entry.revision, value };
  }

  /**
   * keyOf parses a name in any accepted form into its storage key. A well-formed name whose ids
   * could never have been stored is NOT_FOUND; a name of another shape is INVALID_ARGUMENT.
   */
  private keyOf(kind: ResourceKind, name: string, field: string): string;
  private keyOf(
    kind: ResourceKind,
    name: string,
    field: string,
    lenient?: boolean,
  ): string | undefined;
  private keyOf(
    kind: ResourceKind,
    name: string,
    field: string,
    lenient = false,
  ): string | undefined {
    if (!name) throw invalidArgument(field, 'required');
    const ids = kind.nameForms.parse(name);
    if (ids) return storageKey(ids);
    if (kind.nameForms.matches(name)) {
      if (lenient) return undefined;
      throw notFound(name, field);
    }
    throw invalidArgument(
      field,
      `"${name}" is not a ${kind.kind} name (expected ${kind.nameForms.canonical.template})`,
    );
  }

  private protectedPaths(kind: ResourceKind): string[] {
    return ['name', ...(kind.status ? [kind.status.field] : []), ...(kind.outputOnly ?? [])];
  }

  private stripOutputOnly(kind: ResourceKind, resource: JsonObject): JsonObject {
    const copy = cloneJson(resource);
    for (const path of this.protectedPaths(kind)) {
      if (path === 'name') continue;
      setPath(copy, path, undefined);
    }
    return copy;
  }

  /** Normalizes and validates a resource for storage. */
  private prepareInput(
    kind: ResourceKind,
    input: JsonObject | undefined,
    operation: 'create' | 'update',
  ): JsonObject {
    const field = snake(kind.resourceField);
    if (!input) throw invalidArgument(field, 'required');
    const stripped = this.stripOutputOnly(kind, input);
    delete stripped['name'];
    let message: unknown;
    try {
      message = kind.message.fromJSON(stripped);
    } catch (error) {
      throw invalidArgument(field, (error as Error).message);
    }
    // Round-trip through the message so stored JSON is canonical (defaults dropped, enums named).
    const resource = kind.message.toJSON(message as never) as JsonObject;
    delete resource['name'];
    const badNumber = nonFinitePath(resource);
    if (badNumber) throw invalidArgument(`${field}.${snakePath(badNumber)}`, 'must be a number');
    const badEnum = unrecognizedEnumPath(resource);
    if (badEnum) throw invalidArgument(`${field}.${snakePath(badEnum)}`, 'unknown enum value');
    for (const path of kind.required ?? []) {
      if (isEmptyValue(getPath(resource, path)))
        throw invalidArgument(`${field}.${snakePath(path)}`, 'required');
    }
    for (const rule of kind.references ?? []) {
      if (rule.required && isEmptyValue(getPath(resource, rule.field))) {
        throw invalidArgument(`${field}.${snakePath(rule.field)}`, 'required');
      }
    }
    kind.validate?.(message, { operation });
    return resource;
  }

  private existingOnCreate(
    kind: ResourceKind,
    key: string,
    existing: StoredResource,
    resource: JsonObject,
    idField: string,
  ): Promise<JsonObject> {
    if (existing.deleting) throw failedPrecondition(`${existing.name} is being deleted`, idField);
    if (canonicalJson(existing.resource) !== canonicalJson(resource)) {
      throw alreadyExists(`${existing.name} already exists with different content`, idField);
    }
    return this.statusBucket(kind.kind)
      .get(key)
      .then((status) => this.render(kind, existing, status?.value));
  }

  /** Resolves a reference value to an existing resource, or undefined. */
  private async resolveReference(
    kinds: readonly string[],
    value: string,
    form: 'name' | 'idOrName',
  ) {
    for (const target of kinds) {
      const kind = this.byKind.get(target);
      if (!kind) continue;
      const ids =
        kind.nameForms.parse(value) ??
        (form === 'idOrName' && kind.nameForms.canonical.arity === 1 ? [value] : undefined);
      if (!ids) continue;
      const key = storageKey(ids);
      if (!/^[a-zA-Z0-9_.-]+$/.test(key)) continue;
      const found = await this.readDesired(kind, key);
      if (found && !found.value.deleting) return { kind, key };
    }
    return undefined;
  }

  private async checkReferences(kind: ResourceKind, resource: JsonObject): Promise<void> {
    const field = snake(kind.resourceField);
    for (const rule of kind.references ?? []) {
      const raw = getPath(resource, rule.field);
      const values = (Array.isArray(raw) ? raw : [raw]).filter(
        (v): v is string => typeof v === 'string' && v !== '',
      );
      for (const value of values) {
        if (!(await this.resolveReference(rule.kinds, value, rule.form))) {
          throw new KitError(
            GrpcStatus.NOT_FOUND,
            `referenced ${rule.kinds.join('/')} "${value}" not found`,
            `${field}.${snakePath(rule.field)}`,
          );
        }
      }
    }
  }

  /** Fails with FAILED_PRECONDITION while children or referring resources exist. */
  private async checkNotInUse(kind: ResourceKind, key: string, name: string): Promise<void> {
    for (const other of this.byKind.values()) {
      if (other.parent === kind.kind) {
        const children = await this.desiredBucket(other.kind).keys(`${key}.*`);
        if (children.length > 0) {
          throw failedPrecondition(
            `${name} still has ${children.length} ${other.plural}; delete them first`,
            'name',
          );
        }
      }
      for (const rule of other.references ?? []) {
        if (!rule.kinds.includes(kind.kind)) continue;
        const bucket = this.desiredBucket(other.kind);
        for (const entry of await bucket.entries()) {
          const record = this.migrated(other, entry);
          if (record.value.deleting) continue;
          const raw = getPath(record.value.resource, rule.field);
          const values = (Array.isArray(raw) ? raw : [raw]).filter(
            (v): v is string => typeof v === 'string' && v !== '',
          );
          for (const value of values) {
            const resolved = await this.resolveReference([kind.kind], value, rule.form);
            if (resolved?.key === key) {
              throw failedPrecondition(
                `${name} is referenced by ${record.value.name} (${snakePath(rule.field)})`,
                'name',
              );
            }
          }
        }
      }
    }
  }

  /** Claim keys (uniqueness and shared name scope) a resource needs. */
  private claimKeys(kind: ResourceKind, key: string, resource: JsonObject): string[] {
    const keys: string[] = [];
    if (kind.nameScope) keys.push(`name.${kind.nameScope}.${key}`);
    for (const rule of kind.unique ?? []) {
      const value = getPath(resource, rule.field);
      if (isEmptyValue(value)) continue;
      const digest = createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 40);
      keys.push(
        `unique.${rule.scope ?? kind.kind}.${rule.field.replace(/[^a-zA-Z0-9]/g, '_')}.${digest}`,
      );
    }
    return keys;
  }

  /**
   * claim reserves every claim key for (kind, key) with create-if-absent. A claim left behind by a
   * crashed writer (its owner no longer holds the value) is taken over with a conditional update.
   */
  private async claim(
    kind: ResourceKind,
    key: string,
    resource: JsonObject,
    name: string,
  ): Promise<string[]> {
    const wanted = this.claimKeys(kind, key, resource);
    const taken: string[] = [];
    try {
      for (const claimKey of wanted) {
        for (let attempt = 0; ; attempt++) {
          if (attempt >= MAX_CAS_ATTEMPTS)
            throw aborted(`${name}: claim ${claimKey} contended, retry`);
          // Create first: the common case (a free value) costs one round trip.
          try {
            await this.claims.create(claimKey, { kind: kind.kind, key });
            taken.push(claimKey);
            break;
          } catch (error) {
            if (!(error instanceof KvConflictError)) throw error;
          }
          const current = await this.claims.get(claimKey);
          if (!current) continue; // released meanwhile
          if (current.value.kind === kind.kind && current.value.key === key) break;
          if (await this.claimStillHeld(current.value, claimKey)) {
            const field = claimKey.startsWith('name.')
              ? snake(kind.idField)
              : `${snake(kind.resourceField)}.${snakePath((kind.unique ?? []).find((u) => claimKey.includes(`.${u.field.replace(/[^a-zA-Z0-9]/g, '_')}.`))?.field ?? '')}`;
            const owner =
              this.byKind
                .get(current.value.kind)
                ?.nameForms.format(idsOfStorageKey(current.value.key)) ?? current.value.key;
            throw alreadyExists(`${owner} already uses this value`, field);
          }
          try {
            await this.claims.update(claimKey, { kind: kind.kind, key }, current.revision);
            taken.push(claimKey);
            break;
          } catch (error) {
            if (!(error instanceof KvConflictError)) throw error;
          }
        }
      }
    } catch (error) {
      await this.release(taken, kind, key);
      throw error;
    }
    return wanted;
  }

  private async claimStillHeld(owner: Claim, claimKey: string): Promise<boolean> {
    const ownerKind = this.byKind.get(owner.kind);
    if (!ownerKind) return true; // declared by another agent: respect it
    const record = await this.readDesired(ownerKind, owner.key);
    return (
      !!record && this.claimKeys(ownerKind, owner.key, record.value.resource).includes(claimKey)
    );
  }

  private async release(
    claimKeys: readonly string[],
    kind: ResourceKind,
    key: string,
  ): Promise<void> {
    for (const claimKey of claimKeys) {
      const current = await this.claims.get(claimKey).catch(() => undefined);
      if (current && current.value.kind === kind.kind && current.value.key === key) {
        await this.claims.delete(claimKey, current.revision).catch(() => undefined);
      }
    }
  }

  private async releaseUnused(
    previous: readonly string[],
    kind: ResourceKind,
    key: string,
    resource: JsonObject | undefined,
  ) {
    const keep = new Set(resource ? this.claimKeys(kind, key, resource) : []);
    await this.release(
      previous.filter((k) => !keep.has(k)),
      kind,
      key,
    );
  }

  /**
   * Waits until the reconciler has applied `generation` (or removed a deleted key). Resolves with
   * 'applied' and the status seen, or with the error to give the caller (the device's, or
   * DEADLINE_EXCEEDED). It reads KV once, then follows the bucket watchers' values (no I/O per
   * change), keeping for each bucket the value of the highest revision seen.
   */
  private waitForDevice(
    kind: ResourceKind,
    key: string,
    uid: string,
    generation: number,
    options: CallOptions,
  ): Promise<{ outcome: 'applied'; status?: StoredStatus } | { outcome: KitError }> {
    const deadline = options.deadline ?? Date.now() + this.defaultWaitMs;
    const waitKey = `${kind.kind}/${key}`;
    type Seen<T> = { revision: number; value: T | undefined } | undefined;
    let record: Seen<StoredResource>;
    let status: Seen<StoredStatus>;
    return new Promise((resolve) => {
      let done = false;
      const finish = (
        result: { outcome: 'applied'; status?: StoredStatus } | { outcome: KitError },
      ) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const set = this.waiters.get(waitKey);
        set?.delete(onChange);
        if (set?.size === 0) this.waiters.delete(waitKey);
        resolve(result);
      };
      const evaluate = () => {
        if (done || !record) return;
        const current = record.value;
        const observed =
          status?.value && (status.value.uid ?? uid) === uid ? status.value : undefined;
        if (!current || current.generation > generation) {
          // Removed (delete finished) or superseded by a newer write: our change was taken.
          if (!current || !observed || observed.observedGeneration >= generation) {
            return finish({ outcome: 'applied', status: observed });
          }
        }
        if (observed && observed.observedGeneration >= generation) {
          if (observed.phase === 'SUCCESS' && !current?.deleting)
            return finish({ outcome: 'applied', status: observed });
          if (observed.phase === 'ERROR') {
            return finish({
              outcome: new KitError(
                observed.code ?? GrpcStatus.INTERNAL,
                `device: ${observed.details ?? 'apply failed'}`,
              ),
            });
          }
        }
      };
      const onChange: Waiter = (bucket, change) => {
        if (bucket === 'desired') {
          if (!record || change.revision > record.revision)
            record = {
              revision: change.revision,
              value: change.value as StoredResource | undefined,
            };
        } else if (!status || change.revision > status.revision) {
          status = { revision: change.revision, value: change.value as StoredStatus | undefined };
        }
        evaluate();
      };
      const timer = setTimeout(
        () =>
          finish({
            outcome: deadlineExceeded(
              `device did not apply ${kind.nameForms.format(idsOfStorageKey(key))} before the deadline`,
            ),
          }),
        Math.max(0, deadline - Date.now()),
      );
      const set = this.waiters.get(waitKey) ?? new Set();
      set.add(onChange);
      this.waiters.set(waitKey, set);
      // One read for what happened before the waiter was registered; watched changes win when newer.
      void Promise.all([
        this.desiredBucket(kind.kind).get(key),
        this.statusBucket(kind.kind).get(key),
      ])
        .then(([readRecord, readStatus]) => {
          if (readRecord ? !record || readRecord.revision > record.revision : !record) {
            record = readRecord
              ? { revision: readRecord.revision, value: readRecord.value }
              : { revision: 0, value: undefined };
          }
          if (readStatus ? !status || readStatus.revision > status.revision : !status) {
            status = readStatus
              ? { revision: readStatus.revision, value: readStatus.value }
              : { revision: 0, value: undefined };
          }
          evaluate();
        })
        .catch(() => undefined);
    });
  }

  /** Builds the wire JSON of a resource: name, stored fields minus write-only, status. */
  private render(
    kind: ResourceKind,
    record: StoredResource,
    status: StoredStatus | undefined,
  ): JsonObject {
    const out: JsonObject = { name: record.name, ...cloneJson(record.resource) };
    for (const path of kind.writeOnly ?? []) setPath(out, path, undefined);
    const device = observationOf(record, status).device;
    if (device) Object.assign(out, cloneJson(device));
    if (kind.status) out[kind.status.field] = kind.status.render(observationOf(record, status));
    return out;
  }

  private withoutWriteOnly(kind: ResourceKind, resource: JsonObject): JsonObject {
    const copy: JsonObject = cloneJson(resource);
    for (const path of kind.writeOnly ?? []) setPath(copy, path, undefined);
    return copy;
  }

  /** Publishes `io.opi.resource.changed.v1`; never fails a write that KV already stored. */
  private publish(
    kind: ResourceKind,
    change: 'created' | 'updated' | 'deleted',
    record: StoredResource,
    revision: number,
  ) {
    const data = {
      kind: kind.kind,
      messageType: kind.messageType,
      name: record.name,
      revision,
      generation: record.generation,
      change,
      object: { name: record.name, ...this.withoutWriteOnly(kind, record.resource) },
    };
    void this.events
      .publish(eventTypes.resourceChanged, record.name, resourceChangedEventSchema, data, {
        persist: this.persistEvents,
      })
      .catch(() => undefined);
  }

  /** Publishes `io.opi.resource.status.v1` after the reconciler recorded an observation. */
  private publishStatus(kind: ResourceKind, record: StoredResource, status: StoredStatus) {
    const observation = observationOf(record, status);
    const phases: Record<Observation['phase'], ResourcePhase> = {
      SUCCESS: 'ready',
      ERROR: 'error',
      DELETING: 'deleting',
      PENDING: 'pending',
    };
    const phase = phases[observation.phase];
    const data = {
      kind: kind.kind,
      messageType: kind.messageType,
      name: record.name,
      observedGeneration: status.observedGeneration,
      phase,
      ...(phase === 'error' ? { reason: (status.details ?? 'device error').slice(0, 1024) } : {}),
      ...(kind.status ? { status: kind.status.render(observation) } : {}),
    };
    void this.events
      .publish(eventTypes.statusChanged, record.name, statusChangedEventSchema, data, {
        persist: this.persistEvents,
      })
      .catch(() => undefined);
  }
}

/** The path of the first NaN/Infinity (a non-numeric JSON input coerced by the codec), if any. */
function nonFinitePath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = nonFinitePath(child, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The path of the first enum the codec did not recognize (ts-proto writes `UNRECOGNIZED`). */
function unrecognizedEnumPath(value: unknown, path = ''): string | undefined {
  if (value === 'UNRECOGNIZED') return path;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = unrecognizedEnumPath(child, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** observationOf derives the observation (input of status rendering) from the stored records. */
export function observationOf(
  record: StoredResource,
  observed: StoredStatus | undefined,
): Observation {
  // A status written for an earlier object of the same name says nothing about this one.
  const status = observed && (observed.uid ?? record.uid) === record.uid ? observed : undefined;
  const components = (status?.components ?? []).map((c) => ({ ...c }));
  if (record.deleting)
    return { phase: 'DELETING', components, details: status?.details, device: status?.device };
  if (!status || status.observedGeneration < record.generation) {
    return {
      phase: 'PENDING',
      components: components.map((c) => ({ name: c.name, state: 'PENDING' })),
      device: status?.device,
    };
  }
  return { phase: status.phase, components, details: status.details, device: status.device };
}
