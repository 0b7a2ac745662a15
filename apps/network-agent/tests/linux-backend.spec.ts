// The agent with OPI_HAL=linux programs a real kernel: a network namespace made for this test
// with veth "device ports". Objects created over gRPC appear in the kernel and are read back,
// deletes remove them (and nothing foreign), TRUNK ports are a component ERROR naming the
// missing capability, and a restarted agent re-creates from KV what the test deleted.
import { status as Code } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evpnGwV1alpha1 as evpn } from '@opi/api';
import {
  createNetns,
  run,
  startNatsServer,
  waitFor,
  type RunningNatsServer,
  type TestNetns,
} from '@opi/testing';
import { grpcError, startNetworkAgent, type AgentUnderTest } from './support/agent.js';
import {
  ACCESS,
  TRUNK,
  bridge,
  bridgeName,
  interfaceName,
  port,
  portName,
  svi,
  sviName,
  vrf,
  vrfName,
} from './support/objects.js';

interface KernelLink {
  ifname: string;
  address?: string;
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
}

let nats: RunningNatsServer;
let deviceNs: TestNetns;
let hostNs: TestNetns;
let agent: AgentUnderTest | undefined;
const PORT_MACS = ['02:5e:00:00:00:10', '02:5e:00:00:00:11'];

const agentEnv = () => ({
  OPI_NATS_URL: nats.url,
  OPI_NODE_ID: 'dpu-linux',
  OPI_HAL: 'linux',
  OPI_NETNS: deviceNs.name,
  OPI_PORTS: JSON.stringify([{ name: 'pf0' }, { name: 'pf1' }]),
  OPI_VTEP_ADDRESS: '192.0.2.1',
  OPI_REMOTE_VTEPS: '192.0.2.2,192.0.2.3',
});

async function links(): Promise<KernelLink[]> {
  return JSON.parse(
    await run('ip', ['-n', deviceNs.name, '-d', '-json', 'link', 'show']),
  ) as KernelLink[];
}

/** The kernel bridge and vxlan device the agent made for bridge `id` (found by their alias). */
async function kernelBridge(id: string) {
  const all = await links();
  const bridgeLink = all.find(
    (l) => l.ifalias?.startsWith('opi:v1 role=bridge') && l.ifalias.includes(`id=${id} `),
  );
  const vxlan =
    bridgeLink &&
    all.find((l) => l.linkinfo?.info_kind === 'vxlan' && l.master === bridgeLink.ifname);
  return { bridge: bridgeLink, vxlan, all };
}

const clients = () => agent!.clients;

async function waitUp(
  get: () => Promise<{ status?: { operStatus: number; components: evpn.Component[] } }>,
  up: number,
) {
  return waitFor(
    async () => {
      const object = await get();
      return object.status?.operStatus === up ? object : undefined;
    },
    { timeoutMs: 15_000 },
  );
}

beforeAll(async () => {
  nats = await startNatsServer();
  deviceNs = await createNetns('opinadev');
  hostNs = await createNetns('opinahost');
  for (const [index, macAddress] of PORT_MACS.entries()) {
    await run('ip', [
      '-n',
      deviceNs.name,
      'link',
      'add',
      `pf${index}`,
      'address',
      macAddress,
      'type',
      'veth',
      'peer',
      'name',
      `host${index}`,
      'netns',
      hostNs.name,
    ]);
    await deviceNs.exec('ip', ['link', 'set', `pf${index}`, 'up']);
    await hostNs.exec('ip', ['link', 'set', `host${index}`, 'up']);
  }
  await deviceNs.exec('ip', ['address', 'add', '192.0.2.1/32', 'dev', 'lo']);
  // Foreign state the agent must leave alone.
  await deviceNs.exec('ip', ['link', 'add', 'handmade0', 'type', 'bridge']);
  agent = await startNetworkAgent(agentEnv());
});

afterAll(async () => {
  await agent?.stop();
  await deviceNs?.remove();
  await hostNs?.remove();
  await nats?.stop();
});

