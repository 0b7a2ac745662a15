import { spawn, type ChildProcess } from 'node:child_process';

/** Options of {@link spawnProcess}. */
export interface SpawnProcessOptions {
  cwd?: string;
  /** Environment of the child; defaults to the parent's. */
  env?: NodeJS.ProcessEnv;
  /** Passed on to the child's stdin, then stdin is closed. */
  input?: string;
  /** Keep at most this many characters per stream (default 4 MiB); older output is dropped. */
  maxBufferChars?: number;
}

/** How a spawned process ended. */
export interface ProcessExit {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output is captured for assertions. */
export interface SpawnedProcess {
  readonly pid: number;
  readonly command: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /**
   * Resolves with the first match of `pattern` in the chosen stream (default: both), looking at
   * output already captured too. Rejects if the process exits or `timeoutMs` (default 10 s)
   * passes first; the rejection carries the captured output.
   */
  waitForOutput(
    pattern: RegExp,
    options?: { timeoutMs?: number; stream?: 'stdout' | 'stderr' | 'both' },
  ): Promise<RegExpMatchArray>;
  /** Sends a signal (default SIGTERM); a process that has already exited is left alone. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves with the exit. */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** Resolves when the process has exited (never rejects; a spawn failure is exit code 127). */
  readonly exited: Promise<ProcessExit>;
  /** True once the process has exited. */
  hasExited(): boolean;
}

const running = new Set<SpawnedProcess>();

/**
 * spawnProcess starts `cmd` with `args` (no shell), capturing stdout and stderr into buffers.
 * Every process started here is also killed by {@link killSpawnedProcesses}, which test suites
 * can call in `afterAll` as a safety net.
 */
export function spawnProcess(
  cmd: string,
  args: string[] = [],
  options: SpawnProcessOptions = {},
): SpawnedProcess {
  const maxChars = options.maxBufferChars ?? 4 * 1024 * 1024;
  // Its own process group, so kill() reaches grandchildren too (a shell's children, npm's node).
  const child: ChildProcess = spawn(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const buffers = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  const append = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const next = buffers[stream] + chunk.toString('utf8');
    buffers[stream] = next.length > maxChars ? next.slice(next.length - maxChars) : next;
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append('stdout'));
  child.stderr?.on('data', append('stderr'));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(options.input ?? undefined);

  let exit: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      buffers.stderr += `spawn ${cmd} failed: ${error.message}\n`;
      exit ??= { code: 127, signal: null };
      resolve(exit);
    });
    child.once('exit', (code, signal) => {
      // 'close' waits for stdio to end, which a surviving grandchild holding the pipes can
      // delay forever; give the last output a moment to arrive, then report the exit anyway.
      const result = { code, signal };
      const timer = setTimeout(() => {
        exit ??= result;
        resolve(exit);
      }, 200);
      child.once('close', () => {
        clearTimeout(timer);
        exit ??= result;
        resolve(exit);
      });
    });
  }).then((result) => {
    running.delete(handle);
    for (const listener of listeners) listener();
    return result;
  });

  const describe = () =>
    `${cmd} ${args.join(' ')}\n--- stdout ---\n${buffers.stdout.slice(-4000)}\n--- stderr ---\n${buffers.stderr.slice(-4000)}`;

  const handle: SpawnedProcess = {
    pid: child.pid ?? -1,
    command: cmd,
    stdout: () => buffers.stdout,
    stderr: () => buffers.stderr,
    exited,
    hasExited: () => exit !== undefined,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (exit !== undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        child.kill(signal);
      }
    },
    async stop(graceMs = 5000) {
      handle.kill('SIGTERM');
      const timer = setTimeout(() => handle.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    waitForOutput(pattern, { timeoutMs = 10_000, stream = 'both' } = {}) {
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const text = () =>
          stream === 'both' ? `${buffers.stdout}\n${buffers.stderr}` : buffers[stream];
        const finish = (outcome: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          outcome();
        };
        const check = () => {
          const match = text().match(pattern);
          if (match) finish(() => resolve(match));
          else if (exit !== undefined)
            finish(() =>
              reject(
                new Error(
                  `process exited (${JSON.stringify(exit)}) before printing ${pattern}: ${describe()}`,
                ),
              ),
            );
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}: ${describe()}`),
              ),
            ),
          timeoutMs,
        );
        listeners.add(check);
        check();
      });
    },
  };
  running.add(handle);
  return handle;
}

/** killSpawnedProcesses SIGKILLs every process from {@link spawnProcess} still running. */
export async function killSpawnedProcesses(): Promise<void> {
  const all = [...running];
  for (const proc of all) proc.kill('SIGKILL');
  await Promise.all(all.map((proc) => proc.exited));
}
