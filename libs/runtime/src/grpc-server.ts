import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { Logger } from 'pino';

/** TLS files for a mutual-TLS gRPC server (upstream OPI's `cert:key:ca`). */
export interface GrpcTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Settings for {@link createGrpcServer}. */
export interface GrpcServerSettings {
  address: string;
  logger: Logger;
  tls?: GrpcTlsFiles;
  /** Package definition of the served APIs, for server reflection. */
  reflection?: PackageDefinition;
  maxMessageBytes?: number;
}

/** A gRPC server with health, reflection and call logging, and graceful shutdown. */
export interface AgentGrpcServer {
  readonly server: grpc.Server;
  addService(
    definition: grpc.ServiceDefinition,
    implementation: grpc.UntypedServiceImplementation,
  ): void;
  /** Names of the services added so far (full names, e.g. `opi_api.storage.v1.NullVolumeService`). */
  readonly serviceNames: ReadonlySet<string>;
  setServing(serving: boolean): void;
  /** Adds reflection for the services added so far and binds the address; resolves with the port. */
  listen(): Promise<number>;
  /** Lets in-flight calls finish until the deadline, then cancels the rest. */
  shutdown(deadlineMs: number): Promise<'drained' | 'forced'>;
}

const require = createRequire(import.meta.url);

function reflectionProtoPath(): string {
  const root = dirname(require.resolve('@grpc/reflection/package.json'));
  return join(root, 'build/proto/grpc/reflection/v1/reflection.proto');
}

/** Full service name of a grpc-js service definition (from any of its method paths). */
export function serviceNameOf(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error('service definition has no methods');
  return first.path.split('/')[1]!;
}

/** Logs method, status code and latency of every call — never request or response payloads. */
function callLoggingInterceptor(logger: Logger): grpc.ServerInterceptor {
  return (methodDescriptor, call) => {
    const started = process.hrtime.bigint();
    return new grpc.ServerInterceptingCall(call, {
      sendStatus(status, next) {
        const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
        const fields = {
          method: methodDescriptor.path,
          code: grpc.status[status.code] ?? status.code,
          latencyMs: Math.round(latencyMs * 1000) / 1000,
        };
        if (status.code === grpc.status.OK) logger.debug(fields, 'grpc call');
        else logger.info({ ...fields, details: status.details }, 'grpc call failed');
        next(status);
      },
    });
  };
}

/** Creates the agent's gRPC server (keepalive, size limits, optional mTLS, health, reflection). */
export function createGrpcServer(settings: GrpcServerSettings): AgentGrpcServer {
  const maxBytes = settings.maxMessageBytes ?? 16 * 1024 * 1024;
  const server = new grpc.Server({
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    interceptors: [callLoggingInterceptor(settings.logger)],
  });
  const serviceNames = new Set<string>();
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);

  const builtIn = loadSync([healthProtoPath, reflectionProtoPath()], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });

  const builtInServices = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection'];
  const setAll = (status: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', status);
    for (const name of serviceNames) health.setStatus(name, status);
  };
  let serving = false;

  return {
    server,
    serviceNames,
    addService(definition, implementation) {
      const name = serviceNameOf(definition);
      server.addService(definition, implementation);
      serviceNames.add(name);
      health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
    },
    setServing(value) {
      serving = value;
      setAll(value ? 'SERVING' : 'NOT_SERVING');
    },
    listen() {
      // Reflection lists exactly the services this server answers, so it is added last.
      new ReflectionService(
        { ...builtIn, ...(settings.reflection ?? {}) },
        { services: [...builtInServices, ...serviceNames] },
      ).addToServer(server);
      const credentials = settings.tls
        ? grpc.ServerCredentials.createSsl(
            readFileSync(settings.tls.caFile),
            [
              {
                cert_chain: readFileSync(settings.tls.certFile),
                private_key: readFileSync(settings.tls.keyFile),
              },
            ],
            true,
          )
        : grpc.ServerCredentials.createInsecure();
      return new Promise((resolve, reject) => {
        server.bindAsync(settings.address, credentials, (error, port) => {
          if (error) reject(new Error(`cannot listen on ${settings.address}: ${error.message}`));
          else resolve(port);
        });
      });
    },
    shutdown(deadlineMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve('forced');
        }, deadlineMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve('drained');
        });
      });
    },
  };
}

/**
 * Handlers for every method of a service that answer UNIMPLEMENTED, so that a client sees the
 * whole OPI surface before each RPC's implementation lands.
 */
export function unimplementedService(
  definition: grpc.ServiceDefinition,
  owner: string,
): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [method, descriptor] of Object.entries(definition)) {
    const error = {
      code: grpc.status.UNIMPLEMENTED,
      details: `${descriptor.path} is not implemented by ${owner} yet`,
    };
    if (descriptor.responseStream) {
      handlers[method] = (call: grpc.ServerWritableStream<unknown, unknown>) =>
        call.emit('error', error);
    } else {
      handlers[method] = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(error);
    }
  }
  return handlers;
}
