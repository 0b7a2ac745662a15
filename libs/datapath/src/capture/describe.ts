// What the datapath saw in a frame, as the records `opictl pcap parse` prints.
import { formatIp, formatMac } from '../net.js';
import type { ParsedLayer, ParseResult } from '../types.js';

/** The fields of one Ethernet layer in a frame record. */
export interface LayerRecord {
  eth: { src: string; dst: string; type: number } | null;
  vlan: number[];
  ip: { v: 4 | 6; src: string; dst: string; proto: number } | null;
  l4: { sport: number; dport: number } | { type: number; code: number } | null;
}

/** One frame record (`opictl pcap parse --json` prints one per line). */
export interface FrameRecord extends LayerRecord {
  file: string;
  /** 1-based frame number within the file. */
  frame: number;
  ok: boolean;
  drop: string | null;
  vni: number | null;
  inner: LayerRecord | null;
}

function describeLayer(frame: Uint8Array, layer: ParsedLayer): LayerRecord {
  const e = layer.ethOffset;
  const eth = layer.complete
    ? { src: formatMac(frame, e + 6), dst: formatMac(frame, e), type: layer.ethType }
    : null;
  let ip: LayerRecord['ip'] = null;
  if (layer.ipVersion !== 0 && layer.l3Offset !== null && layer.proto !== null) {
    const l3 = layer.l3Offset;
    const v = layer.ipVersion;
    ip =
      v === 4
        ? {
            v,
            src: formatIp(frame, l3 + 12, 4),
            dst: formatIp(frame, l3 + 16, 4),
            proto: layer.proto,
          }
        : {
            v,
            src: formatIp(frame, l3 + 8, 6),
            dst: formatIp(frame, l3 + 24, 6),
            proto: layer.proto,
          };
  }
  return {
    eth,
    vlan: layer.complete ? [...layer.vlans] : [],
    ip,
    l4: layer.l4 ? { ...layer.l4 } : null,
  };
}

/** Builds the record of frame number `index` (1-based) of `file`. */
export function describeFrame(
  file: string,
  index: number,
  frame: Uint8Array,
  parsed: ParseResult,
): FrameRecord {
  return {
    file,
    frame: index,
    ok: parsed.ok,
    drop: parsed.drop,
    ...describeLayer(frame, parsed.outer),
    vni: parsed.vni,
    inner: parsed.inner ? describeLayer(frame, parsed.inner) : null,
  };
}

function layerText(l: LayerRecord): string {
  const parts: string[] = [];
  if (l.eth)
    parts.push(`${l.eth.src} > ${l.eth.dst} type 0x${l.eth.type.toString(16).padStart(4, '0')}`);
  if (l.vlan.length > 0) parts.push(`vlan ${l.vlan.join('.')}`);
  if (l.ip) parts.push(`ipv${l.ip.v} ${l.ip.src} > ${l.ip.dst} proto ${l.ip.proto}`);
  if (l.l4 && 'sport' in l.l4) parts.push(`ports ${l.l4.sport} > ${l.l4.dport}`);
  if (l.l4 && 'type' in l.l4) parts.push(`icmp type ${l.l4.type} code ${l.l4.code}`);
  return parts.join(', ');
}

/** One human-readable line for a frame record. */
export function frameRecordText(r: FrameRecord): string {
  const head = `${r.file}#${r.frame} ${r.ok ? 'ok' : `drop(${r.drop})`}`;
  const vx =
    r.vni !== null ? ` | vxlan vni ${r.vni}${r.inner ? ` [${layerText(r.inner)}]` : ''}` : '';
  return `${head} ${layerText(r)}${vx}`;
}
