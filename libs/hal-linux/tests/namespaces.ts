// Test harness: throwaway network namespaces with veth pairs standing in for device ports.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** sh runs a command without a shell and returns stdout, failing with its stderr. */
export async function sh(command: string, ...args: string[]): Promise<string> {
  try {
    return (await execFileAsync(command, args, { encoding: 'utf8' })).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')}: ${stderr.trim() || (error as Error).message}`);
  }
}

/** ipJson runs `ip -n ns -json args` and parses the result. */
export async function ipJson<T = Record<string, unknown>>(
  ns: string,
  ...args: string[]
): Promise<T[]> {
  const out = (await sh('ip', '-n', ns, '-json', ...args)).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

/** randomHex returns `length` random hex characters. */
export function randomHex(length: number): string {
  return randomBytes(length).toString('hex').slice(0, length);
}

/** Namespaces creates namespaces and deletes all of them on cleanup. */
export class Namespaces {
  readonly #created: string[] = [];

  /** Namespaces.add creates a namespace `<prefix><random>` with loopback up. */
  async add(prefix: string): Promise<string> {
    const name = `${prefix}${randomHex(8)}`;
    await sh('ip', 'netns', 'add', name);
    this.#created.push(name);
    await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  /** Namespaces.veth creates a veth pair `a`@nsA (with `mac`) ↔ `b`@nsB, both up. */
  async veth(nsA: string, a: string, nsB: string, b: string, mac?: string): Promise<void> {
    const address = mac ? ['address', mac] : [];
    await sh(
      'ip',
      '-n',
      nsA,
      'link',
      'add',
      a,
      ...address,
      'type',
      'veth',
      'peer',
      'name',
      b,
      'netns',
      nsB,
    );
    await sh('ip', '-n', nsA, 'link', 'set', a, 'up');
    await sh('ip', '-n', nsB, 'link', 'set', b, 'up');
  }

  /** Namespaces.removeAll deletes every namespace created so far. */
  async removeAll(): Promise<void> {
    const names = this.#created.splice(0);
    await Promise.all(names.map((name) => sh('ip', 'netns', 'del', name).catch(() => undefined)));
  }
}
