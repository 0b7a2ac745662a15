// Declarative pipeline configuration (JSON or YAML) for replaying captures: bridges, ports,
// VXLAN tunnels, static MAC entries, route tables and next hops, policers and the ACL,
// validated with zod (the ACL rules by the ACL itself) so errors name the field.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Datapath } from '../datapath.js';
import type { AclRule } from '../acl.js';
import { DatapathConfigError } from '../errors.js';

const port = z.number().int().min(0).max(255);
const bridgeId = z.number().int().min(0).max(255);

/** Schema of a pipeline configuration file. */
export const pipelineConfigSchema = z.strictObject({
  bridges: z
    .array(
      z.strictObject({
        id: bridgeId,
        floodLimit: z.number().int().min(0).optional(),
        // Gateway (SVI) addresses answered with ARP replies / Neighbor Advertisements.
        gateway: z
          .strictObject({
            mac: z.string(),
            ipv4: z.array(z.string()).optional(),
            ipv6: z.array(z.string()).optional(),
          })
          .optional(),
        policer: z.number().int().min(0).max(255).optional(),
      }),
    )
    .default([]),
  ports: z
    .array(
      z.strictObject({
        port,
        bridge: bridgeId.nullable().optional(),
        flood: z.boolean().optional(),
        vrf: z.number().int().min(0).max(255).nullable().optional(),
        address: z.string().nullable().optional(),
        address6: z.string().nullable().optional(),
        mac: z.string().nullable().optional(),
        acl: z.boolean().optional(),
        aclEgress: z.boolean().optional(),
        policer: z.number().int().min(0).max(255).optional(),
        mtu: z.number().int().min(68).max(65535).optional(),
        flowPolicer: z
          .strictObject({
            rateBytesPerSec: z.number().int().min(0),
            burstBytes: z.number().int().min(1),
            maxFlows: z.number().int().min(4),
          })
          .optional(),
      }),
    )
    .default([]),
  tunnels: z
    .array(
      z.strictObject({
        id: z.number().int().min(0).max(63),
        port,
        bridge: bridgeId,
        vni: z.number().int().min(0).max(0xffffff),
        local: z.string(),
        remote: z.string(),
        localMac: z.string(),
        remoteMac: z.string(),
        underlayPort: port,
        ttl: z.number().int().min(1).max(255).optional(),
        mtu: z.number().int().min(68).max(65535).optional(),
      }),
    )
    .default([]),
  macs: z
    .array(
      z.strictObject({ bridge: bridgeId, mac: z.string(), port, static: z.boolean().optional() }),
    )
    .default([]),
  vrfs: z
    .array(
      z.strictObject({
        id: z.number().int().min(0).max(255),
        large: z.boolean().optional(),
        // IPv6 table with the 24-bit first level (IPv6 tables are created with the VRF).
        large6: z.boolean().optional(),
      }),
    )
    .default([]),
  nextHops: z
    .array(
      z.union([
        z.strictObject({
          id: z.number().int().min(0).max(65535),
          port,
          dstMac: z.string(),
          srcMac: z.string(),
        }),
        z.strictObject({ id: z.number().int().min(0).max(65535), blackhole: z.literal(true) }),
      ]),
    )
    .default([]),
  routes: z
    .array(
      z.strictObject({
        vrf: z.number().int().min(0).max(255),
        prefix: z.string(),
        nextHop: z.number().int().min(0),
      }),
    )
    .default([]),
  policers: z
    .array(
      z.strictObject({
        id: z.number().int().min(0).max(255),
        rateBytesPerSec: z.number().int().min(0),
        burstBytes: z.number().int().min(1),
      }),
    )
    .default([]),
  // Rules are checked by the ACL itself (errors name `acl.rules[i].field`).
  acl: z
    .strictObject({
      rules: z.array(z.unknown()),
      defaultAction: z.enum(['permit', 'deny']).optional(),
      egressDefaultAction: z.enum(['permit', 'deny']).optional(),
    })
    .optional(),
  // Connection tracking for ACL-bound ports (rules with action permit-stateful open flows).
  conntrack: z
    .strictObject({
      capacity: z.number().int().min(1),
      timeouts: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
});

/** A validated pipeline configuration. */
export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

/** Parses configuration text (JSON is valid YAML); throws DatapathConfigError naming the field. */
export function parsePipelineConfig(text: string): PipelineConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new DatapathConfigError('config', `not valid YAML or JSON: ${(err as Error).message}`);
  }
  const result = pipelineConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new DatapathConfigError(issue?.path.join('.') || 'config', issue?.message ?? 'invalid');
  }
  return result.data;
}

