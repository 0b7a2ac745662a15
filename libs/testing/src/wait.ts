/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** Says what was awaited; it becomes the error message on timeout. */
  message?: string;
}

/** WaitTimeoutError is thrown by {@link waitFor} when the condition never held. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  /** The last error the predicate threw, if any: usually the best clue. */
  readonly lastError: unknown;

  constructor(message: string, lastError: unknown) {
    super(message);
    this.lastError = lastError;
  }
}

/**
 * waitFor polls `predicate` until it returns a truthy value and returns that value. A predicate
 * that throws counts as "not yet"; on timeout the last thrown error is attached to the
 * {@link WaitTimeoutError} and appended to its message.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 50, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${message}${detail}`,
        lastError,
      );
    }
    await sleep(intervalMs);
  }
}

/** sleep resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
