import { backoffDelay, defaultBackoff, type BackoffPolicy } from './backoff.js';

/** Settings of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Keys processed at the same time. */
  concurrency: number;
  backoff?: BackoffPolicy;
  /** Called for every processed key with its outcome (metrics, logs). */
  onOutcome?(key: string, outcome: 'done' | 'retry' | 'terminal', error?: unknown): void;
}

/**
 * WorkQueue runs a handler per key with controller-runtime's queue contract: a key is the whole
 * request, adding a queued key again does nothing (duplicates collapse), a key is never handled
 * twice at once (one added while it runs is handled again afterwards, so the latest state wins),
 * a thrown error requeues the key after capped, jittered exponential backoff, and an error for
 * which `isTerminal` is true is reported and not retried.
 */
export class WorkQueue {
  private readonly queued: string[] = [];
  private readonly queuedSet = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirtyWhileRunning = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly isTerminal: (error: unknown) => boolean,
    private readonly options: WorkQueueOptions,
  ) {}

  /** add queues a key (no-op if already queued). */
  add(key: string): void {
    if (this.stopped) return;
    const timer = this.timers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(key);
    }
    if (this.running.has(key)) {
      this.dirtyWhileRunning.add(key);
      return;
    }
    if (this.queuedSet.has(key)) return;
    this.queuedSet.add(key);
    this.queued.push(key);
    this.pump();
  }

  /** addAfter queues a key after a delay (a pending delayed add of the same key is replaced). */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Number of keys queued or running. */
  get depth(): number {
    return this.queued.length + this.running.size;
  }

  /** idle resolves when nothing is queued or running (delayed retries do not count). */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** stop drops queued keys and pending retries; running handlers finish. */
  stop(): void {
    this.stopped = true;
    this.queued.length = 0;
    this.queuedSet.clear();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.notifyIdle();
  }

  private pump(): void {
    while (
      !this.stopped &&
      this.running.size < this.options.concurrency &&
      this.queued.length > 0
    ) {
      const key = this.queued.shift()!;
      this.queuedSet.delete(key);
      this.running.add(key);
      void this.process(key);
    }
    this.notifyIdle();
  }

  private async process(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
      this.options.onOutcome?.(key, 'done');
    } catch (error) {
      if (this.isTerminal(error)) {
        this.failures.delete(key);
        this.options.onOutcome?.(key, 'terminal', error);
      } else {
        const failures = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, failures);
        this.options.onOutcome?.(key, 'retry', error);
        if (!this.dirtyWhileRunning.has(key))
          this.addAfter(key, backoffDelay(failures, this.options.backoff ?? defaultBackoff));
      }
    } finally {
      this.running.delete(key);
      if (this.dirtyWhileRunning.delete(key)) this.add(key);
      this.pump();
    }
  }

  private notifyIdle(): void {
    if (this.depth !== 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