/** Programs `dp` with a validated configuration (bridges, then ports, tunnels and MACs). */
export function applyPipelineConfig(dp: Datapath, config: PipelineConfig): void {
  const at = (field: string, index: number, apply: () => void) => {
    try {
      apply();
    } catch (err) {
      if (err instanceof DatapathConfigError)
        throw new DatapathConfigError(
          `${field}.${index}.${err.field}`,
          err.message.slice(err.field.length + 2),
        );
      throw err;
    }
  };
  config.bridges.forEach((b, i) =>
    at('bridges', i, () => dp.addBridge(b.id, { floodLimit: b.floodLimit })),
  );
  config.vrfs.forEach((v, i) =>
    at('vrfs', i, () => {
      dp.routes.create(v.id, { large: v.large });
      dp.routes6.create(v.id, { large: v.large6 });
    }),
  );
  config.nextHops.forEach((n, i) =>
    at('nextHops', i, () => dp.nextHops.add(n.id, 'blackhole' in n ? { blackhole: true } : n)),
  );
  // IPv6 prefixes (with ':') go to the VRF's IPv6 table.
  config.routes.forEach((r, i) =>
    at('routes', i, () =>
      r.prefix.includes(':')
        ? dp.routes6.add(r.vrf, r.prefix, r.nextHop)
        : dp.routes.add(r.vrf, r.prefix, r.nextHop),
    ),
  );
  config.policers.forEach((p, i) => at('policers', i, () => dp.policers.add(p.id, p)));
  config.bridges.forEach((b, i) =>
    at('bridges', i, () => {
      if (b.gateway) dp.setBridgeGateway(b.id, b.gateway);
      if (b.policer !== undefined) dp.policers.bindBridge(b.id, b.policer);
    }),
  );
  if (config.acl) {
    try {
      dp.acl.load(config.acl.rules as AclRule[], {
        defaultAction: config.acl.defaultAction,
        egressDefaultAction: config.acl.egressDefaultAction,
      });
    } catch (err) {
      if (err instanceof DatapathConfigError)
        throw new DatapathConfigError(`acl.${err.field}`, err.message.slice(err.field.length + 2));
      throw err;
    }
  }
  if (config.conntrack) {
    try {
      dp.conntrack.create(config.conntrack);
    } catch (err) {
      if (err instanceof DatapathConfigError)
        throw new DatapathConfigError(
          `conntrack.${err.field}`,
          err.message.slice(err.field.length + 2),
        );
      throw err;
    }
  }
  config.ports.forEach((p, i) =>
    at('ports', i, () => {
      dp.setPort(p.port, {
        bridge: p.bridge ?? null,
        flood: p.flood,
        vrf: p.vrf ?? null,
        address: p.address ?? null,
        address6: p.address6 ?? null,
        mac: p.mac ?? null,
        ...(p.mtu === undefined ? {} : { mtu: p.mtu }),
      });
      dp.acl.bind(p.port, p.acl ?? false);
      dp.acl.bind(p.port, p.aclEgress ?? false, 'egress');
      if (p.policer !== undefined) dp.policers.bind(p.port, p.policer);
      if (p.flowPolicer) dp.policers.bindFlows(p.port, p.flowPolicer);
    }),
  );
  config.tunnels.forEach((t, i) => at('tunnels', i, () => dp.addVxlanTunnel(t.id, t)));
  config.macs.forEach((m, i) =>
    at('macs', i, () => dp.macTable.add(m.bridge, m.mac, m.port, { static: m.static })),
  );
}
