import type { AgentContext } from '@opi/runtime';
import type { BackoffPolicy } from './backoff.js';
import { Controller, type KindReconciler } from './controller.js';
import type { ResourceKind } from './descriptor.js';
import { createResourceServices, type StatsProvider } from './grpc.js';
import { serveKindCatalog } from './catalog.js';
import { Lease } from './lease.js';
import { ResourceStore } from './store.js';

/** The parts of the runtime's AgentContext the kit uses. */
export type KitAgentContext = Pick<
  AgentContext,
  'nc' | 'nodeId' | 'instanceId' | 'logger' | 'grpc' | 'onStop' | 'signal'
>;

/** Settings of {@link startResourceAgent}. */
export interface ResourceAgentOptions {
  /** Agent name: the lease key (one driver per node and agent) and the event subject token. */
  agent: string;
  kinds: readonly ResourceKind[];
  /** Device side of every kind, keyed by kind (usually thin adapters over a HAL backend). */
  reconcilers: Readonly<Record<string, KindReconciler>>;
  stats?: Readonly<Record<string, StatsProvider>>;
  lease?: { ttlMs?: number; renewMs?: number };
  concurrency?: number;
  resyncMs?: number;
  backoff?: BackoffPolicy;
  /** Publish events through JetStream (the event stream must exist). */
  persistEvents?: boolean;
  /** Wait for the device when a call has no deadline (kinds without status). */
  defaultDeadlineMs?: number;
}

/** A started resource agent: its store, lease and controller. */
export interface ResourceAgent {
  store: ResourceStore;
  lease: Lease;
  controller: Controller;
}

/**
 * startResourceAgent is the whole control plane of an agent in one call, from `AgentSpec.start`:
 * opens the desired-state store, registers the gRPC services of every kind, competes for the
 * (node, agent) lease and — as holder — reconciles everything in KV before resolving. It answers
 * kind-catalog requests (so opictl learns the kinds from the bus). On stop it
 * releases the lease so a standby replica takes over at once.
 */
export async function startResourceAgent(
  ctx: KitAgentContext,
  options: ResourceAgentOptions,
): Promise<ResourceAgent> {
  const logger = ctx.logger.child({ component: 'kit' });
  for (const kind of options.kinds) {
    if (!options.reconcilers[kind.kind]) throw new Error(`${kind.kind}: no reconciler given`);
  }
  const store = await ResourceStore.open(ctx.nc, {
    nodeId: ctx.nodeId,
    kinds: options.kinds,
    agent: options.agent,
    persistEvents: options.persistEvents,
    defaultWaitMs: options.defaultDeadlineMs,
  });
  const lease = await Lease.open(ctx.nc, {
    nodeId: ctx.nodeId,
    agent: options.agent,
    instanceId: ctx.instanceId,
    ttlMs: options.lease?.ttlMs,
    renewMs: options.lease?.renewMs,
  });
  const controller = new Controller({
    store,
    lease,
    reconcilers: options.reconcilers,
    concurrency: options.concurrency,
    resyncMs: options.resyncMs,
    backoff: options.backoff,
    logger: ctx.logger.child({ component: 'kit-controller' }),
  });
  for (const service of createResourceServices({
    store,
    kinds: options.kinds,
    stats: options.stats,
    defaultDeadlineMs: options.defaultDeadlineMs,
    logger,
  })) {
    ctx.grpc.addService(service.definition, service.implementation);
  }
  const catalog = serveKindCatalog(ctx.nc, {
    agent: options.agent,
    nodeId: ctx.nodeId,
    instanceId: ctx.instanceId,
    kinds: options.kinds,
  });
  const stop = new AbortController();
  ctx.onStop(async () => {
    catalog.unsubscribe();
    stop.abort();
    await lease.release();
    store.close();
  });
  await controller.start(stop.signal);
  logger.info(
    { driving: controller.isDriving, kinds: options.kinds.map((k) => k.kind) },
    'resource agent ready',
  );
  return { store, lease, controller };
}
