import { describe, expect, it } from 'vitest';
import {
  applyPipelineConfig,
  createDatapath,
  DatapathConfigError,
  parsePipelineConfig,
  type Datapath,
} from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { arpRequest, tsharkDissect } from './gateway-frames.js';
import { flowFrame, ipv6, neighborSolicitation, solicitedNode, vxlanFrame } from './frames.js';
import { tunnelV4 } from './tunnels.js';
import { configErrorField as field } from './errors.js';
import { configuredPair } from './differ.js';

const GW_MAC = '02:00:00:00:99:01';
const HOST_MAC = '02:00:00:00:00:05';

function configure(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  t.addBridge(2);
  t.setPort(0, { bridge: 1 });
  t.setPort(1, { bridge: 1 });
  t.setPort(2, { bridge: 2 });
  t.setPort(9, {});
  t.addVxlanTunnel(0, tunnelV4());
  t.setBridgeGateway(1, {
    mac: GW_MAC,
    ipv4: ['10.1.0.1', '10.1.0.254'],
    ipv6: ['2001:db8:1::1', 'fe80::1:1'],
  });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('bridge gateways (SVI)', () => {
  it('answers ARP requests for gateway addresses in place, VLAN tags kept (tshark)', () => {
    const dp = createDatapath({ batchSize: 16 });
    configure(dp);
    const requests = [
      arpRequest(HOST_MAC, '10.1.0.5', '10.1.0.1'),
      arpRequest(HOST_MAC, '10.1.0.5', '10.1.0.254', [7]),
    ];
    const out = dp.process(
      requests.map((data) => ({ data, port: 1 })),
      5,
    );
    for (const r of out) {
      expect(r.verdict).toBe('forward');
      expect(r.outPort).toBe(1);
    }
    const fields = tsharkDissect(
      out.map((r) => r.frame),
      [
        'eth.dst',
        'eth.src',
        'vlan.id',
        'arp.opcode',
        'arp.src.hw_mac',
        'arp.src.proto_ipv4',
        'arp.dst.hw_mac',
        'arp.dst.proto_ipv4',
      ],
    );
    expect(fields).toEqual([
      {
        'eth.dst': HOST_MAC,
        'eth.src': GW_MAC,
        'vlan.id': '',
        'arp.opcode': '2',
        'arp.src.hw_mac': GW_MAC,
        'arp.src.proto_ipv4': '10.1.0.1',
        'arp.dst.hw_mac': HOST_MAC,
        'arp.dst.proto_ipv4': '10.1.0.5',
      },
      {
        'eth.dst': HOST_MAC,
        'eth.src': GW_MAC,
        'vlan.id': '7',
        'arp.opcode': '2',
        'arp.src.hw_mac': GW_MAC,
        'arp.src.proto_ipv4': '10.1.0.254',
        'arp.dst.hw_mac': HOST_MAC,
        'arp.dst.proto_ipv4': '10.1.0.5',
      },
    ]);
    // Field by field: only the reply fields changed, the length is kept.
    const req = requests[0]!;
    const rep = out[0]!.frame;
    expect(rep.length).toBe(req.length);
    expect(hex(rep.subarray(12, 20))).toBe('0806000108000604');
    expect(hex(rep.subarray(20, 22))).toBe('0002');
    // Consumed: counted as a reply, not flooded, no MAC learned from it.
    expect(dp.gateways.lookup(1)).toMatchObject({ arpReplies: 2, ndReplies: 0 });
    expect(dp.counters().bridges[1]).toBeUndefined();
    expect(dp.counters().ports[1]?.txPackets).toBe(2);
  });

  it('answers valid Neighbor Solicitations with router/solicited/override NAs (tshark)', () => {
    const dp = createDatapath({ batchSize: 16 });
    configure(dp);
    const requests = [
      neighborSolicitation({ src: '2001:db8:1::5', srcMac: HOST_MAC, target: '2001:db8:1::1' }),
      // To the address itself, with a VLAN tag.
      neighborSolicitation({
        src: 'fe80::5',
        srcMac: HOST_MAC,
        dst: 'fe80::1:1',
        target: 'fe80::1:1',
        vlans: [12],
      }),
      // DAD from :: to the solicited-node group: answered to all-nodes, not solicited.
      neighborSolicitation({ src: '::', srcMac: HOST_MAC, target: '2001:db8:1::1' }),
    ];
    const out = dp.process(
      requests.map((data) => ({ data, port: 0 })),
      5,
    );
    expect(out.map((r) => [r.verdict, r.outPort])).toEqual([
      ['forward', 0],
      ['forward', 0],
      ['forward', 0],
    ]);
    const fields = tsharkDissect(
      out.map((r) => r.frame),
      [
        'eth.dst',
        'eth.src',
        'vlan.id',
        'ipv6.src',
        'ipv6.dst',
        'ipv6.hlim',
        'ipv6.plen',
        'icmpv6.type',
        'icmpv6.code',
        'icmpv6.checksum.status',
        'icmpv6.nd.na.flag.r',
        'icmpv6.nd.na.flag.s',
        'icmpv6.nd.na.flag.o',
        'icmpv6.nd.na.target_address',
        'icmpv6.opt.type',
        'icmpv6.opt.linkaddr',
      ],
    );
    const na = (dst: string, ethDst: string, s: string, target: string, vlan = '') => ({
      'eth.dst': ethDst,
      'eth.src': GW_MAC,
      'vlan.id': vlan,
      'ipv6.src': target,
      'ipv6.dst': dst,
      'ipv6.hlim': '255',
      'ipv6.plen': '32',
      'icmpv6.type': '136',
      'icmpv6.code': '0',
      'icmpv6.checksum.status': '1',
      'icmpv6.nd.na.flag.r': '1',
      'icmpv6.nd.na.flag.s': s,
      'icmpv6.nd.na.flag.o': '1',
      'icmpv6.nd.na.target_address': target,
      'icmpv6.opt.type': '2',
      'icmpv6.opt.linkaddr': GW_MAC,
    });
    expect(fields).toEqual([
      na('2001:db8:1::5', HOST_MAC, '1', '2001:db8:1::1'),
      na('fe80::5', HOST_MAC, '1', 'fe80::1:1', '12'),
      na('ff02::1', '33:33:00:00:00:01', '0', '2001:db8:1::1'),
    ]);
    // Field by field on the first reply: 14 + 40 + 24 + 8 bytes, flags word 0xe0000000.
    const f = out[0]!.frame;
    expect(f.length).toBe(86);
    expect(hex(f.subarray(54, 62))).toMatch(/^8800....e0000000$/);
    expect([...f.subarray(62, 78)]).toEqual(ipv6('2001:db8:1::1'));
    expect(dp.gateways.lookup(1)).toMatchObject({ arpReplies: 0, ndReplies: 3 });
  });

  it('bridges other ARP and NS, and requests on bridges without that gateway', () => {
    const dp = createDatapath({ batchSize: 16 });
    configure(dp);
    const frames = [
      { data: arpRequest(HOST_MAC, '10.1.0.5', '10.1.0.7'), port: 0 },
      { data: neighborSolicitation({ srcMac: HOST_MAC, target: '2001:db8:1::7' }), port: 0 },
      // Bridge 2 has no gateway.
      { data: arpRequest('02:00:00:00:00:06', '10.1.0.6', '10.1.0.1'), port: 2 },
      {
        data: neighborSolicitation({ target: '2001:db8:1::1', srcMac: '02:00:00:00:00:06' }),
        port: 2,
      },
      // An NS for a gateway address sent to a unicast address that is not the target.
      {
        data: neighborSolicitation({ target: '2001:db8:1::1', dst: '2001:db8:1::9' }),
        port: 0,
      },
    ];
    dp.startTrace(5);
    const out = dp.process(frames, 5);
    expect(out.map((r) => r.verdict)).toEqual(['flood', 'flood', 'flood', 'flood', 'flood']);
    out.forEach((r, i) => expect(hex(r.frame)).toBe(hex(frames[i]!.data)));
    expect(dp.gateways.lookup(1)).toMatchObject({ arpReplies: 0, ndReplies: 0 });
    const stages = dp.readTrace().map((r) => r.stage);
    // Only bridge 1's ARP/NS frames entered the gateway stage.
    expect(stages.filter((s) => s === 'gateway')).toHaveLength(3);
  });

  it('ignores Neighbor Solicitations that fail RFC 4861 7.1.1 validation', () => {
    const dp = createDatapath({ batchSize: 16 });
    configure(dp);
    const target = '2001:db8:1::1';
    const invalid = [
      neighborSolicitation({ target, hopLimit: 64 }),
      neighborSolicitation({ target, code: 1 }),
      neighborSolicitation({ target, badChecksum: true }),
      neighborSolicitation({ target, zeroOption: true }),
      // DAD with a source link-layer address option, and DAD not to the solicited-node group.
      neighborSolicitation({ target, src: '::', slla: true }),
      neighborSolicitation({ target, src: '::', dst: target }),
    ];
    dp.startTrace(invalid.length);
    const out = dp.process(
      invalid.map((data) => ({ data, port: 1 })),
      5,
    );
    expect(out.map((r) => r.verdict)).toEqual(invalid.map(() => 'flood'));
    const gw = dp.readTrace().filter((r) => r.stage === 'gateway');
    expect(gw.map((r) => r.detail)).toEqual(invalid.map(() => 'bridge 1 invalid ns: to l2'));
    expect(gw.every((r) => r.next === 'l2')).toBe(true);
    expect(dp.gateways.lookup(1)?.ndReplies).toBe(0);
    // The valid one still gets its answer.
    const ok = dp.process([{ data: neighborSolicitation({ target }), port: 1 }], 6);
    expect(ok[0]!.verdict).toBe('forward');
  });

  it('answers through vxlan-encap when the request came out of a tunnel', () => {
    const { dp, ref } = configuredPair(configure, 16);
    const inner = [
      arpRequest('02:00:00:00:00:77', '10.1.0.77', '10.1.0.1'),
      neighborSolicitation({ srcMac: '02:00:00:00:00:77', src: 'fe80::77', target: 'fe80::1:1' }),
    ];
    const frames = inner.map((f) => ({
      data: vxlanFrame(f, 5001, { src: '192.168.0.2', dst: '192.168.0.1' }),
      port: 9,
    }));
    const out = dp.process(frames, 5);
    expect(out.map((r) => [r.verdict, r.outPort])).toEqual([
      ['forward', 9],
      ['forward', 9],
    ]);
    expect(out.map((r) => ({ ...r, frame: hex(r.frame) }))).toEqual(
      ref.process(frames, 5).map((r) => ({ ...r, frame: hex(r.frame) })),
    );
    const fields = tsharkDissect(
      out.map((r) => r.frame),
      ['ip.src', 'ip.dst', 'vxlan.vni', 'arp.opcode', 'icmpv6.type', 'icmpv6.checksum.status'],
    );
    expect(fields).toEqual([
      {
        'ip.src': '192.168.0.1',
        'ip.dst': '192.168.0.2',
        'vxlan.vni': '5001',
        'arp.opcode': '2',
        'icmpv6.type': '',
        'icmpv6.checksum.status': '',
      },
      {
        'ip.src': '192.168.0.1',
        'ip.dst': '192.168.0.2',
        'vxlan.vni': '5001',
        'arp.opcode': '',
        'icmpv6.type': '136',
        'icmpv6.checksum.status': '1',
      },
    ]);
    expect(dp.counters().ports[9]?.txPackets).toBe(2);
  });

  it('has the table verbs, and errors name the field', () => {
    const dp = createDatapath({ batchSize: 16 });
    configure(dp);
    expect(dp.gateways.lookup(1)).toEqual({
      mac: GW_MAC,
      ipv4: ['10.1.0.1', '10.1.0.254'],
      ipv6: ['2001:db8:1::1', 'fe80::1:1'],
      arpReplies: 0,
      ndReplies: 0,
    });
    expect([...dp.gateways.iterate()].map((e) => e.bridge)).toEqual([1]);
    expect(dp.gateways.lookupBulk([1, 2])[1]).toBeNull();
    expect(field(() => dp.setBridgeGateway(2, { mac: 'nope' }))).toBe('mac');
    expect(field(() => dp.setBridgeGateway(2, { mac: '01:00:5e:00:00:01' }))).toBe('mac');
    expect(field(() => dp.setBridgeGateway(2, { mac: GW_MAC, ipv4: ['10.0.0.300'] }))).toBe(
      'ipv4[0]',
    );
    expect(field(() => dp.setBridgeGateway(2, { mac: GW_MAC, ipv4: ['2001:db8::1'] }))).toBe(
      'ipv4[0]',
    );
    expect(
      field(() => dp.setBridgeGateway(2, { mac: GW_MAC, ipv6: ['2001:db8::1', 'ff02::1'] })),
    ).toBe('ipv6[1]');
    expect(
      field(() =>
        dp.setBridgeGateway(2, {
          mac: GW_MAC,
          ipv4: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4', '1.1.1.5'],
        }),
      ),
    ).toBe('ipv4');
    expect(field(() => dp.setBridgeGateway(256, { mac: GW_MAC }))).toBe('bridge');
    // Removing the gateway: requests are bridged again.
    dp.setBridgeGateway(1, null);
    expect(dp.gateways.lookup(1)).toBeNull();
    expect(dp.gateways.delete(1)).toBe(false);
    const out = dp.process([{ data: arpRequest(HOST_MAC, '10.1.0.5', '10.1.0.1'), port: 0 }], 1);
    expect(out[0]!.verdict).toBe('flood');
    dp.setBridgeGateway(1, { mac: GW_MAC, ipv6: ['2001:db8:1::1'] });
    dp.deleteBridge(1);
    expect(dp.gateways.lookup(1)).toBeNull();
    dp.setBridgeGateway(2, { mac: GW_MAC, ipv6: ['2001:db8:1::1'] });
    dp.gateways.reset();
    expect([...dp.gateways.iterate()]).toEqual([]);
  });

  it('other traffic on a gateway bridge never enters the gateway stage', () => {
    const dp = createDatapath({ batchSize: 16 });
    configure(dp);
    dp.startTrace(3);
    dp.process(
      [
        { data: flowFrame({ srcMac: HOST_MAC }), port: 0 },
        {
          data: flowFrame({ srcMac: HOST_MAC, v6: true, dst: solicitedNode('2001:db8:1::1') }),
          port: 0,
        },
        {
          data: flowFrame({ srcMac: HOST_MAC, v6: true, l4: { proto: 'icmp', type: 128 } }),
          port: 0,
        },
      ],
      1,
    );
    expect(dp.readTrace().some((r) => r.stage === 'gateway')).toBe(false);
    expect(dp.stageCounters().gateway?.packets).toBe(0);
  });
});

describe('pipeline configuration (opictl pcap run) for gateways, MTUs and policers', () => {
  it('programs bridge gateways, bridge and flow policers and MTUs; errors name the field', () => {
    const dp = createDatapath({ batchSize: 16 });
    applyPipelineConfig(
      dp,
      parsePipelineConfig(`
bridges:
  - { id: 1, policer: 0, gateway: { mac: '${GW_MAC}', ipv4: [10.1.0.1], ipv6: ['2001:db8:1::1'] } }
policers: [{ id: 0, rateBytesPerSec: 1000, burstBytes: 5000 }]
ports:
  - { port: 0, bridge: 1, mtu: 9000, flowPolicer: { rateBytesPerSec: 10, burstBytes: 100, maxFlows: 8 } }
  - { port: 9 }
tunnels:
  - { id: 0, port: 100, bridge: 1, vni: 1, local: 192.168.0.1, remote: 192.168.0.2,
      localMac: '02:00:00:00:aa:01', remoteMac: '02:00:00:00:aa:02', underlayPort: 9, mtu: 1400 }
`),
    );
    expect(dp.gateways.lookup(1)?.ipv4).toEqual(['10.1.0.1']);
    expect(dp.policers.bridgePolicer(1)).toBe(0);
    expect(dp.policers.flowTable(0)?.maxFlows).toBe(8);
    expect(dp.egressMtu(0)).toBe(9000);
    expect(dp.egressMtu(100)).toBe(1400);
    const out = dp.process([{ data: arpRequest(HOST_MAC, '10.1.0.5', '10.1.0.1'), port: 0 }], 1);
    expect(out[0]!.outPort).toBe(0);
    const field = (text: string) => {
      try {
        applyPipelineConfig(createDatapath({ batchSize: 16 }), parsePipelineConfig(text));
      } catch (e) {
        if (e instanceof DatapathConfigError) return e.field;
        throw e;
      }
      return null;
    };
    expect(field(`bridges: [{ id: 1, gateway: { mac: '${GW_MAC}', ipv4: [nope] } }]`)).toBe(
      'bridges.0.ipv4[0]',
    );
    expect(field('ports: [{ port: 1, mtu: 20 }]')).toBe('ports.0.mtu');
    expect(
      field(
        'ports: [{ port: 1, flowPolicer: { rateBytesPerSec: 1, burstBytes: 1, maxFlows: 6 } }]',
      ),
    ).toBe('ports.0.maxFlows');
    expect(field('bridges: [{ id: 1, policer: 4 }]')).toBe('bridges.0.id');
  });
});
