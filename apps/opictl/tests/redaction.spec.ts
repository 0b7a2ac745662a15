import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpiPackageDefinition } from '@opi/api';
import { killSpawnedProcesses, startNatsServer, tempDir, type TempDir } from '@opi/testing';
import { startAgentProcess, waitUntilServing, type AgentProcess } from './stack-harness.js';

type Nats = Awaited<ReturnType<typeof startNatsServer>>;
type UnaryClient = grpc.Client &
  Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => void>;

/** Every form in which a leaked secret could appear in text. */
function forms(secret: Buffer): string[] {
  return [
    secret.toString('latin1'),
    secret.toString('hex'),
    secret.toString('hex').toUpperCase(),
    secret.toString('base64'),
    secret.toString('base64url'),
  ];
}

describe('secrets in requests never leave the agent', () => {
  let nats: Nats;
  let state: TempDir;
  let nc: NatsConnection;
  let agent: AgentProcess;
  const busTraffic: string[] = [];
  // printable secrets, so that their raw form could show up in text logs
  const keyBytes = Buffer.from(`KEY${randomBytes(12).toString('hex')}`);
  const pskBytes = Buffer.from(`PSK${randomBytes(12).toString('hex')}`);
  const stringSecret = Buffer.from(`STR${randomBytes(12).toString('hex')}`);
  const responses: string[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    state = await tempDir('opi-redaction');
    nc = await connect({ servers: nats.url });
    nc.subscribe('>', {
      callback: (_err, msg) => {
        busTraffic.push(`${msg.subject} ${msg.string()}`);
      },
    });
    agent = await startAgentProcess('storage-agent', {
      OPI_NATS_URL: nats.url,
      OPI_NODE_ID: `redact${process.pid}`,
      OPI_STATE_DIR: state.path,
      OPI_LOG_LEVEL: 'trace',
    });
    await waitUntilServing(agent);
  });

  afterAll(async () => {
    await nc?.close();
    await killSpawnedProcesses();
    await nats?.stop();
    await state?.cleanup();
  });

  const call = (service: string, method: string, request: unknown) => {
    const definition = grpc.loadPackageDefinition(loadOpiPackageDefinition());
    const path = service.split('.');
    const Ctor = path.reduce<unknown>(
      (node, part) => (node as Record<string, unknown>)[part],
      definition,
    ) as grpc.ServiceClientConstructor;
    const client = new Ctor(
      agent.grpcAddr,
      grpc.credentials.createInsecure(),
    ) as unknown as UnaryClient;
    return new Promise<void>((resolve) => {
      client[method]!(request, (error, response) => {
        responses.push(
          JSON.stringify({
            code: error?.code,
            details: error?.details,
            message: error?.message,
            response,
          }),
        );
        client.close();
        resolve();
      });
    });
  };

  it('a request carrying bytes and string secrets leaves no trace in logs, bus traffic or responses', async () => {
    await call('opi_api.storage.v1.MiddleendEncryptionService', 'CreateEncryptedVolume', {
      encrypted_volume: {
        volume_name_ref: stringSecret.toString(),
        key: keyBytes,
        cipher: 'ENCRYPTION_TYPE_AES_XTS_256',
      },
      encrypted_volume_id: 'redaction-test',
    });
    await call('opi_api.storage.v1.FrontendNvmeService', 'CreateNvmeSubsystem', {
      nvme_subsystem: {
        spec: {
          nqn: 'nqn.2022-09.io.spdk:redact',
          psk: pskBytes,
          hostnqn: stringSecret.toString(),
        },
      },
      nvme_subsystem_id: 'redaction-test',
    });
    await nc.flush();
    agent.process.kill('SIGTERM');
    await agent.process.exited;

    const everything = [
      agent.process.stdout(),
      agent.process.stderr(),
      ...busTraffic,
      ...responses,
    ].join('\n');
    // the calls really happened and were logged at this level
    expect(agent.process.stdout()).toContain('CreateEncryptedVolume');
    expect(responses).toHaveLength(2);
    for (const secret of [keyBytes, pskBytes, stringSecret]) {
      for (const form of forms(secret)) expect(everything).not.toContain(form);
    }
  });
});
