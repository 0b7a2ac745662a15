import { describe, expect, it } from 'vitest';
import { InvalidSpecError, NetworkDeviceRegistry } from '@opi/hal';
import { DEFAULT_UNDERLAY, createSimNetworkDevice, simNetworkDeviceFactory } from '../src/index.js';
import { ethernet, vniOf, vxlanOverIpv4 } from './frames.js';

const ports = [
  { name: 'pf0', mac: '02:00:00:00:00:10' },
  { name: 'pf1', mac: '02:00:00:00:00:11' },
  { name: 'pf2', mac: '02:00:00:00:00:12' },
];
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

async function twoBridges() {
  const device = await createSimNetworkDevice({ ports });
  await device.apply('bridge', { id: 'blue', vlanId: 10, remoteVteps: [] }, 1);
  await device.apply('bridge', { id: 'red', vlanId: 20, remoteVteps: [] }, 1);
  await device.apply(
    'bridgePort',
    { id: 'a', mac: ports[0]!.mac, type: 'access', bridges: ['blue'] },
    1,
  );
  await device.apply(
    'bridgePort',
    { id: 'b', mac: ports[1]!.mac, type: 'access', bridges: ['blue'] },
    1,
  );
  await device.apply(
    'bridgePort',
    { id: 'c', mac: ports[2]!.mac, type: 'access', bridges: ['red'] },
    1,
  );
  return device;
}