describe('network agent on the linux backend', () => {
  it('lists the namespace interfaces as device ports', async () => {
    const { netInterfaces } = await clients().listNetInterfaces({});
    expect(netInterfaces.map((i) => [i.config?.name, i.ethernet?.state?.macAddress])).toEqual([
      ['pf0', PORT_MACS[0]],
      ['pf1', PORT_MACS[1]],
    ]);
  });

  it('creates a VXLAN bridge and an access port in the kernel and reads them back', async () => {
    await clients().createLogicalBridge({
      logicalBridgeId: 'blue',
      logicalBridge: bridge({ vlanId: 10, vni: 1000 }),
    });
    await clients().createBridgePort({
      bridgePortId: 'blue-port',
      bridgePort: port(PORT_MACS[0]!, ACCESS, [bridgeName('blue')]),
    });
    await waitUp(
      () => clients().getLogicalBridge({ name: bridgeName('blue') }),
      evpn.LBOperStatus.LB_OPER_STATUS_UP,
    );
    const bp = await waitUp(
      () => clients().getBridgePort({ name: portName('blue-port') }),
      evpn.BPOperStatus.BP_OPER_STATUS_UP,
    );
    expect(bp.status?.components[0]?.status).toBe(evpn.CompStatus.COMP_STATUS_SUCCESS);

    const { bridge: kernel, vxlan, all } = await kernelBridge('blue');
    expect(kernel?.linkinfo?.info_kind).toBe('bridge');
    expect(vxlan?.linkinfo?.info_data).toMatchObject({ id: 1000, local: '192.0.2.1', port: 4789 });
    expect(all.find((l) => l.ifname === 'pf0')?.master).toBe(kernel?.ifname);
    const fdb = JSON.parse(
      await run('bridge', ['-n', deviceNs.name, '-json', 'fdb', 'show', 'dev', vxlan!.ifname]),
    ) as Array<{ mac: string; dst?: string }>;
    expect(
      fdb
        .filter((e) => e.mac === '00:00:00:00:00:00')
        .map((e) => e.dst)
        .sort(),
    ).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(
      (await clients().getNetInterface({ name: interfaceName('pf0') })).state?.description,
    ).toBe('bridge-port=blue-port bridges=blue');
  });

  it('reports a TRUNK port as a component ERROR naming the missing capability', async () => {
    await clients().createBridgePort({
      bridgePortId: 'trunk-port',
      bridgePort: port(PORT_MACS[1]!, TRUNK, [bridgeName('blue')]),
    });
    const failed = await waitFor(async () => {
      const p = await clients().getBridgePort({ name: portName('trunk-port') });
      return p.status?.components[0]?.status === evpn.CompStatus.COMP_STATUS_ERROR ? p : undefined;
    });
    expect(failed.status?.operStatus).toBe(evpn.BPOperStatus.BP_OPER_STATUS_DOWN);
    expect(failed.status?.components[0]?.details).toContain('vlanFiltering or vlanDevices');
    expect((await links()).find((l) => l.ifname === 'pf1')?.master).toBeUndefined();
    await clients().deleteBridgePort({ name: portName('trunk-port') });
  });

  it('realizes a VRF with an SVI through policy routing', async () => {
    await clients().createVrf({
      vrfId: 'red-vrf',
      vrf: vrf({ vni: 2000, loopback: '10.100.0.1/32' }),
    });
    await clients().createSvi({
      sviId: 'blue-gw',
      svi: svi({
        vrf: vrfName('red-vrf'),
        bridge: bridgeName('blue'),
        mac: '02:5e:00:00:01:01',
        gateways: ['10.1.0.1/24'],
      }),
    });
    await waitUp(
      () => clients().getVrf({ name: vrfName('red-vrf') }),
      evpn.VRFOperStatus.VRF_OPER_STATUS_UP,
    );
    await waitUp(
      () => clients().getSvi({ name: sviName('blue-gw') }),
      evpn.SVIOperStatus.SVI_OPER_STATUS_UP,
    );
    const { bridge: kernel } = await kernelBridge('blue');
    const addresses = await run('ip', [
      '-n',
      deviceNs.name,
      '-json',
      'address',
      'show',
      'dev',
      kernel!.ifname,
    ]);
    expect(addresses).toContain('10.1.0.1');
    expect(kernel?.address).toBe('02:5e:00:00:01:01');
  });

  it('re-creates kernel state from KV after a restart, and deletes only what it owns', async () => {
    await agent!.stop();
    agent = undefined;
    const before = await kernelBridge('blue');
    // Wipe what the agent made: the bridge's vxlan device and the bridge, which frees pf0.
    await deviceNs.exec('ip', ['link', 'del', before.vxlan!.ifname]);
    await deviceNs.exec('ip', ['link', 'del', before.bridge!.ifname]);
    expect((await kernelBridge('blue')).bridge).toBeUndefined();

    agent = await startNetworkAgent(agentEnv());
    const again = await waitFor(
      async () => {
        const state = await kernelBridge('blue');
        const pf0 = state.all.find((l) => l.ifname === 'pf0');
        return state.vxlan && pf0?.master === state.bridge?.ifname ? state : undefined;
      },
      { timeoutMs: 15_000, message: 'bridge, vxlan and port re-created' },
    );
    expect(again.vxlan?.linkinfo?.info_data).toMatchObject({ id: 1000, local: '192.0.2.1' });
    await waitUp(
      () => clients().getSvi({ name: sviName('blue-gw') }),
      evpn.SVIOperStatus.SVI_OPER_STATUS_UP,
    );

    const inUse = await grpcError(clients().deleteLogicalBridge({ name: bridgeName('blue') }));
    expect(inUse.code).toBe(Code.FAILED_PRECONDITION);
    await clients().deleteSvi({ name: sviName('blue-gw') });
    await clients().deleteBridgePort({ name: portName('blue-port') });
    await waitFor(() =>
      grpcError(clients().getSvi({ name: sviName('blue-gw') })).then(
        (e) => e.code === Code.NOT_FOUND,
      ),
    );
    await waitFor(() =>
      grpcError(clients().getBridgePort({ name: portName('blue-port') })).then(
        (e) => e.code === Code.NOT_FOUND,
      ),
    );
    await clients().deleteVrf({ name: vrfName('red-vrf') });
    await clients().deleteLogicalBridge({ name: bridgeName('blue') });
    await waitFor(
      async () =>
        (await links()).every(
          (l) =>
            !l.ifalias?.startsWith('opi:v1 role=bridge') &&
            !l.ifalias?.startsWith('opi:v1 role=vrf'),
        ),
      {
        timeoutMs: 15_000,
        message: 'agent interfaces removed',
      },
    );
    const remaining = await links();
    expect(remaining.find((l) => l.ifname === 'handmade0')).toBeDefined();
    expect(remaining.find((l) => l.ifname === 'pf0')?.master).toBeUndefined();
    expect(remaining.filter((l) => l.linkinfo?.info_kind === 'vxlan')).toEqual([]);
  });
});
