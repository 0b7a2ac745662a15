import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseNatsTls } from '@opi/bus';

/** Log levels accepted by `OPI_LOG_LEVEL` / `--log-level`. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const natsToken = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{1,64}$/,
    'must be 1-64 characters of [A-Za-z0-9_-] (it becomes a NATS subject token)',
  );

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be ≤ 65535');

/** `cert:key:ca` file triple, as upstream OPI's `--tlsfiles`; always mutual TLS. */
const tlsTriple = z.string().transform((value, ctx) => {
  const parts = value.split(':');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    ctx.addIssue({ code: 'custom', message: 'must be cert:key:ca (three file paths)' });
    return z.NEVER;
  }
  const [certFile, keyFile, caFile] = parts as [string, string, string];
  return { certFile, keyFile, caFile };
});

/** NATS TLS in the format `@opi/bus` defines: `true`/`false`, a CA file, or `cert:key:ca`. */
const natsTls = z.string().transform((value, ctx) => {
  try {
    return parseNatsTls(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** The configuration every agent shares; agents extend it with their own keys. */
export function baseConfigShape(defaultGrpcPort: number) {
  return {
    nodeId: natsToken.default('dpu0'),
    natsUrl: z.string().min(1).default('nats://127.0.0.1:4222'),
    natsCreds: z.string().min(1).optional(),
    natsUser: z.string().min(1).optional(),
    natsPassword: z.string().min(1).optional(),
    natsTls: natsTls.optional(),
    grpcAddr: hostPort.default(`0.0.0.0:${defaultGrpcPort}`),
    grpcTls: tlsTriple.optional(),
    hal: z.string().min(1).default('sim'),
    stateDir: z.string().min(1).default('.state'),
    logLevel: z.enum(logLevels).default('info'),
    shutdownTimeoutMs: z.coerce.number().int().positive().default(5000),
  };
}

type BaseShape = ReturnType<typeof baseConfigShape>;
/** Parsed configuration common to all agents. */
export type AgentConfig = z.output<z.ZodObject<BaseShape>>;

/** Where a configuration value came from, to name it precisely in errors. */
type Source = 'default' | 'config file' | 'environment' | 'flag';

/** Raised for invalid configuration; `key` names the offending setting as the user wrote it. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid configuration: ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

const toEnvName = (key: string) => 'OPI_' + key.replace(/([A-Z])/g, '_$1').toUpperCase();
const toFlagName = (key: string) => key.replace(/([A-Z])/g, '-$1').toLowerCase();

/** Parses a scalar from the environment or a flag; JSON for structured agent-specific keys. */
function parseScalar(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * Loads configuration with precedence defaults < `--config file.yaml` < `OPI_*` environment <
 * flags, validated by one zod schema (the shared keys plus `extraShape`).
 */
export function loadConfig<Extra extends z.ZodRawShape>(options: {
  defaultGrpcPort: number;
  extraShape?: Extra;
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}): AgentConfig & z.output<z.ZodObject<Extra>> {
  const shape = { ...baseConfigShape(options.defaultGrpcPort), ...(options.extraShape ?? {}) };
  const schema = z.object(shape).strict();
  const keys = Object.keys(shape);
  const env = options.env ?? process.env;

  const flagOptions: Record<string, { type: 'string' }> = { config: { type: 'string' } };
  for (const key of keys) flagOptions[toFlagName(key)] = { type: 'string' };
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({ args: options.argv ?? [], options: flagOptions, strict: true })
      .values as Record<string, string | undefined>;
  } catch (error) {
    const match = /'(--[^']+)'/.exec((error as Error).message);
    throw new ConfigError(match?.[1] ?? 'flags', (error as Error).message);
  }

  const merged: Record<string, unknown> = {};
  const sourceOf: Record<string, { source: Source; name: string }> = {};
  const configPath = (flags['config'] as string | undefined) ?? env['OPI_CONFIG'];
  if (configPath) {
    let fileValues: unknown;
    try {
      fileValues = parseYaml(readFileSync(configPath, 'utf8'));
    } catch (error) {
      throw new ConfigError('--config', `cannot read ${configPath}: ${(error as Error).message}`);
    }
    if (fileValues !== null && fileValues !== undefined) {
      if (typeof fileValues !== 'object' || Array.isArray(fileValues)) {
        throw new ConfigError('--config', `${configPath} must contain a mapping of settings`);
      }
      for (const [key, value] of Object.entries(fileValues)) {
        merged[key] = value;
        sourceOf[key] = { source: 'config file', name: `${key} (in ${configPath})` };
      }
    }
  }
  for (const key of keys) {
    const raw = env[toEnvName(key)];
    if (raw !== undefined && raw !== '') {
      merged[key] = parseScalar(raw);
      sourceOf[key] = { source: 'environment', name: toEnvName(key) };
    }
  }
  for (const key of keys) {
    const raw = flags[toFlagName(key)];
    if (typeof raw === 'string') {
      merged[key] = parseScalar(raw);
      sourceOf[key] = { source: 'flag', name: `--${toFlagName(key)}` };
    }
  }

  const result = schema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const top = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys') {
      const unknown = issue.keys.join(', ');
      throw new ConfigError(unknown, 'unknown setting');
    }
    const where = sourceOf[top]?.name ?? `${toEnvName(top)} (default)`;
    const nested = issue.path.length > 1 ? ` at ${issue.path.slice(1).join('.')}` : '';
    throw new ConfigError(where, `${issue.message}${nested}`);
  }
  return result.data as AgentConfig & z.output<z.ZodObject<Extra>>;
}

/** The environment variable and flag names of a configuration key (for docs and errors). */
export function configKeyNames(key: string): { env: string; flag: string } {
  return { env: toEnvName(key), flag: `--${toFlagName(key)}` };
}
