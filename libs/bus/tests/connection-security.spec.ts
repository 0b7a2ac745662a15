import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makePki,
  startNatsServer,
  tempDir,
  type RunningNatsServer,
  type TempDir,
  type TestPki,
} from '@opi/testing';
import { BusConfigError, BusConnectError, connectBus } from '../src/index.js';
import { memoryLogger } from './support/memory-logger.js';
import { makeDecentralizedAuth, type TestOperatorAuth } from './support/credentials.js';

describe('connectBus with TLS and creds', () => {
  let dir: TempDir;
  let pki: TestPki;
  let auth: TestOperatorAuth;
  let tlsServer: RunningNatsServer;
  let mtlsServer: RunningNatsServer;
  let operatorServer: RunningNatsServer;

  beforeAll(async () => {
    dir = await tempDir('bus-security');
    [pki, auth] = await Promise.all([makePki(dir.path), makeDecentralizedAuth(dir.path)]);
    const tlsArgs = ['--tls', '--tlscert', pki.serverCert, '--tlskey', pki.serverKey];
    [tlsServer, mtlsServer, operatorServer] = await Promise.all([
      startNatsServer({ jetstream: false, args: tlsArgs }),
      startNatsServer({
        jetstream: false,
        args: [...tlsArgs, '--tlsverify', '--tlscacert', pki.caFile],
      }),
      startNatsServer({ jetstream: false, config: auth.serverConfig }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([tlsServer?.stop(), mtlsServer?.stop(), operatorServer?.stop()]);
    await dir?.cleanup();
  });

  it('connects over TLS trusting a private CA', async () => {
    const nc = await connectBus({ servers: tlsServer.url, tls: { caFile: pki.caFile } });
    expect(nc.info?.tls_required).toBe(true);
    const sub = nc.subscribe('tls.echo', { max: 1, callback: (_e, m) => void m.respond(m.data) });
    const reply = await nc.request('tls.echo', 'over tls', { timeout: 2000 });
    expect(reply.string()).toBe('over tls');
    sub.unsubscribe();
    await nc.close();
  });

  it('refuses a server whose certificate the CA did not sign', async () => {
    const error = await connectBus({ servers: tlsServer.url, tls: true, timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BusConnectError);
    expect((error as Error).message).toMatch(/certificate/i);
  });

  it('presents a client certificate to a server that requires one', async () => {
    const nc = await connectBus({
      servers: mtlsServer.url,
      tls: { caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.clientKey },
    });
    await nc.flush();
    await nc.close();
    const without = await connectBus({
      servers: mtlsServer.url,
      tls: { caFile: pki.caFile },
      timeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(without).toBeInstanceOf(BusConnectError);
  });

  it('needs both certFile and keyFile for a client certificate', async () => {
    await expect(
      connectBus({
        servers: mtlsServer.url,
        tls: { caFile: pki.caFile, certFile: pki.clientCert },
      }),
    ).rejects.toThrow(/^tls\.keyFile: certFile and keyFile go together/);
  });

  it('authenticates with a creds file and never logs the seed', async () => {
    const log = memoryLogger();
    const nc = await connectBus({
      servers: operatorServer.url,
      credsFile: auth.credsFile,
      logger: log.logger,
    });
    nc.subscribe('creds.echo', { max: 1, callback: (_e, m) => void m.respond(m.data) });
    expect((await nc.request('creds.echo', 'hi', { timeout: 2000 })).string()).toBe('hi');
    await nc.close();
    expect(log.text()).toContain('NATS connected');
    expect(log.text()).not.toContain(auth.userSeed);
  });

  it('is refused by an operator-mode server without creds', async () => {
    const error = await connectBus({ servers: operatorServer.url, maxReconnectAttempts: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BusConnectError);
    expect((error as BusConnectError).retryable).toBe(false);
  });

  it('rejects a file that is not a creds file, naming the option', async () => {
    const bogus = join(dir.path, 'bogus.creds');
    await writeFile(bogus, 'user: admin\npassword: secret\n');
    const error = await connectBus({ servers: operatorServer.url, credsFile: bogus }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BusConfigError);
    expect((error as BusConfigError).field).toBe('credsFile');
    expect((error as Error).message).not.toContain('secret');
  });
});
