import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makePki, tempDir, type TempDir } from '@opi/testing';
import { createGrpcServer, createLogger, type AgentGrpcServer } from '../src/index.js';

type HealthClient = grpc.Client & {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: { status: string }) => void,
  ): void;
};
const { Health } = (
  grpc.loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
    grpc: {
      health: {
        v1: { Health: new (...args: ConstructorParameters<typeof grpc.Client>) => HealthClient };
      };
    };
  }
).grpc.health.v1;

function check(
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
) {
  const client = new Health(address, credentials, {
    'grpc.use_local_subchannel_pool': 1,
    ...options,
  });
  return new Promise<string>((resolve, reject) => {
    client.Check({ service: '' }, { deadline: Date.now() + 3000 }, (error, reply) => {
      client.close();
      if (error) reject(error);
      else resolve(String(reply?.status));
    });
  });
}

describe('agent gRPC server', () => {
  let dir: TempDir;
  const logs = new PassThrough();
  const logText: string[] = [];
  logs.on('data', (chunk: Buffer) => logText.push(chunk.toString()));
  const logger = createLogger({ name: 'test', level: 'debug', destination: logs });
  const servers: AgentGrpcServer[] = [];

  beforeAll(async () => {
    dir = await tempDir('opi-grpc');
  });
  afterAll(async () => {
    for (const server of servers) await server.shutdown(100);
    await dir.cleanup();
  });

  it('reports NOT_SERVING until ready, then SERVING, and logs calls without payloads', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const server = createGrpcServer({ address, logger });
    servers.push(server);
    await server.listen();
    expect(await check(address, grpc.credentials.createInsecure())).toBe('NOT_SERVING');
    server.setServing(true);
    expect(await check(address, grpc.credentials.createInsecure())).toBe('SERVING');
    const record = logText
      .map((line) => JSON.parse(line))
      .find((r) => r.method === '/grpc.health.v1.Health/Check');
    expect(record).toMatchObject({ code: 'OK', method: '/grpc.health.v1.Health/Check' });
    expect(typeof record.latencyMs).toBe('number');
  });

  it('with cert:key:ca requires a client certificate signed by the CA (mutual TLS)', async () => {
    const certs = await makePki(dir.path);
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    // Clients name the server by host name: TLS server names cannot be IP addresses (RFC 6066).
    const tlsTarget = `localhost:${port}`;
    const server = createGrpcServer({
      address,
      logger,
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile },
    });
    servers.push(server);
    await server.listen();
    server.setServing(true);
    const ca = readFileSync(certs.caFile);
    const withClientCert = grpc.credentials.createSsl(
      ca,
      readFileSync(certs.clientKey),
      readFileSync(certs.clientCert),
    );
    expect(await check(tlsTarget, withClientCert)).toBe('SERVING');
    await expect(check(tlsTarget, grpc.credentials.createSsl(ca))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    await expect(check(address, grpc.credentials.createInsecure())).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });

  it('drains in-flight calls on shutdown and refuses new ones', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const server = createGrpcServer({ address, logger });
    await server.listen();
    server.setServing(true);
    expect(await server.shutdown(1000)).toBe('drained');
    await expect(check(address, grpc.credentials.createInsecure())).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });
});
