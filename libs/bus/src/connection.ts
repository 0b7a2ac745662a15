import { readFile, access, constants } from 'node:fs/promises';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type Status,
  type TlsOptions,
} from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { BusConfigError, BusConnectError } from './errors.js';

/** TLS settings for the NATS connection: `true` uses the system CAs. */
export type BusTlsOptions = true | { caFile?: string; certFile?: string; keyFile?: string };

/** Options of {@link connectBus}. */
export interface BusConnectionOptions {
  /** `nats://host:port` URL(s); a comma-separated string is split. */
  servers: string | string[];
  /** Client name shown by the server (`/connz`), e.g. `network-agent.dpu0.1a2b3c4d`. */
  name?: string;
  user?: string;
  password?: string;
  /** Path of a NATS `.creds` file (user JWT + nkey seed); read once at connect. */
  credsFile?: string;
  tls?: BusTlsOptions;
  /** Receives every connection status change; defaults to a silent logger. */
  logger?: Logger;
  /** Reconnect attempts per server after a loss; -1 (default) retries forever. */
  maxReconnectAttempts?: number;
  /** Pause between reconnect attempts to the same server (default 1000 ms). */
  reconnectTimeWaitMs?: number;
  /** Timeout of the first connect (default 5000 ms). */
  timeoutMs?: number;
  /** Keep trying the first connect as well, instead of failing when no server answers. */
  waitOnFirstConnect?: boolean;
}

/**
 * connectBus opens the NATS connection every agent shares: endless reconnect by default, auth
 * by user/password or creds file, optional TLS, and every status change (disconnect,
 * reconnect, error, lame-duck, stale connection, slow consumer, close) logged through
 * `logger`. Passwords, creds and URL credentials are never logged.
 *
 * Throws {@link BusConfigError} (names the option) for unusable options and
 * {@link BusConnectError} when the first connect fails (`retryable` unless it was refused
 * for authorization).
 */
export async function connectBus(options: BusConnectionOptions): Promise<NatsConnection> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const servers = normalizeServers(options.servers);
  const authenticator =
    options.credsFile === undefined ? undefined : await readCreds(options.credsFile);
  if ((options.user === undefined) !== (options.password === undefined)) {
    throw new BusConfigError(
      options.user === undefined ? 'user' : 'password',
      'user and password go together',
    );
  }
  if (authenticator && options.user !== undefined) {
    throw new BusConfigError('credsFile', 'use either a creds file or user/password, not both');
  }
  const tls = options.tls === undefined ? undefined : await tlsOptions(options.tls);
  const safeServers = servers.map(redactUrl);

  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      user: options.user,
      pass: options.password,
      authenticator,
      tls,
      maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 1000,
      timeout: options.timeoutMs ?? 5000,
      waitOnFirstConnect: options.waitOnFirstConnect ?? false,
    });
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const authFailure = /authori[sz]ation|authentication|permissions/i.test(message);
    logger.error({ servers: safeServers, err: message }, 'NATS connect failed');
    throw new BusConnectError(`cannot connect to NATS at ${safeServers.join(',')}: ${message}`, {
      retryable: !authFailure,
      cause: error,
    });
  }
  // `clientName`, not `name`: pino loggers often carry `name` already, and JSON must not repeat keys.
  logger.info({ server: redactUrl(nc.getServer()), clientName: options.name }, 'NATS connected');
  void logStatus(nc, logger);
  void nc.closed().then((error) => {
    if (error) logger.error({ err: error.message }, 'NATS connection closed with an error');
    else logger.info('NATS connection closed');
  });
  return nc;
}

async function logStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of nc.status()) logStatusChange(logger, status);
}

/** logStatusChange logs one status event at a level that matches its severity. */
function logStatusChange(logger: Logger, status: Status): void {
  switch (status.type) {
    case 'disconnect':
      logger.warn({ server: redactUrl(status.server) }, 'NATS disconnected');
      return;
    case 'reconnecting':
      logger.debug('NATS reconnecting');
      return;
    case 'reconnect':
      logger.info({ server: redactUrl(status.server) }, 'NATS reconnected');
      return;
    case 'error':
      logger.error({ err: status.error.message }, 'NATS error');
      return;
    case 'ldm':
      logger.warn({ server: redactUrl(status.server) }, 'NATS server entering lame duck mode');
      return;
    case 'staleConnection':
      logger.warn('NATS connection is stale (server stopped answering pings)');
      return;
    case 'slowConsumer':
      logger.warn(
        { subject: status.sub.getSubject(), pending: status.pending },
        'NATS slow consumer',
      );
      return;
    case 'update':
      logger.debug(
        { added: status.added, deleted: status.deleted },
        'NATS cluster servers changed',
      );
      return;
    case 'forceReconnect':
      logger.info('NATS reconnect forced');
      return;
    case 'close':
      // logged from nc.closed(), which also carries the error
      return;
    case 'ping':
      return;
  }
}

function normalizeServers(servers: string | string[]): string[] {
  const list = (Array.isArray(servers) ? servers : servers.split(','))
    .map((server) => server.trim())
    .filter((server) => server.length > 0);
  if (list.length === 0)
    throw new BusConfigError('servers', 'at least one NATS server URL is required');
  for (const server of list) {
    if (/\s/.test(server) || (server.includes('://') && !/^(nats|tls|wss?):\/\//.test(server))) {
      throw new BusConfigError(
        'servers',
        `${redactUrl(server)} is not a nats://, tls://, ws:// URL or host:port`,
      );
    }
  }
  return list;
}

async function readCreds(path: string) {
  let creds: Uint8Array;
  try {
    creds = await readFile(path);
  } catch (error) {
    throw new BusConfigError(
      'credsFile',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const text = new TextDecoder().decode(creds);
  if (!text.includes('BEGIN NATS USER JWT') || !text.includes('BEGIN USER NKEY SEED')) {
    throw new BusConfigError(
      'credsFile',
      `${path} is not a NATS creds file (needs a user JWT and an nkey seed)`,
    );
  }
  return credsAuthenticator(creds);
}

async function tlsOptions(tls: BusTlsOptions): Promise<TlsOptions> {
  if (tls === true) return {};
  const out: TlsOptions = {};
  for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
    const path = tls[field];
    if (path === undefined) continue;
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new BusConfigError(`tls.${field}`, `cannot read ${path}`);
    }
    out[field] = path;
  }
  if ((out.certFile === undefined) !== (out.keyFile === undefined)) {
    throw new BusConfigError(
      out.certFile === undefined ? 'tls.certFile' : 'tls.keyFile',
      'certFile and keyFile go together',
    );
  }
  return out;
}

/** redactUrl hides the user-info part of a URL (`nats://user:***@host`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^@/]+)@/i, (_match, scheme: string, userInfo: string) => {
    const user = userInfo.split(':')[0] ?? '';
    return `${scheme}${user}:***@`;
  });
}
