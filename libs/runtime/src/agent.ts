import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadOpiPackageDefinition, opiServices } from '@opi/api';
import { connectBus, registerAgentInstance } from '@opi/bus';
import { ConfigError, loadConfig, type AgentConfig } from './config.js';
import { createGrpcServer, unimplementedService } from './grpc-server.js';
import { createLogger } from './logging.js';

/** The agent families; each serves the OPI services that `@opi/api` assigns to it. */
export type AgentKind = 'storage' | 'network' | 'security' | 'telemetry';

/** What an app tells the runtime about itself. */
export interface AgentSpec<Extra extends z.ZodRawShape = z.ZodRawShape> {
  /** Process and service name, e.g. `storage-agent`. */
  name: string;
  agent: AgentKind;
  version: string;
  defaultGrpcPort: number;
  /** Agent-specific configuration keys, merged into the shared schema. */
  extraConfig?: Extra;
  /** Registers services, loads state, starts reconcilers; resolves when the agent is ready. */
  start(ctx: AgentContext<AgentConfig & z.output<z.ZodObject<Extra>>>): Promise<void>;
}

/** Everything a starting agent gets from the runtime. */
export interface AgentContext<Config = AgentConfig> {
  config: Config;
  logger: Logger;
  nc: NatsConnection;
  nodeId: string;
  instanceId: string;
  grpc: {
    addService(
      definition: grpc.ServiceDefinition,
      implementation: grpc.UntypedServiceImplementation,
    ): void;
  };
  /** Runs after gRPC has drained and before NATS drains; hooks run last-registered first. */
  onStop(hook: () => Promise<void> | void): void;
  /** Aborted when shutdown begins. */
  signal: AbortSignal;
}

/** A started agent, for embedding and tests; `runAgent` wires it to process signals. */
export interface RunningAgent {
  readonly instanceId: string;
  readonly grpcPort: number;
  /** Graceful shutdown: NOT_SERVING → drain gRPC → stop hooks → drain NATS. */
  stop(reason?: string): Promise<void>;
}

/** Starts an agent from explicit arguments and environment, without touching the process. */
export async function startAgent<Extra extends z.ZodRawShape>(
  spec: AgentSpec<Extra>,
  argv: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningAgent> {
  const config = loadConfig({
    defaultGrpcPort: spec.defaultGrpcPort,
    extraShape: spec.extraConfig,
    argv,
    env,
  });
  const instanceId = randomUUID();
  const logger = createLogger({
    name: spec.name,
    level: config.logLevel,
    base: { node: config.nodeId, instance: instanceId.slice(0, 8) },
  });
  logger.info({ version: spec.version, grpcAddr: config.grpcAddr, hal: config.hal }, 'starting');
  mkdirSync(config.stateDir, { recursive: true });

  const nc = await connectBus({
    servers: config.natsUrl,
    name: `${spec.name}.${config.nodeId}.${instanceId.slice(0, 8)}`,
    user: config.natsUser,
    password: config.natsPassword,
    credsFile: config.natsCreds,
    tls: config.natsTls,
    logger: logger.child({ component: 'bus' }),
  });

  const grpcServer = createGrpcServer({
    address: config.grpcAddr,
    logger: logger.child({ component: 'grpc' }),
    tls: config.grpcTls,
    reflection: loadOpiPackageDefinition(),
  });
  const stopHooks: Array<() => Promise<void> | void> = [];
  const abort = new AbortController();
  const ctx: AgentContext<AgentConfig & z.output<z.ZodObject<Extra>>> = {
    config,
    logger,
    nc,
    nodeId: config.nodeId,
    instanceId,
    grpc: {
      addService: (definition, implementation) => grpcServer.addService(definition, implementation),
    },
    onStop: (hook) => stopHooks.push(hook),
    signal: abort.signal,
  };

  await spec.start(ctx);
  for (const service of opiServices) {
    if (service.agent === spec.agent && !grpcServer.serviceNames.has(service.fullName)) {
      grpcServer.addService(
        service.definition,
        unimplementedService(service.definition, spec.name),
      );
    }
  }
  const grpcPort = await grpcServer.listen();
  const host = config.grpcAddr.slice(0, config.grpcAddr.lastIndexOf(':'));
  const endpoint = `${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${grpcPort}`;

  let serving = true;
  grpcServer.setServing(true);
  const registration = await registerAgentInstance(nc, {
    name: spec.name,
    version: spec.version,
    nodeId: config.nodeId,
    instanceId,
    endpoint,
    health: () => (serving ? 'SERVING' : 'NOT_SERVING'),
  });
  logger.info({ endpoint, services: grpcServer.serviceNames.size }, 'ready');

  let stopping: Promise<void> | undefined;
  return {
    instanceId,
    grpcPort,
    stop(reason = 'stop requested') {
      stopping ??= (async () => {
        logger.info({ reason }, 'shutting down');
        serving = false;
        grpcServer.setServing(false);
        abort.abort();
        const outcome = await grpcServer.shutdown(config.shutdownTimeoutMs);
        logger.info({ outcome }, 'gRPC stopped');
        await registration
          .stop()
          .catch((error: unknown) => logger.warn({ err: error }, 'deregistration failed'));
        for (const hook of stopHooks.reverse()) {
          try {
            await hook();
          } catch (error) {
            logger.error({ err: error }, 'stop hook failed');
          }
        }
        await nc
          .drain()
          .catch((error: unknown) => logger.warn({ err: error }, 'NATS drain failed'));
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}

/**
 * The process entry of every agent: starts it, exits 2 naming the key on invalid configuration,
 * and stops gracefully on SIGTERM/SIGINT with exit code 0.
 */
export async function runAgent<Extra extends z.ZodRawShape>(
  spec: AgentSpec<Extra>,
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  let agent: RunningAgent;
  try {
    agent = await startAgent(spec, argv, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${spec.name}: failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    agent.stop(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
