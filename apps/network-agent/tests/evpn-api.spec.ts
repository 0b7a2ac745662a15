// The OPI EVPN gateway API of a real network-agent process (sim backend, real nats-server),
// over gRPC: validation and uniqueness rules, status from DOWN/PENDING to UP/SUCCESS,
// updates, two-phase delete, referenced deletes, device ports through NetInterfaceService.
import { status as Code } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evpnGwV1alpha1 as evpn } from '@opi/api';
import { startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import { grpcError, startNetworkAgent, type AgentUnderTest } from './support/agent.js';
import {
  ACCESS,
  TRUNK,
  bridge,
  bridgeName,
  interfaceName,
  mac,
  port,
  portName,
  prefix,
  svi,
  sviName,
  vrf,
  vrfName,
} from './support/objects.js';

const PORTS = [0, 1, 2, 3, 4, 5].map((i) => ({ name: `pf${i}`, mac: `02:00:00:00:00:1${i}` }));
const macOf = (i: number) => PORTS[i]!.mac;

let nats: RunningNatsServer;
let agent: AgentUnderTest;
const c = () => agent.clients;

const LB_UP = evpn.LBOperStatus.LB_OPER_STATUS_UP;
const SUCCESS = evpn.CompStatus.COMP_STATUS_SUCCESS;
const ERROR = evpn.CompStatus.COMP_STATUS_ERROR;

beforeAll(async () => {
  nats = await startNatsServer();
  agent = await startNetworkAgent({
    OPI_NATS_URL: nats.url,
    OPI_PORTS: JSON.stringify(PORTS),
    OPI_VTEP_ADDRESS: '10.0.0.1',
    OPI_REMOTE_VTEPS: '10.0.0.2,10.0.0.3',
  });
  // Objects the rule rows collide with.
  await c().createLogicalBridge({
    logicalBridgeId: 'base-bridge',
    logicalBridge: bridge({ vlanId: 100, vni: 5000 }),
  });
  await c().createVrf({ vrfId: 'base-vrf', vrf: vrf({ vni: 6000, loopback: '10.10.0.1/32' }) });
  await c().createBridgePort({
    bridgePortId: 'base-port',
    bridgePort: port(macOf(5), ACCESS, [bridgeName('base-bridge')]),
  });
});

afterAll(async () => {
  await agent?.stop();
  await nats?.stop();
});

describe('network agent: validation and uniqueness over gRPC', () => {
  const rows: Array<{ rule: string; call: () => Promise<unknown>; code: Code; field: string }> = [
    {
      rule: 'vlan_id 0 is rejected',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'vlan-zero',
          logicalBridge: bridge({ vlanId: 0 }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'logical_bridge.spec.vlan_id',
    },
    {
      rule: 'vlan_id above 4095 is rejected',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'vlan-big',
          logicalBridge: bridge({ vlanId: 4096 }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'logical_bridge.spec.vlan_id',
    },
    {
      rule: 'VNI above 16777215 is rejected',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'vni-big',
          logicalBridge: bridge({ vlanId: 7, vni: 16_777_216 }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'logical_bridge.spec.vni',
    },
    {
      rule: 'VNI 0 is rejected',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'vni-zero',
          logicalBridge: bridge({ vlanId: 7, vni: 0 }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'logical_bridge.spec.vni',
    },
    {
      rule: 'a malformed vtep_ip_prefix is rejected',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'bad-vtep',
          logicalBridge: bridge({
            vlanId: 7,
            vni: 77,
            vtepIpPrefix: { ...prefix('10.0.0.9/24'), len: 40 },
          }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'logical_bridge.spec.vtep_ip_prefix.len',
    },
    {
      rule: 'a bridge id with capitals is rejected',
      call: () =>
        c().createLogicalBridge({ logicalBridgeId: 'Blue', logicalBridge: bridge({ vlanId: 7 }) }),
      code: Code.INVALID_ARGUMENT,
      field: 'logical_bridge_id',
    },
    {
      rule: 'a MAC of 5 bytes is rejected',
      call: () =>
        c().createBridgePort({
          bridgePortId: 'short-mac',
          bridgePort: {
            name: '',
            spec: {
              macAddress: Buffer.alloc(5, 2),
              ptype: ACCESS,
              logicalBridges: [bridgeName('base-bridge')],
            },
          },
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'bridge_port.spec.mac_address',
    },
    {
      rule: 'an ACCESS port with two bridges is rejected',
      call: () =>
        c().createBridgePort({
          bridgePortId: 'two-bridges',
          bridgePort: port(macOf(4), ACCESS, [bridgeName('base-bridge'), bridgeName('other')]),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'bridge_port.spec.logical_bridges',
    },
    {
      rule: 'an ACCESS port without a bridge is rejected',
      call: () =>
        c().createBridgePort({ bridgePortId: 'no-bridge', bridgePort: port(macOf(4), ACCESS, []) }),
      code: Code.INVALID_ARGUMENT,
      field: 'bridge_port.spec.logical_bridges',
    },
    {
      rule: 'a port without a type is rejected',
      call: () =>
        c().createBridgePort({
          bridgePortId: 'no-type',
          bridgePort: port(macOf(4), evpn.BridgePortType.BRIDGE_PORT_TYPE_UNSPECIFIED, [
            bridgeName('base-bridge'),
          ]),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'bridge_port.spec.ptype',
    },
    {
      rule: 'a port on a bridge that does not exist is NOT_FOUND',
      call: () =>
        c().createBridgePort({
          bridgePortId: 'ghost-bridge',
          bridgePort: port(macOf(4), ACCESS, [bridgeName('ghost')]),
        }),
      code: Code.NOT_FOUND,
      field: 'bridge_port.spec.logical_bridges',
    },
    {
      rule: 'a VRF without loopback is rejected',
      call: () => c().createVrf({ vrfId: 'no-loopback', vrf: vrf({ vni: 9 }) }),
      code: Code.INVALID_ARGUMENT,
      field: 'vrf.spec.loopback_ip_prefix',
    },
    {
      rule: 'a VRF VNI above 16777215 is rejected',
      call: () =>
        c().createVrf({
          vrfId: 'vrf-vni-big',
          vrf: vrf({ vni: 1 << 24, loopback: '10.9.0.1/32' }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'vrf.spec.vni',
    },
    {
      rule: 'remote_as without enable_bgp is rejected',
      call: () =>
        c().createSvi({
          sviId: 'as-no-bgp',
          svi: svi({
            vrf: vrfName('base-vrf'),
            bridge: bridgeName('base-bridge'),
            mac: '02:00:00:00:aa:01',
            remoteAs: 65000,
          }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'svi.spec.remote_as',
    },
    {
      rule: 'an SVI MAC of 7 bytes is rejected',
      call: () =>
        c().createSvi({
          sviId: 'long-mac',
          svi: svi({
            vrf: vrfName('base-vrf'),
            bridge: bridgeName('base-bridge'),
            mac: Buffer.alloc(7, 2),
          }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'svi.spec.mac_address',
    },
    {
      rule: 'an SVI without a bridge is rejected',
      call: () =>
        c().createSvi({
          sviId: 'no-bridge-svi',
          svi: svi({ vrf: vrfName('base-vrf'), bridge: '', mac: '02:00:00:00:aa:02' }),
        }),
      code: Code.INVALID_ARGUMENT,
      field: 'svi.spec.logical_bridge',
    },
    {
      rule: 'an SVI in a VRF that does not exist is NOT_FOUND',
      call: () =>
        c().createSvi({
          sviId: 'ghost-vrf',
          svi: svi({
            vrf: vrfName('ghost'),
            bridge: bridgeName('base-bridge'),
            mac: '02:00:00:00:aa:03',
          }),
        }),
      code: Code.NOT_FOUND,
      field: 'svi.spec.vrf',
    },
    {
      rule: 'a VNI used by a bridge cannot be reused by another bridge',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'dup-vni',
          logicalBridge: bridge({ vlanId: 8, vni: 5000 }),
        }),
      code: Code.ALREADY_EXISTS,
      field: 'logical_bridge.spec.vni',
    },
    {
      rule: 'a VNI used by a VRF cannot be reused by a bridge',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'dup-vrf-vni',
          logicalBridge: bridge({ vlanId: 8, vni: 6000 }),
        }),
      code: Code.ALREADY_EXISTS,
      field: 'logical_bridge.spec.vni',
    },
    {
      rule: 'a VNI used by a bridge cannot be reused by a VRF',
      call: () =>
        c().createVrf({ vrfId: 'dup-lb-vni', vrf: vrf({ vni: 5000, loopback: '10.9.0.2/32' }) }),
      code: Code.ALREADY_EXISTS,
      field: 'vrf.spec.vni',
    },
    {
      rule: 'a vlan_id used by a bridge cannot be reused',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'dup-vlan',
          logicalBridge: bridge({ vlanId: 100 }),
        }),
      code: Code.ALREADY_EXISTS,
      field: 'logical_bridge.spec.vlan_id',
    },
    {
      rule: 'a MAC used by a bridge port cannot be reused',
      call: () =>
        c().createBridgePort({
          bridgePortId: 'dup-mac',
          bridgePort: port(macOf(5), ACCESS, [bridgeName('base-bridge')]),
        }),
      code: Code.ALREADY_EXISTS,
      field: 'bridge_port.spec.mac_address',
    },
    {
      rule: 'a re-create with other content is ALREADY_EXISTS',
      call: () =>
        c().createLogicalBridge({
          logicalBridgeId: 'base-bridge',
          logicalBridge: bridge({ vlanId: 101, vni: 5000 }),
        }),
      code: Code.ALREADY_EXISTS,
      field: 'logical_bridge_id',
    },
  ];

  it.each(rows)('$rule', async ({ call, code, field }) => {
    const error = await grpcError(call());
    expect(error.code).toBe(code);
    expect(error.details).toContain(field);
  });

  it('accepts an identical re-create and returns the stored object', async () => {
    const again = await c().createLogicalBridge({
      logicalBridgeId: 'base-bridge',
      logicalBridge: bridge({ vlanId: 100, vni: 5000 }),
    });
    expect(again.name).toBe(bridgeName('base-bridge'));
    expect(again.spec).toMatchObject({ vlanId: 100, vni: 5000 });
  });

  it('frees a VNI and a vlan_id when their bridge is deleted', async () => {
    await c().createLogicalBridge({
      logicalBridgeId: 'short-lived',
      logicalBridge: bridge({ vlanId: 300, vni: 3000 }),
    });
    await c().deleteLogicalBridge({ name: bridgeName('short-lived') });
    await waitFor(() =>
      grpcError(c().getLogicalBridge({ name: bridgeName('short-lived') })).then(
        (e) => e.code === Code.NOT_FOUND,
      ),
    );
    const reused = await c().createLogicalBridge({
      logicalBridgeId: 'reuser',
      logicalBridge: bridge({ vlanId: 300, vni: 3000 }),
    });
    expect(reused.spec).toMatchObject({ vlanId: 300, vni: 3000 });
  });
});

describe('network agent: status, updates and deletes', () => {
  const upBridge = (id: string) =>
    waitFor(
      async () => {
        const lb = await c().getLogicalBridge({ name: bridgeName(id) });
        return lb.status?.operStatus === LB_UP ? lb : undefined;
      },
      { message: `bridge ${id} UP` },
    );
  const portStatus = (id: string) =>
    c()
      .getBridgePort({ name: portName(id) })
      .then((p) => p.status);
  const iface = (i: number) => c().getNetInterface({ name: interfaceName(PORTS[i]!.name) });

  it('reports a new bridge UP/SUCCESS once the device has read it back', async () => {
    const created = await c().createLogicalBridge({
      logicalBridgeId: 'green',
      logicalBridge: bridge({ vlanId: 20, vni: 2000 }),
    });
    expect(created.name).toBe(bridgeName('green'));
    const up = await upBridge('green');
    expect(up.status?.components).toEqual([{ name: 'device', status: SUCCESS, details: '' }]);
  });

  it('binds an ACCESS port to the device port with its MAC, and moves it when the MAC changes', async () => {
    await c().createLogicalBridge({
      logicalBridgeId: 'amber',
      logicalBridge: bridge({ vlanId: 21 }),
    });
    await c().createBridgePort({
      bridgePortId: 'amber-port',
      bridgePort: port(macOf(0), ACCESS, [bridgeName('amber')]),
    });
    await waitFor(
      async () =>
        (await portStatus('amber-port'))?.operStatus === evpn.BPOperStatus.BP_OPER_STATUS_UP,
    );
    expect((await iface(0)).state?.description).toBe('bridge-port=amber-port bridges=amber');

    const updated = await c().updateBridgePort({
      bridgePort: {
        ...port(macOf(1), ACCESS, [bridgeName('amber')]),
        name: portName('amber-port'),
      },
      updateMask: ['*'],
    });
    expect(updated.spec?.macAddress).toEqual(mac(macOf(1)));
    await waitFor(
      async () => (await iface(1)).state?.description === 'bridge-port=amber-port bridges=amber',
    );
    expect((await iface(0)).state?.description).toBe('unbound');
    // The device applies before the status is written: wait for the status too.
    await waitFor(
      async () =>
        (await portStatus('amber-port'))?.operStatus === evpn.BPOperStatus.BP_OPER_STATUS_UP,
    );
  });

  it('re-validates updates and reconciles every changed spec field', async () => {
    await c().createLogicalBridge({
      logicalBridgeId: 'cyan',
      logicalBridge: bridge({ vlanId: 22, vni: 2200 }),
    });
    await upBridge('cyan');
    const bad = await grpcError(
      c().updateLogicalBridge({
        logicalBridge: { ...bridge({ vlanId: 5000, vni: 2200 }), name: bridgeName('cyan') },
        updateMask: ['*'],
      }),
    );
    expect(bad.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.details).toContain('logical_bridge.spec.vlan_id');
    const clash = await grpcError(
      c().updateLogicalBridge({
        logicalBridge: { ...bridge({ vlanId: 22, vni: 5000 }), name: bridgeName('cyan') },
        updateMask: ['*'],
      }),
    );
    expect(clash.code).toBe(Code.ALREADY_EXISTS);
    const updated = await c().updateLogicalBridge({
      logicalBridge: { ...bridge({ vlanId: 23, vni: 2300 }), name: bridgeName('cyan') },
      updateMask: ['*'],
    });
    expect(updated.spec).toMatchObject({ vlanId: 23, vni: 2300 });
    const up = await upBridge('cyan');
    expect(up.spec).toMatchObject({ vlanId: 23, vni: 2300 });
    // The old VNI is free again.
    await c().createVrf({ vrfId: 'takes-2200', vrf: vrf({ vni: 2200, loopback: '10.22.0.1/32' }) });
  });

  it('accepts vlan_id 4095 and reports the device ERROR naming it', async () => {
    const created = await c().createLogicalBridge({
      logicalBridgeId: 'reserved',
      logicalBridge: bridge({ vlanId: 4095 }),
    });
    expect(created.spec?.vlanId).toBe(4095);
    const failed = await waitFor(async () => {
      const lb = await c().getLogicalBridge({ name: bridgeName('reserved') });
      return lb.status?.components[0]?.status === ERROR ? lb : undefined;
    });
    expect(failed.status?.operStatus).toBe(evpn.LBOperStatus.LB_OPER_STATUS_DOWN);
    expect(failed.status?.components[0]?.details).toMatch(/vlanId.*4095/);
  });

  it('reports a TRUNK port as a component ERROR naming the missing capability', async () => {
    await c().createBridgePort({
      bridgePortId: 'trunk-port',
      bridgePort: port(macOf(2), TRUNK, [bridgeName('base-bridge')]),
    });
    const status = await waitFor(async () => {
      const s = await portStatus('trunk-port');
      return s?.components[0]?.status === ERROR ? s : undefined;
    });
    expect(status.operStatus).toBe(evpn.BPOperStatus.BP_OPER_STATUS_DOWN);
    expect(status.components[0]?.details).toContain('vlanFiltering or vlanDevices');
    await c().deleteBridgePort({ name: portName('trunk-port') });
  });

  it('refuses to delete a bridge that a port uses, and a VRF or bridge that an SVI uses', async () => {
    await c().createLogicalBridge({
      logicalBridgeId: 'violet',
      logicalBridge: bridge({ vlanId: 30, vni: 3030 }),
    });
    await c().createVrf({ vrfId: 'violet-vrf', vrf: vrf({ vni: 3031, loopback: '10.30.0.1/32' }) });
    await c().createBridgePort({
      bridgePortId: 'violet-port',
      bridgePort: port(macOf(3), ACCESS, [bridgeName('violet')]),
    });
    const gateway = await c().createSvi({
      sviId: 'violet-svi',
      svi: svi({
        vrf: vrfName('violet-vrf'),
        bridge: bridgeName('violet'),
        mac: '02:00:00:00:30:01',
        gateways: ['10.30.1.1/24'],
      }),
    });
    expect(gateway.name).toBe(sviName('violet-svi'));
    await waitFor(
      async () =>
        (await c().getSvi({ name: sviName('violet-svi') })).status?.operStatus ===
        evpn.SVIOperStatus.SVI_OPER_STATUS_UP,
    );
    await waitFor(
      async () =>
        (await c().getVrf({ name: vrfName('violet-vrf') })).status?.operStatus ===
        evpn.VRFOperStatus.VRF_OPER_STATUS_UP,
    );

    const bridgeInUse = await grpcError(c().deleteLogicalBridge({ name: bridgeName('violet') }));
    expect(bridgeInUse.code).toBe(Code.FAILED_PRECONDITION);
    const vrfInUse = await grpcError(c().deleteVrf({ name: vrfName('violet-vrf') }));
    expect(vrfInUse.code).toBe(Code.FAILED_PRECONDITION);
    expect(vrfInUse.details).toContain(sviName('violet-svi'));

    // Two-phase delete: marked TO_BE_DELETED (or already gone), removed from the device, then gone.
    await c().deleteSvi({ name: sviName('violet-svi') });
    await c().deleteBridgePort({ name: portName('violet-port') });
    const right = await c()
      .getBridgePort({ name: portName('violet-port') })
      .then(
        (p) => evpn.bPOperStatusToJSON(p.status!.operStatus),
        (e: { code?: number }) => (e.code === Code.NOT_FOUND ? 'NOT_FOUND' : String(e.code)),
      );
    expect(['BP_OPER_STATUS_TO_BE_DELETED', 'NOT_FOUND']).toContain(right);
    await waitFor(() =>
      grpcError(c().getBridgePort({ name: portName('violet-port') })).then(
        (e) => e.code === Code.NOT_FOUND,
      ),
    );
    expect((await iface(3)).state?.description).toBe('unbound');
    await c().deleteLogicalBridge({ name: bridgeName('violet') });
    await c().deleteVrf({ name: vrfName('violet-vrf') });
    await waitFor(() =>
      grpcError(c().getVrf({ name: vrfName('violet-vrf') })).then((e) => e.code === Code.NOT_FOUND),
    );
    const missing = await grpcError(c().deleteVrf({ name: vrfName('violet-vrf') }));
    expect(missing.code).toBe(Code.NOT_FOUND);
    await c().deleteVrf({ name: vrfName('violet-vrf'), allowMissing: true });
  });

  it('lists bridges sorted across pages', async () => {
    const names: string[] = [];
    let pageToken = '';
    do {
      const page = await c().listLogicalBridges({ pageSize: 2, pageToken });
      expect(page.logicalBridges.length).toBeLessThanOrEqual(2);
      names.push(...page.logicalBridges.map((b) => b.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(names).toEqual([...names].sort());
    expect(names).toContain(bridgeName('base-bridge'));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('network agent: NetInterfaceService over the device ports', () => {
  it('lists the configured device ports with MAC and state', async () => {
    const { netInterfaces } = await c().listNetInterfaces({});
    expect(netInterfaces.map((i) => i.config?.name)).toEqual(PORTS.map((p) => p.name));
    expect(netInterfaces[0]?.ethernet?.state?.macAddress).toBe(macOf(0));
    expect(netInterfaces[5]?.state?.description).toBe('bridge-port=base-port bridges=base-bridge');
  });

  it('changes MTU and admin state, reading them back', async () => {
    const updated = await c().updateNetInterface({
      netInterface: {
        name: interfaceName('pf4'),
        config: { name: 'pf4', mtu: 9000, enabled: false } as never,
      },
      updateMask: ['config.mtu', 'config.enabled'],
    });
    expect(updated.config?.mtu).toBe(9000);
    expect(updated.config?.enabled).toBe(false);
    const read = await c().getNetInterface({ name: 'interfaces/pf4' });
    expect(read.state?.mtu).toBe(9000);
  });

  it('names the offending field for bad updates and unknown ports', async () => {
    const mask = await grpcError(
      c().updateNetInterface({
        netInterface: { name: interfaceName('pf4') } as never,
        updateMask: ['config.description'],
      }),
    );
    expect(mask.code).toBe(Code.INVALID_ARGUMENT);
    expect(mask.details).toContain('update_mask');
    const mtu = await grpcError(
      c().updateNetInterface({
        netInterface: { name: interfaceName('pf4'), config: { mtu: 20 } } as never,
        updateMask: ['config.mtu'],
      }),
    );
    expect(mtu.code).toBe(Code.INVALID_ARGUMENT);
    expect(mtu.details).toContain('net_interface.config.mtu');
    const unknown = await grpcError(c().getNetInterface({ name: interfaceName('nope0') }));
    expect(unknown.code).toBe(Code.NOT_FOUND);
  });
});
