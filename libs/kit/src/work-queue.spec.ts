import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { TerminalError } from './errors.js';
import { WorkQueue } from './work-queue.js';

const isTerminal = (e: unknown) => e instanceof TerminalError;
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('backoffDelay', () => {
  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [2, 1, 200],
    [4, 0.5, 600],
    [30, 1, 30_000],
    [30, 0, 15_000],
  ])('failure %s with random %s waits %s ms', (failures, random, expected) => {
    expect(backoffDelay(failures, { baseMs: 100, capMs: 30_000 }, () => random)).toBe(expected);
  });
});

describe('WorkQueue', () => {
  it('collapses duplicate keys queued before they run', async () => {
    const handled: string[] = [];
    const queue = new WorkQueue(async (k) => void handled.push(k), isTerminal, { concurrency: 1 });
    queue.add('a'); // starts at once (concurrency 1); the rest wait
    queue.add('b');
    queue.add('c');
    queue.add('b');
    queue.add('c');
    await queue.idle();
    expect(handled).toEqual(['a', 'b', 'c']);
  });

  it('never runs one key twice at once and re-runs a key added while it ran', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const queue = new WorkQueue(
      async () => {
        active++;
        runs++;
        maxActive = Math.max(maxActive, active);
        await tick(20);
        active--;
      },
      isTerminal,
      { concurrency: 4 },
    );
    queue.add('k');
    await tick();
    queue.add('k');
    queue.add('k');
    await tick(5);
    await queue.idle();
    await tick(30);
    await queue.idle();
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
  });

  it('runs different keys up to the concurrency bound', async () => {
    let active = 0;
    let maxActive = 0;
    const queue = new WorkQueue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await tick(10);
        active--;
      },
      isTerminal,
      { concurrency: 3 },
    );
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    await queue.idle();
    expect(maxActive).toBe(3);
  });

  it('retries a thrown error with backoff until it succeeds, and does not retry a terminal error', async () => {
    let attempts = 0;
    const outcomes: string[] = [];
    const queue = new WorkQueue(
      async (key) => {
        if (key === 'flaky' && ++attempts < 3) throw new Error('busy');
        if (key === 'broken') throw new TerminalError('never');
      },
      isTerminal,
      {
        concurrency: 2,
        backoff: { baseMs: 5, capMs: 20 },
        onOutcome: (k, o) => outcomes.push(`${k}:${o}`),
      },
    );
    queue.add('flaky');
    queue.add('broken');
    for (let i = 0; i < 100 && !outcomes.includes('flaky:done'); i++) await tick(5);
    expect(outcomes).toEqual(['flaky:retry', 'broken:terminal', 'flaky:retry', 'flaky:done']);
    expect(attempts).toBe(3);
  });

  it('drops queued work and pending retries on stop', async () => {
    let runs = 0;
    const queue = new WorkQueue(
      async () => {
        runs++;
        throw new Error('fail');
      },
      isTerminal,
      { concurrency: 1, backoff: { baseMs: 10, capMs: 10 } },
    );
    queue.add('a');
    await queue.idle();
    queue.stop();
    await tick(40);
    expect(runs).toBe(1);
  });
});
