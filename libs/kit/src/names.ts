import { randomUUID } from 'node:crypto';
import { invalidArgument } from './errors.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const idPattern = /^[a-z0-9][a-z0-9-]{3,62}$/;
/** Segments that can be stored: client ids ([a-z0-9-]) and server-generated UUIDs. */
const storableSegment = /^[a-z0-9][a-z0-9-]*$/;

/**
 * validateResourceId checks a client-chosen `*_id`: 4–63 characters of `[a-z0-9-]`, not starting
 * with `-`, and not a UUID (UUIDs are reserved for server-generated ids).
 * @throws KitError INVALID_ARGUMENT naming `field`.
 */
export function validateResourceId(id: string, field: string): void {
  if (!idPattern.test(id)) {
    throw invalidArgument(
      field,
      `"${id}" must be 4-63 characters of [a-z0-9-] and must not start with "-"`,
    );
  }
  if (uuidPattern.test(id)) {
    throw invalidArgument(
      field,
      `"${id}" must not be a UUID (UUIDs are reserved for server-generated ids)`,
    );
  }
}

/** generateResourceId returns a fresh UUIDv4, the id of a resource created without `*_id`. */
export const generateResourceId = (): string => randomUUID();

/**
 * NameTemplate is one written form of a resource name, e.g. `volumes/{volume}` or
 * `//network.opiproject.org/bridges/{bridge}`; the last variable is the resource's own id and
 * earlier variables are the ids of its ancestors, outermost first.
 */
export class NameTemplate {
  /** The template text. */
  readonly template: string;
  /** Number of `{variables}` in the template. */
  readonly arity: number;
  private readonly pattern: RegExp;
  private readonly literals: string[];

  constructor(template: string) {
    this.template = template;
    const parts = template.split(/\{[a-zA-Z_][a-zA-Z0-9_]*\}/);
    this.literals = parts;
    this.arity = parts.length - 1;
    if (this.arity < 1) throw new Error(`name template ${template} has no {id} variable`);
    const escaped = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.pattern = new RegExp('^' + escaped.join('([^/]+)') + '$');
  }

  /** parse returns the ids in `name` (ancestors first) or undefined if it has another form. */
  parse(name: string): string[] | undefined {
    const match = this.pattern.exec(name);
    return match ? match.slice(1) : undefined;
  }

  /** format writes `ids` (ancestors first, own id last) in this form. */
  format(ids: readonly string[]): string {
    if (ids.length !== this.arity)
      throw new Error(`${this.template} needs ${this.arity} ids, got ${ids.length}`);
    let out = this.literals[0]!;
    ids.forEach((id, i) => (out += id + this.literals[i + 1]!));
    return out;
  }
}

/**
 * ResourceNames knows every accepted form of one kind's names: the canonical (de-facto) form
 * that the server returns and the aliases (proto-pattern forms) it also accepts on input.
 */
export class ResourceNames {
  /** The form written in responses. */
  readonly canonical: NameTemplate;
  /** Further forms accepted on input. */
  readonly aliases: readonly NameTemplate[];

  constructor(canonical: string, aliases: readonly string[] = []) {
    this.canonical = new NameTemplate(canonical);
    this.aliases = aliases.map((a) => new NameTemplate(a));
    for (const alias of this.aliases) {
      if (alias.arity !== this.canonical.arity) {
        throw new Error(`alias ${alias.template} must have as many ids as ${canonical}`);
      }
    }
  }

  /**
   * parse returns the ids of a name in any accepted form, or undefined when it is not a name of
   * this kind. Ids that could never have been stored are rejected too (they cannot exist).
   */
  parse(name: string): string[] | undefined {
    for (const template of [this.canonical, ...this.aliases]) {
      const ids = template.parse(name);
      if (ids) return ids.every((id) => storableSegment.test(id)) ? ids : undefined;
    }
    return undefined;
  }

  /** matches is true when `name` has one of the accepted shapes, whatever its ids. */
  matches(name: string): boolean {
    return [this.canonical, ...this.aliases].some((t) => t.parse(name) !== undefined);
  }

  /** format writes ids in the canonical form. */
  format(ids: readonly string[]): string {
    return this.canonical.format(ids);
  }
}

/** storageKey is the KV key of a resource: its ids joined by dots (each id is KV-key safe). */
export const storageKey = (ids: readonly string[]): string => ids.join('.');
/** idsOfStorageKey is the inverse of {@link storageKey}. */
export const idsOfStorageKey = (key: string): string[] => key.split('.');
