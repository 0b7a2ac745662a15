import { describe, expect, it } from 'vitest';
import { opinetcommonV1alpha1 as common } from '@opi/api';
import { ipPrefixFromText, ipPrefixToText, macFromBytes, macToBytes } from '../src/index.js';

const fromText = (text: string) => common.IPPrefix.fromJSON(ipPrefixFromText(text));

describe('OPI addresses', () => {
  it('round-trips MACs between 6 bytes and text', () => {
    expect(macFromBytes(macToBytes('02:AB:00:00:00:01'), 'f')).toBe('02:ab:00:00:00:01');
  });

  it('rejects MACs that are not 6 bytes or not unicast, naming the field', () => {
    expect(() => macFromBytes(Buffer.alloc(5), 'port.mac')).toThrow(
      /port\.mac: must be 6 bytes, got 5/,
    );
    expect(() => macFromBytes(undefined, 'port.mac')).toThrow(/port\.mac: must be 6 bytes, got 0/);
    expect(() => macFromBytes(macToBytes('01:00:5e:00:00:01'), 'port.mac')).toThrow(
      /not a unicast MAC/,
    );
  });

  it('reads v4 prefixes as big-endian integers (10.0.0.2 = 167772162)', () => {
    const prefix = fromText('10.0.0.2/24');
    expect(prefix.addr?.v4OrV6).toEqual({ $case: 'v4Addr', value: 167772162 });
    expect(ipPrefixToText(prefix, 'p')).toBe('10.0.0.2/24');
    expect(ipPrefixToText(fromText('255.255.255.254/31'), 'p')).toBe('255.255.255.254/31');
  });

  it('reads v6 prefixes from 16 bytes in canonical form', () => {
    expect(ipPrefixToText(fromText('2001:db8::1/64'), 'p')).toBe('2001:db8::1/64');
  });

  it('names the sub-field of a malformed prefix', () => {
    expect(() =>
      ipPrefixToText({ ...fromText('10.0.0.1/24'), len: 33 }, 'vrf.spec.loopback_ip_prefix'),
    ).toThrow(/vrf\.spec\.loopback_ip_prefix\.len: must be 0-32, got 33/);
    expect(() => ipPrefixToText(undefined, 'vrf.spec.loopback_ip_prefix')).toThrow(
      /loopback_ip_prefix: required/,
    );
    const wrongFamily = { ...fromText('10.0.0.1/24') };
    wrongFamily.addr = { ...wrongFamily.addr!, af: common.IpAf.IP_AF_INET6 };
    expect(() => ipPrefixToText(wrongFamily, 'x')).toThrow(/x\.addr\.af: must be IP_AF_INET/);
    const shortV6 = common.IPPrefix.fromPartial({
      addr: { af: common.IpAf.IP_AF_INET6, v4OrV6: { $case: 'v6Addr', value: Buffer.alloc(4) } },
      len: 64,
    });
    expect(() => ipPrefixToText(shortV6, 'x')).toThrow(/x\.addr\.v6_addr: must be 16 bytes, got 4/);
  });
});
