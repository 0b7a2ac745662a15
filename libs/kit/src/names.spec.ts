import { describe, expect, it } from 'vitest';
import { GrpcStatus, KitError } from './errors.js';
import { NameTemplate, ResourceNames, validateResourceId } from './names.js';

describe('validateResourceId', () => {
  it.each([
    ['abcd', true],
    ['a-b-c-1', true],
    ['x'.repeat(63), true],
    ['abc', false],
    ['x'.repeat(64), false],
    ['-abc', false],
    ['Abcd', false],
    ['ab_cd', false],
    ['ab.cd', false],
    ['8f14e45f-ceea-467f-a0e6-4a2c9d1b2c3d', false],
  ])('id %s valid=%s', (id, valid) => {
    if (valid) expect(() => validateResourceId(id, 'null_volume_id')).not.toThrow();
    else {
      const error = (() => {
        try {
          validateResourceId(id, 'null_volume_id');
        } catch (e) {
          return e;
        }
      })() as KitError;
      expect(error).toBeInstanceOf(KitError);
      expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(error.field).toBe('null_volume_id');
    }
  });
});

describe('ResourceNames', () => {
  const volumes = new ResourceNames('volumes/{volume}', ['nullVolumes/{volume}']);
  const bridges = new ResourceNames('//network.opiproject.org/bridges/{bridge}', [
    'logicalBridges/{bridge}',
  ]);
  const controllers = new ResourceNames('nvmeSubsystems/{ss}/nvmeControllers/{ctrl}');

  it.each([
    [volumes, 'volumes/abcd', ['abcd']],
    [volumes, 'nullVolumes/abcd', ['abcd']],
    [volumes, 'volumes/a/b', undefined],
    [volumes, 'disks/abcd', undefined],
    [volumes, 'volumes/Malloc0', undefined],
    [bridges, '//network.opiproject.org/bridges/blue', ['blue']],
    [bridges, 'logicalBridges/blue', ['blue']],
    [bridges, '//networkXopiproject.org/bridges/blue', undefined],
    [controllers, 'nvmeSubsystems/ss-1/nvmeControllers/c-1', ['ss-1', 'c-1']],
  ])('parses %#: %s', (names, name, ids) => {
    expect(names.parse(name)).toEqual(ids);
  });

  it('formats the canonical form whatever form was parsed', () => {
    expect(bridges.format(bridges.parse('logicalBridges/blue')!)).toBe(
      '//network.opiproject.org/bridges/blue',
    );
    expect(controllers.format(['a', 'b'])).toBe('nvmeSubsystems/a/nvmeControllers/b');
  });

  it('tells names of the right shape with unstorable ids from names of another shape', () => {
    expect(volumes.matches('volumes/Malloc0')).toBe(true);
    expect(volumes.matches('disks/x')).toBe(false);
  });

  it('rejects templates without a variable and aliases of another arity', () => {
    expect(() => new NameTemplate('volumes')).toThrow(/no \{id\}/);
    expect(() => new ResourceNames('a/{x}', ['b/{x}/c/{y}'])).toThrow(/as many ids/);
  });
});

describe('sortKindsByDependency', () => {
  it('puts parents and referenced kinds first, whatever the input order', async () => {
    const { sortKindsByDependency } = await import('./descriptor.js');
    const kinds = [
      {
        kind: 'Svi',
        references: [
          { field: 'spec.vrf', kinds: ['Vrf'], form: 'name' as const },
          { field: 'spec.logicalBridge', kinds: ['LogicalBridge'], form: 'name' as const },
        ],
      },
      {
        kind: 'NvmeNamespace',
        parent: 'NvmeSubsystem',
        references: [
          { field: 'spec.volumeNameRef', kinds: ['NullVolume'], form: 'idOrName' as const },
        ],
      },
      { kind: 'Vrf' },
      { kind: 'NvmeSubsystem' },
      { kind: 'LogicalBridge' },
      { kind: 'NullVolume' },
    ];
    const order = sortKindsByDependency(kinds).map((k) => k.kind);
    expect(order.indexOf('Vrf')).toBeLessThan(order.indexOf('Svi'));
    expect(order.indexOf('LogicalBridge')).toBeLessThan(order.indexOf('Svi'));
    expect(order.indexOf('NvmeSubsystem')).toBeLessThan(order.indexOf('NvmeNamespace'));
    expect(order.indexOf('NullVolume')).toBeLessThan(order.indexOf('NvmeNamespace'));
    expect(order).toHaveLength(kinds.length);
  });
});
