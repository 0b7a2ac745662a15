import { afterEach, describe, expect, it } from 'vitest';
import { CapabilityMissingError, DeviceError, StaleFenceError, specsEqual } from '@opi/hal';
import type { BridgeSpec, ObjectKind, RealizedObject } from '@opi/hal';
import { LINUX_CAPABILITIES, LinuxNetworkDevice, createLinuxNetworkDevice } from '../src/index.js';
import { Namespaces, ipJson, sh } from './namespaces.js';

interface LinkJson {
  ifname: string;
  ifindex: number;
  master?: string;
  address?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; local?: string } };
}

const namespaces = new Namespaces();
// The fencing marker stays when every object is gone: it must outlive them.
const FENCE_MARKER = 'opi-fence';
afterEach(() => namespaces.removeAll());

async function linkNamed(ns: string, name: string): Promise<LinkJson> {
  const [link] = await ipJson<LinkJson>(ns, '-d', 'link', 'show', 'dev', name);
  if (!link) throw new Error(`no link ${name} in ${ns}`);
  return link;
}

async function ownedLeftovers(ns: string): Promise<string[]> {
  const links = await ipJson<LinkJson>(ns, 'link', 'show');
  const rules = [
    ...(await ipJson<{ protocol?: string }>(ns, '-4', 'rule', 'show')),
    ...(await ipJson<{ protocol?: string }>(ns, '-6', 'rule', 'show')),
  ];
  const routes = await ipJson<{ dst: string }>(ns, 'route', 'show', 'table', 'all', 'proto', '176');
  return [
    ...links
      .filter(
        (link) =>
          link.ifname !== FENCE_MARKER &&
          (link.ifname.startsWith('opi') || link.ifalias?.startsWith('opi:')),
      )
      .map((link) => link.ifname),
    ...rules.filter((rule) => rule.protocol === '176').map(() => 'rule'),
    ...routes.map((route) => `route ${route.dst}`),
  ];
}

