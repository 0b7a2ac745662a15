import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { JsonObject, ResourceKind } from './descriptor.js';
import { GrpcStatus, KitError, toKitError } from './errors.js';
import type { ResourceStore } from './store.js';

/**
 * StatsProvider answers `Stats<Kind>` for one existing resource with the `stats` message as a
 * ts-proto object (build it with e.g. `VolumeStats.fromPartial({...})`, so every field is set).
 */
export type StatsProvider = (object: {
  kind: string;
  name: string;
  resource: JsonObject;
}) => Promise<unknown>;

/** Settings of {@link createResourceServices}. */
export interface ResourceServicesOptions {
  store: ResourceStore;
  kinds: readonly ResourceKind[];
  /** Per-kind Stats providers; kinds without one answer Stats with UNIMPLEMENTED. */
  stats?: Readonly<Record<string, StatsProvider>>;
  /** Wait for the device when a call has no deadline (kinds without status). Default 10 s. */
  defaultDeadlineMs?: number;
  logger?: Logger;
}

/** A gRPC service definition with the implementation the kit derived for it. */
export interface ResourceService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

type Handler = (request: Record<string, unknown>, deadline: number) => Promise<unknown>;

/** Converts a thrown error to a gRPC status; `details` names the offending field. */
export function toGrpcError(error: unknown): Partial<grpc.StatusObject> {
  const kitError = toKitError(error);
  return { code: kitError.code, details: kitError.message };
}

/** The definition key (method name) whose path ends with `/<rpc>`. */
function methodKey(definition: grpc.ServiceDefinition, rpc: string): string | undefined {
  return Object.keys(definition).find((key) => definition[key]!.path.endsWith(`/${rpc}`));
}

/**
 * createResourceServices derives the Create/Get/List/Update/Delete(/Stats) handlers of every
 * kind from its descriptor and groups them by gRPC service (one OPI service may carry several
 * kinds, e.g. FrontendNvmeService). Requests and responses are ts-proto messages; the store
 * works on their protobuf JSON form.
 */
export function createResourceServices(options: ResourceServicesOptions): ResourceService[] {
  const { store, logger } = options;
  const byService = new Map<grpc.ServiceDefinition, Record<string, Handler>>();
  for (const kind of options.kinds) {
    if (!kind.service) throw new Error(`${kind.kind}: no gRPC service in its descriptor`);
    const handlers = byService.get(kind.service) ?? {};
    byService.set(kind.service, handlers);
    const toJson = (message: unknown) =>
      message ? (kind.message.toJSON(message as never) as JsonObject) : undefined;
    const toMessage = (json: JsonObject) => kind.message.fromJSON(json);
    const add = (rpc: string, handler: Handler) => {
      const key = methodKey(kind.service!, rpc);
      if (!key) throw new Error(`${kind.kind}: service has no ${rpc} RPC`);
      handlers[key] = handler;
    };
    add(`Create${kind.kind}`, async (request, deadline) =>
      toMessage(
        await store.create(
          kind.kind,
          {
            parent: request['parent'] as string | undefined,
            id: request[kind.idField] as string | undefined,
            resource: toJson(request[kind.resourceField]),
          },
          { deadline },
        ),
      ),
    );
    add(`Get${kind.kind}`, async (request) =>
      toMessage(await store.get(kind.kind, String(request['name'] ?? ''))),
    );
    add(`List${kind.plural}`, async (request) => {
      const page = await store.list(kind.kind, {
        parent: request['parent'] as string | undefined,
        pageSize: request['pageSize'] as number | undefined,
        pageToken: request['pageToken'] as string | undefined,
      });
      return { [kind.listField]: page.items.map(toMessage), nextPageToken: page.nextPageToken };
    });
    add(`Update${kind.kind}`, async (request, deadline) =>
      toMessage(
        await store.update(
          kind.kind,
          {
            resource: toJson(request[kind.resourceField]),
            updateMask: request['updateMask'] as string[] | undefined,
            allowMissing: Boolean(request['allowMissing']),
          },
          { deadline },
        ),
      ),
    );
    add(`Delete${kind.kind}`, async (request, deadline) => {
      await store.delete(
        kind.kind,
        { name: String(request['name'] ?? ''), allowMissing: Boolean(request['allowMissing']) },
        { deadline },
      );
      return {};
    });
    const statsKey = methodKey(kind.service, `Stats${kind.kind}`);
    if (statsKey) {
      const provider = options.stats?.[kind.kind];
      handlers[statsKey] = async (request) => {
        if (!provider)
          throw new KitError(
            GrpcStatus.UNIMPLEMENTED,
            `Stats${kind.kind} is not supported by this agent`,
          );
        const name = String(request['name'] ?? '');
        const { record } = await store.describe(kind.kind, name);
        return {
          stats: await provider({ kind: kind.kind, name: record.name, resource: record.resource }),
        };
      };
    }
  }

  const services: ResourceService[] = [];
  for (const [definition, handlers] of byService) {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [key, handler] of Object.entries(handlers)) {
      const method = definition[key]!;
      implementation[key] = (
        call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const callDeadline = call.getDeadline();
        const deadlineMs = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
        const deadline = Number.isFinite(deadlineMs)
          ? deadlineMs
          : Date.now() + (options.defaultDeadlineMs ?? 10_000);
        handler(call.request ?? {}, deadline).then(
          (response) => callback(null, response),
          (error: unknown) => {
            const status = toGrpcError(error);
            if (!(error instanceof KitError))
              logger?.error({ err: error, rpc: method.path }, 'request failed');
            callback(status as grpc.ServiceError);
          },
        );
      };
    }
    services.push({ definition, implementation });
  }
  return services;
}
