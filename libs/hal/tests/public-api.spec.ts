import { describe, expect, it } from 'vitest';
import * as hal from '../src/index.js';
import * as halTesting from '../src/testing/index.js';

// A golden list of the runtime exports: removing or renaming one breaks every backend and the
// agent, so it must be a deliberate change of this list.
describe('public API of @opi/hal', () => {
  it('exports exactly the documented values', () => {
    expect(Object.keys(hal).sort()).toEqual([
      'CAPABILITY_NAMES',
      'CapabilityMissingError',
      'DEFAULT_HAL_BACKEND',
      'DeviceError',
      'FLOOD_MAC',
      'FencingGuard',
      'HAL_BACKEND_SETTING',
      'HalError',
      'InvalidSpecError',
      'MAX_MTU',
      'MAX_VNI',
      'MIN_MTU',
      'NetworkDeviceRegistry',
      'OBJECT_KINDS',
      'RESERVED_VLAN_ID',
      'StaleFenceError',
      'UnknownBackendError',
      'ZERO_COUNTERS',
      'assertObjectKind',
      'canonicalIpAddress',
      'canonicalIpPrefix',
      'canonicalMac',
      'hasAnyCapability',
      'ipFamilyOf',
      'isHalError',
      'isUnicastMac',
      'normalizePortSettings',
      'normalizeSpec',
      'prefixNetwork',
      'realizationOutcome',
      'requireCapabilitiesFor',
      'requireCapability',
      'requiredCapabilities',
      'specDifferences',
      'specsEqual',
    ]);
    expect(Object.keys(halTesting)).toEqual(['describeNetworkDeviceConformance']);
  });

  it('marks every HAL error with a code and whether retrying can help', () => {
    const errors = [
      new hal.CapabilityMissingError(['vxlan'], 'bridge', 'b'),
      new hal.InvalidSpecError('vni', 'too large'),
      new hal.StaleFenceError(1, 2),
      new hal.UnknownBackendError('OPI_HAL', 'x', ['sim']),
      new hal.DeviceError('PORT_NOT_FOUND', 'no port', true),
    ];
    expect(errors.map((error) => [error.name, error.code, error.retryable])).toEqual([
      ['CapabilityMissingError', 'CAPABILITY_MISSING', false],
      ['InvalidSpecError', 'INVALID_SPEC', false],
      ['StaleFenceError', 'STALE_FENCE', false],
      ['UnknownBackendError', 'UNKNOWN_BACKEND', false],
      ['DeviceError', 'PORT_NOT_FOUND', true],
    ]);
    expect(errors.every((error) => hal.isHalError(error) && error instanceof Error)).toBe(true);
    expect(hal.isHalError(new Error('plain'))).toBe(false);
  });
});
