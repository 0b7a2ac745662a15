import type { Logger } from 'pino';
import { sortKindsByDependency, type ComponentObservation, type JsonObject } from './descriptor.js';
import { GrpcStatus, KitError, TerminalError } from './errors.js';
import type { BackoffPolicy } from './backoff.js';
import type { Fence, Lease } from './lease.js';
import { LeaseLostError } from './lease.js';
import { watchBucket } from './kv.js';
import type { ResourceStore, StoredResource } from './store.js';
import { WorkQueue } from './work-queue.js';

/** DeviceObject is what a reconciler applies: the desired state of one resource. */
export interface DeviceObject {
  kind: string;
  /** Storage key (ids joined by dots); stable for the resource's lifetime. */
  key: string;
  name: string;
  generation: number;
  /** Desired resource in protobuf JSON (write-only fields included). */
  resource: JsonObject;
}

/** ApplyContext goes with every device call. */
export interface ApplyContext {
  /** Pass `fence.epoch` to the device with each write; call `fence.check()` before writing. */
  fence: Fence;
  signal: AbortSignal;
}

/** ApplyResult is what a device reports after applying an object. */
export interface ApplyResult {
  components?: ComponentObservation[];
  /** Output-only values to merge into responses (protobuf JSON). */
  device?: JsonObject;
}

/**
 * KindReconciler drives the device for one kind. Both operations must be idempotent: the kit
 * calls them again after failures, failovers and periodic resyncs. Throw to retry with backoff;
 * throw TerminalError when retrying cannot help.
 */
export interface KindReconciler {
  apply(object: DeviceObject, context: ApplyContext): Promise<ApplyResult | void>;
  /** Removes the object from the device; `resource` is absent when only the key is known. */
  remove(
    object: { kind: string; key: string; name: string; resource?: JsonObject },
    context: ApplyContext,
  ): Promise<void>;
  /** Keys the device currently has, so resync can remove objects that are not in KV. */
  listKeys?(context: ApplyContext): Promise<string[]>;
}

/** Settings of {@link Controller}. */
export interface ControllerOptions {
  store: ResourceStore;
  lease: Lease;
  /** One reconciler per kind that this agent drives. */
  reconcilers: Readonly<Record<string, KindReconciler>>;
  /** Device calls at the same time. Default 4. */
  concurrency?: number;
  /** Period of the full resync that repairs drift. Default 60 s; 0 disables. */
  resyncMs?: number;
  backoff?: BackoffPolicy;
  logger?: Logger;
}

/** Counters of reconcile outcomes, one per dispatcher branch. */
export interface ControllerMetrics {
  reconciled: number;
  retried: number;
  terminal: number;
  fenced: number;
}

/**
 * isTerminal: TerminalError, or any error that says `retryable: false` (HAL errors do), is not
 * retried.
 */
export const isTerminal = (error: unknown): boolean =>
  error instanceof TerminalError ||
  (typeof error === 'object' &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === false);

/**
 * Controller reconciles the desired state in KV onto the device. Every replica runs one; only
 * the lease holder drives: on acquiring the lease it watches each kind's bucket, reconciles
 * every stored object (the device is rebuilt from KV) and keeps following changes; on losing it
 * stops at once. Requests are keys only, so the reconciler always acts on the latest state.
 */
export class Controller {
  /** Outcome counters. */
  readonly metrics: ControllerMetrics = { reconciled: 0, retried: 0, terminal: 0, fenced: 0 };
  private queue: WorkQueue | undefined;
  private driving: AbortController | undefined;
  private readonly readyWaiters: Array<() => void> = [];
  private initialPending: Set<string> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly kindsInOrder: string[];

  constructor(private readonly options: ControllerOptions) {
    const driven = new Set(Object.keys(options.reconcilers));
    this.kindsInOrder = sortKindsByDependency(
      options.store.kinds.filter((k) => driven.has(k.kind)),
    ).map((k) => k.kind);
  }

  /** isDriving is true while this replica holds the lease and reconciles. */
  get isDriving(): boolean {
    return this.driving !== undefined;
  }

  /**
   * start competes for the lease. Resolves once ready: as holder, after every object in KV has
   * been reconciled once; as standby, at once (it serves the API and waits for the lease).
   */
  async start(signal: AbortSignal): Promise<void> {
    const { lease } = this.options;
    const ready = new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    lease.onAcquired((epoch) => void this.drive(epoch));
    lease.onLost((epoch) => this.stopDriving(`lease epoch ${epoch} lost`));
    signal.addEventListener('abort', () => this.stopDriving('stopping'), { once: true });
    await lease.start(signal);
    if (!this.driving) return;
    await ready;
  }

  /** waitIdle resolves when no reconcile is queued or running (tests, benchmarks). */
  async waitIdle(): Promise<void> {
    await this.queue?.idle();
  }

