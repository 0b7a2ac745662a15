import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { connect as connectTcp } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { freePort } from './ports.js';
import { spawnProcess, type SpawnedProcess } from './process.js';
import { tempDir, type TempDir } from './temp-dir.js';
import { sleep } from './wait.js';

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Enable JetStream with a temporary file store (default true). */
  jetstream?: boolean;
  /** Require this user name (with `password`) from every client. */
  user?: string;
  password?: string;
  /** Extra command-line arguments for nats-server. */
  args?: string[];
  /** Text of a nats-server configuration file, written to the temp dir and passed with `-c`. */
  config?: string;
  /** Listen on this port instead of a free one. */
  port?: number;
  /** How long to wait for the server to accept clients (default 15 s). */
  startTimeoutMs?: number;
}

/** A nats-server started for a test; call `stop()` in `afterAll`. */
export interface RunningNatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** HTTP monitoring port (`/varz`, `/connz`, `/jsz`, `/healthz`). */
  readonly monitorPort: number;
  /** Temporary directory holding the JetStream store (and the config file, if any). */
  readonly storeDir: string;
  /** The current server process. */
  process(): SpawnedProcess;
  /** Kills the server (SIGKILL) without removing its store: clients see a lost connection. */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same store (after `kill()` or not). */
  restart(): Promise<void>;
  /** Stops the server and removes its temp dir; calling it twice is harmless. */
  stop(): Promise<void>;
}

/** NatsServerNotInstalledError says that no nats-server binary was found. */
export class NatsServerNotInstalledError extends Error {
  override readonly name = 'NatsServerNotInstalledError';
}

/**
 * findNatsServer returns the path of the nats-server binary, searching `searchDirs` (default:
 * PATH, then /usr/sbin, /usr/local/bin, /usr/bin); throws {@link NatsServerNotInstalledError}.
 */
export async function findNatsServer(
  searchDirs: string[] = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/local/bin',
    '/usr/bin',
  ],
): Promise<string> {
  for (const dir of searchDirs.filter(Boolean)) {
    const candidate = join(dir, 'nats-server');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new NatsServerNotInstalledError(
    `nats-server is not installed (looked in ${searchDirs.filter(Boolean).join(', ')}); install it with \`apt-get install nats-server\``,
  );
}

/**
 * startNatsServer spawns a real nats-server on free ports of 127.0.0.1 with JetStream storing
 * into a fresh temp dir, and resolves once the server answers its monitoring `/healthz` (which
 * includes JetStream readiness) and accepts a TCP client.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<RunningNatsServer> {
  const binary = await findNatsServer();
  const dir = await tempDir('opi-nats');
  try {
    const configFile = join(dir.path, 'nats-server.conf');
    if (options.config !== undefined) await writeFile(configFile, options.config);
    let lastError: unknown;
    // A free port may be taken between asking and binding; a few attempts make that harmless.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = options.port ?? (await freePort());
      const monitorPort = await freePort();
      const args = serverArgs(
        options,
        dir,
        port,
        monitorPort,
        options.config !== undefined ? configFile : undefined,
      );
      try {
        let current = await launch(
          binary,
          args,
          port,
          monitorPort,
          options.startTimeoutMs ?? 15_000,
        );
        return handle(
          binary,
          args,
          dir,
          port,
          monitorPort,
          () => current,
          (next) => (current = next),
          options,
        );
      } catch (error) {
        lastError = error;
        if (!String(error).includes('address already in use') || options.port !== undefined) break;
      }
    }
    throw lastError;
  } catch (error) {
    await dir.cleanup();
    throw error;
  }
}

function serverArgs(
  options: NatsServerOptions,
  dir: TempDir,
  port: number,
  monitorPort: number,
  configFile: string | undefined,
): string[] {
  const args = configFile ? ['-c', configFile] : [];
  args.push(
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-m',
    String(monitorPort),
    '--server_name',
    `test-${port}`,
  );
  if (options.jetstream ?? true) args.push('-js', '-sd', dir.path);
  if (options.user !== undefined) args.push('--user', options.user);
  if (options.password !== undefined) args.push('--pass', options.password);
  args.push(...(options.args ?? []));
  return args;
}

function handle(
  binary: string,
  args: string[],
  dir: TempDir,
  port: number,
  monitorPort: number,
  current: () => SpawnedProcess,
  replace: (next: SpawnedProcess) => void,
  options: NatsServerOptions,
): RunningNatsServer {
  let stopped = false;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorPort,
    storeDir: dir.path,
    process: current,
    async kill() {
      current().kill('SIGKILL');
      await current().exited;
    },
    async restart() {
      if (stopped) throw new Error('restart: this nats-server was stopped and its store removed');
      await current().stop(5000);
      replace(await launch(binary, args, port, monitorPort, options.startTimeoutMs ?? 15_000));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await current().stop(5000);
      await dir.cleanup();
    },
  };
}

async function launch(
  binary: string,
  args: string[],
  port: number,
  monitorPort: number,
  timeoutMs: number,
): Promise<SpawnedProcess> {
  const proc = spawnProcess(binary, args);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      throw new Error(`nats-server exited while starting: ${proc.stderr().slice(-2000)}`);
    }
    if ((await healthy(monitorPort)) && (await acceptsTcp(port))) return proc;
    await sleep(50);
  }
  await proc.stop(1000);
  throw new Error(
    `nats-server did not become ready within ${timeoutMs} ms: ${proc.stderr().slice(-2000)}`,
  );
}

async function healthy(monitorPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${monitorPort}/healthz`, {
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    // nats-server greets every client with an INFO line.
    socket.once('data', (chunk) => done(chunk.toString('utf8').startsWith('INFO')));
    socket.once('error', () => done(false));
  });
}
