import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanupStack,
  createNetns,
  freePort,
  killSpawnedProcesses,
  run,
  spawnProcess,
  tempDir,
  uniqueName,
  waitFor,
  WaitTimeoutError,
} from '../src/index.js';

afterAll(() => killSpawnedProcesses());

describe('freePort', () => {
  it('returns a port that can be bound', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
    expect(port).toBeGreaterThan(0);
  });
});

describe('waitFor', () => {
  it('returns the first truthy value of the predicate', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? `after ${calls}` : undefined), {
      intervalMs: 1,
    });
    expect(value).toBe('after 3');
  });

  it('times out with the message and the last error of the predicate', async () => {
    const error = await waitFor(
      () => {
        throw new Error('not ready yet');
      },
      { timeoutMs: 50, intervalMs: 5, message: 'the widget' },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatch(
      /waiting for the widget \(last error: not ready yet\)/,
    );
  });
});

describe('tempDir', () => {
  it('creates a directory that cleanup removes with its contents', async () => {
    const dir = await tempDir('harness');
    await writeFile(join(dir.path, 'file.txt'), 'x');
    expect(dir.path).toMatch(/harness-/);
    await dir.cleanup();
    await dir.cleanup();
    expect(existsSync(dir.path)).toBe(false);
  });
});

describe('spawnProcess', () => {
  it('captures stdout and stderr and reports the exit code', async () => {
    const proc = spawnProcess('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(await proc.exited).toEqual({ code: 3, signal: null });
    expect(proc.stdout()).toBe('out\n');
    expect(proc.stderr()).toBe('err\n');
  });

  it('waits for output that appears later, including output already printed', async () => {
    const proc = spawnProcess('sh', [
      '-c',
      'echo early; sleep 0.2; echo "ready on port 1234"; sleep 30',
    ]);
    const match = await proc.waitForOutput(/ready on port (\d+)/);
    expect(match[1]).toBe('1234');
    await proc.waitForOutput(/early/, { stream: 'stdout' });
    proc.kill('SIGKILL');
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('rejects waitForOutput when the process exits first', async () => {
    const proc = spawnProcess('sh', ['-c', 'echo bye']);
    await expect(proc.waitForOutput(/never printed/)).rejects.toThrow(/exited .* before printing/);
  });

  it('passes input and environment to the child', async () => {
    const proc = spawnProcess('sh', ['-c', 'read line; echo "$line $GREETING"'], {
      input: 'hello\n',
      env: { ...process.env, GREETING: 'world' },
    });
    await proc.exited;
    expect(proc.stdout()).toBe('hello world\n');
  });

  it('stop escalates to SIGKILL when SIGTERM is ignored', async () => {
    const proc = spawnProcess('sh', [
      '-c',
      'trap "" TERM; echo trapped; while true; do sleep 0.1; done',
    ]);
    await proc.waitForOutput(/trapped/);
    expect(await proc.stop(200)).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('reports a missing executable as exit code 127', async () => {
    const proc = spawnProcess('/nonexistent/binary');
    expect((await proc.exited).code).toBe(127);
    expect(proc.stderr()).toMatch(/ENOENT/);
  });
});

describe('cleanupStack', () => {
  it('runs every step last-added first, even when one fails', async () => {
    const order: string[] = [];
    const cleanup = cleanupStack();
    cleanup.add(() => order.push('first'));
    cleanup.add(() => {
      throw new Error('boom');
    });
    cleanup.add(() => order.push('last'));
    await expect(cleanup.run()).rejects.toThrow(/1 cleanup step\(s\) failed/);
    expect(order).toEqual(['last', 'first']);
  });
});

describe('createNetns', () => {
  it('creates a namespace with loopback up and deletes it', async () => {
    const netns = await createNetns('opit');
    try {
      expect(await netns.exec('ip', ['-o', 'link', 'show', 'lo'])).toMatch(/UP/);
      expect(await run('ip', ['netns', 'list'])).toContain(netns.name);
    } finally {
      await netns.remove();
    }
    expect(await run('ip', ['netns', 'list'])).not.toContain(netns.name);
  });

  it('makes unique names within the interface name limit', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('veth')));
    expect(names.size).toBe(100);
    for (const name of names) expect(name.length).toBe(15);
  });
});
