// Builders of OPI EVPN messages for the tests, in the generated (ts-proto) shapes.
import { evpnGwV1alpha1 as evpn, opinetcommonV1alpha1 as common } from '@opi/api';
import { ipPrefixFromText, macToBytes } from '@opi/evpn-gateway';

export const bridgeName = (id: string) => `//network.opiproject.org/bridges/${id}`;
export const portName = (id: string) => `//network.opiproject.org/ports/${id}`;
export const vrfName = (id: string) => `//network.opiproject.org/vrfs/${id}`;
export const sviName = (id: string) => `//network.opiproject.org/svis/${id}`;
export const interfaceName = (port: string) => `//network.opiproject.org/interfaces/${port}`;

export const prefix = (text: string): common.IPPrefix =>
  common.IPPrefix.fromJSON(ipPrefixFromText(text));
export const mac = (text: string): Buffer => macToBytes(text);

export const ACCESS = evpn.BridgePortType.BRIDGE_PORT_TYPE_ACCESS;
export const TRUNK = evpn.BridgePortType.BRIDGE_PORT_TYPE_TRUNK;

export function bridge(spec: Partial<evpn.LogicalBridgeSpec>): evpn.LogicalBridge {
  return evpn.LogicalBridge.fromPartial({ spec });
}

export function port(
  macText: string,
  ptype: evpn.BridgePortType,
  bridges: string[],
): evpn.BridgePort {
  return evpn.BridgePort.fromPartial({
    spec: { macAddress: mac(macText), ptype, logicalBridges: bridges },
  });
}

export function vrf(spec: Partial<Omit<evpn.VrfSpec, 'loopbackIpPrefix'>> & { loopback?: string }) {
  const { loopback, ...rest } = spec;
  return evpn.Vrf.fromPartial({
    spec: { ...rest, ...(loopback ? { loopbackIpPrefix: prefix(loopback) } : {}) },
  });
}

export function svi(spec: {
  vrf: string;
  bridge: string;
  mac: string | Buffer;
  gateways?: string[];
  enableBgp?: boolean;
  remoteAs?: number;
}): evpn.Svi {
  return evpn.Svi.fromPartial({
    spec: {
      vrf: spec.vrf,
      logicalBridge: spec.bridge,
      macAddress: typeof spec.mac === 'string' ? mac(spec.mac) : spec.mac,
      gwIpPrefix: (spec.gateways ?? []).map(prefix),
      enableBgp: spec.enableBgp ?? false,
      remoteAs: spec.remoteAs ?? 0,
    },
  });
}
