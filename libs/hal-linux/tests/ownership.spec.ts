import { describe, expect, it } from 'vitest';
import {
  decodeOwnerMark,
  encodeOwnerMark,
  ownedInterfaceName,
  tableForVrf,
} from '../src/ownership.js';

describe('ownership marks', () => {
  it('round-trips an owner mark through the interface alias', () => {
    const mark = { role: 'bridge' as const, id: 'blue-1', attrs: { vlan: '10', svi: 'gw' } };
    const alias = encodeOwnerMark(mark);
    expect(alias).toBe('opi:v1 role=bridge id=blue-1 svi=gw vlan=10');
    expect(decodeOwnerMark(alias)).toEqual(mark);
  });

  it('treats foreign or malformed aliases as not ours', () => {
    for (const alias of [
      undefined,
      '',
      'made by hand',
      'opi:v2 role=bridge id=x',
      'opi:v1 role=router id=x',
      'opi:v1 role=bridge',
      'opi:v1 role=bridge id=x stray',
      'opi:v1 id=x',
    ]) {
      expect(decodeOwnerMark(alias), String(alias)).toBeUndefined();
    }
  });

  it('derives stable interface names within the 15-character limit, distinct per role', () => {
    const long = 'a'.repeat(63);
    const names = [
      ownedInterfaceName('bridge', long),
      ownedInterfaceName('bridge-vxlan', long),
      ownedInterfaceName('vrf', long),
      ownedInterfaceName('vrf-vxlan', long),
    ];
    expect(names.every((name) => /^opi[bxvl][0-9a-f]{10}$/.test(name))).toBe(true);
    expect(new Set(names).size).toBe(4);
    expect(ownedInterfaceName('bridge', long)).toBe(names[0]);
    expect(ownedInterfaceName('bridge', 'b')).not.toBe(names[0]);
  });

  it('proposes a VRF table in its range and probes past taken ones', () => {
    const table = tableForVrf('tenant', new Set());
    expect(table).toBeGreaterThanOrEqual(1_000_000);
    expect(table).toBeLessThan(2_000_000);
    expect(tableForVrf('tenant', new Set([table, table + 1]))).toBe(table + 2);
  });
});
