import { describe, expect, it } from 'vitest';
import { GrpcStatus, KitError } from './errors.js';
import { encodePageToken, paginate, resolvePageSize } from './pagination.js';

const names = Array.from({ length: 620 }, (_, i) => `volumes/v${String(i).padStart(4, '0')}`);

const codeAndField = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return [(error as KitError).code, (error as KitError).field];
  }
  return undefined;
};

describe('page size', () => {
  it.each([
    [undefined, 50],
    [0, 50],
    [1, 1],
    [250, 250],
    [251, 250],
    [100000, 250],
  ])('%s → %s', (size, expected) => expect(resolvePageSize(size)).toBe(expected));

  it('rejects a negative size naming page_size', () => {
    expect(codeAndField(() => resolvePageSize(-1))).toEqual([
      GrpcStatus.INVALID_ARGUMENT,
      'page_size',
    ]);
  });
});

describe('paginate', () => {
  it.each([1, 7, 50, 250, 1000])(
    'returns every item exactly once in order with page size %s',
    (size) => {
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const { page, nextPageToken } = paginate(names, 'NullVolume', size, token);
        seen.push(...page);
        token = nextPageToken;
        pages++;
      } while (token !== '' && pages < 10_000);
      expect(seen).toEqual(names);
      expect(pages).toBe(Math.max(1, Math.ceil(names.length / Math.min(size, 250))));
    },
  );

  it('continues correctly when items before the position are deleted between pages', () => {
    const first = paginate(names, 'q', 10, '');
    const shrunk = names.filter((n) => n !== names[3] && n !== names[15]);
    const second = paginate(shrunk, 'q', 10, first.nextPageToken);
    expect(second.page[0]).toBe(names[10]);
    expect(second.page).not.toContain(names[15]);
  });

  it('lists an empty collection with no items and an empty token', () => {
    expect(paginate([], 'q', 0, '')).toEqual({ page: [], nextPageToken: '' });
  });

  it.each([
    ['garbage', 'not-a-token!'],
    ['valid base64 but not JSON', Buffer.from('hello').toString('base64url')],
    ['a JSON object of the wrong shape', Buffer.from('{"x":1}').toString('base64url')],
    ['a token of another query', encodePageToken('OtherKind', 'volumes/v0001')],
  ])('rejects %s naming page_token', (_title, token) => {
    expect(codeAndField(() => paginate(names, 'q', 10, token))).toEqual([
      GrpcStatus.INVALID_ARGUMENT,
      'page_token',
    ]);
  });
});
