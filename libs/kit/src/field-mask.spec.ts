import { describe, expect, it } from 'vitest';
import { GrpcStatus, KitError } from './errors.js';
import { applyFieldMask } from './field-mask.js';

const fields = new Set(['name', 'spec', 'status', 'blockSize', 'blocksCount', 'uuid']);
const options = { fields, protectedPaths: ['name', 'status'] };
const current = {
  name: 'volumes/a',
  blockSize: 512,
  blocksCount: 64,
  uuid: 'u1',
  spec: { vlanId: 10, vni: 100 },
};

describe('applyFieldMask', () => {
  it.each([
    [
      '"*" replaces every writable field and clears absent ones',
      ['*'],
      { blockSize: 4096 },
      { name: 'volumes/a', blockSize: 4096 },
    ],
    [
      'an empty mask updates the fields present in the patch',
      [],
      { blockSize: 4096 },
      { ...current, blockSize: 4096 },
    ],
    [
      'a listed snake_case path updates only that field',
      ['blocks_count'],
      { blockSize: 1, blocksCount: 8 },
      { ...current, blocksCount: 8 },
    ],
    [
      'a listed path absent from the patch clears the field',
      ['uuid'],
      {},
      { name: 'volumes/a', blockSize: 512, blocksCount: 64, spec: current.spec },
    ],
    [
      'a nested path updates inside a sub-message',
      ['spec.vlan_id'],
      { spec: { vlanId: 20, vni: 7 } },
      { ...current, spec: { vlanId: 20, vni: 100 } },
    ],
    [
      'comma-joined paths (JSON form) are split',
      ['blockSize,uuid'],
      { blockSize: 1, uuid: 'u2' },
      { ...current, blockSize: 1, uuid: 'u2' },
    ],
    [
      'protected fields keep their stored value',
      ['*'],
      { name: 'volumes/other', blockSize: 1 },
      { name: 'volumes/a', blockSize: 1 },
    ],
  ])('%s', (_title, paths, patch, expected) => {
    expect(applyFieldMask(current, patch, paths, options)).toEqual(expected);
  });

  it.each([
    ['an unknown path', ['colour']],
    ['"*" mixed with paths', ['*', 'uuid']],
  ])('rejects %s naming update_mask', (_title, paths) => {
    try {
      applyFieldMask(current, {}, paths, options);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(KitError);
      expect((error as KitError).code).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect((error as KitError).field).toBe('update_mask');
    }
  });

  it('does not modify its inputs', () => {
    const before = structuredClone(current);
    applyFieldMask(current, { blockSize: 1 }, ['*'], options);
    expect(current).toEqual(before);
  });
});
