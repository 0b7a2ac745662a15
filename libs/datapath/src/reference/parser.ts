// Reference parser: an independent, straightforward TypeScript reading of the same header
// rules as the WebAssembly parse stage. It walks the frame with a bounds-checked cursor and
// reports a drop by throwing `ParseDrop`.
import type { ParsedLayer, ParseResult } from '../types.js';

/** A frame the parser rejects, with the drop reason name. */
export class ParseDrop extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** IP header facts the reference pipeline needs after parsing. */
export interface RefIp {
  version: 4 | 6;
  offset: number;
  src: Uint8Array;
  dst: Uint8Array;
  proto: number;
}

/** One parsed Ethernet layer. */
export interface RefLayer {
  start: number;
  ethType: number;
  vlans: number[];
  ip: RefIp | null;
  ports: { sport: number; dport: number; offset: number; udpLength: number | null } | null;
  icmp: { type: number; code: number; offset: number } | null;
  fragment: boolean;
}

/** A parsed frame: outer layer plus the VXLAN payload when there is one. */
export interface RefFrame {
  outer: RefLayer;
  vxlan: { vni: number; inner: RefLayer; innerStart: number; innerEnd: number } | null;
}

const ETH_VLAN = [0x8100, 0x88a8];
const VXLAN_UDP_PORT = 4789;
const MAX_EXTENSION_HEADERS = 8;

function u16(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
}

function need(available: number, wanted: number, reason: string): void {
  if (available < wanted) throw new ParseDrop(reason);
}

