import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A network namespace created for a test (needs root). */
export interface TestNetns {
  readonly name: string;
  /** Runs `cmd args` inside the namespace and returns its stdout; rejects with stderr on failure. */
  exec(cmd: string, args?: string[]): Promise<string>;
  /** Deletes the namespace (and with it every interface inside); calling it twice is harmless. */
  remove(): Promise<void>;
}

/**
 * uniqueName returns `<prefix><random hex>` no longer than `maxLength` (default 15, the Linux
 * interface name limit), so parallel test runs do not collide on namespace or link names.
 */
export function uniqueName(prefix: string, maxLength = 15): string {
  const random = randomBytes(8).toString('hex');
  const room = maxLength - prefix.length;
  if (room < 4)
    throw new Error(
      `uniqueName: prefix "${prefix}" leaves fewer than 4 characters of ${maxLength}`,
    );
  return prefix + random.slice(0, room);
}

/** run executes a command without a shell and returns its stdout. */
export async function run(cmd: string, args: string[] = []): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${stderr.trim() || (error as Error).message}`,
    );
  }
}

/** createNetns adds a fresh network namespace named `<prefix><random>` with loopback up. */
export async function createNetns(prefix = 'opit'): Promise<TestNetns> {
  const name = uniqueName(prefix, 24);
  await run('ip', ['netns', 'add', name]);
  let removed = false;
  const netns: TestNetns = {
    name,
    exec: (cmd, args = []) => run('ip', ['netns', 'exec', name, cmd, ...args]),
    async remove() {
      if (removed) return;
      removed = true;
      await run('ip', ['netns', 'delete', name]);
    },
  };
  try {
    await netns.exec('ip', ['link', 'set', 'lo', 'up']);
  } catch (error) {
    await netns.remove();
    throw error;
  }
  return netns;
}
