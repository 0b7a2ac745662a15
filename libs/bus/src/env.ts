import { BusConfigError } from './errors.js';
import type { BusConnectionOptions, BusTlsOptions } from './connection.js';

/** Environment variables read by {@link busOptionsFromEnv}. */
export const busEnvironmentVariables = [
  'OPI_NATS_URL',
  'OPI_NATS_USER',
  'OPI_NATS_PASSWORD',
  'OPI_NATS_CREDS',
  'OPI_NATS_TLS',
] as const;

/** Default server when `OPI_NATS_URL` is unset. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/**
 * parseNatsTls reads the `OPI_NATS_TLS` format shared with `@opi/runtime`: `true`/`1` (TLS
 * with the system CAs), a CA file path, or `cert:key:ca` (client certificate, mutual TLS).
 * Returns undefined for unset, empty, `false` or `0`; throws {@link BusConfigError} otherwise.
 */
export function parseNatsTls(
  value: string | undefined,
  field = 'OPI_NATS_TLS',
): BusTlsOptions | undefined {
  if (value === undefined || value === '' || value === 'false' || value === '0') return undefined;
  if (value === 'true' || value === '1') return true;
  const parts = value.split(':');
  if (parts.length === 1) return { caFile: value };
  if (parts.length === 3 && parts.every((part) => part.length > 0)) {
    const [certFile, keyFile, caFile] = parts as [string, string, string];
    return { certFile, keyFile, caFile };
  }
  throw new BusConfigError(field, 'must be true, a CA file, or cert:key:ca');
}

/**
 * busOptionsFromEnv maps the `OPI_NATS_*` variables to connection options, so every process
 * (agents, opictl, tools) reads them the same way. Unset variables are left out; merge the
 * result with `name`, `logger` and the reconnect policy of the caller.
 */
export function busOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): Pick<BusConnectionOptions, 'servers' | 'user' | 'password' | 'credsFile' | 'tls'> {
  const pick = (key: (typeof busEnvironmentVariables)[number]) => {
    const value = env[key];
    return value === undefined || value === '' ? undefined : value;
  };
  const user = pick('OPI_NATS_USER');
  const password = pick('OPI_NATS_PASSWORD');
  if ((user === undefined) !== (password === undefined)) {
    throw new BusConfigError(
      user === undefined ? 'OPI_NATS_USER' : 'OPI_NATS_PASSWORD',
      'user and password go together',
    );
  }
  const credsFile = pick('OPI_NATS_CREDS');
  const tls = parseNatsTls(pick('OPI_NATS_TLS'));
  return {
    servers: pick('OPI_NATS_URL') ?? DEFAULT_NATS_URL,
    ...(user === undefined ? {} : { user, password }),
    ...(credsFile === undefined ? {} : { credsFile }),
    ...(tls === undefined ? {} : { tls }),
  };
}
