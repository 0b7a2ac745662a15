/** A stack of cleanup steps, run last-added first; see {@link cleanupStack}. */
export interface CleanupStack {
  /** Registers a step; returns its argument for inline use. */
  add<T>(step: () => unknown, value?: T): T | undefined;
  /** Runs every step (all of them, even if some fail) and throws an AggregateError if any failed. */
  run(): Promise<void>;
}

/**
 * cleanupStack collects teardown steps as resources are created, so a test that fails half-way
 * still releases what it made: `afterEach(() => cleanup.run())`.
 */
export function cleanupStack(): CleanupStack {
  const steps: Array<() => unknown> = [];
  return {
    add(step, value) {
      steps.push(step);
      return value;
    },
    async run() {
      const errors: unknown[] = [];
      while (steps.length > 0) {
        const step = steps.pop()!;
        try {
          await step();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0)
        throw new AggregateError(errors, `${errors.length} cleanup step(s) failed`);
    },
  };
}
