// The behaviour every NetworkDevice backend must show. Each backend's spec calls
// describeNetworkDeviceConformance with a way to make a fresh device; a test is skipped only
// when the device declares it lacks the capability the test needs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CapabilityName } from '../capabilities.js';
import { CAPABILITY_NAMES, hasAnyCapability } from '../capabilities.js';
import type { NetworkDevice } from '../device.js';
import {
  CapabilityMissingError,
  DeviceError,
  InvalidSpecError,
  StaleFenceError,
} from '../errors.js';
import type { BridgePortSpec, BridgeSpec, DevicePortConfig, SviSpec, VrfSpec } from '../model.js';
import { FLOOD_MAC } from '../model.js';
import { specsEqual } from '../validation.js';

/** ConformanceFixture is a fresh device under test and facts about its environment. */
export interface ConformanceFixture {
  device: NetworkDevice;
  /** At least three device ports of the device, bound to nothing. */
  ports: DevicePortConfig[];
  /** A local VTEP address the device may use. */
  vtepAddress: string;
}

/** MakeConformanceFixture creates a fresh device (and whatever it runs on) for one test. */
export type MakeConformanceFixture = () => Promise<ConformanceFixture>;

/** CleanupConformanceFixture tears down what MakeConformanceFixture created. */
export type CleanupConformanceFixture = (fixture: ConformanceFixture) => Promise<void>;

const FENCE = 1;

function bridge(id: string, vlanId: number, extra: Partial<BridgeSpec> = {}): BridgeSpec {
  return { id, vlanId, remoteVteps: [], ...extra };
}

