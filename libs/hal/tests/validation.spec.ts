import { describe, expect, it } from 'vitest';
import {
  InvalidSpecError,
  canonicalIpPrefix,
  normalizeSpec,
  prefixNetwork,
  specsEqual,
} from '../src/index.js';

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidSpecError) return error.field;
    throw error;
  }
  throw new Error('expected InvalidSpecError');
}

describe('spec normalization', () => {
  it('canonicalizes MACs, addresses and unordered lists', () => {
    expect(
      normalizeSpec('bridge', {
        id: 'b1',
        vlanId: 7,
        vni: 100,
        vtepAddress: '2001:DB8:0:0::1',
        remoteVteps: ['192.0.2.2', '192.0.2.1', '192.0.2.2'],
      }),
    ).toEqual({
      id: 'b1',
      vlanId: 7,
      vni: 100,
      vtepAddress: '2001:db8::1',
      remoteVteps: ['192.0.2.1', '192.0.2.2'],
    });
    expect(
      normalizeSpec('bridgePort', {
        id: 'p',
        mac: '02-AA-BB-CC-DD-EE',
        type: 'trunk',
        bridges: ['z', 'a'],
      }),
    ).toEqual({ id: 'p', mac: '02:aa:bb:cc:dd:ee', type: 'trunk', bridges: ['a', 'z'] });
  });

  it('omits absent optional fields and defaults remote VTEPs to none', () => {
    const spec = normalizeSpec('bridge', { id: 'b1', vlanId: 1, vni: undefined });
    expect(spec).toEqual({ id: 'b1', vlanId: 1, remoteVteps: [] });
    expect('vni' in spec).toBe(false);
  });

  it('drops VTEP fields of objects without a VNI, since nothing realizes them', () => {
    expect(
      normalizeSpec('bridge', {
        id: 'b',
        vlanId: 2,
        vtepAddress: '192.0.2.1',
        remoteVteps: ['192.0.2.2'],
      }),
    ).toEqual({ id: 'b', vlanId: 2, remoteVteps: [] });
    expect(
      normalizeSpec('vrf', { id: 'v', loopbackPrefix: '10.0.0.1/32', vtepAddress: '192.0.2.1' }),
    ).toEqual({
      id: 'v',
      loopbackPrefix: '10.0.0.1/32',
    });
  });

  it('names the offending field of each malformed spec', () => {
    expect(fieldOf(() => normalizeSpec('bridge', { id: 'b', vlanId: 1.5 }))).toBe('vlanId');
    expect(fieldOf(() => normalizeSpec('bridge', { id: 'b', vlanId: 4095 }))).toBe('vlanId');
    expect(fieldOf(() => normalizeSpec('bridge', { id: 'b', vlanId: 2, vni: 0 }))).toBe('vni');
    expect(fieldOf(() => normalizeSpec('bridge', { id: 'b', vlanId: 2, remoteVteps: ['x'] }))).toBe(
      'remoteVteps.0',
    );
    expect(fieldOf(() => normalizeSpec('bridge', { vlanId: 2 }))).toBe('id');
    expect(
      fieldOf(() =>
        normalizeSpec('bridgePort', {
          id: 'p',
          mac: '00:00:00:00:00:00',
          type: 'access',
          bridges: ['b'],
        }),
      ),
    ).toBe('mac');
    expect(
      fieldOf(() =>
        normalizeSpec('bridgePort', { id: 'p', mac: '02:00:00:00:00:01', type: 'x', bridges: [] }),
      ),
    ).toBe('type');
    expect(
      fieldOf(() =>
        normalizeSpec('bridgePort', {
          id: 'p',
          mac: '02:00:00:00:00:01',
          type: 'trunk',
          bridges: [],
        }),
      ),
    ).toBe('bridges');
    expect(fieldOf(() => normalizeSpec('vrf', { id: 'v', loopbackPrefix: '10.0.0.1' }))).toBe(
      'loopbackPrefix',
    );
    expect(fieldOf(() => normalizeSpec('svi', { id: 's', vrf: 'v', bridge: 'b' }))).toBe('mac');
    expect(fieldOf(() => normalizeSpec('bridge', null))).toBe('bridge');
  });

  it('compares specs by meaning, not spelling', () => {
    expect(
      specsEqual(
        'svi',
        {
          id: 's',
          vrf: 'v',
          bridge: 'b',
          mac: '02:AA:00:00:00:01',
          gatewayPrefixes: ['10.0.0.1/24', 'fd00::1/64'],
        },
        {
          id: 's',
          vrf: 'v',
          bridge: 'b',
          mac: '02:aa:00:00:00:01',
          gatewayPrefixes: ['fd00:0::1/64', '10.0.0.1/24'],
        },
      ),
    ).toBe(true);
    expect(
      specsEqual(
        'bridge',
        { id: 'b', vlanId: 1, remoteVteps: [] },
        { id: 'b', vlanId: 1, vni: 5, remoteVteps: [] },
      ),
    ).toBe(false);
  });

  it('keeps host bits of prefixes and derives their network', () => {
    expect(canonicalIpPrefix('10.1.2.3/16')).toBe('10.1.2.3/16');
    expect(canonicalIpPrefix('10.1.2.3/40')).toBeUndefined();
    expect(canonicalIpPrefix('10.1.2/8')).toBeUndefined();
    expect(prefixNetwork('10.1.2.3/16')).toBe('10.1.0.0/16');
    expect(prefixNetwork('2001:db8:1:2::7/64')).toBe('2001:db8:1:2::/64');
  });
});
