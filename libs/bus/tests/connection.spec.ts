import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, sleep, startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import { BusConfigError, BusConnectError, connectBus, redactUrl } from '../src/index.js';
import { memoryLogger } from './support/memory-logger.js';

describe('connectBus', () => {
  let server: RunningNatsServer;
  let secured: RunningNatsServer;
  beforeAll(async () => {
    [server, secured] = await Promise.all([
      startNatsServer(),
      startNatsServer({ user: 'agent', password: 'hunter2-secret', jetstream: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), secured?.stop()]);
  });

  it('connects and logs the server it connected to', async () => {
    const log = memoryLogger();
    const nc = await connectBus({ servers: server.url, name: 'test-client', logger: log.logger });
    try {
      expect(nc.isClosed()).toBe(false);
      expect(
        log.lines.some(
          (l) => l.msg === 'NATS connected' && String(l.server).endsWith(`:${server.port}`),
        ),
      ).toBe(true);
    } finally {
      await nc.close();
    }
    await waitFor(() => log.lines.some((l) => l.msg === 'NATS connection closed'), {
      message: 'close logged',
    });
  });

  it('keeps reconnecting while the server is down and logs disconnect and reconnect', async () => {
    const log = memoryLogger();
    const nc = await connectBus({
      servers: server.url,
      logger: log.logger,
      reconnectTimeWaitMs: 100,
    });
    try {
      const received: string[] = [];
      nc.subscribe('restart.test', { callback: (_e, m) => void received.push(m.string()) });
      await nc.flush();
      await server.kill();
      await waitFor(() => log.lines.some((l) => l.msg === 'NATS disconnected'), {
        message: 'disconnect logged',
      });
      // Down for far longer than the client's default of 10 attempts × 100 ms: only an endless
      // reconnect policy is still trying when the server comes back.
      await sleep(2500);
      expect(nc.isClosed()).toBe(false);
      await server.restart();
      await waitFor(() => log.lines.some((l) => l.msg === 'NATS reconnected'), {
        timeoutMs: 15_000,
        message: 'reconnect logged',
      });
      // The subscription was restored on the new server connection.
      nc.publish('restart.test', 'after restart');
      await waitFor(() => received.includes('after restart'), { message: 'message after restart' });
      expect(nc.isClosed()).toBe(false);
    } finally {
      await nc.close();
    }
  });

  it('authenticates with user and password without logging the password', async () => {
    const log = memoryLogger();
    const nc = await connectBus({
      servers: secured.url,
      user: 'agent',
      password: 'hunter2-secret',
      logger: log.logger,
    });
    await nc.close();
    expect(log.lines.length).toBeGreaterThan(0);
    expect(log.text()).not.toContain('hunter2-secret');
  });

  it('rejects a wrong password with a non-retryable connect error', async () => {
    const log = memoryLogger();
    const error = await connectBus({
      servers: secured.url,
      user: 'agent',
      password: 'wrong-password-xyz',
      logger: log.logger,
      maxReconnectAttempts: 0,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusConnectError);
    expect((error as BusConnectError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/authorization/i);
    expect(log.text()).not.toContain('wrong-password-xyz');
  });

  it('fails fast with a retryable error when no server listens', async () => {
    const error = await connectBus({ servers: 'nats://127.0.0.1:1', timeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BusConnectError);
    expect((error as BusConnectError).retryable).toBe(true);
  });

  it('waits for a server that is not up yet when asked to', async () => {
    const port = await freePort();
    const connecting = connectBus({
      servers: `nats://127.0.0.1:${port}`,
      waitOnFirstConnect: true,
      reconnectTimeWaitMs: 100,
    });
    await sleep(500);
    const late = await startNatsServer({ port, jetstream: false });
    try {
      const nc = await connecting;
      expect(nc.getServer()).toContain(String(port));
      await nc.close();
    } finally {
      await late.stop();
    }
  });

  it('names the option that is wrong', async () => {
    await expect(connectBus({ servers: '' })).rejects.toThrow(/^servers: at least one/);
    await expect(connectBus({ servers: 'http://127.0.0.1:4222' })).rejects.toThrow(
      /^servers: http:/,
    );
    await expect(connectBus({ servers: server.url, user: 'only-user' })).rejects.toThrow(
      /^password: /,
    );
    await expect(
      connectBus({ servers: server.url, credsFile: '/nonexistent.creds' }),
    ).rejects.toThrow(/^credsFile: cannot read \/nonexistent.creds: ENOENT/);
    await expect(
      connectBus({ servers: server.url, tls: { caFile: '/nonexistent-ca.pem' } }),
    ).rejects.toThrow(BusConfigError);
    await expect(
      connectBus({ servers: server.url, tls: { caFile: '/nonexistent-ca.pem' } }),
    ).rejects.toThrow(/^tls\.caFile: cannot read/);
  });

  it('redacts credentials in server URLs', () => {
    expect(redactUrl('nats://agent:secret@host:4222')).toBe('nats://agent:***@host:4222');
    expect(redactUrl('nats://host:4222')).toBe('nats://host:4222');
  });
});