describe('sim fabric programmed from applied objects', () => {
  it('floods within a bridge only, forwards to bound host MACs and learns new ones', async () => {
    const device = await twoBridges();
    const [fromBlue, fromRed, toHost, learnedVm] = device.processFrames([
      { port: 'pf0', data: ethernet(BROADCAST, ports[0]!.mac) },
      { port: 'pf2', data: ethernet(BROADCAST, ports[2]!.mac) },
      { port: 'pf1', data: ethernet(ports[0]!.mac, ports[1]!.mac) },
      { port: 'pf0', data: ethernet(BROADCAST, '02:00:00:00:99:01') },
    ]);
    expect(fromBlue?.verdict).toBe('flood');
    expect(fromBlue?.floodPorts).toEqual(['pf1']);
    expect(fromRed?.floodPorts).toEqual([]);
    expect(toHost).toMatchObject({ verdict: 'forward', outPort: 'pf0' });
    expect(learnedVm?.verdict).toBe('flood');

    const [toVm] = device.processFrames([
      { port: 'pf1', data: ethernet('02:00:00:00:99:01', ports[1]!.mac) },
    ]);
    expect(toVm).toMatchObject({ verdict: 'forward', outPort: 'pf0' });
    expect(await device.listMacEntries({ bridge: 'blue' })).toContainEqual({
      bridge: 'blue',
      mac: '02:00:00:00:99:01',
      port: 'pf0',
      origin: 'learned',
    });
    const pf0 = (await device.listPorts()).find((port) => port.name === 'pf0');
    expect(pf0?.counters.rxPackets).toBe(2);
    expect(pf0?.counters.txPackets).toBeGreaterThanOrEqual(2);
  });

  it('stops forwarding to a port once its bridge port is removed', async () => {
    const device = await twoBridges();
    await device.remove('bridgePort', 'b', 1);
    const [flood, toRemoved] = device.processFrames([
      { port: 'pf0', data: ethernet(BROADCAST, ports[0]!.mac) },
      { port: 'pf0', data: ethernet(ports[1]!.mac, ports[0]!.mac) },
    ]);
    expect(flood?.floodPorts).toEqual([]);
    expect(toRemoved?.outPort).not.toBe('pf1');
  });

  it('passes no frames through an admin-down port until it is set up again', async () => {
    const device = await twoBridges();
    await device.configurePort('pf1', { adminUp: false }, 1);
    const [flood, fromDown] = device.processFrames([
      { port: 'pf0', data: ethernet(BROADCAST, ports[0]!.mac) },
      { port: 'pf1', data: ethernet(BROADCAST, ports[1]!.mac) },
    ]);
    expect(flood?.floodPorts).toEqual([]);
    expect(fromDown?.verdict).toBe('drop');
    expect((await device.read('bridgePort', 'b'))?.spec.bridges).toEqual(['blue']);

    await device.configurePort('pf1', { adminUp: true }, 1);
    const [floodAgain] = device.processFrames([
      { port: 'pf0', data: ethernet(BROADCAST, ports[0]!.mac) },
    ]);
    expect(floodAgain?.floodPorts).toEqual(['pf1']);
  });

  it('terminates VXLAN from a remote VTEP, learns the remote MAC and encapsulates the reply', async () => {
    const device = await createSimNetworkDevice({ ports });
    await device.apply(
      'bridge',
      { id: 'blue', vlanId: 10, vni: 7000, vtepAddress: '192.0.2.1', remoteVteps: ['192.0.2.2'] },
      1,
    );
    await device.apply(
      'bridgePort',
      { id: 'a', mac: ports[0]!.mac, type: 'access', bridges: ['blue'] },
      1,
    );
    const remoteHost = '02:00:00:00:77:01';
    const [decapsulated] = device.processFrames([
      {
        port: 'underlay',
        data: vxlanOverIpv4({
          outerDst: DEFAULT_UNDERLAY.localMac,
          outerSrc: DEFAULT_UNDERLAY.nextHopMac,
          srcIp: '192.0.2.2',
          dstIp: '192.0.2.1',
          vni: 7000,
          inner: ethernet(ports[0]!.mac, remoteHost),
        }),
      },
    ]);
    expect(decapsulated).toMatchObject({ verdict: 'forward', outPort: 'pf0' });
    expect(await device.listMacEntries({ bridge: 'blue' })).toContainEqual({
      bridge: 'blue',
      mac: remoteHost,
      remoteVtep: '192.0.2.2',
      origin: 'learned',
    });

    const [reply] = device.processFrames([
      { port: 'pf0', data: ethernet(remoteHost, ports[0]!.mac) },
    ]);
    expect(reply).toMatchObject({ verdict: 'forward', outPort: 'underlay' });
    expect(vniOf(reply!.frame)).toBe(7000);

    await device.apply(
      'bridge',
      { id: 'blue', vlanId: 10, vni: 7000, vtepAddress: '192.0.2.1', remoteVteps: [] },
      2,
    );
    const [afterWithdraw] = device.processFrames([
      { port: 'pf0', data: ethernet(remoteHost, ports[0]!.mac) },
    ]);
    expect(afterWithdraw?.outPort).not.toBe('underlay');
  });

  it('replicates a flood to every remote VTEP of the bridge (head-end replication)', async () => {
    const device = await createSimNetworkDevice({ ports });
    const remoteVteps = ['192.0.2.2', '192.0.2.3'];
    await device.apply(
      'bridge',
      { id: 'blue', vlanId: 10, vni: 7000, vtepAddress: '192.0.2.1', remoteVteps },
      1,
    );
    await device.apply(
      'bridgePort',
      { id: 'a', mac: ports[0]!.mac, type: 'access', bridges: ['blue'] },
      1,
    );
    const [flood] = device.processFrames([
      { port: 'pf0', data: ethernet(BROADCAST, ports[0]!.mac) },
    ]);
    expect(flood?.verdict).toBe('flood');
    const copies = flood!.floodCopies;
    expect(copies).toHaveLength(remoteVteps.length);
    const outerDestinations = copies
      .map((copy) => [...copy.frame.subarray(30, 34)].join('.'))
      .sort();
    expect(outerDestinations).toEqual(remoteVteps);
    for (const copy of copies) expect(vniOf(copy.frame)).toBe(7000);

    // A flood that came from the fabric is not sent back into tunnels (split horizon).
    const [fromRemote] = device.processFrames([
      {
        port: 'underlay',
        data: vxlanOverIpv4({
          outerDst: DEFAULT_UNDERLAY.localMac,
          outerSrc: DEFAULT_UNDERLAY.nextHopMac,
          srcIp: '192.0.2.2',
          dstIp: '192.0.2.1',
          vni: 7000,
          inner: ethernet(BROADCAST, '02:00:00:00:77:02'),
        }),
      },
    ]);
    expect(fromRemote?.floodCopies).toEqual([]);
  });

  it('puts the SVI gateway MAC behind the gateway port and withdraws it on removal', async () => {
    const device = await twoBridges();
    await device.apply('vrf', { id: 'tenant', loopbackPrefix: '198.51.100.1/32' }, 1);
    await device.apply(
      'svi',
      {
        id: 'gw',
        vrf: 'tenant',
        bridge: 'blue',
        mac: '02:00:5e:00:01:01',
        gatewayPrefixes: ['10.0.0.1/24'],
      },
      1,
    );
    const [toGateway] = device.processFrames([
      { port: 'pf0', data: ethernet('02:00:5e:00:01:01', ports[0]!.mac) },
    ]);
    expect(toGateway).toMatchObject({ verdict: 'forward', outPort: 'gateway' });
    expect(await device.listMacEntries({ bridge: 'blue' })).toContainEqual({
      bridge: 'blue',
      mac: '02:00:5e:00:01:01',
      origin: 'local',
    });
    await device.remove('svi', 'gw', 1);
    const [afterRemoval] = device.processFrames([
      { port: 'pf0', data: ethernet('02:00:5e:00:01:01', ports[0]!.mac) },
    ]);
    expect(afterRemoval?.outPort).not.toBe('gateway');
  });

  it('rejects tunnels without a VTEP address or across address families', async () => {
    const device = await createSimNetworkDevice({ ports });
    const noLocal = await device
      .apply('bridge', { id: 'b', vlanId: 1, vni: 5, remoteVteps: ['192.0.2.2'] }, 1)
      .catch((error: unknown) => error);
    expect((noLocal as InvalidSpecError).field).toBe('vtepAddress');
    const mixed = await device
      .apply(
        'bridge',
        { id: 'b', vlanId: 1, vni: 5, vtepAddress: '2001:db8::1', remoteVteps: ['192.0.2.2'] },
        1,
      )
      .catch((error: unknown) => error);
    expect((mixed as InvalidSpecError).field).toBe('remoteVteps.0');
    expect(await device.list('bridge')).toEqual([]);
  });
});

