import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Field names that carry secrets anywhere in a log record. pino's redaction needs explicit
 * paths, so each name is listed at the top level and up to three levels deep.
 */
export const secretFieldNames = [
  'password',
  'natsPassword',
  'psk',
  'key',
  'secret',
  'token',
  'credentials',
  'natsCreds',
  'privateKey',
  'authorization',
] as const;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const name of secretFieldNames) {
    paths.push(name, `*.${name}`, `*.*.${name}`, `*.*.*.${name}`);
  }
  return paths;
}

/** Options for {@link createLogger}. */
export interface LoggerSettings {
  name: string;
  level: string;
  /** Human-readable output; defaults to true when stdout is a terminal. */
  pretty?: boolean;
  /** Extra base fields on every record (node id, instance id). */
  base?: Record<string, unknown>;
  /** Destination stream, for tests. */
  destination?: NodeJS.WritableStream;
}

/** Creates the process logger: JSON by default, pretty in a TTY, secrets redacted. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level,
    base: { pid: process.pid, ...settings.base },
    redact: { paths: redactPaths(), censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const pretty = settings.pretty ?? Boolean(process.stdout.isTTY);
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  if (pretty)
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return pino(options);
}

export type { Logger };
