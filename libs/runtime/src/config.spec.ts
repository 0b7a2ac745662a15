import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';

function configFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'opi-config-')), 'agent.yaml');
  writeFileSync(path, content);
  return path;
}

describe('agent configuration', () => {
  it('uses defaults when nothing is set', () => {
    const config = loadConfig({ defaultGrpcPort: 50051, argv: [], env: {} });
    expect(config).toMatchObject({
      nodeId: 'dpu0',
      natsUrl: 'nats://127.0.0.1:4222',
      grpcAddr: '0.0.0.0:50051',
      hal: 'sim',
      logLevel: 'info',
    });
  });

  it('layers defaults < config file < environment < flags', () => {
    const file = configFile(
      'nodeId: from-file\nhal: linux\nlogLevel: warn\ngrpcAddr: 127.0.0.1:1111\n',
    );
    const config = loadConfig({
      defaultGrpcPort: 50051,
      argv: ['--config', file, '--grpc-addr', '127.0.0.1:3333'],
      env: { OPI_NODE_ID: 'from-env', OPI_GRPC_ADDR: '127.0.0.1:2222' },
    });
    expect(config.nodeId).toBe('from-env');
    expect(config.hal).toBe('linux');
    expect(config.logLevel).toBe('warn');
    expect(config.grpcAddr).toBe('127.0.0.1:3333');
  });

  it('parses mutual-TLS files as cert:key:ca', () => {
    const config = loadConfig({
      defaultGrpcPort: 1,
      argv: [],
      env: { OPI_GRPC_TLS: 'c.pem:k.pem:ca.pem' },
    });
    expect(config.grpcTls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem' });
  });

  it.each([
    [{ OPI_GRPC_ADDR: 'no-port' }, [], 'OPI_GRPC_ADDR'],
    [{ OPI_NODE_ID: 'dpu.0' }, [], 'OPI_NODE_ID'],
    [{ OPI_LOG_LEVEL: 'loud' }, [], 'OPI_LOG_LEVEL'],
    [{ OPI_GRPC_TLS: 'only-cert.pem' }, [], 'OPI_GRPC_TLS'],
    [{ OPI_NATS_TLS: 'cert.pem:key.pem' }, [], 'OPI_NATS_TLS'],
    [{}, ['--grpc-addr', 'host:99999'], '--grpc-addr'],
    [{}, ['--no-such-flag', 'x'], '--no-such-flag'],
  ])('rejects %o %o naming %s', (env, argv, key) => {
    expect(() => loadConfig({ defaultGrpcPort: 1, argv, env })).toThrowError(
      expect.objectContaining({ name: 'ConfigError', key: expect.stringContaining(key) }),
    );
  });

  it('names the key and the file for a bad value in the config file', () => {
    const file = configFile('logLevel: shouty\n');
    try {
      loadConfig({ defaultGrpcPort: 1, argv: ['--config', file], env: {} });
      expect.unreachable('invalid config was accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(`logLevel (in ${file})`);
    }
  });

  it('rejects unknown keys in the config file', () => {
    const file = configFile('nodeId: a\nnatsUlr: nats://x\n');
    expect(() => loadConfig({ defaultGrpcPort: 1, argv: ['--config', file], env: {} })).toThrow(
      /natsUlr: unknown setting/,
    );
  });

  it('reads NATS TLS in the bus format', () => {
    const load = (value: string) =>
      loadConfig({ defaultGrpcPort: 1, argv: [], env: { OPI_NATS_TLS: value } }).natsTls;
    expect(load('false')).toBeUndefined();
    expect(load('true')).toBe(true);
    expect(load('/etc/ca.pem')).toEqual({ caFile: '/etc/ca.pem' });
    expect(load('c:k:ca')).toEqual({ certFile: 'c', keyFile: 'k', caFile: 'ca' });
  });

  it('accepts agent-specific keys from every source, JSON for structured values', () => {
    const extraShape = {
      ports: z.array(z.object({ name: z.string(), mac: z.string() })).default([]),
    };
    const config = loadConfig({
      defaultGrpcPort: 1,
      extraShape,
      argv: [],
      env: { OPI_PORTS: '[{"name":"pf0","mac":"02:00:00:00:00:01"}]' },
    });
    expect(config.ports).toEqual([{ name: 'pf0', mac: '02:00:00:00:00:01' }]);
  });
});
