// Fencing: every write carries the writer's lease revision; a backend keeps the highest it has
// seen and refuses older ones, so a deposed leader cannot overwrite its successor's state.
import { InvalidSpecError, StaleFenceError } from './errors.js';

/** FencingToken is the writer's lease revision; larger is newer. */
export type FencingToken = number;

/** FencingGuard remembers the highest fencing token admitted and rejects older ones. */
export class FencingGuard {
  #highest = 0;

  /** FencingGuard.highestSeen is the newest token admitted so far (0 before any). */
  get highestSeen(): number {
    return this.#highest;
  }

  /**
   * FencingGuard.observe raises the highest token seen to `token` without a write, e.g. when a
   * backend finds a newer writer's token recorded on the device.
   */
  observe(token: FencingToken): void {
    if (Number.isSafeInteger(token) && token > this.#highest) this.#highest = token;
  }

  /**
   * FencingGuard.admit accepts `token` if it is at least the highest seen and remembers it.
   * Throws InvalidSpecError (field `fence`) for a non-integer or negative token and
   * StaleFenceError for an older one.
   */
  admit(token: FencingToken): void {
    if (!Number.isSafeInteger(token) || token < 0) {
      throw new InvalidSpecError('fence', `must be a non-negative integer, got ${String(token)}`);
    }
    if (token < this.#highest) throw new StaleFenceError(token, this.#highest);
    this.#highest = token;
  }
}
