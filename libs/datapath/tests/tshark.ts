// Compares the datapath's frame records with tshark's dissection of the same capture.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePcap } from '../src/index.js';
import type { FrameRecord, LayerRecord } from '../src/index.js';

/** How `tsharkColumns` runs tshark. */
export interface TsharkOptions {
  /** Dissector preferences (`-o`), e.g. 'ipv6.defragment:FALSE'. */
  prefs?: readonly string[];
  /** Every occurrence of a field joined by '|' ('a', the default) or only the first ('f'). */
  occurrence?: 'a' | 'f';
}

/**
 * Runs `tshark -T fields` over the capture `file` and returns each frame's columns, one per
 * field (empty when absent; with occurrence 'a', several occurrences joined by '|').
 */
export function tsharkColumns(
  file: string,
  fields: readonly string[],
  opts: TsharkOptions = {},
): string[][] {
  const args = ['-r', file, '-n'];
  for (const p of opts.prefs ?? []) args.push('-o', p);
  args.push('-T', 'fields', '-E', 'separator=\t', '-E', `occurrence=${opts.occurrence ?? 'a'}`);
  args.push('-E', 'aggregator=|');
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** `tsharkColumns` over `frames`, written to a temporary capture that is removed after. */
export function tsharkFrameColumns(
  frames: readonly Uint8Array[],
  fields: readonly string[],
  opts: TsharkOptions = {},
): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'dp-tshark-'));
  try {
    const file = join(dir, 'frames.pcap');
    writeFileSync(file, writePcap(frames.map((data) => ({ data }))));
    return tsharkColumns(file, fields, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const FIELDS = [
  'frame.protocols',
  'eth.src',
  'eth.dst',
  'eth.type',
  'vlan.id',
  'ieee8021ad.id',
  'vlan.etype',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'ipv6.hopopts.nxt',
  'ipv6.dstopts.nxt',
  'ipv6.routing.nxt',
  'ipv6.fraghdr.nxt',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'icmp.type',
  'icmp.code',
  'icmpv6.type',
  'icmpv6.code',
  'vxlan.vni',
] as const;

type Field = (typeof FIELDS)[number];
export type TsharkFrame = Record<Field, string[]>;

/** Runs tshark over a capture and returns every field's occurrences per frame. */
export function tsharkFields(file: string): TsharkFrame[] {
  return tsharkColumns(file, FIELDS, {
    prefs: ['ip.defragment:FALSE', 'ipv6.defragment:FALSE'],
  })
    .filter((cols) => cols.join('').trim() !== '')
    .map((cols) => {
      const frame = {} as TsharkFrame;
      FIELDS.forEach((f, i) => {
        const c = cols[i] ?? '';
        frame[f] = c === '' ? [] : c.split('|');
      });
      return frame;
    });
}

const num = (s: string | undefined) =>
  s === undefined ? undefined : s.startsWith('0x') ? parseInt(s, 16) : Number(s);

/** Layer fields tshark reports, consumed per protocol in layer order (outer, then inner). */
type Index = {
  eth: number;
  vlan: number;
  sTag: number;
  v4: number;
  v6: number;
  tcp: number;
  udp: number;
  ext: Record<string, number>;
};

const EXT_FIELD: Record<string, Field> = {
  'ipv6.hopopts': 'ipv6.hopopts.nxt',
  'ipv6.dstopts': 'ipv6.dstopts.nxt',
  'ipv6.routing': 'ipv6.routing.nxt',
  'ipv6.fraghdr': 'ipv6.fraghdr.nxt',
};

// Final upper-layer protocol of IPv6 header number `which`: the next-header value of the last
// extension header that follows it in frame.protocols, or its own next header.
function ipv6FinalProto(t: TsharkFrame, which: number, index: Index): number | undefined {
  const layers = (t['frame.protocols'][0] ?? '').split(':');
  let seen = -1;
  let proto = num(t['ipv6.nxt'][which]);
  for (let i = 0; i < layers.length; i++) {
    if (layers[i] !== 'ipv6') continue;
    seen++;
    if (seen !== which) continue;
    for (let j = i + 1; j < layers.length; j++) {
      const field = EXT_FIELD[layers[j] ?? ''];
      if (!field) break;
      const k = index.ext[field] ?? 0;
      index.ext[field] = k + 1;
      proto = num(t[field][k]);
    }
    break;
  }
  return proto;
}

function expectedLayer(t: TsharkFrame, index: Index, ours: LayerRecord) {
  const eth = { src: t['eth.src'][index.eth], dst: t['eth.dst'][index.eth] };
  index.eth++;
  // tshark names an 802.1ad outer tag (QinQ S-tag) differently from 802.1Q tags.
  const vlan = ours.vlan.map((_, i) =>
    i === 0 && ours.vlan.length === 2 && t['ieee8021ad.id'][index.sTag] !== undefined
      ? num(t['ieee8021ad.id'][index.sTag++])
      : num(t['vlan.id'][index.vlan++]),
  );
  let ip: unknown = null;
  if (ours.ip?.v === 4) {
    const i = index.v4++;
    ip = { v: 4, src: t['ip.src'][i], dst: t['ip.dst'][i], proto: num(t['ip.proto'][i]) };
  } else if (ours.ip?.v === 6) {
    const i = index.v6++;
    ip = { v: 6, src: t['ipv6.src'][i], dst: t['ipv6.dst'][i], proto: ipv6FinalProto(t, i, index) };
  }
  let l4: unknown = null;
  if (ours.l4 && 'sport' in ours.l4) {
    const p = ours.ip?.proto === 6 ? 'tcp' : 'udp';
    const i = index[p]++;
    l4 = { sport: num(t[`${p}.srcport`][i]), dport: num(t[`${p}.dstport`][i]) };
  } else if (ours.l4 && 'type' in ours.l4) {
    const p = ours.ip?.v === 6 ? 'icmpv6' : 'icmp';
    l4 = { type: num(t[`${p}.type`][0]), code: num(t[`${p}.code`][0]) };
  }
  return { eth: { ...eth, type: ours.eth?.type }, vlan, ip, l4 };
}

/** What tshark says about the fields our record carries, in our record's shape. */
export function tsharkView(t: TsharkFrame, ours: FrameRecord) {
  const index: Index = { eth: 0, vlan: 0, sTag: 0, v4: 0, v6: 0, tcp: 0, udp: 0, ext: {} };
  const outer = expectedLayer(t, index, ours);
  const inner = ours.inner ? expectedLayer(t, index, ours.inner) : null;
  return { ...outer, vni: num(t['vxlan.vni'][0]) ?? null, inner };
}

/** Our record reduced to the fields compared with tshark. */
export function oursView(r: FrameRecord) {
  const layer = (l: LayerRecord) => ({ eth: l.eth, vlan: l.vlan, ip: l.ip, l4: l.l4 });
  return { ...layer(r), vni: r.vni, inner: r.inner ? layer(r.inner) : null };
}
