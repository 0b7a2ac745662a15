import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

describe('public API', () => {
  it('exports exactly the documented runtime names (hal-sim and opictl depend on them)', () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "ACL_LOG_CAPACITY",
        "Acl",
        "CaptureFormatError",
        "Datapath",
        "DatapathConfigError",
        "DatapathTableError",
        "Ipv4RouteTable",
        "LINKTYPE_ETHERNET",
        "MAX_CAPTURED_LENGTH",
        "MAX_NEXT_HOPS",
        "MAX_POLICERS",
        "MAX_VRFS",
        "MacTable",
        "NextHopTable",
        "PolicerTable",
        "applyPipelineConfig",
        "createDatapath",
        "describeFrame",
        "formatIp",
        "formatIpv4",
        "formatMac",
        "frameRecordText",
        "parseCaptureFiles",
        "parseIp",
        "parseIpv4",
        "parseIpv4Prefix",
        "parseMac",
        "parsePipelineConfig",
        "pipelineConfigSchema",
        "readCapture",
        "runCaptureFile",
        "runCaptureThroughPipeline",
        "writePcap",
        "writePcapng",
      ]
    `);
  });

  it('keeps the stage graph and drop reason names, which counters and traces report', () => {
    const dp = api.createDatapath();
    expect(dp.stages().map((s) => `${s.name} -> ${s.next.join(',')}`)).toMatchInlineSnapshot(`
      [
        "parse -> vxlan-decap,policer,acl,l2,l3,drop",
        "vxlan-decap -> policer,acl,l2,l3,drop",
        "policer -> acl,l2,l3,drop",
        "acl -> l2,l3,drop",
        "l2 -> acl-egress,vxlan-encap,tx,drop",
        "l3 -> acl-egress,vxlan-encap,tx,drop",
        "acl-egress -> vxlan-encap,tx,drop",
        "vxlan-encap -> tx,drop",
        "tx -> ",
        "drop -> ",
      ]
    `);
    expect(dp.dropReasons()).toMatchInlineSnapshot(`
      [
        "bad-descriptor",
        "eth-truncated",
        "vlan-truncated",
        "vlan-too-many",
        "arp-truncated",
        "ipv4-truncated",
        "ipv4-bad-version",
        "ipv4-bad-ihl",
        "ipv4-bad-length",
        "ipv4-bad-checksum",
        "ipv4-bad-option",
        "ipv6-truncated",
        "ipv6-bad-version",
        "ipv6-ext-truncated",
        "ipv6-too-many-ext",
        "tcp-truncated",
        "tcp-bad-offset",
        "udp-truncated",
        "udp-bad-length",
        "icmp-truncated",
        "vxlan-truncated",
        "vxlan-bad-flags",
        "port-not-in-bridge",
        "src-mac-multicast",
        "same-port",
        "flood-limit",
        "vxlan-no-tunnel",
        "tunnel-missing",
        "encap-too-long",
        "egress-not-in-bridge",
        "not-routable",
        "no-route",
        "next-hop-missing",
        "blackhole",
        "ttl-exceeded",
        "acl-deny",
        "policer",
        "acl-egress-deny",
      ]
    `);
  });
});