function accessPort(id: string, mac: string, bridgeId: string): BridgePortSpec {
  return { id, mac, type: 'access', bridges: [bridgeId] };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * describeNetworkDeviceConformance registers the conformance tests for one backend. `name`
 * titles the suite; `makeDevice` runs before each test and `cleanup` after it.
 */
export function describeNetworkDeviceConformance(
  name: string,
  makeDevice: MakeConformanceFixture,
  cleanup: CleanupConformanceFixture,
): void {
  describe(`${name} network device conformance`, () => {
    let fixture: ConformanceFixture | undefined;
    let device: NetworkDevice;
    let ports: DevicePortConfig[];
    let vtep: string;

    beforeEach(async () => {
      fixture = await makeDevice();
      device = fixture.device;
      ports = fixture.ports;
      vtep = fixture.vtepAddress;
      expect(ports.length).toBeGreaterThanOrEqual(3);
    });

    afterEach(async () => {
      if (fixture) {
        await fixture.device.close();
        await cleanup(fixture);
      }
      fixture = undefined;
    });

    function port(index: number): DevicePortConfig {
      const found = ports[index];
      if (!found) throw new Error(`fixture has no device port ${index}`);
      return found;
    }

    function needs(ctx: { skip: (note?: string) => void }, ...anyOf: CapabilityName[]): void {
      if (!hasAnyCapability(device.capabilities, anyOf)) {
        ctx.skip(`${device.backend} declares no ${anyOf.join(' or ')}`);
      }
    }

    function lacks(ctx: { skip: (note?: string) => void }, ...anyOf: CapabilityName[]): void {
      if (hasAnyCapability(device.capabilities, anyOf)) {
        ctx.skip(`${device.backend} has ${anyOf.join(' or ')}`);
      }
    }

    it('declares every capability as a boolean', () => {
      for (const capability of CAPABILITY_NAMES) {
        expect(typeof device.capabilities[capability], capability).toBe('boolean');
      }
      expect(device.backend).toMatch(/^[a-z]+$/);
    });

    it('lists the device ports with their MACs, unbound, with counters', async () => {
      const listed = await device.listPorts();
      for (const expected of ports) {
        const found = listed.find((candidate) => candidate.name === expected.name);
        expect(found, expected.name).toBeDefined();
        expect(found?.mac).toBe(expected.mac.toLowerCase());
        expect(found?.bridges).toEqual([]);
        expect(found?.bridgePort).toBeUndefined();
        expect(found?.counters.rxPackets).toBeGreaterThanOrEqual(0);
        expect(found?.counters.txOctets).toBeGreaterThanOrEqual(0);
      }
      const names = listed.map((listedPort) => listedPort.name);
      expect(names).toEqual([...names].sort());
    });

    it("configures a device port's MTU and admin state and reads them back", async () => {
      const configured = await device.configurePort(
        port(0).name,
        { mtu: 1400, adminUp: false },
        FENCE,
      );
      expect(configured).toMatchObject({ name: port(0).name, mtu: 1400, adminUp: false });
      const listed = (await device.listPorts()).find((p) => p.name === port(0).name);
      expect(listed).toMatchObject({ mtu: 1400, adminUp: false });
      expect(listed?.operState).not.toBe('up');
      const unchangedMtu = await device.configurePort(port(0).name, { adminUp: true }, FENCE);
      expect(unchangedMtu).toMatchObject({ mtu: 1400, adminUp: true });
      const other = (await device.listPorts()).find((p) => p.name === port(1).name);
      expect(other?.mtu).not.toBe(1400);
    });

    it("keeps a device port's admin state when a bridge port binds it", async () => {
      await device.configurePort(port(0).name, { adminUp: false }, FENCE);
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridgePort', accessPort('host0', port(0).mac, 'blue'), FENCE);
      const bound = (await device.listPorts()).find((p) => p.name === port(0).name);
      expect(bound).toMatchObject({ adminUp: false, bridgePort: 'host0' });
    });

    it('rejects bad port settings and unknown ports', async () => {
      const badMtu = await rejection(device.configurePort(port(0).name, { mtu: 67 }, FENCE));
      expect((badMtu as InvalidSpecError).field).toBe('mtu');
      const unknownField = await rejection(
        device.configurePort(port(0).name, { speed: 10 } as never, FENCE),
      );
      expect((unknownField as InvalidSpecError).field).toBe('speed');
      const missing = await rejection(device.configurePort('no-such-port', { mtu: 1500 }, FENCE));
      expect((missing as DeviceError).code).toBe('PORT_NOT_FOUND');
      expect((missing as Error).message).toContain('no-such-port');
      await device.configurePort(port(0).name, { mtu: 1500 }, 5);
      expect(await rejection(device.configurePort(port(0).name, { mtu: 1400 }, 4))).toBeInstanceOf(
        StaleFenceError,
      );
    });

    it('applies a bridge and reads the same spec back', async () => {
      const spec = bridge('blue', 10);
      const applied = await device.apply('bridge', spec, FENCE);
      expect(applied.kind).toBe('bridge');
      expect(specsEqual('bridge', applied.spec, spec)).toBe(true);
      const read = await device.read('bridge', 'blue');
      expect(read && specsEqual('bridge', read.spec, spec)).toBe(true);
      expect((await device.list('bridge')).map((object) => object.spec.id)).toEqual(['blue']);
    });

    it('applies the same bridge twice without creating anything new', async () => {
      const first = await device.apply('bridge', bridge('blue', 10), FENCE);
      const second = await device.apply('bridge', bridge('blue', 10), FENCE);
      expect(second.deviceRefs).toEqual(first.deviceRefs);
      expect(await device.list('bridge')).toHaveLength(1);
    });

    it('updates a bridge whose VLAN changes', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      const updated = await device.apply('bridge', bridge('blue', 20), FENCE);
      expect(updated.spec.vlanId).toBe(20);
      expect((await device.read('bridge', 'blue'))?.spec.vlanId).toBe(20);
    });

    it('lists bridges sorted by id', async () => {
      await device.apply('bridge', bridge('red', 12), FENCE);
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridge', bridge('green', 11), FENCE);
      expect((await device.list('bridge')).map((object) => object.spec.id)).toEqual([
        'blue',
        'green',
        'red',
      ]);
    });

    it('removes a bridge, and removing an absent bridge is a no-op', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.remove('bridge', 'blue', FENCE);
      expect(await device.read('bridge', 'blue')).toBeUndefined();
      await device.remove('bridge', 'blue', FENCE);
      await device.remove('bridge', 'never-existed', FENCE);
      expect(await device.list('bridge')).toEqual([]);
    });

    it('stretches a bridge with a VNI to its remote VTEPs', async (ctx) => {
      needs(ctx, 'vxlan');
      needs(ctx, 'headEndReplication');
      const spec = bridge('blue', 10, {
        vni: 1000,
        vtepAddress: vtep,
        remoteVteps: ['192.0.2.20', '192.0.2.10'],
      });
      const applied = await device.apply('bridge', spec, FENCE);
      expect(applied.spec.vni).toBe(1000);
      expect(applied.spec.vtepAddress).toBe(vtep);
      expect(applied.spec.remoteVteps).toEqual(['192.0.2.10', '192.0.2.20']);
      const floods = (await device.listMacEntries({ bridge: 'blue' }))
        .filter((entry) => entry.origin === 'flood')
        .map((entry) => [entry.mac, entry.remoteVtep]);
      expect(floods.sort()).toEqual([
        [FLOOD_MAC, '192.0.2.10'],
        [FLOOD_MAC, '192.0.2.20'],
      ]);
    });

    it('updates the VNI and remote VTEPs of a stretched bridge', async (ctx) => {
      needs(ctx, 'vxlan');
      needs(ctx, 'headEndReplication');
      const base = { vtepAddress: vtep };
      await device.apply(
        'bridge',
        bridge('blue', 10, { ...base, vni: 1000, remoteVteps: ['192.0.2.10', '192.0.2.11'] }),
        FENCE,
      );
      const updated = await device.apply(
        'bridge',
        bridge('blue', 10, { ...base, vni: 2000, remoteVteps: ['192.0.2.11', '192.0.2.12'] }),
        FENCE,
      );
      expect(updated.spec.vni).toBe(2000);
      expect(updated.spec.remoteVteps).toEqual(['192.0.2.11', '192.0.2.12']);
      const floodTargets = (await device.listMacEntries({ bridge: 'blue' }))
        .filter((entry) => entry.origin === 'flood')
        .map((entry) => entry.remoteVtep)
        .sort();
      expect(floodTargets).toEqual(['192.0.2.11', '192.0.2.12']);

      const local = await device.apply('bridge', bridge('blue', 10), FENCE);
      expect(local.spec.vni).toBeUndefined();
      expect(local.spec.remoteVteps).toEqual([]);
    });

    it('refuses a bridge whose VNI another bridge already uses', async (ctx) => {
      needs(ctx, 'vxlan');
      await device.apply('bridge', bridge('blue', 10, { vni: 1000, vtepAddress: vtep }), FENCE);
      const error = await rejection(
        device.apply('bridge', bridge('red', 11, { vni: 1000, vtepAddress: vtep }), FENCE),
      );
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as DeviceError).code).toBe('CONFLICT');
      expect(await device.read('bridge', 'red')).toBeUndefined();
    });

    it('reports a VNI bridge as needing vxlan where the device has none', async (ctx) => {
      lacks(ctx, 'vxlan');
      const error = await rejection(
        device.apply('bridge', bridge('blue', 10, { vni: 1000 }), FENCE),
      );
      expect(error).toBeInstanceOf(CapabilityMissingError);
      expect((error as CapabilityMissingError).capabilities).toEqual(['vxlan']);
    });

    it('rejects malformed specs with an error naming the field, creating nothing', async () => {
      const cases: Array<[Promise<unknown>, string]> = [
        [device.apply('bridge', bridge('blue', 0), FENCE), 'vlanId'],
        [device.apply('bridge', bridge('blue', 4095), FENCE), 'vlanId'],
        [device.apply('bridge', bridge('blue', 10, { vni: 16_777_216 }), FENCE), 'vni'],
        [
          device.apply('bridge', bridge('blue', 10, { vtepAddress: '10.0.0' }), FENCE),
          'vtepAddress',
        ],
        [device.apply('bridge', bridge('bad id', 10), FENCE), 'id'],
        [device.apply('bridgePort', accessPort('p1', '02:00:00:00:01', 'blue'), FENCE), 'mac'],
        [device.apply('bridgePort', accessPort('p1', '01:00:5e:00:00:01', 'blue'), FENCE), 'mac'],
        [
          device.apply(
            'bridgePort',
            { id: 'p1', mac: port(0).mac, type: 'access', bridges: ['a', 'b'] },
            FENCE,
          ),
          'bridges',
        ],
        [
          device.apply('vrf', { id: 'v1', loopbackPrefix: '10.0.0.1/33' } satisfies VrfSpec, FENCE),
          'loopbackPrefix',
        ],
        [
          device.apply(
            'svi',
            {
              id: 's1',
              vrf: 'v1',
              bridge: 'blue',
              mac: '02:00:00:00:00:01',
              gatewayPrefixes: ['x'],
            },
            FENCE,
          ),
          'gatewayPrefixes.0',
        ],
      ];
      for (const [promise, field] of cases) {
        const error = await rejection(promise);
        expect(error, field).toBeInstanceOf(InvalidSpecError);
        expect((error as InvalidSpecError).field).toBe(field);
        expect((error as InvalidSpecError).retryable).toBe(false);
      }
      expect(await device.list('bridge')).toEqual([]);
      expect(await device.list('bridgePort')).toEqual([]);
    });

    it('binds an access port to the device port whose MAC it names', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      const spec = accessPort('host0', port(1).mac.toUpperCase(), 'blue');
      const applied = await device.apply('bridgePort', spec, FENCE);
      expect(specsEqual('bridgePort', applied.spec, spec)).toBe(true);
      expect(applied.spec.mac).toBe(port(1).mac.toLowerCase());

      const devicePort = (await device.listPorts()).find((p) => p.name === port(1).name);
      expect(devicePort?.bridgePort).toBe('host0');
      expect(devicePort?.bridges).toEqual(['blue']);
      const others = (await device.listPorts()).filter((p) => p.name !== port(1).name);
      expect(others.every((p) => p.bridgePort === undefined)).toBe(true);

      const macs = await device.listMacEntries({ bridge: 'blue' });
      expect(macs).toContainEqual(
        expect.objectContaining({ mac: port(1).mac.toLowerCase(), port: port(1).name }),
      );
    });

    it('moves an access port to another bridge on update', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridge', bridge('red', 11), FENCE);
      await device.apply('bridgePort', accessPort('host0', port(0).mac, 'blue'), FENCE);
      const moved = await device.apply(
        'bridgePort',
        accessPort('host0', port(0).mac, 'red'),
        FENCE,
      );
      expect(moved.spec.bridges).toEqual(['red']);
      const devicePort = (await device.listPorts()).find((p) => p.name === port(0).name);
      expect(devicePort?.bridges).toEqual(['red']);
    });

    it('rebinds a bridge port to another device port when its MAC changes', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridgePort', accessPort('host0', port(0).mac, 'blue'), FENCE);
      await device.apply('bridgePort', accessPort('host0', port(2).mac, 'blue'), FENCE);
      const listed = await device.listPorts();
      expect(listed.find((p) => p.name === port(0).name)?.bridgePort).toBeUndefined();
      expect(listed.find((p) => p.name === port(2).name)?.bridgePort).toBe('host0');
      expect((await device.list('bridgePort')).map((object) => object.spec.mac)).toEqual([
        port(2).mac.toLowerCase(),
      ]);
    });

    it('unbinds a removed bridge port and leaves the device port in place', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridgePort', accessPort('host0', port(0).mac, 'blue'), FENCE);
      await device.remove('bridgePort', 'host0', FENCE);
      expect(await device.read('bridgePort', 'host0')).toBeUndefined();
      const devicePort = (await device.listPorts()).find((p) => p.name === port(0).name);
      expect(devicePort).toBeDefined();
      expect(devicePort?.bridges).toEqual([]);
      await device.remove('bridgePort', 'host0', FENCE);
    });

    it('reports a retryable PORT_NOT_FOUND for a MAC no device port has', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      const error = await rejection(
        device.apply('bridgePort', accessPort('ghost', '02:aa:bb:cc:dd:ee', 'blue'), FENCE),
      );
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as DeviceError).code).toBe('PORT_NOT_FOUND');
      expect((error as DeviceError).retryable).toBe(true);
      expect((error as Error).message).toContain('02:aa:bb:cc:dd:ee');
    });

    it('reports a retryable DEPENDENCY_MISSING for a port on an absent bridge', async () => {
      const error = await rejection(
        device.apply('bridgePort', accessPort('host0', port(0).mac, 'nowhere'), FENCE),
      );
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as DeviceError).code).toBe('DEPENDENCY_MISSING');
      expect((error as DeviceError).retryable).toBe(true);
      expect((error as Error).message).toContain('nowhere');
    });

    it('refuses a second bridge port on an already bound device port', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridgePort', accessPort('host0', port(0).mac, 'blue'), FENCE);
      const error = await rejection(
        device.apply('bridgePort', accessPort('host1', port(0).mac, 'blue'), FENCE),
      );
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as DeviceError).code).toBe('CONFLICT');
      expect((await device.read('bridgePort', 'host0'))?.spec.mac).toBe(port(0).mac.toLowerCase());
      expect(await device.read('bridgePort', 'host1')).toBeUndefined();
    });

    it('refuses to remove a bridge a port still uses', async () => {
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridgePort', accessPort('host0', port(0).mac, 'blue'), FENCE);
      const error = await rejection(device.remove('bridge', 'blue', FENCE));
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as DeviceError).code).toBe('IN_USE');
      expect(await device.read('bridge', 'blue')).toBeDefined();
      await device.remove('bridgePort', 'host0', FENCE);
      await device.remove('bridge', 'blue', FENCE);
      expect(await device.read('bridge', 'blue')).toBeUndefined();
    });

    it('binds a trunk port to several bridges by VLAN', async (ctx) => {
      needs(ctx, 'vlanFiltering', 'vlanDevices');
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridge', bridge('red', 20), FENCE);
      const spec: BridgePortSpec = {
        id: 'uplink',
        mac: port(0).mac,
        type: 'trunk',
        bridges: ['red', 'blue'],
      };
      const applied = await device.apply('bridgePort', spec, FENCE);
      expect(applied.spec.type).toBe('trunk');
      expect(applied.spec.bridges).toEqual(['blue', 'red']);
      const devicePort = (await device.listPorts()).find((p) => p.name === port(0).name);
      expect(devicePort?.bridges).toEqual(['blue', 'red']);
    });

    it('reports a trunk port as needing a VLAN capability the device lacks', async (ctx) => {
      lacks(ctx, 'vlanFiltering', 'vlanDevices');
      await device.apply('bridge', bridge('blue', 10), FENCE);
      const error = await rejection(
        device.apply(
          'bridgePort',
          { id: 'uplink', mac: port(0).mac, type: 'trunk', bridges: ['blue'] },
          FENCE,
        ),
      );
      expect(error).toBeInstanceOf(CapabilityMissingError);
      expect((error as CapabilityMissingError).capabilities).toContain('vlanFiltering');
      expect((error as Error).message).toContain('vlanFiltering');
      expect(await device.read('bridgePort', 'uplink')).toBeUndefined();
    });

    function vrf(id: string, extra: Partial<VrfSpec> = {}): VrfSpec {
      return { id, loopbackPrefix: '198.51.100.1/32', ...extra };
    }

    it('applies a VRF and reads it back', async (ctx) => {
      needs(ctx, 'vrfDevice', 'policyRoutingVrf');
      const spec = vrf('tenant1');
      const applied = await device.apply('vrf', spec, FENCE);
      expect(specsEqual('vrf', applied.spec, spec)).toBe(true);
      const updated = await device.apply(
        'vrf',
        vrf('tenant1', { loopbackPrefix: '198.51.100.2/32' }),
        FENCE,
      );
      expect(updated.spec.loopbackPrefix).toBe('198.51.100.2/32');
      expect((await device.list('vrf')).map((object) => object.spec.id)).toEqual(['tenant1']);
      await device.remove('vrf', 'tenant1', FENCE);
      expect(await device.read('vrf', 'tenant1')).toBeUndefined();
    });

    it('applies a VRF with a layer-3 VNI', async (ctx) => {
      needs(ctx, 'vrfDevice', 'policyRoutingVrf');
      needs(ctx, 'vxlan');
      const spec = vrf('tenant1', { vni: 5000, vtepAddress: vtep });
      const applied = await device.apply('vrf', spec, FENCE);
      expect(applied.spec.vni).toBe(5000);
      expect(applied.spec.vtepAddress).toBe(vtep);
      const error = await rejection(
        device.apply('bridge', bridge('blue', 10, { vni: 5000, vtepAddress: vtep }), FENCE),
      );
      expect((error as DeviceError).code).toBe('CONFLICT');
    });

    it('reports a VRF as needing a VRF capability the device lacks', async (ctx) => {
      lacks(ctx, 'vrfDevice', 'policyRoutingVrf');
      const error = await rejection(device.apply('vrf', vrf('tenant1'), FENCE));
      expect(error).toBeInstanceOf(CapabilityMissingError);
    });

    function svi(id: string, vrfId: string, bridgeId: string, gateways: string[]): SviSpec {
      return {
        id,
        vrf: vrfId,
        bridge: bridgeId,
        mac: '02:00:5e:00:01:01',
        gatewayPrefixes: gateways,
      };
    }

    it('applies an SVI with its gateway MAC and addresses and reads it back', async (ctx) => {
      needs(ctx, 'svi');
      needs(ctx, 'vrfDevice', 'policyRoutingVrf');
      await device.apply('vrf', vrf('tenant1'), FENCE);
      await device.apply('bridge', bridge('blue', 10), FENCE);
      const spec = svi('gw-blue', 'tenant1', 'blue', ['10.10.0.1/24', '2001:db8:10::1/64']);
      const applied = await device.apply('svi', spec, FENCE);
      expect(specsEqual('svi', applied.spec, spec)).toBe(true);
      const read = await device.read('svi', 'gw-blue');
      expect(read && specsEqual('svi', read.spec, spec)).toBe(true);

      const changed = await device.apply(
        'svi',
        { ...spec, mac: '02:00:5e:00:01:02', gatewayPrefixes: ['10.10.0.254/24'] },
        FENCE,
      );
      expect(changed.spec.mac).toBe('02:00:5e:00:01:02');
      expect(changed.spec.gatewayPrefixes).toEqual(['10.10.0.254/24']);
      expect(await device.listNeighbours({ vrf: 'tenant1' })).toEqual(expect.any(Array));

      await device.remove('svi', 'gw-blue', FENCE);
      expect(await device.read('svi', 'gw-blue')).toBeUndefined();
      await device.remove('bridge', 'blue', FENCE);
      await device.remove('vrf', 'tenant1', FENCE);
    });

    it('moves an SVI to another VRF on update', async (ctx) => {
      needs(ctx, 'svi');
      needs(ctx, 'vrfDevice', 'policyRoutingVrf');
      await device.apply('vrf', vrf('tenant1'), FENCE);
      await device.apply('vrf', vrf('tenant2', { loopbackPrefix: '198.51.100.9/32' }), FENCE);
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('svi', svi('gw', 'tenant1', 'blue', ['10.10.0.1/24']), FENCE);
      const moved = await device.apply(
        'svi',
        svi('gw', 'tenant2', 'blue', ['10.10.0.1/24']),
        FENCE,
      );
      expect(moved.spec.vrf).toBe('tenant2');
      await device.remove('vrf', 'tenant1', FENCE);
      expect(await device.read('vrf', 'tenant1')).toBeUndefined();
    });

    it('moves an SVI to another bridge on update, freeing the first one', async (ctx) => {
      needs(ctx, 'svi');
      needs(ctx, 'vrfDevice', 'policyRoutingVrf');
      await device.apply('vrf', vrf('tenant1'), FENCE);
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('bridge', bridge('red', 11), FENCE);
      await device.apply('svi', svi('gw', 'tenant1', 'blue', ['10.10.0.1/24']), FENCE);
      const moved = await device.apply('svi', svi('gw', 'tenant1', 'red', ['10.20.0.1/24']), FENCE);
      expect(moved.spec.bridge).toBe('red');
      expect(moved.spec.gatewayPrefixes).toEqual(['10.20.0.1/24']);
      expect((await device.list('svi')).map((object) => object.spec.bridge)).toEqual(['red']);
      await device.remove('bridge', 'blue', FENCE);
      expect(await device.read('bridge', 'blue')).toBeUndefined();
      await device.apply('svi', svi('gw-blue', 'tenant1', 'red', ['10.30.0.1/24']), FENCE).then(
        () => expect.unreachable('red already carries gw'),
        (error: unknown) => expect((error as DeviceError).code).toBe('CONFLICT'),
      );
    });

    it('refuses to remove a VRF or bridge an SVI uses, and an SVI on absent objects', async (ctx) => {
      needs(ctx, 'svi');
      needs(ctx, 'vrfDevice', 'policyRoutingVrf');
      const missing = await rejection(
        device.apply('svi', svi('gw', 'tenant1', 'blue', ['10.10.0.1/24']), FENCE),
      );
      expect((missing as DeviceError).code).toBe('DEPENDENCY_MISSING');
      expect((missing as DeviceError).retryable).toBe(true);

      await device.apply('vrf', vrf('tenant1'), FENCE);
      await device.apply('bridge', bridge('blue', 10), FENCE);
      await device.apply('svi', svi('gw', 'tenant1', 'blue', ['10.10.0.1/24']), FENCE);
      expect(((await rejection(device.remove('vrf', 'tenant1', FENCE))) as DeviceError).code).toBe(
        'IN_USE',
      );
      expect(((await rejection(device.remove('bridge', 'blue', FENCE))) as DeviceError).code).toBe(
        'IN_USE',
      );
      const second = await rejection(
        device.apply('svi', svi('gw2', 'tenant1', 'blue', ['10.10.0.2/24']), FENCE),
      );
      expect((second as DeviceError).code).toBe('CONFLICT');
    });

    it('rejects an unknown object kind naming the kind field', async () => {
      const unknownKind = 'tunnel' as never;
      for (const call of [
        () => device.read(unknownKind, 'x'),
        () => device.list(unknownKind),
        () => device.remove(unknownKind, 'x', FENCE),
        () => device.apply(unknownKind, { id: 'x' } as never, FENCE),
      ]) {
        const error = await rejection(call());
        expect(error).toBeInstanceOf(InvalidSpecError);
        expect((error as InvalidSpecError).field).toBe('kind');
      }
    });

    it('rejects writes carrying an older fencing token', async () => {
      await device.apply('bridge', bridge('blue', 10), 7);
      const stale = await rejection(device.apply('bridge', bridge('blue', 99), 6));
      expect(stale).toBeInstanceOf(StaleFenceError);
      expect((await device.read('bridge', 'blue'))?.spec.vlanId).toBe(10);
      expect(await rejection(device.remove('bridge', 'blue', 6))).toBeInstanceOf(StaleFenceError);
      await device.apply('bridge', bridge('blue', 11), 7);
      await device.apply('bridge', bridge('blue', 12), 8);
      expect((await device.read('bridge', 'blue'))?.spec.vlanId).toBe(12);
      expect(await rejection(device.apply('bridge', bridge('blue', 13), -1))).toBeInstanceOf(
        InvalidSpecError,
      );
    });

    it('applies independent objects concurrently', async () => {
      const ids = Array.from({ length: 8 }, (_, index) => `b${index}`);
      await Promise.all(
        ids.map((id, index) => device.apply('bridge', bridge(id, index + 1), FENCE)),
      );
      expect((await device.list('bridge')).map((object) => object.spec.id)).toEqual(ids);
    });
  });
}
