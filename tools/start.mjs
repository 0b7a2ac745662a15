#!/usr/bin/env node
// `npm start`: the whole stack on one machine — a local nats-server child (JetStream, data under
// the state folder) and the four agents on the emulated device, with prefixed readable logs.
// Uses only Node built-ins until dependencies are installed, so it works on a fresh clone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { agents } from './stack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = resolve(process.env.OPI_STATE_DIR ?? join(root, '.state'));
const natsPort = Number(process.env.OPI_NATS_PORT ?? 4222);
const natsMonitorPort = Number(process.env.OPI_NATS_MONITOR_PORT ?? 8222);
const externalNats = process.env.OPI_NATS_URL;
const startedAt = Date.now();
const children = [];
let stopping = false;

const say = (message) => process.stdout.write(`\x1b[1m[start]\x1b[0m ${message}\n`);
const fail = (message) => {
  process.stderr.write(`[start] ${message}\n`);
  process.exit(1);
};

function run(cmd, args, what) {
  say(`${what}: ${cmd} ${args.join(' ')}`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) fail(`${what} failed (exit ${result.status ?? result.signal})`);
}

function findOnPath(name, extra = []) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function ensureNatsServer() {
  const found = findOnPath('nats-server', ['/usr/sbin', '/usr/local/bin']);
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const isDebian = existsSync('/etc/debian_version');
  if (isRoot && isDebian && findOnPath('apt-get')) {
    say('nats-server not found; installing the Debian package');
    run('apt-get', ['update', '-qq'], 'apt-get update');
    run('apt-get', ['install', '-y', '-qq', 'nats-server'], 'install nats-server');
    const installed = findOnPath('nats-server', ['/usr/sbin']);
    if (installed) return installed;
  }
  fail(
    'nats-server is not installed. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`, ' +
      'or https://github.com/nats-io/nats-server/releases), or point the stack at an existing ' +
      'server with OPI_NATS_URL=nats://host:4222 npm start',
  );
}

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolvePromise, reject) => {
    const attempt = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolvePromise();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`nothing listens on port ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Pipes a child's output line by line with a coloured name prefix; agents' JSON logs are prettified. */
function prefixOutput(child, name, colour, pretty) {
  const tag = `\x1b[${colour}m${name.padEnd(16)}\x1b[0m|`;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      const text = pretty && line.startsWith('{') ? pretty(line).trimEnd() : line;
      process.stdout.write(`${tag} ${text}\n`);
    });
  }
}

function startChild(name, cmd, args, env, colour, pretty) {
  const child = spawn(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prefixOutput(child, name, colour, pretty);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? code}); stopping the stack`);
      void stopAll(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function stopAll(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  say('stopping agents…');
  const agentsFirst = [...children].reverse();
  for (const { name, child } of agentsFirst) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise((done) => {
      const timer = setTimeout(() => {
        say(`${name} did not stop in 10 s; killing it`);
        child.kill('SIGKILL');
      }, 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
    });
  }
  say('stopped');
  process.exit(exitCode);
}

/** Newest modification time of a project's build inputs (sources, protos, build configs). */
function newestBuildInput(project) {
  const walk = (path) => {
    if (!existsSync(path)) return 0;
    const stat = statSync(path);
    if (!stat.isDirectory()) return stat.mtimeMs;
    return Math.max(0, ...readdirSync(path).map((entry) => walk(join(path, entry))));
  };
  const inputs = ['src', 'assembly', 'proto', 'package.json', 'project.json', 'tsconfig.lib.json'];
  return Math.max(...inputs.map((input) => walk(join(project, input))));
}

/** Written after every successful build of `npm start`; older than any build input means stale. */
const buildStamp = join(root, 'node_modules', '.cache', 'opi-start-build.stamp');

/**
 * True when the last build of `npm start` is newer than every project's build inputs and every
 * agent's entry point exists. Nx would find the same answer in its cache, but spends seconds
 * computing the project graph; this keeps a restart fast.
 */
function buildIsFresh() {
  if (!existsSync(buildStamp)) return false;
  if (!agents.every((agent) => existsSync(join(root, agent.entry)))) return false;
  const built = statSync(buildStamp).mtimeMs;
  for (const group of ['libs', 'apps']) {
    for (const name of readdirSync(join(root, group))) {
      if (newestBuildInput(join(root, group, name)) > built) return false;
    }
  }
  return true;
}

// 1. dependencies and build
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  run(
    'npm',
    [existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install'],
    'installing dependencies',
  );
}
if (buildIsFresh()) {
  say('build is up to date');
} else {
  run(
    'npx',
    ['nx', 'run-many', '-t', 'build', '--output-style=static', '--projects=tag:layer:app'],
    'building',
  );
  mkdirSync(dirname(buildStamp), { recursive: true });
  writeFileSync(buildStamp, new Date().toISOString());
}
const { prettyFactory } = await import('pino-pretty');
const pretty = prettyFactory({
  colorize: Boolean(process.stdout.isTTY),
  ignore: 'pid,hostname,name,node,instance',
});

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// Never leave a nats-server or an agent behind, whatever ends this process.
process.on('exit', () => {
  for (const { child } of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
process.on('uncaughtException', (error) => {
  process.stderr.write(`[start] ${error.stack ?? error.message}\n`);
  void stopAll(1);
});
process.on('unhandledRejection', (error) => {
  process.stderr.write(
    `[start] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  void stopAll(1);
});

// 2. NATS
let natsUrl = externalNats;
if (!natsUrl) {
  const natsServer = ensureNatsServer();
  const natsDir = join(stateDir, 'nats');
  mkdirSync(natsDir, { recursive: true });
  startChild(
    'nats-server',
    natsServer,
    [
      '-js',
      '-sd',
      natsDir,
      '-a',
      '127.0.0.1',
      '-p',
      String(natsPort),
      '-m',
      String(natsMonitorPort),
    ],
    {},
    '35',
    undefined,
  );
  await waitForPort(natsPort, 10_000).catch((error) => fail(error.message));
  natsUrl = `nats://127.0.0.1:${natsPort}`;
}

// 3. agents
const colours = ['32', '34', '33', '36'];
agents.forEach((agent, index) => {
  startChild(
    agent.name,
    process.execPath,
    [join(root, agent.entry)],
    {
      // lab defaults of the stack, unless the caller's environment sets them
      ...Object.fromEntries(
        Object.entries(agent.env).filter(([key]) => process.env[key] === undefined),
      ),
      OPI_NATS_URL: natsUrl,
      OPI_STATE_DIR: join(stateDir, agent.name),
      OPI_NODE_ID: process.env.OPI_NODE_ID ?? 'dpu0',
    },
    colours[index % colours.length],
    pretty,
  );
});

// 4. wait for all-healthy through discovery, as `opictl agents` sees it
const { connectBus, discoverAgents } = await import('@opi/bus');
const { createLogger } = await import('@opi/runtime');
const nc = await connectBus({
  servers: natsUrl,
  name: 'opi-start',
  logger: createLogger({ name: 'start', level: 'warn', pretty: false }),
});
const deadline = Date.now() + 60_000;
for (;;) {
  const seen = await discoverAgents(nc, { timeoutMs: 300 });
  const healthy = agents.filter((a) => seen.some((s) => s.name === a.name && s.healthy));
  if (healthy.length === agents.length) break;
  if (Date.now() > deadline)
    fail(`only ${healthy.length}/${agents.length} agents healthy after 60 s`);
}
await nc.close();
const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
say(`all ${agents.length} agents healthy in ${seconds} s`);
say(
  `NATS        ${natsUrl}${externalNats ? '' : `  (monitoring http://127.0.0.1:${natsMonitorPort})`}`,
);
for (const agent of agents) say(`${agent.name.padEnd(16)} grpc 127.0.0.1:${agent.grpcPort}`);
say('try: npx opictl agents   |   Ctrl-C stops everything');
