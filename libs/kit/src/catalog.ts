// Kind catalogs: every agent answers on the bus with the kinds it serves, so a client such as
// opictl learns kinds (and where they are served) from the running system instead of linking
// every agent's declarations.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  evpnGwV1alpha1,
  inventoryV1,
  opiServices,
  opinetcommonV1alpha1,
  securityV1,
  storageV1,
} from '@opi/api';
import {
  defineResourceKind,
  type MessageFns,
  type ResourceKind,
  type ResourceKindSpec,
} from './descriptor.js';

/** KindSummary is the serializable part of a kind declaration (no functions). */
export interface KindSummary {
  kind: string;
  plural: string;
  messageType: string;
  /** Full name of the gRPC service, e.g. `opi_api.storage.v1.NullVolumeService`. */
  service: string;
  names: { canonical: string; aliases: string[] };
  parent?: string;
  nameScope?: string;
  /** The status field, when the wire message has one. */
  statusField?: string;
  outputOnly: string[];
  writeOnly: string[];
  required: string[];
  references: NonNullable<ResourceKindSpec['references']>[number][];
  unique: NonNullable<ResourceKindSpec['unique']>[number][];
  cli?: ResourceKindSpec['cli'];
}

/** KindCatalog is one agent instance's answer. */
export interface KindCatalog {
  agent: string;
  nodeId: string;
  instanceId: string;
  kinds: KindSummary[];
}

/** kindCatalogSubject is where a node's agents answer catalog requests. */
export const kindCatalogSubject = (nodeId: string) => `opi.${nodeId}.kit.kinds`;

/** describeKind returns the serializable summary of a kind. */
export function describeKind(kind: ResourceKind): KindSummary {
  const serviceName = kind.service
    ? /^\/([^/]+)\//.exec(Object.values(kind.service)[0]?.path ?? '')?.[1]
    : undefined;
  if (!serviceName) throw new Error(`${kind.kind}: a catalog needs the kind's gRPC service`);
  return {
    kind: kind.kind,
    plural: kind.plural,
    messageType: kind.messageType,
    service: serviceName,
    names: {
      canonical: kind.nameForms.canonical.template,
      aliases: kind.nameForms.aliases.map((a) => a.template),
    },
    parent: kind.parent,
    nameScope: kind.nameScope,
    statusField: kind.status?.field,
    outputOnly: [...(kind.outputOnly ?? [])],
    writeOnly: [...(kind.writeOnly ?? [])],
    required: [...(kind.required ?? [])],
    references: (kind.references ?? []).map((r) => ({ ...r, kinds: [...r.kinds] })),
    unique: (kind.unique ?? []).map((u) => ({ ...u })),
    cli: kind.cli,
  };
}

/**
 * serveKindCatalog answers catalog requests on {@link kindCatalogSubject} until the returned
 * subscription is closed. Every replica answers; clients de-duplicate by agent.
 */
export function serveKindCatalog(
  nc: NatsConnection,
  catalog: Omit<KindCatalog, 'kinds'> & { kinds: readonly ResourceKind[] },
): Subscription {
  const body = JSON.stringify({
    ...catalog,
    kinds: catalog.kinds.map(describeKind),
  } satisfies KindCatalog);
  return nc.subscribe(kindCatalogSubject(catalog.nodeId), {
    callback: (_error, msg) => void msg.respond(body),
  });
}

/** fetchKindCatalogs asks a node's agents for their kinds and collects the answers for `timeoutMs`. */
export async function fetchKindCatalogs(
  nc: NatsConnection,
  nodeId: string,
  timeoutMs = 1000,
): Promise<KindCatalog[]> {
  const replies = await nc.requestMany(kindCatalogSubject(nodeId), '', { maxWait: timeoutMs });
  const byAgent = new Map<string, KindCatalog>();
  for await (const reply of replies) {
    try {
      const catalog = reply.json<KindCatalog>();
      if (
        typeof catalog.agent === 'string' &&
        Array.isArray(catalog.kinds) &&
        !byAgent.has(catalog.agent)
      )
        byAgent.set(catalog.agent, catalog);
    } catch {
      // A malformed answer is skipped; the others still count.
    }
  }
  return [...byAgent.values()];
}

const messagePackages: Record<string, Record<string, unknown>> = {
  'opi_api.storage.v1': storageV1,
  'opi_api.network.evpn_gw.v1alpha1': evpnGwV1alpha1,
  'opi_api.network.opinetcommon.v1alpha1': opinetcommonV1alpha1,
  'opi_api.security.v1': securityV1,
  'opi_api.inventory.v1': inventoryV1,
};

/**
 * resolveKind turns a summary back into a usable kind with the generated message and service
 * from `@opi/api`. The status renderer is not transferable: a resolved kind can call the API
 * (CLI) but must not serve it.
 * @throws Error naming the message type or service that `@opi/api` does not have.
 */
export function resolveKind(summary: KindSummary): ResourceKind {
  const dot = summary.messageType.lastIndexOf('.');
  const pkg = messagePackages[summary.messageType.slice(0, dot)];
  const message = pkg?.[summary.messageType.slice(dot + 1)] as MessageFns<unknown> | undefined;
  if (!message || typeof message.fromJSON !== 'function')
    throw new Error(`unknown message type ${summary.messageType}`);
  const service = opiServices.find((s) => s.fullName === summary.service)?.definition;
  if (!service) throw new Error(`unknown service ${summary.service}`);
  return defineResourceKind({
    kind: summary.kind,
    plural: summary.plural,
    message,
    service,
    messageType: summary.messageType,
    names: summary.names,
    parent: summary.parent,
    nameScope: summary.nameScope,
    status: summary.statusField
      ? {
          field: summary.statusField,
          render: () => {
            throw new Error(`${summary.kind}: a kind resolved from a catalog cannot render status`);
          },
        }
      : undefined,
    outputOnly: summary.outputOnly,
    writeOnly: summary.writeOnly,
    required: summary.required,
    references: summary.references,
    unique: summary.unique,
    cli: summary.cli,
  });
}
