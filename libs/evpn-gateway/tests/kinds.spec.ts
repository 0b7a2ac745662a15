// The kind declarations carry the OPI wire facts the kit derives handlers and CLI commands from.
import { describe, expect, it } from 'vitest';
import { evpnGwV1alpha1 as evpn } from '@opi/api';
import { sortKindsByDependency } from '@opi/kit';
import {
  BRIDGE_PORT,
  EVPN_GATEWAY_KINDS,
  LOGICAL_BRIDGE,
  SVI,
  VRF,
  macToBytes,
} from '../src/index.js';

describe('EVPN gateway kinds', () => {
  it('use the OPI names, request shape, services and message types', () => {
    expect(
      EVPN_GATEWAY_KINDS.map((k) => [
        k.kind,
        k.nameForms.format(['x']),
        k.idField,
        k.listField,
        k.messageType,
      ]),
    ).toEqual([
      [
        'Vrf',
        '//network.opiproject.org/vrfs/x',
        'vrfId',
        'vrfs',
        'opi_api.network.evpn_gw.v1alpha1.Vrf',
      ],
      [
        'LogicalBridge',
        '//network.opiproject.org/bridges/x',
        'logicalBridgeId',
        'logicalBridges',
        'opi_api.network.evpn_gw.v1alpha1.LogicalBridge',
      ],
      [
        'BridgePort',
        '//network.opiproject.org/ports/x',
        'bridgePortId',
        'bridgePorts',
        'opi_api.network.evpn_gw.v1alpha1.BridgePort',
      ],
      [
        'Svi',
        '//network.opiproject.org/svis/x',
        'sviId',
        'svis',
        'opi_api.network.evpn_gw.v1alpha1.Svi',
      ],
    ]);
    expect(EVPN_GATEWAY_KINDS.every((k) => k.requestShape === 'evpn' && k.service)).toBe(true);
    expect(LOGICAL_BRIDGE.nameForms.parse('logicalBridges/blue')).toEqual(['blue']);
  });

  it('are already in dependency order', () => {
    expect(sortKindsByDependency(EVPN_GATEWAY_KINDS).map((k) => k.kind)).toEqual(
      EVPN_GATEWAY_KINDS.map((k) => k.kind),
    );
  });

  it('share one VNI uniqueness scope between bridges and VRFs', () => {
    const vniScope = (kind: typeof VRF | typeof LOGICAL_BRIDGE) =>
      kind.unique?.find((u) => u.field === 'spec.vni');
    expect(vniScope(VRF)).toEqual(vniScope(LOGICAL_BRIDGE));
    expect(BRIDGE_PORT.unique).toEqual([{ field: 'spec.macAddress', scope: 'evpn-port-mac' }]);
  });

  it('render VrfStatus (fields 8 and 9) like the other statuses', () => {
    const rendered = VRF.status!.render({
      phase: 'SUCCESS',
      components: [{ name: 'device', state: 'SUCCESS' }],
    });
    const vrf = evpn.Vrf.fromJSON({ name: 'vrfs/x', status: rendered });
    expect(vrf.status).toEqual({
      operStatus: evpn.VRFOperStatus.VRF_OPER_STATUS_UP,
      components: [{ name: 'device', status: evpn.CompStatus.COMP_STATUS_SUCCESS, details: '' }],
    });
    const wire = evpn.Vrf.encode(vrf).finish();
    // Field 8 (oper_status, varint UP=1) → 0x40 0x01; field 9 (components, length-delimited) → 0x4a.
    expect(Buffer.from(wire).includes(Buffer.from([0x40, 0x01]))).toBe(true);
    expect(Buffer.from(wire).includes(Buffer.from([0x4a]))).toBe(true);
  });

  it('validate a whole SVI and name each offending field', () => {
    const good = evpn.Svi.fromPartial({
      spec: {
        vrf: 'vrfs/v',
        logicalBridge: 'logicalBridges/b',
        macAddress: macToBytes('02:00:00:00:00:09'),
        enableBgp: true,
        remoteAs: 65001,
      },
    });
    expect(() => SVI.validate!(good, { operation: 'create' })).not.toThrow();
    expect(() =>
      SVI.validate!(
        { ...good, spec: { ...good.spec!, enableBgp: false } },
        { operation: 'update' },
      ),
    ).toThrow(/svi\.spec\.remote_as/);
    expect(() => SVI.validate!({ ...good, spec: undefined }, { operation: 'create' })).toThrow(
      /svi\.spec: required/,
    );
  });
});
