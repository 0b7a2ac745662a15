import { createHash } from 'node:crypto';
import { invalidArgument } from './errors.js';

/** Page size used when a List request leaves it 0. */
export const DEFAULT_PAGE_SIZE = 50;
/** Larger page sizes are clamped to this. */
export const MAX_PAGE_SIZE = 250;

/**
 * resolvePageSize applies the OPI page-size rules: 0 → 50, above 250 → 250.
 * @throws KitError INVALID_ARGUMENT `page_size` when negative.
 */
export function resolvePageSize(pageSize: number | undefined): number {
  const size = pageSize ?? 0;
  if (!Number.isInteger(size) || size < 0)
    throw invalidArgument('page_size', `must be ≥ 0, got ${size}`);
  if (size === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(size, MAX_PAGE_SIZE);
}

interface TokenBody {
  v: 1;
  /** Name of the last item returned; the next page starts after it. */
  a: string;
  /** Hash of the query (kind and parent) the token belongs to. */
  q: string;
}

const queryHash = (query: string) =>
  createHash('sha256').update(query).digest('base64url').slice(0, 12);

/**
 * encodePageToken makes a stateless, opaque token: the position (last name) and the query it
 * belongs to. Any replica, also after a restart, can continue from it.
 */
export function encodePageToken(query: string, lastName: string): string {
  const body: TokenBody = { v: 1, a: lastName, q: queryHash(query) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/**
 * decodePageToken returns the name after which the page starts ('' for the first page).
 * @throws KitError INVALID_ARGUMENT `page_token` when malformed or issued for another query.
 */
export function decodePageToken(query: string, token: string | undefined): string {
  if (!token) return '';
  let body: Partial<TokenBody>;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
  } catch {
    throw invalidArgument('page_token', 'malformed page token');
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    body.v !== 1 ||
    typeof body.a !== 'string' ||
    typeof body.q !== 'string'
  ) {
    throw invalidArgument('page_token', 'malformed page token');
  }
  if (body.q !== queryHash(query))
    throw invalidArgument('page_token', 'page token belongs to another list request');
  return body.a;
}

/**
 * paginate returns one page of `sortedNames` after the token position and the next token ('' on
 * the last page). Names must be sorted and unique, so every item appears exactly once.
 */
export function paginate(
  sortedNames: readonly string[],
  query: string,
  pageSize: number | undefined,
  pageToken: string | undefined,
): { page: string[]; nextPageToken: string } {
  const size = resolvePageSize(pageSize);
  const after = decodePageToken(query, pageToken);
  let start = 0;
  if (after !== '') {
    // Binary search: first name strictly greater than the token position.
    let lo = 0;
    let hi = sortedNames.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortedNames[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const page = sortedNames.slice(start, start + size);
  const more = start + size < sortedNames.length;
  return { page, nextPageToken: more ? encodePageToken(query, page[page.length - 1]!) : '' };
}
