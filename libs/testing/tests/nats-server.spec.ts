import { existsSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findNatsServer,
  NatsServerNotInstalledError,
  startNatsServer,
  type RunningNatsServer,
} from '../src/index.js';

/** Reads the INFO line a nats-server sends to every new client. */
function serverInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('data', (chunk) => {
      socket.destroy();
      const line = chunk.toString('utf8');
      resolve(
        JSON.parse(line.slice('INFO '.length, line.indexOf('\r\n'))) as Record<string, unknown>,
      );
    });
  });
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('startNatsServer', () => {
  const servers: RunningNatsServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it('starts a JetStream-enabled server on a free port with a temp store', async () => {
    const server = await startNatsServer();
    servers.push(server);
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(existsSync(server.storeDir)).toBe(true);
    const info = await serverInfo(server.port);
    expect(info.jetstream).toBe(true);
    expect(info.auth_required).toBeUndefined();
    const jsz = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/jsz`)).json()) as {
      config: { store_dir: string };
    };
    expect(jsz.config.store_dir.startsWith(server.storeDir)).toBe(true);
  });

  it('requires user and password when asked to', async () => {
    const server = await startNatsServer({ user: 'alice', password: 's3cret', jetstream: false });
    servers.push(server);
    const info = await serverInfo(server.port);
    expect(info.auth_required).toBe(true);
    expect(info.jetstream).toBeUndefined();
  });

  it('runs two servers side by side on different ports', async () => {
    const [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
    servers.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(a.storeDir).not.toBe(b.storeDir);
  });

  it('restarts on the same port after being killed', async () => {
    const server = await startNatsServer();
    servers.push(server);
    const firstPid = server.process().pid;
    await server.kill();
    expect(await portIsClosed(server.port)).toBe(true);
    await server.restart();
    expect(server.process().pid).not.toBe(firstPid);
    expect((await serverInfo(server.port)).jetstream).toBe(true);
  });

  it('stop kills the server and removes its store', async () => {
    const server = await startNatsServer();
    await server.stop();
    await server.stop();
    expect(server.process().hasExited()).toBe(true);
    expect(existsSync(server.storeDir)).toBe(false);
    expect(await portIsClosed(server.port)).toBe(true);
  });

  it('accepts a configuration file', async () => {
    const server = await startNatsServer({ config: 'max_payload: 4096\n', jetstream: false });
    servers.push(server);
    expect((await serverInfo(server.port)).max_payload).toBe(4096);
  });

  it('says clearly when nats-server is not installed', async () => {
    const error = await findNatsServer(['/nonexistent-dir']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsServerNotInstalledError);
    expect((error as Error).message).toMatch(/nats-server is not installed.*nonexistent-dir/);
  });
});
