// What the kernel specs share to run commands in network namespaces and clean up after them.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Runs `args` (inside namespace `ns` when given) and returns its stdout; throws if it fails. */
export function sh(args: string[], ns?: string): string {
  const full = ns ? ['ip', 'netns', 'exec', ns, ...args] : args;
  return execFileSync(full[0]!, full.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Kills `children` still running, deletes `namespaces` and removes `dir` (if set). */
export function netnsCleanup(children: ChildProcess[], namespaces: string[], dir: string): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const ns of namespaces) {
    try {
      sh(['ip', 'netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}
