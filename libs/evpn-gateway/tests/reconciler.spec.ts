// The reconcilers against a real emulated device (hal-sim over the WASM datapath): OPI objects
// in kit JSON form are mapped with the fabric defaults, applied, read back and removed.
import { beforeEach, describe, expect, it } from 'vitest';
import { evpnGwV1alpha1 as evpn } from '@opi/api';
import { CapabilityMissingError, DeviceError, type NetworkDevice } from '@opi/hal';
import { createSimNetworkDevice } from '@opi/hal-sim';
import { isTerminal, type ApplyContext, type JsonObject, type KindReconciler } from '@opi/kit';
import { createEvpnReconcilers, ipPrefixFromText, macToBytes } from '../src/index.js';

const PORTS = [
  { name: 'pf0', mac: '02:00:00:00:00:01' },
  { name: 'pf1', mac: '02:00:00:00:00:02' },
];
const fabric = { vtepAddress: '10.0.0.1', remoteVteps: ['10.0.0.3', '10.0.0.2'] };
const context = (epoch = 1): ApplyContext => ({
  fence: { epoch, check: () => undefined },
  signal: new AbortController().signal,
});
const bridgeName = (id: string) => `//network.opiproject.org/bridges/${id}`;
const lbJson = (spec: Partial<evpn.LogicalBridgeSpec>) =>
  evpn.LogicalBridge.toJSON(evpn.LogicalBridge.fromPartial({ spec })) as JsonObject;
const portJson = (mac: string, ptype: evpn.BridgePortType, bridges: string[]) =>
  evpn.BridgePort.toJSON(
    evpn.BridgePort.fromPartial({
      spec: { macAddress: macToBytes(mac), ptype, logicalBridges: bridges },
    }),
  ) as JsonObject;
const object = (kind: string, key: string, resource: JsonObject) => ({
  kind,
  key,
  name: key,
  generation: 1,
  resource,
});

let device: NetworkDevice;
let reconcilers: Record<string, KindReconciler>;

beforeEach(async () => {
  device = await createSimNetworkDevice({ ports: PORTS });
  reconcilers = createEvpnReconcilers({ device, fabric });
});

describe('EVPN reconcilers on the sim device', () => {
  it('stretches a VNI bridge from the configured VTEP to the static remote VTEPs', async () => {
    const result = await reconcilers['LogicalBridge']!.apply(
      object('LogicalBridge', 'blue', lbJson({ vlanId: 10, vni: 1000 })),
      context(),
    );
    expect(result?.components).toEqual([{ name: 'device', state: 'SUCCESS' }]);
    expect((await device.read('bridge', 'blue'))?.spec).toEqual({
      id: 'blue',
      vlanId: 10,
      vni: 1000,
      vtepAddress: '10.0.0.1',
      remoteVteps: ['10.0.0.2', '10.0.0.3'],
    });
  });

  it('takes the VTEP from vtep_ip_prefix and keeps a bridge without VNI local', async () => {
    const override = lbJson({ vlanId: 11, vni: 1100 });
    (override['spec'] as JsonObject)['vtepIpPrefix'] = ipPrefixFromText('10.9.9.9/32');
    await reconcilers['LogicalBridge']!.apply(
      object('LogicalBridge', 'green', override),
      context(),
    );
    expect((await device.read('bridge', 'green'))?.spec.vtepAddress).toBe('10.9.9.9');
    await reconcilers['LogicalBridge']!.apply(
      object('LogicalBridge', 'local', lbJson({ vlanId: 12 })),
      context(),
    );
    expect((await device.read('bridge', 'local'))?.spec).toEqual({
      id: 'local',
      vlanId: 12,
      remoteVteps: [],
    });
  });

  it('binds an access port to the device port with its MAC once its bridge exists', async () => {
    const port = object(
      'BridgePort',
      'p-one',
      portJson(PORTS[1]!.mac, evpn.BridgePortType.BRIDGE_PORT_TYPE_ACCESS, [bridgeName('blue')]),
    );
    const early = await reconcilers['BridgePort']!.apply(port, context()).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(DeviceError);
    expect(isTerminal(early)).toBe(false);
    await reconcilers['LogicalBridge']!.apply(
      object('LogicalBridge', 'blue', lbJson({ vlanId: 10 })),
      context(),
    );
    await reconcilers['BridgePort']!.apply(port, context());
    const pf1 = (await device.listPorts()).find((p) => p.name === 'pf1');
    expect(pf1).toMatchObject({ bridgePort: 'p-one', bridges: ['blue'] });
    expect(await reconcilers['BridgePort']!.listKeys!(context())).toEqual(['p-one']);
    await reconcilers['BridgePort']!.remove(
      { kind: 'BridgePort', key: 'p-one', name: 'p-one' },
      context(),
    );
    expect((await device.listPorts()).find((p) => p.name === 'pf1')?.bridgePort).toBeUndefined();
  });

  it('fails a TRUNK port terminally with the missing capability named', async () => {
    await reconcilers['LogicalBridge']!.apply(
      object('LogicalBridge', 'blue', lbJson({ vlanId: 10 })),
      context(),
    );
    const trunk = object(
      'BridgePort',
      'trunk',
      portJson(PORTS[0]!.mac, evpn.BridgePortType.BRIDGE_PORT_TYPE_TRUNK, [bridgeName('blue')]),
    );
    const error = await reconcilers['BridgePort']!.apply(trunk, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CapabilityMissingError);
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toContain('vlanFiltering or vlanDevices');
  });

  it('fails a stored object that no longer maps terminally, naming the field', async () => {
    const broken = {
      spec: {
        macAddress: 'AQID',
        ptype: 'BRIDGE_PORT_TYPE_ACCESS',
        logicalBridges: [bridgeName('blue')],
      },
    };
    const error = await reconcilers['BridgePort']!.apply(
      object('BridgePort', 'broken', broken),
      context(),
    ).catch((e: unknown) => e);
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toContain('bridge_port.spec.mac_address');
  });
});