describe('linux backend kernel state', () => {
  it('realizes a stretched bridge as a bridge with a VXLAN device on port 4789 and flood entries', async () => {
    const ns = await namespaces.add('opihal-k-');
    const device = await createLinuxNetworkDevice({ netns: ns });
    const realized = await device.apply(
      'bridge',
      {
        id: 'blue',
        vlanId: 10,
        vni: 7001,
        vtepAddress: '192.0.2.1',
        remoteVteps: ['192.0.2.7', '192.0.2.8'],
      },
      1,
    );
    const bridgeName = realized.deviceRefs['bridge'] ?? '';
    const vxlanName = realized.deviceRefs['vxlan'] ?? '';
    expect((await linkNamed(ns, bridgeName)).linkinfo?.info_kind).toBe('bridge');
    const vxlan = await linkNamed(ns, vxlanName);
    expect(vxlan.master).toBe(bridgeName);
    expect(vxlan.linkinfo?.info_data).toMatchObject({ id: 7001, port: 4789, local: '192.0.2.1' });
    expect(vxlan.ifalias).toBe('opi:v1 role=bridge-vxlan id=blue');
    const fdb = JSON.parse(
      await sh('bridge', '-n', ns, '-json', 'fdb', 'show', 'dev', vxlanName),
    ) as Array<{
      mac: string;
      dst?: string;
    }>;
    expect(
      fdb
        .filter((entry) => entry.mac === '00:00:00:00:00:00')
        .map((entry) => entry.dst)
        .sort(),
    ).toEqual(['192.0.2.7', '192.0.2.8']);

    await device.remove('bridge', 'blue', 2);
    expect(await ownedLeftovers(ns)).toEqual([]);
  });

  it('realizes a VXLAN tunnel over an IPv6 underlay', async () => {
    const ns = await namespaces.add('opihal-k-');
    const device = await createLinuxNetworkDevice({ netns: ns });
    const spec: BridgeSpec = {
      id: 'blue6',
      vlanId: 10,
      vni: 7006,
      vtepAddress: '2001:db8::1',
      remoteVteps: ['2001:db8::3', '2001:DB8:0::2'],
    };
    const realized = await device.apply('bridge', spec, 1);
    expect(realized.spec).toEqual({
      id: 'blue6',
      vlanId: 10,
      vni: 7006,
      vtepAddress: '2001:db8::1',
      remoteVteps: ['2001:db8::2', '2001:db8::3'],
    });
    expect((await device.apply('bridge', spec, 1)).deviceRefs).toEqual(realized.deviceRefs);
  });

  it('realizes a VRF and an SVI as addresses, policy rules and routes in the VRF table', async () => {
    const ns = await namespaces.add('opihal-k-');
    const device = await createLinuxNetworkDevice({ netns: ns });
    const vrf = await device.apply('vrf', { id: 'tenant', loopbackPrefix: '198.51.100.1/32' }, 1);
    await device.apply('bridge', { id: 'blue', vlanId: 10, remoteVteps: [] }, 1);
    const svi = await device.apply(
      'svi',
      {
        id: 'gw',
        vrf: 'tenant',
        bridge: 'blue',
        mac: '02:00:5e:00:01:01',
        gatewayPrefixes: ['10.10.0.1/24'],
      },
      1,
    );
    const table = vrf.deviceRefs['table'] ?? '';
    expect(svi.deviceRefs['table']).toBe(table);
    const bridgeName = svi.deviceRefs['bridge'] ?? '';
    expect((await linkNamed(ns, bridgeName)).address).toBe('02:00:5e:00:01:01');

    const rules = await ipJson<{ iif?: string; src?: string; table?: string; protocol?: string }>(
      ns,
      '-4',
      'rule',
      'show',
    );
    expect(
      rules
        .filter((rule) => rule.protocol === '176')
        .map((rule) => [rule.iif ?? rule.src, rule.table])
        .sort(),
    ).toEqual(
      [
        [bridgeName, table],
        [vrf.deviceRefs['device'], table],
        ['10.10.0.1', table],
        ['198.51.100.1', table],
      ].sort(),
    );
    const routes = await ipJson<{ dst: string; dev?: string; type?: string }>(
      ns,
      'route',
      'show',
      'table',
      table,
    );
    expect(routes.map((route) => [route.dst, route.dev ?? route.type]).sort()).toEqual(
      [
        ['10.10.0.0/24', bridgeName],
        ['198.51.100.1', vrf.deviceRefs['device']],
        ['default', 'unreachable'],
      ].sort(),
    );
    const mainRoutes = await ipJson<{ dst: string }>(ns, 'route', 'show', 'table', 'main');
    expect(mainRoutes.map((route) => route.dst)).not.toContain('10.10.0.0/24');

    await device.remove('svi', 'gw', 2);
    await device.remove('bridge', 'blue', 2);
    await device.remove('vrf', 'tenant', 2);
    expect(await ownedLeftovers(ns)).toEqual([]);
  });

  it('leaves foreign interfaces, rules and routes alone and refuses to take them over', async () => {
    const ns = await namespaces.add('opihal-k-');
    const hosts = await namespaces.add('opihal-h-');
    await sh('ip', '-n', ns, 'link', 'add', 'brhand', 'type', 'bridge');
    await sh('ip', '-n', ns, 'link', 'set', 'brhand', 'alias', 'made by hand');
    await namespaces.veth(ns, 'pfhand', hosts, 'hosthand', '02:00:00:00:aa:01');
    await sh('ip', '-n', ns, 'link', 'set', 'pfhand', 'master', 'brhand');
    await sh(
      'ip',
      '-n',
      ns,
      'link',
      'add',
      'vxhand',
      'type',
      'vxlan',
      'id',
      '4242',
      'dstport',
      '4789',
    );
    await sh('ip', '-n', ns, 'rule', 'add', 'iif', 'brhand', 'lookup', '777');
    await sh('ip', '-n', ns, 'address', 'add', '203.0.113.1/24', 'dev', 'brhand');
    await sh('ip', '-n', ns, 'link', 'set', 'brhand', 'up');
    await sh('ip', '-n', ns, 'route', 'add', '203.0.113.0/24', 'dev', 'brhand', 'table', '777');
    const before = {
      links: (await ipJson<LinkJson>(ns, 'link', 'show'))
        .filter((link) => link.ifname !== FENCE_MARKER)
        .map((link) => [link.ifname, link.master, link.ifalias]),
      rules: await ipJson(ns, 'rule', 'show'),
      routes: await ipJson(ns, 'route', 'show', 'table', '777'),
    };

    const device = await createLinuxNetworkDevice({ netns: ns });
    expect(await device.list('bridge')).toEqual([]);
    expect((await device.listPorts()).map((port) => port.name)).toEqual(['pfhand']);
    const taken = await device
      .apply('bridge', { id: 'b', vlanId: 5, vni: 4242, remoteVteps: [] }, 1)
      .catch((error: unknown) => error);
    expect((taken as DeviceError).code).toBe('CONFLICT');
    expect((taken as Error).message).toContain('vxhand');
    await device.apply('bridge', { id: 'b', vlanId: 5, remoteVteps: [] }, 1);
    const enslaved = await device
      .apply('bridgePort', { id: 'p', mac: '02:00:00:00:aa:01', type: 'access', bridges: ['b'] }, 1)
      .catch((error: unknown) => error);
    expect((enslaved as DeviceError).code).toBe('CONFLICT');
    expect((enslaved as Error).message).toContain('brhand');
    await device.apply('vrf', { id: 'v', loopbackPrefix: '198.51.100.1/32' }, 1);
    await device.apply(
      'svi',
      {
        id: 's',
        vrf: 'v',
        bridge: 'b',
        mac: '02:00:00:00:bb:01',
        gatewayPrefixes: ['10.0.0.1/24'],
      },
      1,
    );
    await device.remove('svi', 's', 1);
    await device.remove('vrf', 'v', 1);
    await device.remove('bridge', 'b', 1);

    expect({
      links: (await ipJson<LinkJson>(ns, 'link', 'show'))
        .filter((link) => link.ifname !== FENCE_MARKER)
        .map((link) => [link.ifname, link.master, link.ifalias]),
      rules: await ipJson(ns, 'rule', 'show'),
      routes: await ipJson(ns, 'route', 'show', 'table', '777'),
    }).toEqual(before);
  });

  it('a new backend instance adopts the kernel state a previous one left', async () => {
    const ns = await namespaces.add('opihal-k-');
    const hosts = await namespaces.add('opihal-h-');
    await namespaces.veth(ns, 'pf0', hosts, 'host0', '02:00:00:00:cc:01');
    const first = await createLinuxNetworkDevice({ netns: ns });
    const bridge: BridgeSpec = {
      id: 'blue',
      vlanId: 10,
      vni: 9001,
      vtepAddress: '192.0.2.1',
      remoteVteps: ['192.0.2.9'],
    };
    await first.apply(
      'vrf',
      { id: 'tenant', vni: 9002, loopbackPrefix: '198.51.100.1/32', vtepAddress: '192.0.2.1' },
      3,
    );
    await first.apply('bridge', bridge, 3);
    await first.apply(
      'bridgePort',
      { id: 'host0', mac: '02:00:00:00:cc:01', type: 'access', bridges: ['blue'] },
      3,
    );
    await first.apply(
      'svi',
      {
        id: 'gw',
        vrf: 'tenant',
        bridge: 'blue',
        mac: '02:00:5e:00:01:01',
        gatewayPrefixes: ['10.10.0.1/24'],
      },
      3,
    );
    const kinds: ObjectKind[] = ['vrf', 'bridge', 'bridgePort', 'svi'];
    const seenByFirst = await Promise.all(kinds.map((kind) => first.list(kind)));
    const ifindexBefore = (await linkNamed(ns, seenByFirst[1]?.[0]?.deviceRefs['bridge'] ?? ''))
      .ifindex;
    await first.close();

    const second = new LinuxNetworkDevice({ netns: ns });
    const seenBySecond = await Promise.all(kinds.map((kind) => second.list(kind)));
    expect(seenBySecond).toEqual(seenByFirst);
    for (const objects of seenByFirst) {
      for (const object of objects as RealizedObject[]) {
        const reapplied = await second.apply(object.kind, object.spec, 4);
        expect(specsEqual(object.kind, reapplied.spec, object.spec)).toBe(true);
        expect(reapplied.deviceRefs).toEqual(object.deviceRefs);
      }
    }
    expect((await linkNamed(ns, seenByFirst[1]?.[0]?.deviceRefs['bridge'] ?? '')).ifindex).toBe(
      ifindexBefore,
    );

    await second.remove('svi', 'gw', 4);
    await second.remove('bridgePort', 'host0', 4);
    await second.remove('bridge', 'blue', 4);
    await second.remove('vrf', 'tenant', 4);
    expect(await ownedLeftovers(ns)).toEqual([]);
    expect((await linkNamed(ns, 'pf0')).master).toBeUndefined();
  });

  it('repairs drift on re-apply: a downed bridge, a lost flood entry, a deleted tunnel, an unbound port', async () => {
    const ns = await namespaces.add('opihal-k-');
    const hosts = await namespaces.add('opihal-h-');
    await namespaces.veth(ns, 'pf0', hosts, 'host0', '02:00:00:00:dd:01');
    const device = await createLinuxNetworkDevice({ netns: ns });
    const spec: BridgeSpec = {
      id: 'blue',
      vlanId: 10,
      vni: 6001,
      vtepAddress: '192.0.2.1',
      remoteVteps: ['192.0.2.5', '192.0.2.6'],
    };
    const port = {
      id: 'host0',
      mac: '02:00:00:00:dd:01',
      type: 'access' as const,
      bridges: ['blue'],
    };
    const first = await device.apply('bridge', spec, 1);
    await device.apply('bridgePort', port, 1);
    const bridgeName = first.deviceRefs['bridge'] ?? '';
    const vxlanName = first.deviceRefs['vxlan'] ?? '';

    await sh('ip', '-n', ns, 'link', 'set', bridgeName, 'down');
    await sh(
      'bridge',
      '-n',
      ns,
      'fdb',
      'del',
      '00:00:00:00:00:00',
      'dev',
      vxlanName,
      'dst',
      '192.0.2.6',
    );
    expect((await device.read('bridge', 'blue'))?.spec.remoteVteps).toEqual(['192.0.2.5']);
    const repaired = await device.apply('bridge', spec, 1);
    expect(specsEqual('bridge', repaired.spec, spec)).toBe(true);
    expect(
      (await ipJson<{ flags: string[] }>(ns, 'link', 'show', 'dev', bridgeName))[0]?.flags,
    ).toContain('UP');

    await sh('ip', '-n', ns, 'link', 'del', vxlanName);
    expect((await device.read('bridge', 'blue'))?.spec.vni).toBeUndefined();
    expect((await device.apply('bridge', spec, 1)).spec.vni).toBe(6001);

    await sh('ip', '-n', ns, 'link', 'set', 'pf0', 'nomaster');
    expect((await device.read('bridgePort', 'host0'))?.spec.bridges).toEqual([]);
    expect((await device.apply('bridgePort', port, 1)).spec.bridges).toEqual(['blue']);
    expect((await linkNamed(ns, 'pf0')).master).toBe(bridgeName);
  });

  it('refuses a deposed writer in another process once its successor has written', async () => {
    const ns = await namespaces.add('opihal-k-');
    const oldLeader = await createLinuxNetworkDevice({ netns: ns });
    const newLeader = await createLinuxNetworkDevice({ netns: ns });
    await oldLeader.apply('bridge', { id: 'blue', vlanId: 10, remoteVteps: [] }, 3);
    await newLeader.apply('bridge', { id: 'blue', vlanId: 11, remoteVteps: [] }, 4);
    const stale = await oldLeader
      .apply('bridge', { id: 'blue', vlanId: 99, remoteVteps: [] }, 3)
      .catch((error: unknown) => error);
    expect(stale).toBeInstanceOf(StaleFenceError);
    expect((await newLeader.read('bridge', 'blue'))?.spec.vlanId).toBe(11);
    expect((await linkNamed(ns, FENCE_MARKER)).ifalias).toBe('opi:v1 role=fence id=device fence=4');
    const restarted = await createLinuxNetworkDevice({ netns: ns });
    await expect(restarted.remove('bridge', 'blue', 2)).rejects.toBeInstanceOf(StaleFenceError);
    expect(await restarted.list('bridge')).toHaveLength(1);
  });

  it('reports objects needing a capability it was told to lack, creating nothing', async () => {
    const ns = await namespaces.add('opihal-k-');
    const device = new LinuxNetworkDevice({
      netns: ns,
      capabilities: { ...LINUX_CAPABILITIES, vxlan: false },
    });
    const error = await device
      .apply('bridge', { id: 'blue', vlanId: 10, vni: 5, remoteVteps: [] }, 1)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CapabilityMissingError);
    expect((error as Error).message).toBe(
      'bridge blue needs capability vxlan, which this device lacks',
    );
    expect(await ownedLeftovers(ns)).toEqual([]);
  });

  it('fails to start on a namespace that does not exist', async () => {
    const error = await createLinuxNetworkDevice({ netns: 'opihal-absent-ns' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as Error).message).toContain('opihal-absent-ns');
  });
});

