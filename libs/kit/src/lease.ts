import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import { TerminalError } from './errors.js';
import { JsonBucket, KvConflictError, watchBucket } from './kv.js';

/** LeaseRecord is the value of a lease key in KV. */
export interface LeaseRecord {
  /** Instance id of the holder; '' after a graceful release. */
  holder: string;
  /** Fencing token: incremented every time the lease changes hands. */
  epoch: number;
  ttlMs: number;
  renewedAt: string;
}

/** Settings of {@link Lease.open}. */
export interface LeaseOptions {
  nodeId: string;
  /** The agent whose replicas compete, e.g. `storage`. */
  agent: string;
  /** This replica's unique id. */
  instanceId: string;
  /** A holder that has not renewed for this long is considered dead. Default 3000 ms. */
  ttlMs?: number;
  /** How often the holder renews and standbys look. Default ttl/3. */
  renewMs?: number;
  /** Override the bucket (tests). */
  bucket?: string;
}

/** LeaseLostError: a device write was attempted without a valid lease. Terminal. */
export class LeaseLostError extends TerminalError {
  constructor(message = 'this replica does not hold the lease') {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/**
 * Fence is what every device write carries: the lease epoch (a device rejects epochs older than
 * one it has seen) and a local check that the lease is still valid right now.
 */
export interface Fence {
  readonly epoch: number;
  /** @throws LeaseLostError when the lease was lost or may have expired. */
  check(): void;
}

/** leaseBucketName is the KV bucket holding a node's leases. */
export const leaseBucketName = (nodeId: string) => `opi-kit-${nodeId}-leases`;

/**
 * Lease elects one driving replica per (node, agent) through a KV key updated only with
 * compare-and-set. Expiry needs no synchronized clocks: a standby takes over when the key's
 * revision has not changed for `ttlMs` of its own monotonic time, and a holder stops trusting
 * its lease `ttlMs` after it *sent* its last successful renewal, which is always earlier.
 */
export class Lease {
  private revision = 0;
  private record: LeaseRecord | undefined;
  private heldEpoch = 0;
  private validUntil = 0;
  private lastSeenRevision = -1;
  private lastSeenAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private signal: AbortSignal | undefined;
  /** Set by release: this replica no longer competes. */
  private released = false;
  private readonly acquiredHandlers: Array<(epoch: number) => void> = [];
  private readonly lostHandlers: Array<(epoch: number) => void> = [];
  readonly key: string;
  readonly ttlMs: number;
  readonly renewMs: number;

  private constructor(
    private readonly bucket: JsonBucket<LeaseRecord>,
    private readonly options: LeaseOptions,
  ) {
    this.key = options.agent;
    this.ttlMs = options.ttlMs ?? 3000;
    this.renewMs = options.renewMs ?? Math.max(50, Math.floor(this.ttlMs / 3));
  }

  /** open binds the node's lease bucket; call {@link start} to compete. */
  static async open(nc: NatsConnection, options: LeaseOptions): Promise<Lease> {
    const bucket = await JsonBucket.open<LeaseRecord>(
      nc,
      options.bucket ?? leaseBucketName(options.nodeId),
    );
    return new Lease(bucket, options);
  }

  /** held is true while this replica holds a lease it has renewed recently enough. */
  get held(): boolean {
    return this.heldEpoch > 0 && performance.now() < this.validUntil;
  }

  /** epoch is the fencing token of the held lease (0 when not held). */
  get epoch(): number {
    return this.held ? this.heldEpoch : 0;
  }

  /** onAcquired registers a callback run when this replica becomes the holder. */
  onAcquired(handler: (epoch: number) => void): void {
    this.acquiredHandlers.push(handler);
  }

  /** onLost registers a callback run when this replica stops being the holder. */
  onLost(handler: (epoch: number) => void): void {
    this.lostHandlers.push(handler);
  }

  /** fence returns the fence of the current epoch; its check fails once that epoch is over. */
  fence(): Fence {
    const epoch = this.heldEpoch;
    return {
      epoch,
      check: () => {
        if (epoch === 0 || this.heldEpoch !== epoch || !this.held) throw new LeaseLostError();
      },
    };
  }

  /** start competes for the lease now and then every `renewMs`; resolves after the first attempt. */
  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    await this.tick();
    this.schedule(this.renewMs);
    signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
    // A released lease is taken at once instead of at the next poll.
    await watchBucket(
      this.bucket,
      (change) => {
        if (this.heldEpoch > 0 || (change.value && change.value.holder !== '')) return;
        this.schedule(0);
      },
      signal,
      this.key,
    );
  }

  /** Runs the next attempt after `delayMs`; attempts never overlap and stop with the signal. */
  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.signal?.aborted || this.released) return;
    this.timer = setTimeout(() => {
      if (this.signal?.aborted) return;
      this.ticking = this.ticking
        .then(() => (this.signal?.aborted || this.released ? undefined : this.tick()))
        .finally(() => {
          if (this.timer === timer) this.schedule(this.renewMs);
        });
    }, delayMs);
    const timer = this.timer;
  }

  /** release gives the lease up for good (keeping the epoch) so a standby can take it at once. */
  async release(): Promise<void> {
    this.released = true;
    clearTimeout(this.timer);
    await this.ticking;
    if (this.heldEpoch === 0 || !this.record) return;
    const released: LeaseRecord = {
      ...this.record,
      holder: '',
      renewedAt: new Date().toISOString(),
    };
    try {
      await this.bucket.update(this.key, released, this.revision);
    } catch {
      // Lost already; nothing to release.
    }
    this.lose();
  }

  private async tick(): Promise<void> {
    const sentAt = performance.now();
    try {
      if (this.heldEpoch > 0 && this.record) {
        const renewed: LeaseRecord = { ...this.record, renewedAt: new Date().toISOString() };
        this.revision = await this.bucket.update(this.key, renewed, this.revision);
        this.record = renewed;
        this.validUntil = sentAt + this.ttlMs;
        return;
      }
      const current = await this.bucket.get(this.key);
      if (!current) {
        await this.take(
          {
            holder: this.options.instanceId,
            epoch: 1,
            ttlMs: this.ttlMs,
            renewedAt: new Date().toISOString(),
          },
          undefined,
          sentAt,
        );
        return;
      }
      if (current.revision !== this.lastSeenRevision) {
        this.lastSeenRevision = current.revision;
        this.lastSeenAt = sentAt;
      }
      const expired =
        current.value.holder === '' ||
        current.value.holder === this.options.instanceId ||
        sentAt - this.lastSeenAt >= this.ttlMs;
      if (expired) {
        const next: LeaseRecord = {
          holder: this.options.instanceId,
          epoch: current.value.epoch + 1,
          ttlMs: this.ttlMs,
          renewedAt: new Date().toISOString(),
        };
        await this.take(next, current.revision, sentAt);
      }
    } catch (error) {
      if (
        this.heldEpoch > 0 &&
        (error instanceof KvConflictError || performance.now() >= this.validUntil)
      )
        this.lose();
    }
  }

  private async take(
    next: LeaseRecord,
    revision: number | undefined,
    sentAt: number,
  ): Promise<void> {
    try {
      this.revision =
        revision === undefined
          ? await this.bucket.create(this.key, next)
          : await this.bucket.update(this.key, next, revision);
    } catch (error) {
      if (error instanceof KvConflictError) return; // another replica was faster
      throw error;
    }
    this.record = next;
    this.heldEpoch = next.epoch;
    this.validUntil = sentAt + this.ttlMs;
    for (const handler of this.acquiredHandlers) handler(next.epoch);
  }

  private lose(): void {
    const epoch = this.heldEpoch;
    if (epoch === 0) return;
    this.heldEpoch = 0;
    this.record = undefined;
    for (const handler of this.lostHandlers) handler(epoch);
  }
}
