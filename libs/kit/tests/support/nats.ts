// One nats-server (temp JetStream store) and one connection per spec file, stopped afterwards.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { startNatsServer, type RunningNatsServer } from '@opi/testing';

/** The suite's server and connection; read them inside tests (they exist from beforeAll on). */
export interface SuiteNats {
  readonly server: RunningNatsServer;
  readonly nc: NatsConnection;
}

/** useNatsServer registers beforeAll/afterAll hooks that start and stop a server and connection. */
export function useNatsServer(): SuiteNats {
  let server: RunningNatsServer | undefined;
  let nc: NatsConnection | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useNatsServer: read server/nc inside a test or hook');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get nc() {
      return started(nc);
    },
  };
}