describe('linux backend traffic', () => {
  async function hostWithPort(
    deviceNs: string,
    name: string,
    mac: string,
    address: string,
  ): Promise<string> {
    const host = await namespaces.add('opihal-h-');
    await namespaces.veth(deviceNs, name, host, 'eth0', mac);
    await sh('ip', '-n', host, 'address', 'add', address, 'dev', 'eth0');
    return host;
  }

  it('carries traffic between access ports of two devices over VXLAN and learns the remote MAC', async () => {
    const dpuA = await namespaces.add('opihal-a-');
    const dpuB = await namespaces.add('opihal-b-');
    await namespaces.veth(dpuA, 'fabric', dpuB, 'fabric');
    await sh('ip', '-n', dpuA, 'address', 'add', '10.99.0.1/24', 'dev', 'fabric');
    await sh('ip', '-n', dpuB, 'address', 'add', '10.99.0.2/24', 'dev', 'fabric');
    const hostA = await hostWithPort(dpuA, 'pf0', '02:00:00:0a:00:01', '10.50.0.1/24');
    const hostB = await hostWithPort(dpuB, 'pf0', '02:00:00:0b:00:01', '10.50.0.2/24');

    const deviceA = await createLinuxNetworkDevice({ netns: dpuA, portNames: ['pf0'] });
    const deviceB = await createLinuxNetworkDevice({ netns: dpuB, portNames: ['pf0'] });
    for (const [device, local, remote, mac] of [
      [deviceA, '10.99.0.1', '10.99.0.2', '02:00:00:0a:00:01'],
      [deviceB, '10.99.0.2', '10.99.0.1', '02:00:00:0b:00:01'],
    ] as const) {
      await device.apply(
        'bridge',
        { id: 'tenant-l2', vlanId: 100, vni: 5050, vtepAddress: local, remoteVteps: [remote] },
        1,
      );
      await device.apply(
        'bridgePort',
        { id: 'host', mac, type: 'access', bridges: ['tenant-l2'] },
        1,
      );
    }

    expect((await deviceA.listPorts()).map((port) => port.name)).toEqual(['pf0']);
    await sh('ip', 'netns', 'exec', hostA, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.50.0.2');

    const hostBMac = (await linkNamed(hostB, 'eth0')).address;
    const learned = await deviceA.listMacEntries({ bridge: 'tenant-l2' });
    expect(learned).toContainEqual({
      bridge: 'tenant-l2',
      mac: hostBMac,
      remoteVtep: '10.99.0.2',
      origin: 'learned',
    });
    const port = (await deviceA.listPorts()).find((candidate) => candidate.name === 'pf0');
    expect(port?.counters.rxPackets).toBeGreaterThanOrEqual(3);
    expect(port?.counters.txPackets).toBeGreaterThanOrEqual(3);
    expect(port?.operState).toBe('up');
  });

  it('routes between SVIs of one VRF and not between VRFs', async () => {
    const dpu = await namespaces.add('opihal-a-');
    // Forwarding is the operator's namespace-wide choice, not an object the backend owns.
    await sh('ip', 'netns', 'exec', dpu, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    const hostBlue = await hostWithPort(dpu, 'pf0', '02:00:00:0d:00:01', '10.61.0.5/24');
    const hostRed = await hostWithPort(dpu, 'pf1', '02:00:00:0d:00:02', '10.62.0.5/24');
    await sh('ip', '-n', hostBlue, 'route', 'add', 'default', 'via', '10.61.0.1');
    await sh('ip', '-n', hostRed, 'route', 'add', 'default', 'via', '10.62.0.1');
    const device = await createLinuxNetworkDevice({ netns: dpu });
    await device.apply('vrf', { id: 'tenant1', loopbackPrefix: '198.51.100.1/32' }, 1);
    await device.apply('vrf', { id: 'tenant2', loopbackPrefix: '198.51.100.2/32' }, 1);
    for (const [bridgeId, vlanId, mac, portMac, gateway] of [
      ['blue', 10, '02:00:5e:00:0d:01', '02:00:00:0d:00:01', '10.61.0.1/24'],
      ['red', 20, '02:00:5e:00:0d:02', '02:00:00:0d:00:02', '10.62.0.1/24'],
    ] as const) {
      await device.apply('bridge', { id: bridgeId, vlanId, remoteVteps: [] }, 1);
      await device.apply(
        'bridgePort',
        { id: `host-${bridgeId}`, mac: portMac, type: 'access', bridges: [bridgeId] },
        1,
      );
      await device.apply(
        'svi',
        { id: `gw-${bridgeId}`, vrf: 'tenant1', bridge: bridgeId, mac, gatewayPrefixes: [gateway] },
        1,
      );
    }
    const ping = (from: string, to: string) =>
      sh('ip', 'netns', 'exec', from, 'ping', '-c', '1', '-W', '1', to).then(
        () => true,
        () => false,
      );
    expect(await ping(hostBlue, '10.62.0.5')).toBe(true);

    await device.apply(
      'svi',
      {
        id: 'gw-red',
        vrf: 'tenant2',
        bridge: 'red',
        mac: '02:00:5e:00:0d:02',
        gatewayPrefixes: ['10.62.0.1/24'],
      },
      1,
    );
    expect(await ping(hostBlue, '10.62.0.5')).toBe(false);
    expect(await ping(hostRed, '10.62.0.1')).toBe(true);

    // A route in the main table must not leak into the VRF: lookups end in the VRF's table.
    const blueBridge = (await device.read('bridge', 'blue'))?.deviceRefs['bridge'] ?? '';
    const redBridge = (await device.read('bridge', 'red'))?.deviceRefs['bridge'] ?? '';
    await sh('ip', '-n', dpu, 'route', 'add', '10.62.0.0/24', 'dev', redBridge);
    const lookup = await sh(
      'ip',
      '-n',
      dpu,
      'route',
      'get',
      '10.62.0.5',
      'from',
      '10.61.0.5',
      'iif',
      blueBridge,
    ).catch((error: Error) => error.message);
    expect(lookup).toMatch(/No route to host|unreachable/i);
  });

  it('answers hosts on the SVI gateway address and lists them as neighbours in the VRF', async () => {
    const dpu = await namespaces.add('opihal-a-');
    const host = await hostWithPort(dpu, 'pf0', '02:00:00:0c:00:01', '10.60.0.5/24');
    const device = await createLinuxNetworkDevice({ netns: dpu });
    await device.apply('vrf', { id: 'tenant', loopbackPrefix: '198.51.100.1/32' }, 1);
    await device.apply('bridge', { id: 'blue', vlanId: 10, remoteVteps: [] }, 1);
    await device.apply(
      'bridgePort',
      { id: 'host', mac: '02:00:00:0c:00:01', type: 'access', bridges: ['blue'] },
      1,
    );
    await device.apply(
      'svi',
      {
        id: 'gw',
        vrf: 'tenant',
        bridge: 'blue',
        mac: '02:00:5e:00:01:01',
        gatewayPrefixes: ['10.60.0.1/24'],
      },
      1,
    );
    await sh('ip', 'netns', 'exec', host, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '10.60.0.1');
    const hostMac = (await linkNamed(host, 'eth0')).address;
    const neighbours = await device.listNeighbours({ vrf: 'tenant' });
    expect(neighbours).toContainEqual(
      expect.objectContaining({ bridge: 'blue', vrf: 'tenant', ip: '10.60.0.5', mac: hostMac }),
    );
    expect(await device.listNeighbours({ vrf: 'other' })).toEqual([]);
  });
});