function headerChecksumValid(b: Uint8Array, at: number, length: number): boolean {
  let sum = 0;
  for (let i = 0; i < length; i += 2) sum += u16(b, at + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

function validateIpv4Options(b: Uint8Array, at: number, headerLength: number): void {
  let i = 20;
  while (i < headerLength) {
    const kind = b[at + i] ?? 0;
    if (kind === 0) return;
    if (kind === 1) {
      i += 1;
      continue;
    }
    if (i + 1 >= headerLength) throw new ParseDrop('ipv4-bad-option');
    const len = b[at + i + 1] ?? 0;
    if (len < 2 || i + len > headerLength) throw new ParseDrop('ipv4-bad-option');
    i += len;
  }
}

/** Parses one Ethernet frame in b[start, end); `vxlan` allows descending into VXLAN. */
function parseLayer(
  b: Uint8Array,
  start: number,
  end: number,
  vxlan: boolean,
  frame: RefFrame | null,
): RefLayer {
  const layer: RefLayer = {
    start,
    ethType: 0,
    vlans: [],
    ip: null,
    ports: null,
    icmp: null,
    fragment: false,
  };
  need(end - start, 14, 'eth-truncated');
  let type = u16(b, start + 12);
  let at = start + 14;
  while (ETH_VLAN.includes(type)) {
    if (layer.vlans.length === 2) throw new ParseDrop('vlan-too-many');
    need(end - at, 4, 'vlan-truncated');
    layer.vlans.push(u16(b, at) & 0x0fff);
    type = u16(b, at + 2);
    at += 4;
  }
  layer.ethType = type;
  switch (type) {
    case 0x0806: {
      need(end - at, 8, 'arp-truncated');
      need(end - at, 8 + 2 * (b[at + 4] ?? 0) + 2 * (b[at + 5] ?? 0), 'arp-truncated');
      return layer;
    }
    case 0x0800:
      parseIpv4(b, at, end, layer, vxlan, frame);
      return layer;
    case 0x86dd:
      parseIpv6(b, at, end, layer, vxlan, frame);
      return layer;
    default:
      return layer;
  }
}

function parseIpv4(
  b: Uint8Array,
  at: number,
  end: number,
  layer: RefLayer,
  vxlan: boolean,
  frame: RefFrame | null,
): void {
  need(end - at, 20, 'ipv4-truncated');
  if ((b[at] ?? 0) >> 4 !== 4) throw new ParseDrop('ipv4-bad-version');
  const headerLength = ((b[at] ?? 0) & 0x0f) * 4;
  if (headerLength < 20) throw new ParseDrop('ipv4-bad-ihl');
  const totalLength = u16(b, at + 2);
  if (totalLength < headerLength) throw new ParseDrop('ipv4-bad-length');
  need(end - at, totalLength, 'ipv4-truncated');
  if (!headerChecksumValid(b, at, headerLength)) throw new ParseDrop('ipv4-bad-checksum');
  if (headerLength > 20) validateIpv4Options(b, at, headerLength);
  const proto = b[at + 9] ?? 0;
  layer.ip = {
    version: 4,
    offset: at,
    src: b.slice(at + 12, at + 16),
    dst: b.slice(at + 16, at + 20),
    proto,
  };
  const fragmentField = u16(b, at + 6);
  layer.fragment = (fragmentField & 0x3fff) !== 0;
  const fragmentOffset = fragmentField & 0x1fff;
  if (fragmentOffset !== 0) return;
  parseTransport(b, at + headerLength, at + totalLength, proto, layer, vxlan, frame);
}

const EXTENSION_HEADERS = new Set([0, 43, 60, 51]);

function parseIpv6(
  b: Uint8Array,
  at: number,
  end: number,
  layer: RefLayer,
  vxlan: boolean,
  frame: RefFrame | null,
): void {
  need(end - at, 40, 'ipv6-truncated');
  if ((b[at] ?? 0) >> 4 !== 6) throw new ParseDrop('ipv6-bad-version');
  const payloadLength = u16(b, at + 4);
  need(end - at - 40, payloadLength, 'ipv6-truncated');
  const payloadEnd = at + 40 + payloadLength;
  let next = b[at + 6] ?? 0;
  let cursor = at + 40;
  let seen = 0;
  let laterFragment = false;
  for (;;) {
    if (EXTENSION_HEADERS.has(next)) {
      if (seen === MAX_EXTENSION_HEADERS) throw new ParseDrop('ipv6-too-many-ext');
      seen++;
      need(payloadEnd - cursor, 8, 'ipv6-ext-truncated');
      const len = next === 51 ? ((b[cursor + 1] ?? 0) + 2) * 4 : ((b[cursor + 1] ?? 0) + 1) * 8;
      need(payloadEnd - cursor, len, 'ipv6-ext-truncated');
      next = b[cursor] ?? 0;
      cursor += len;
    } else if (next === 44) {
      if (seen === MAX_EXTENSION_HEADERS) throw new ParseDrop('ipv6-too-many-ext');
      seen++;
      need(payloadEnd - cursor, 8, 'ipv6-ext-truncated');
      layer.fragment = true;
      laterFragment = (u16(b, cursor + 2) & 0xfff8) !== 0;
      next = b[cursor] ?? 0;
      cursor += 8;
      if (laterFragment) break;
    } else {
      break;
    }
  }
  layer.ip = {
    version: 6,
    offset: at,
    src: b.slice(at + 8, at + 24),
    dst: b.slice(at + 24, at + 40),
    proto: next,
  };
  if (laterFragment) return;
  parseTransport(b, cursor, payloadEnd, next, layer, vxlan, frame);
}

function parseTransport(
  b: Uint8Array,
  at: number,
  end: number,
  proto: number,
  layer: RefLayer,
  vxlan: boolean,
  frame: RefFrame | null,
): void {
  const available = end - at;
  const version = layer.ip?.version;
  if (proto === 6) {
    need(available, 20, 'tcp-truncated');
    const dataOffset = ((b[at + 12] ?? 0) >> 4) * 4;
    if (dataOffset < 20) throw new ParseDrop('tcp-bad-offset');
    need(available, dataOffset, 'tcp-truncated');
    layer.ports = { sport: u16(b, at), dport: u16(b, at + 2), offset: at, udpLength: null };
  } else if (proto === 17) {
    need(available, 8, 'udp-truncated');
    const udpLength = u16(b, at + 4);
    if (!layer.fragment && (udpLength < 8 || udpLength > available))
      throw new ParseDrop('udp-bad-length');
    layer.ports = { sport: u16(b, at), dport: u16(b, at + 2), offset: at, udpLength };
    if (layer.ports.dport === VXLAN_UDP_PORT && vxlan && !layer.fragment && frame) {
      const header = at + 8;
      const payloadEnd = at + udpLength;
      need(payloadEnd - header, 8, 'vxlan-truncated');
      if (((b[header] ?? 0) & 0x08) === 0) throw new ParseDrop('vxlan-bad-flags');
      const vni = (u16(b, header + 4) << 8) | (b[header + 6] ?? 0);
      const innerStart = header + 8;
      const placeholder: RefLayer = {
        start: innerStart,
        ethType: 0,
        vlans: [],
        ip: null,
        ports: null,
        icmp: null,
        fragment: false,
      };
      frame.vxlan = { vni, inner: placeholder, innerStart, innerEnd: payloadEnd };
      frame.vxlan.inner = parseLayerInto(b, innerStart, payloadEnd, frame.vxlan);
    }
  } else if ((proto === 1 && version === 4) || (proto === 58 && version === 6)) {
    need(available, 8, 'icmp-truncated');
    layer.icmp = { type: b[at] ?? 0, code: b[at + 1] ?? 0, offset: at };
  }
}

// Parses the inner frame while keeping the partial result visible on a drop.
function parseLayerInto(
  b: Uint8Array,
  start: number,
  end: number,
  holder: { inner: RefLayer },
): RefLayer {
  const layer = parseLayer(b, start, end, false, null);
  holder.inner = layer;
  return layer;
}

/** Parses a frame; throws ParseDrop with the reason when the frame is dropped. */
export function parseFrame(b: Uint8Array): RefFrame {
  const frame: RefFrame = {
    outer: { start: 0, ethType: 0, vlans: [], ip: null, ports: null, icmp: null, fragment: false },
    vxlan: null,
  };
  frame.outer = parseLayer(b, 0, b.length, true, frame);
  return frame;
}

function toParsedLayer(layer: RefLayer, base: number): ParsedLayer {
  return {
    complete: true,
    ethOffset: layer.start - base,
    ethType: layer.ethType,
    vlans: [...layer.vlans],
    ipVersion: layer.ip ? layer.ip.version : 0,
    l3Offset: layer.ip ? layer.ip.offset - base : null,
    proto: layer.ip ? layer.ip.proto : null,
    l4Offset: layer.ports
      ? layer.ports.offset - base
      : layer.icmp
        ? layer.icmp.offset - base
        : null,
    l4: layer.ports
      ? { sport: layer.ports.sport, dport: layer.ports.dport }
      : layer.icmp
        ? { type: layer.icmp.type, code: layer.icmp.code }
        : null,
  };
}

/**
 * Parse verdict in the shape the WebAssembly datapath reports. Layers are described only
 * for frames that parse; a dropped frame reports its reason and VNI.
 */
export function referenceParse(b: Uint8Array): ParseResult {
  const frame: RefFrame = {
    outer: { start: 0, ethType: 0, vlans: [], ip: null, ports: null, icmp: null, fragment: false },
    vxlan: null,
  };
  try {
    frame.outer = parseLayer(b, 0, b.length, true, frame);
  } catch (err) {
    if (!(err instanceof ParseDrop)) throw err;
    return {
      ok: false,
      drop: err.reason,
      fragment: false,
      vni: frame.vxlan?.vni ?? null,
      outer: toParsedLayer(frame.outer, 0),
      inner: null,
    };
  }
  return {
    ok: true,
    drop: null,
    fragment: frame.outer.fragment,
    vni: frame.vxlan?.vni ?? null,
    outer: toParsedLayer(frame.outer, 0),
    inner: frame.vxlan ? toParsedLayer(frame.vxlan.inner, 0) : null,
  };
}
