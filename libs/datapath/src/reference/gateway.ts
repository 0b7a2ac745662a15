// Reference gateway (SVI) responders: ARP replies and Neighbor Advertisements for a bridge's
// gateway addresses, written from RFC 826 and RFC 4861 independently of assembly/gateway.ts.
// Frames are rebuilt from scratch (the core edits them in place).
import { parseFrame, ParseDrop, type RefLayer } from './parser.js';
import { icmpv6Message, neighborAdvertisement, solicitationValid, solicitsAddress } from './nd.js';

/** A bridge gateway as the reference keeps it. */
export interface RefGateway {
  mac: Uint8Array;
  ipv4: Uint8Array[];
  ipv6: Uint8Array[];
  arpReplies: number;
  ndReplies: number;
}

/** What the gateway stage did with a frame. */
export type RefGatewayOutcome =
  { kind: 'arp' | 'na'; frame: Uint8Array } | { kind: 'pass' | 'invalid' };

const equal = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function arp(frame: Uint8Array, layer: RefLayer, gw: RefGateway): RefGatewayOutcome {
  const at = 14 + 4 * layer.vlans.length;
  const header = [0, 1, 8, 0, 6, 4, 0, 1];
  if (header.some((b, i) => frame[at + i] !== b)) return { kind: 'pass' };
  const target = frame.slice(at + 24, at + 28);
  if (!gw.ipv4.some((a) => equal(a, target))) return { kind: 'pass' };
  const out = frame.slice();
  const senderMac = frame.slice(at + 8, at + 14);
  const senderIp = frame.slice(at + 14, at + 18);
  out.set(senderMac, 0);
  out.set(gw.mac, 6);
  out[at + 7] = 2;
  out.set(gw.mac, at + 8);
  out.set(target, at + 14);
  out.set(senderMac, at + 18);
  out.set(senderIp, at + 24);
  return { kind: 'arp', frame: out };
}

function neighborSolicitation(frame: Uint8Array, gw: RefGateway): RefGatewayOutcome {
  let layer: RefLayer;
  try {
    layer = parseFrame(frame).outer;
  } catch (err) {
    if (err instanceof ParseDrop) return { kind: 'pass' };
    throw err;
  }
  const ip = layer.ip;
  const icmp = layer.icmp;
  if (!ip || ip.version !== 6 || !icmp || icmp.type !== 135) return { kind: 'pass' };
  const message = icmpv6Message(frame, layer);
  if (message.length < 24) return { kind: 'invalid' };
  // Solicitations for other hosts go on to L2 whatever they hold.
  const gwAddress = gw.ipv6.find((a) => solicitsAddress(layer, message, a));
  if (!gwAddress) return { kind: 'pass' };
  if (!solicitationValid(frame, layer, message)) return { kind: 'invalid' };
  return { kind: 'na', frame: neighborAdvertisement(frame, layer, gwAddress, gw.mac, true) };
}

/** Runs the gateway responder of `gw` on `frame` (ARP or ICMPv6 NS). */
export function referenceGateway(
  frame: Uint8Array,
  layer: RefLayer,
  gw: RefGateway,
): RefGatewayOutcome {
  return layer.ethType === 0x0806 ? arp(frame, layer, gw) : neighborSolicitation(frame, gw);
}
