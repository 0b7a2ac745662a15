// What the IPv4 and IPv6 route tables share on the host: each VRF's route list (per prefix
// length, a Map from the network address key to the next hop) and the verbs that only touch
// that list or the core's whole table. The families differ in key type, prefix parsing and how
// an address reaches the core, so those stay in routes.ts and routes6.ts.
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';

/** VRFs (route tables) the core holds per address family: ids 0 .. MAX_VRFS-1. */
export const MAX_VRFS = 256;

/** Per-prefix-length route lists of one VRF, indexed by prefix length. */
export type RouteList<K> = Map<K, number>[];

/** The core calls a family's route tables need for whole-table verbs. */
export interface RouteTableCore {
  create(vrf: number, topBits: number): number;
  free(vrf: number): void;
  reset(vrf: number): void;
}

/**
 * Base of the per-family route tables: keeps the route lists, validates VRF ids and runs the
 * whole-table verbs (create, free, reset) and the covering-route search delete needs.
 */
export abstract class VrfRouteLists<K> {
  /** Route lists by VRF. */
  protected readonly lists = new Map<number, RouteList<K>>();

  /**
   * @param maxLen longest prefix of the family (32 or 128)
   * @param family name in error messages before "route table" ('' or 'IPv6 ')
   */
  protected constructor(
    private readonly tableCore: RouteTableCore,
    private readonly maxLen: number,
    private readonly family: string,
  ) {}

  /** One empty Map per prefix length 0 .. maxLen. */
  protected emptyList(): RouteList<K> {
    return Array.from({ length: this.maxLen + 1 }, () => new Map<K, number>());
  }

  /** The route list of `vrf`; throws naming `vrf` when it has no table. */
  protected list(vrf: number): RouteList<K> {
    checkInt(vrf, 'vrf', 0, MAX_VRFS - 1);
    const l = this.lists.get(vrf);
    if (!l) {
      throw new DatapathConfigError(
        'vrf',
        `VRF ${vrf} has no ${this.family}route table (create it first)`,
      );
    }
    return l;
  }

  /**
   * Longest route of `list` shorter than `len` covering the prefix (`keyAt(l)`: the prefix's
   * key truncated to l bits); length 0 and next hop -1 when none does.
   */
  protected cover(
    list: RouteList<K>,
    len: number,
    keyAt: (l: number) => K,
  ): { coverLen: number; coverNextHop: number } {
    for (let l = len - 1; l >= 0; l--) {
      const nh = list[l]!.get(keyAt(l));
      if (nh !== undefined) return { coverLen: l, coverNextHop: nh };
    }
    return { coverLen: 0, coverNextHop: -1 };
  }

  /** Creates (or re-creates, empty) the route table of `vrf`. */
  create(vrf: number, opts: { large?: boolean } = {}): void {
    checkInt(vrf, 'vrf', 0, MAX_VRFS - 1);
    if (this.tableCore.create(vrf, opts.large ? 24 : 16) !== 0) {
      throw new DatapathTableError(
        `out of memory creating the ${this.family}route table of VRF ${vrf}`,
      );
    }
    this.lists.set(vrf, this.emptyList());
  }

  /** Deletes the route table of `vrf` (packets routed in it then find no route). */
  free(vrf: number): void {
    checkInt(vrf, 'vrf', 0, MAX_VRFS - 1);
    this.tableCore.free(vrf);
    this.lists.delete(vrf);
  }

  /** Removes every route of `vrf`. */
  reset(vrf: number): void {
    const list = this.list(vrf);
    this.tableCore.reset(vrf);
    for (const m of list) m.clear();
  }

  /** VRFs that have a route table. */
  vrfs(): number[] {
    return [...this.lists.keys()].sort((a, b) => a - b);
  }

  /** Number of routes in `vrf`. */
  size(vrf: number): number {
    return this.list(vrf).reduce((n, m) => n + m.size, 0);
  }

  /**
   * After a failed bulk load (the core stops part-way only when memory runs out): empties the
   * table of `vrf` and throws saying so.
   */
  protected loadFailed(vrf: number, n: number): never {
    this.tableCore.reset(vrf);
    this.lists.set(vrf, this.emptyList());
    throw new DatapathTableError(`out of memory loading ${n} routes into VRF ${vrf}`);
  }
}
