// Status before the device has applied an object is DOWN with components PENDING. To hold the
// reconciler still deterministically, two agent replicas share one node: the lease holder is
// frozen (SIGSTOP) while the standby serves the API; once the lease expires the standby drives
// its own device, realizes everything from KV (port settings included) and the status turns
// UP/SUCCESS.
import { status as Code } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evpnGwV1alpha1 as evpn } from '@opi/api';
import { startNatsServer, waitFor, type RunningNatsServer } from '@opi/testing';
import { grpcError, startNetworkAgent, type AgentUnderTest } from './support/agent.js';
import { bridge, bridgeName } from './support/objects.js';

let nats: RunningNatsServer;
let holder: AgentUnderTest;
let standby: AgentUnderTest;

const env = () => ({
  OPI_NATS_URL: nats.url,
  OPI_NODE_ID: 'dpu-pending',
  OPI_PORTS: JSON.stringify([{ name: 'pf0', mac: '02:00:00:00:00:21' }]),
  OPI_LEASE_TTL_MS: '1500',
});

beforeAll(async () => {
  nats = await startNatsServer();
  holder = await startNetworkAgent(env());
  standby = await startNetworkAgent(env());
});

afterAll(async () => {
  holder?.process.kill('SIGCONT');
  await standby?.stop();
  await holder?.stop();
  await nats?.stop();
});

it('reports DOWN/PENDING until the device has applied an object, TO_BE_DELETED until it removed one, and restores port settings', async () => {
  const first = await holder.clients.createLogicalBridge({
    logicalBridgeId: 'before',
    logicalBridge: bridge({ vlanId: 10, vni: 1000 }),
  });
  expect(first.name).toBe(bridgeName('before'));
  await waitFor(async () => {
    const lb = await holder.clients.getLogicalBridge({ name: bridgeName('before') });
    return lb.status?.operStatus === evpn.LBOperStatus.LB_OPER_STATUS_UP;
  });

  await standby.clients.createLogicalBridge({
    logicalBridgeId: 'doomed',
    logicalBridge: bridge({ vlanId: 13 }),
  });
  await waitFor(async () => {
    const lb = await standby.clients.getLogicalBridge({ name: bridgeName('doomed') });
    return lb.status?.operStatus === evpn.LBOperStatus.LB_OPER_STATUS_UP;
  });

  // A port setting made through the holder is desired state: the standby restores it later.
  await holder.clients.updateNetInterface({
    netInterface: { name: 'interfaces/pf0', config: { mtu: 9100, enabled: true } } as never,
    updateMask: ['config.mtu'],
  });

  holder.process.kill('SIGSTOP');
  // Two-phase delete: marked TO_BE_DELETED until a driving replica has removed it.
  await standby.clients.deleteLogicalBridge({ name: bridgeName('doomed') });
  const marked = await standby.clients.getLogicalBridge({ name: bridgeName('doomed') });
  expect(marked.status?.operStatus).toBe(evpn.LBOperStatus.LB_OPER_STATUS_TO_BE_DELETED);

  const created = await standby.clients.createLogicalBridge({
    logicalBridgeId: 'while-frozen',
    logicalBridge: bridge({ vlanId: 11, vni: 1100 }),
  });
  expect(created.status?.operStatus).toBe(evpn.LBOperStatus.LB_OPER_STATUS_DOWN);
  expect(created.status?.components).toEqual([]);
  const updated = await standby.clients.updateLogicalBridge({
    logicalBridge: { ...bridge({ vlanId: 12, vni: 1200 }), name: bridgeName('before') },
    updateMask: ['*'],
  });
  expect(updated.status?.operStatus).toBe(evpn.LBOperStatus.LB_OPER_STATUS_DOWN);
  expect(updated.status?.components).toEqual([
    { name: 'device', status: evpn.CompStatus.COMP_STATUS_PENDING, details: '' },
  ]);

  // Only the lease holder writes to the device: the standby refuses port changes for now.
  const refused = await grpcError(
    standby.clients.updateNetInterface({
      netInterface: { name: 'interfaces/pf0', config: { mtu: 9000 } } as never,
      updateMask: ['config.mtu'],
    }),
  );
  expect(refused.code).toBe(Code.UNAVAILABLE);

  // The standby takes the lease over, rebuilds its device from KV and reports both UP.
  for (const id of ['while-frozen', 'before']) {
    const up = await waitFor(
      async () => {
        const lb = await standby.clients.getLogicalBridge({ name: bridgeName(id) });
        return lb.status?.operStatus === evpn.LBOperStatus.LB_OPER_STATUS_UP ? lb : undefined;
      },
      { timeoutMs: 15_000, message: `${id} UP after failover` },
    );
    expect(up.status?.components).toEqual([
      { name: 'device', status: evpn.CompStatus.COMP_STATUS_SUCCESS, details: '' },
    ]);
  }
  expect(
    (await standby.clients.getLogicalBridge({ name: bridgeName('before') })).spec,
  ).toMatchObject({ vlanId: 12, vni: 1200 });
  await waitFor(
    () =>
      grpcError(standby.clients.getLogicalBridge({ name: bridgeName('doomed') })).then(
        (e) => e.code === Code.NOT_FOUND,
      ),
    { message: 'doomed removed after failover' },
  );
  const restored = await waitFor(async () => {
    const pf0 = await standby.clients.getNetInterface({ name: 'interfaces/pf0' });
    return pf0.state?.mtu === 9100 ? pf0 : undefined;
  });
  expect(restored.config?.enabled).toBe(true);
  const changed = await standby.clients.updateNetInterface({
    netInterface: { name: 'interfaces/pf0', config: { mtu: 9000 } } as never,
    updateMask: ['config.mtu'],
  });
  expect(changed.state?.mtu).toBe(9000);
});
