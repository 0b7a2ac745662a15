// How this backend marks what it owns: derived interface names (ids can be longer than the
// 15-character interface name limit) and an interface alias `opi:v1 role=<role> id=<id> ...`
// that records the object id and the attributes the kernel has no place for.
import { createHash } from 'node:crypto';

/** OwnedRole is what an owned interface (or a bound device port) stands for. */
export type OwnedRole = 'bridge' | 'bridge-vxlan' | 'vrf' | 'vrf-vxlan' | 'port' | 'fence';

/** OwnerMark is the decoded alias of an interface this backend owns or has bound. */
export interface OwnerMark {
  role: OwnedRole;
  id: string;
  attrs: Record<string, string>;
}

const ALIAS_PREFIX = 'opi:v1';
const ROLES: readonly OwnedRole[] = ['bridge', 'bridge-vxlan', 'vrf', 'vrf-vxlan', 'port', 'fence'];
const NAME_PREFIX: Record<Exclude<OwnedRole, 'port' | 'fence'>, string> = {
  bridge: 'opib',
  'bridge-vxlan': 'opix',
  vrf: 'opiv',
  'vrf-vxlan': 'opil',
};

/**
 * FENCE_INTERFACE is a down, port-less bridge whose alias records the newest fencing token any
 * writer used in this namespace, so that fencing holds across processes (old and new leader).
 */
export const FENCE_INTERFACE = 'opi-fence';

/** ROUTE_PROTOCOL marks the routes and policy rules this backend owns (rtnetlink protocol). */
export const ROUTE_PROTOCOL = '176';

/** RULE_PRIORITY is the priority of the policy rules that select a VRF's table. */
export const RULE_PRIORITY = '1000';

/** ownedInterfaceName derives the interface name of object `id` in `role` (14 characters). */
export function ownedInterfaceName(role: Exclude<OwnedRole, 'port' | 'fence'>, id: string): string {
  const digest = createHash('sha256').update(`${role}:${id}`).digest('hex');
  return NAME_PREFIX[role] + digest.slice(0, 10);
}

/** encodeOwnerMark renders an alias; attribute values must not contain spaces or `=`. */
export function encodeOwnerMark(mark: OwnerMark): string {
  const attrs = Object.entries(mark.attrs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  return [ALIAS_PREFIX, `role=${mark.role}`, `id=${mark.id}`, ...attrs].join(' ');
}

/** decodeOwnerMark parses an alias written by encodeOwnerMark; other aliases give undefined. */
export function decodeOwnerMark(alias: string | undefined): OwnerMark | undefined {
  if (!alias) return undefined;
  const [prefix, ...fields] = alias.trim().split(/\s+/);
  if (prefix !== ALIAS_PREFIX) return undefined;
  const values: Record<string, string> = {};
  for (const field of fields) {
    const equals = field.indexOf('=');
    if (equals <= 0) return undefined;
    values[field.slice(0, equals)] = field.slice(equals + 1);
  }
  const { role, id, ...attrs } = values;
  if (!role || !id || !ROLES.includes(role as OwnedRole)) return undefined;
  return { role: role as OwnedRole, id, attrs };
}

/** tableForVrf proposes a routing table number for VRF `id`, probing past `taken` ones. */
export function tableForVrf(id: string, taken: ReadonlySet<number>): number {
  const digest = createHash('sha256').update(`vrf-table:${id}`).digest();
  let table = 1_000_000 + (digest.readUInt32BE(0) % 1_000_000);
  while (taken.has(table)) table += 1;
  return table;
}
