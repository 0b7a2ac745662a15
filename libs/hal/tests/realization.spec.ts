import { describe, expect, it } from 'vitest';
import {
  CapabilityMissingError,
  DeviceError,
  realizationOutcome,
  specDifferences,
} from '../src/index.js';
import type { BridgeSpec, RealizedObject } from '../src/index.js';

const desired: BridgeSpec = { id: 'blue', vlanId: 10, vni: 100, remoteVteps: ['192.0.2.2'] };
const realized = (spec: BridgeSpec): { realized: RealizedObject<'bridge'> } => ({
  realized: { kind: 'bridge', spec, deviceRefs: {} },
});

describe('realization outcome', () => {
  it('is SUCCESS only when the read-back spec means the same as the desired one', () => {
    expect(
      realizationOutcome('bridge', desired, realized({ ...desired, remoteVteps: ['192.0.2.2'] })),
    ).toEqual({ state: 'SUCCESS', details: '', retry: false });
  });

  it('is PENDING naming the fields the device reads back differently', () => {
    const outcome = realizationOutcome(
      'bridge',
      desired,
      realized({ id: 'blue', vlanId: 10, remoteVteps: [] }),
    );
    expect(outcome).toEqual({
      state: 'PENDING',
      details: 'device reads back a different remoteVteps, vni',
      retry: true,
    });
  });

  it('is ERROR with the HAL error message, retrying only retryable errors', () => {
    expect(
      realizationOutcome(
        'bridgePort',
        { id: 'p', mac: '02:00:00:00:00:01', type: 'trunk', bridges: ['b'] },
        {
          error: new CapabilityMissingError(['vlanFiltering', 'vlanDevices'], 'bridgePort', 'p'),
        },
      ),
    ).toEqual({
      state: 'ERROR',
      details:
        'bridgePort p needs capability vlanFiltering or vlanDevices, which this device lacks',
      retry: false,
    });
    expect(
      realizationOutcome('bridge', desired, {
        error: new DeviceError('DEPENDENCY_MISSING', 'bridge x is not on the device yet', true),
      }),
    ).toMatchObject({ state: 'ERROR', retry: true });
    expect(realizationOutcome('bridge', desired, { error: new Error('boom') })).toEqual({
      state: 'ERROR',
      details: 'device failure: boom',
      retry: true,
    });
  });

  it('names the malformed fields of a read-back that is not well-formed', () => {
    expect(
      specDifferences(
        'vrf',
        { id: 'v', loopbackPrefix: '10.0.0.1/32' },
        { id: 'v', loopbackPrefix: '' },
      ),
    ).toEqual(['loopbackPrefix']);
  });
});