  private async drive(epoch: number): Promise<void> {
    const { store, logger } = this.options;
    this.stopDriving('re-acquired');
    const driving = new AbortController();
    this.driving = driving;
    logger?.info({ epoch }, 'lease acquired: driving the device');
    const queue = new WorkQueue((item) => this.reconcile(item, driving.signal), isTerminal, {
      concurrency: this.options.concurrency ?? 4,
      backoff: this.options.backoff,
      onOutcome: (item, outcome, error) => this.onOutcome(item, outcome, error),
    });
    this.queue = queue;
    try {
      const initial = new Set<string>();
      for (const kind of this.kindsInOrder) {
        for (const key of await store.desiredBucket(kind).keys()) initial.add(`${kind}/${key}`);
      }
      for (const item of await this.orphans(driving.signal)) initial.add(item);
      this.initialPending = initial;
      for (const kind of this.kindsInOrder) {
        await watchBucket(
          store.desiredBucket(kind),
          (change) => queue.add(`${kind}/${change.key}`),
          driving.signal,
        );
      }
      for (const item of initial) queue.add(item);
      this.checkReady();
      const resyncMs = this.options.resyncMs ?? 60_000;
      if (resyncMs > 0) {
        const resync = () => {
          this.resyncTimer = setTimeout(() => {
            void this.resync(queue, driving.signal).finally(() => {
              if (!driving.signal.aborted) resync();
            });
          }, resyncMs);
          this.resyncTimer.unref();
        };
        resync();
      }
    } catch (error) {
      // Still the holder but not driving would leave the device unmanaged: try again shortly.
      logger?.error({ err: error }, 'could not start driving; retrying in 1 s');
      this.stopDriving('start failed');
      const retry = setTimeout(() => {
        if (this.options.lease.held && !this.driving) void this.drive(this.options.lease.epoch);
      }, 1000);
      retry.unref();
    }
  }

  private async resync(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    try {
      for (const kind of this.kindsInOrder) {
        for (const key of await this.options.store.desiredBucket(kind).keys())
          queue.add(`${kind}/${key}`);
      }
      for (const item of await this.orphans(signal)) queue.add(item);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'resync failed');
    }
  }

  /** Objects the device has that KV does not (left by a crash or made by hand). */
  private async orphans(signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    for (const kind of this.kindsInOrder) {
      const reconciler = this.options.reconcilers[kind]!;
      if (!reconciler.listKeys) continue;
      const known = new Set(await this.options.store.desiredBucket(kind).keys());
      const onDevice = await reconciler.listKeys({ fence: this.options.lease.fence(), signal });
      for (const key of onDevice) if (!known.has(key)) out.push(`${kind}/${key}`);
    }
    return out;
  }

  private stopDriving(reason: string): void {
    if (!this.driving) return;
    this.options.logger?.warn({ reason }, 'stopped driving the device');
    this.driving.abort();
    this.driving = undefined;
    this.queue?.stop();
    clearTimeout(this.resyncTimer);
  }

  private onOutcome(item: string, outcome: 'done' | 'retry' | 'terminal', error?: unknown): void {
    const { logger } = this.options;
    if (outcome === 'done') this.metrics.reconciled++;
    else if (outcome === 'retry') {
      this.metrics.retried++;
      logger?.warn({ item, err: error }, 'reconcile failed; will retry');
    } else if (
      error instanceof LeaseLostError ||
      (error as { code?: unknown } | undefined)?.code === 'STALE_FENCE'
    ) {
      this.metrics.fenced++;
    } else {
      this.metrics.terminal++;
      logger?.error({ item, err: error }, 'reconcile failed terminally; not retrying');
    }
    if (this.initialPending?.delete(item)) this.checkReady();
  }

  private checkReady(): void {
    if (this.initialPending && this.initialPending.size === 0) {
      this.initialPending = undefined;
      this.options.logger?.info('initial reconcile done');
      for (const resolve of this.readyWaiters.splice(0)) resolve();
    }
  }

  /** The reconcile function: brings the device to the desired state of one key. */
  private async reconcile(item: string, signal: AbortSignal): Promise<void> {
    const slash = item.indexOf('/');
    const kind = item.slice(0, slash);
    const key = item.slice(slash + 1);
    const { store, lease } = this.options;
    const reconciler = this.options.reconcilers[kind]!;
    const fence = lease.fence();
    fence.check();
    const context: ApplyContext = { fence, signal };
    const kindInfo = store.kind(kind);
    const record = await store.readRecord(kind, key);
    if (!record) {
      await reconciler.remove(
        { kind, key, name: kindInfo.nameForms.format(key.split('.')) },
        context,
      );
      fence.check();
      await store.finalizeDelete(kind, key, undefined);
      return;
    }
    const object = toDeviceObject(kind, key, record.value);
    if (record.value.deleting) {
      try {
        await reconciler.remove(object, context);
      } catch (error) {
        await this.recordError(kind, key, record.value, fence, error);
        throw error;
      }
      fence.check();
      await store.finalizeDelete(kind, key, record);
      return;
    }
    let result: ApplyResult | void;
    try {
      result = await reconciler.apply(object, context);
    } catch (error) {
      await this.recordError(kind, key, record.value, fence, error);
      throw error;
    }
    fence.check();
    await store.writeStatus(kind, key, record.value, {
      uid: record.value.uid,
      observedGeneration: record.value.generation,
      phase: 'SUCCESS',
      components: (result?.components ?? []).map((c) => ({ ...c })),
      device: result?.device,
      epoch: fence.epoch,
    });
  }

  private async recordError(
    kind: string,
    key: string,
    record: StoredResource,
    fence: Fence,
    error: unknown,
  ) {
    if (error instanceof LeaseLostError) return;
    fence.check();
    const message = error instanceof Error ? error.message : String(error);
    const code =
      error instanceof KitError
        ? error.code
        : isTerminal(error)
          ? GrpcStatus.FAILED_PRECONDITION
          : GrpcStatus.UNAVAILABLE;
    await this.options.store.writeStatus(kind, key, record, {
      uid: record.uid,
      observedGeneration: record.generation,
      phase: 'ERROR',
      components: [{ name: 'device', state: 'ERROR', details: message }],
      details: message,
      code,
      epoch: fence.epoch,
    });
  }
}

function toDeviceObject(kind: string, key: string, record: StoredResource): DeviceObject {
  return { kind, key, name: record.name, generation: record.generation, resource: record.resource };
}
