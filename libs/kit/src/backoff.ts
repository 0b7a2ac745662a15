/** Settings of {@link backoffDelay}. */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay exceeds this. */
  capMs: number;
}

/** Default retry policy of reconcilers: 100 ms doubling up to 30 s. */
export const defaultBackoff: BackoffPolicy = { baseMs: 100, capMs: 30_000 };

/**
 * backoffDelay is the wait before retry number `failures` (1 = first retry): exponential,
 * capped, with "equal jitter" (half fixed, half random) so retries of many keys spread out
 * without ever retrying immediately.
 */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy = defaultBackoff,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return ceiling / 2 + random() * (ceiling / 2);
}
