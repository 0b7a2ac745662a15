import { Option, type Command } from 'commander';
import { connectBus, parseNatsTls, type BusConnectionOptions } from '@opi/bus';
import { createLogger } from '@opi/runtime';

/** NATS connection flags shared by every opictl command that talks to the bus. */
export interface NatsFlags {
  natsUrl: string;
  natsUser?: string;
  natsPassword?: string;
  natsCreds?: string;
  natsTls?: string;
}

/** Adds `--nats-url` and credentials flags (defaulting to the agents' `OPI_NATS_*` variables). */
export function withNatsOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--nats-url <url>', 'NATS server URL')
        .env('OPI_NATS_URL')
        .default('nats://127.0.0.1:4222'),
    )
    .addOption(new Option('--nats-user <user>', 'NATS user').env('OPI_NATS_USER'))
    .addOption(new Option('--nats-password <password>', 'NATS password').env('OPI_NATS_PASSWORD'))
    .addOption(new Option('--nats-creds <file>', 'NATS credentials file').env('OPI_NATS_CREDS'))
    .addOption(
      new Option('--nats-tls <tls>', 'NATS TLS: true, a CA file, or cert:key:ca').env(
        'OPI_NATS_TLS',
      ),
    );
}

/** Connects to NATS for one CLI command; fails fast instead of reconnecting forever. */
export function connectCli(flags: NatsFlags) {
  const options: BusConnectionOptions = {
    servers: flags.natsUrl,
    name: 'opictl',
    user: flags.natsUser,
    password: flags.natsPassword,
    credsFile: flags.natsCreds,
    tls: parseNatsTls(flags.natsTls, '--nats-tls'),
    logger: createLogger({
      name: 'opictl',
      level: 'warn',
      pretty: false,
      destination: process.stderr,
    }),
    maxReconnectAttempts: 0,
    timeoutMs: 3000,
  };
  return connectBus(options);
}
