import { describe, expect, it } from 'vitest';
import { BusConfigError, busOptionsFromEnv, parseNatsTls } from '../src/index.js';

describe('connection options from OPI_NATS_* variables', () => {
  it('defaults to the local server with no credentials', () => {
    expect(busOptionsFromEnv({})).toEqual({ servers: 'nats://127.0.0.1:4222' });
  });

  it('reads server, user, password, creds and TLS', () => {
    expect(
      busOptionsFromEnv({
        OPI_NATS_URL: 'tls://nats.example:4222',
        OPI_NATS_USER: 'agent',
        OPI_NATS_PASSWORD: 'pw',
        OPI_NATS_TLS: '/etc/opi/ca.pem',
      }),
    ).toEqual({
      servers: 'tls://nats.example:4222',
      user: 'agent',
      password: 'pw',
      tls: { caFile: '/etc/opi/ca.pem' },
    });
    expect(
      busOptionsFromEnv({ OPI_NATS_CREDS: '/etc/opi/agent.creds', OPI_NATS_TLS: 'true' }),
    ).toEqual({
      servers: 'nats://127.0.0.1:4222',
      credsFile: '/etc/opi/agent.creds',
      tls: true,
    });
  });

  it('reads OPI_NATS_TLS the way the runtime does', () => {
    expect(parseNatsTls('1')).toBe(true);
    expect(parseNatsTls('false')).toBeUndefined();
    expect(parseNatsTls('c.pem:k.pem:ca.pem')).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
      caFile: 'ca.pem',
    });
    expect(() => parseNatsTls('a:b')).toThrow(
      /^OPI_NATS_TLS: must be true, a CA file, or cert:key:ca/,
    );
  });

  it('names the variable that is missing its partner', () => {
    const error = (() => {
      try {
        busOptionsFromEnv({ OPI_NATS_USER: 'agent' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(BusConfigError);
    expect((error as BusConfigError).field).toBe('OPI_NATS_PASSWORD');
  });
});
