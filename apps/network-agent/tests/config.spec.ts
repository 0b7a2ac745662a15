// Bad configuration makes the agent exit with code 2 and a message naming the offending key;
// it never starts half-configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { spawnProcess, startNatsServer, type RunningNatsServer } from '@opi/testing';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let nats: RunningNatsServer;

beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
});

async function exitOf(env: Record<string, string>) {
  const child = spawnProcess(process.execPath, [entry], {
    env: { ...process.env, OPI_NATS_URL: nats.url, OPI_GRPC_ADDR: '127.0.0.1:0', ...env },
  });
  const exit = await Promise.race([
    child.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`agent did not exit: ${child.stdout()}`)), 15_000),
    ),
  ]).finally(() => child.kill('SIGKILL'));
  return { code: exit.code, stderr: child.stderr() };
}

describe('network agent configuration', () => {
  it.each<{ key: string; env: Record<string, string>; message: RegExp }>([
    {
      key: 'OPI_REMOTE_VTEPS',
      env: { OPI_REMOTE_VTEPS: '10.0.0.2,not-an-ip' },
      message: /OPI_REMOTE_VTEPS: must be an IPv4 or IPv6 address at 1/,
    },
    {
      key: 'OPI_VTEP_ADDRESS',
      env: { OPI_VTEP_ADDRESS: '10.0.0.300' },
      message: /OPI_VTEP_ADDRESS: must be an IPv4 or IPv6 address/,
    },
    {
      key: 'OPI_PORTS',
      env: { OPI_PORTS: '[{"name":"pf0","mac":"02:00:00:00:00"}]' },
      message: /OPI_PORTS: must be a MAC like 02:00:00:00:00:01 at 0\.mac/,
    },
    {
      key: 'ports (sim needs MACs)',
      env: { OPI_PORTS: '[{"name":"pf0"}]' },
      message: /ports: the sim backend needs a MAC for every port, missing at 0\.mac/,
    },
    {
      key: 'hal',
      env: { OPI_HAL: 'bogus' },
      message: /hal: unknown backend "bogus" \(known: linux, sim\)/,
    },
  ])('exits 2 naming $key', async ({ env, message }) => {
    const { code, stderr } = await exitOf(env);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