describe('sim configuration', () => {
  it('names the offending port of a bad port list', async () => {
    const bad = await createSimNetworkDevice({
      ports: [ports[0]!, { name: 'pf9', mac: ports[0]!.mac.toUpperCase() }],
    }).catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(InvalidSpecError);
    expect((bad as InvalidSpecError).field).toBe('ports.1.mac');
    const noName = await createSimNetworkDevice({
      ports: [{ name: '', mac: ports[0]!.mac }],
    }).catch((error: unknown) => error);
    expect((noName as InvalidSpecError).field).toBe('ports.0.name');
  });

  it('is the default backend of a registry that links it', async () => {
    const registry = new NetworkDeviceRegistry().register('sim', simNetworkDeviceFactory);
    const device = await registry.create(undefined, { ports });
    expect(device.backend).toBe('sim');
    expect((await device.listPorts()).map((port) => port.name)).toEqual(['pf0', 'pf1', 'pf2']);
  });

  it('keeps the model without a fabric, but cannot process frames', async () => {
    const device = await createSimNetworkDevice({ ports, fabric: null });
    const applied = await device.apply('bridge', { id: 'b', vlanId: 3, remoteVteps: [] }, 1);
    expect(applied.spec.vlanId).toBe(3);
    expect(() =>
      device.processFrames([{ port: 'pf0', data: ethernet(BROADCAST, ports[0]!.mac) }]),
    ).toThrow(/no fabric/);
  });
});
