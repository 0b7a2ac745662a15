// Frame builders and random traffic for the datapath tests: well-formed frames with correct
// IPv4 header checksums, and adversarial mutations of them.

/** Small deterministic PRNG (mulberry32) so failures reproduce from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

export function mac(text: string): number[] {
  return text.split(':').map((x) => parseInt(x, 16));
}

export function ipv4(text: string): number[] {
  return text.split('.').map(Number);
}

export function ipv6(text: string): number[] {
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = text.includes('::')
    ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
    : h;
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];

function checksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface L4Spec {
  proto: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  payload?: number[];
}

export function l4Bytes(s: L4Spec, v6 = false): { proto: number; bytes: number[] } {
  const payload = s.payload ?? [];
  if (s.proto === 'tcp') {
    return {
      proto: 6,
      bytes: [
        ...be16(s.sport ?? 1234),
        ...be16(s.dport ?? 80),
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0x50,
        0x02,
        0xff,
        0xff,
        0,
        0,
        0,
        0,
        ...payload,
      ],
    };
  }
  if (s.proto === 'udp') {
    return {
      proto: 17,
      bytes: [
        ...be16(s.sport ?? 1234),
        ...be16(s.dport ?? 53),
        ...be16(8 + payload.length),
        0,
        0,
        ...payload,
      ],
    };
  }
  return { proto: v6 ? 58 : 1, bytes: [s.type ?? 8, s.code ?? 0, 0, 0, 0, 1, 0, 1, ...payload] };
}

export function ipv4Packet(
  src: string,
  dst: string,
  proto: number,
  payload: number[],
  opts: { options?: number[]; fragment?: number } = {},
): number[] {
  const options = opts.options ?? [];
  const ihl = 5 + options.length / 4;
  const total = ihl * 4 + payload.length;
  const header = [
    0x40 | ihl,
    0,
    ...be16(total),
    0x12,
    0x34,
    ...be16(opts.fragment ?? 0),
    64,
    proto,
    0,
    0,
    ...ipv4(src),
    ...ipv4(dst),
    ...options,
  ];
  const c = checksum(header);
  header[10] = c >> 8;
  header[11] = c & 0xff;
  return [...header, ...payload];
}

export function ipv6Packet(
  src: string,
  dst: string,
  nextHeader: number,
  payload: number[],
): number[] {
  return [
    0x60,
    0,
    0,
    0,
    ...be16(payload.length),
    nextHeader,
    64,
    ...ipv6(src),
    ...ipv6(dst),
    ...payload,
  ];
}

export function ethernet(
  dst: string,
  src: string,
  type: number,
  payload: number[],
  vlans: number[] = [],
): number[] {
  // QinQ: the outer tag uses the 802.1ad TPID, inner tags 802.1Q.
  const tags = vlans.flatMap((v, i) => [
    ...be16(i === 0 && vlans.length > 1 ? 0x88a8 : 0x8100),
    ...be16(v),
  ]);
  return [...mac(dst), ...mac(src), ...tags, ...be16(type), ...payload];
}

export interface FlowSpec {
  dstMac?: string;
  srcMac?: string;
  vlans?: number[];
  v6?: boolean;
  src?: string;
  dst?: string;
  l4?: L4Spec;
}

export function udpV4Frame(spec: FlowSpec = {}): Uint8Array {
  return flowFrame({ ...spec, v6: false, l4: spec.l4 ?? { proto: 'udp' } });
}

export function flowFrame(spec: FlowSpec = {}): Uint8Array {
  const l4 = l4Bytes(spec.l4 ?? { proto: 'udp' }, spec.v6);
  const dstMac = spec.dstMac ?? '02:00:00:00:00:02';
  const srcMac = spec.srcMac ?? '02:00:00:00:00:01';
  if (spec.v6) {
    const ip = ipv6Packet(spec.src ?? '2001:db8::1', spec.dst ?? '2001:db8::2', l4.proto, l4.bytes);
    return Uint8Array.from(ethernet(dstMac, srcMac, 0x86dd, ip, spec.vlans));
  }
  const ip = ipv4Packet(spec.src ?? '10.0.0.1', spec.dst ?? '10.0.0.2', l4.proto, l4.bytes);
  return Uint8Array.from(ethernet(dstMac, srcMac, 0x0800, ip, spec.vlans));
}

/** A VXLAN frame carrying `inner` over IPv4 or IPv6 from `src` to `dst`. */
export function vxlanFrame(
  inner: Uint8Array,
  vni: number,
  o: {
    v6?: boolean;
    src?: string;
    dst?: string;
    dstMac?: string;
    srcMac?: string;
    sport?: number;
  } = {},
): Uint8Array {
  const vx = [0x08, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0, ...inner];
  const udp = [...be16(o.sport ?? 50000), ...be16(4789), ...be16(8 + vx.length), 0, 0, ...vx];
  const dstMac = o.dstMac ?? '02:00:00:00:aa:01';
  const srcMac = o.srcMac ?? '02:00:00:00:aa:02';
  if (o.v6)
    return Uint8Array.from(
      ethernet(dstMac, srcMac, 0x86dd, ipv6Packet(o.src ?? 'fd00::2', o.dst ?? 'fd00::1', 17, udp)),
    );
  return Uint8Array.from(
    ethernet(
      dstMac,
      srcMac,
      0x0800,
      ipv4Packet(o.src ?? '192.168.0.2', o.dst ?? '192.168.0.1', 17, udp),
    ),
  );
}

/** A random well-formed frame from a wide mix of shapes. */
export function randomValidFrame(
  rand: () => number,
  macs: string[] = ['02:00:00:00:00:01', '02:00:00:00:00:02'],
): Uint8Array {
  const pick = <T>(xs: T[]): T => xs[randInt(rand, xs.length)] as T;
  const vlanCount = pick([0, 0, 0, 1, 2]);
  const vlans = Array.from({ length: vlanCount }, () => randInt(rand, 4096));
  const l4: L4Spec =
    pick<L4Spec['proto']>(['tcp', 'udp', 'icmp']) === 'tcp'
      ? { proto: 'tcp', sport: randInt(rand, 65536), dport: randInt(rand, 65536) }
      : rand() < 0.5
        ? {
            proto: 'udp',
            sport: randInt(rand, 65536),
            dport: randInt(rand, 4789),
            payload: Array.from({ length: randInt(rand, 40) }, () => randInt(rand, 256)),
          }
        : { proto: 'icmp', type: randInt(rand, 256), code: randInt(rand, 256) };
  const kind = randInt(rand, 10);
  const dstMac = rand() < 0.1 ? 'ff:ff:ff:ff:ff:ff' : pick(macs);
  const srcMac = pick(macs);
  if (kind === 0) {
    const arp = [
      0,
      1,
      8,
      0,
      6,
      4,
      0,
      1,
      ...mac(srcMac),
      10,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      10,
      0,
      0,
      2,
    ];
    return Uint8Array.from(ethernet(dstMac, srcMac, 0x0806, arp, vlans));
  }
  if (kind === 1) {
    const inner = flowFrame({ srcMac: pick(macs), dstMac: pick(macs), l4, v6: rand() < 0.5 });
    return vxlanFrame(inner, randInt(rand, 1 << 24), { v6: rand() < 0.5 });
  }
  if (kind === 2) {
    const ext = [17, 0, 1, 4, 0, 0, 0, 0];
    const l = l4Bytes({ proto: 'udp', sport: randInt(rand, 65536), dport: 53 }, true);
    return Uint8Array.from(
      ethernet(
        dstMac,
        srcMac,
        0x86dd,
        ipv6Packet('2001:db8::a', '2001:db8::b', 0, [...ext, ...l.bytes]),
        vlans,
      ),
    );
  }
  if (kind === 3) {
    const l = l4Bytes(l4);
    const opts = [1, 1, 7, 6, 0, 0, 0, 0]; // NOP NOP record-route(len 6)
    return Uint8Array.from(
      ethernet(
        dstMac,
        srcMac,
        0x0800,
        ipv4Packet('10.1.1.1', '10.2.2.2', l.proto, l.bytes, { options: opts }),
        vlans,
      ),
    );
  }
  const v6 = rand() < 0.3;
  const src = v6
    ? `2001:db8::${randInt(rand, 65536).toString(16)}`
    : `10.0.${randInt(rand, 4)}.${randInt(rand, 256)}`;
  return flowFrame({ srcMac, dstMac, vlans, v6, l4, src });
}

/** Mutates a frame: bit flips, byte stores, truncation, extension or a random replacement. */
export function mutateFrame(rand: () => number, frame: Uint8Array): Uint8Array {
  const choice = randInt(rand, 6);
  if (choice === 0) return frame.slice(0, randInt(rand, frame.length + 1));
  if (choice === 1) {
    const extra = Array.from({ length: randInt(rand, 64) }, () => randInt(rand, 256));
    return Uint8Array.from([...frame, ...extra]);
  }
  if (choice === 2)
    return Uint8Array.from({ length: randInt(rand, 200) }, () => randInt(rand, 256));
  const out = frame.slice();
  const flips = 1 + randInt(rand, 4);
  for (let i = 0; i < flips && out.length > 0; i++) {
    const at = randInt(rand, out.length);
    if (choice === 3) out[at] = (out[at] ?? 0) ^ (1 << randInt(rand, 8));
    else if (choice === 4) out[at] = randInt(rand, 256);
    else out[at] = rand() < 0.5 ? 0 : 0xff;
  }
  return out;
}

/** Solicited-node multicast group (RFC 4291 2.7.1) of an IPv6 address, as text. */
export function solicitedNode(target: string): string {
  const t = ipv6(target);
  const h = (a: number, b: number) => ((a << 8) | b).toString(16);
  return `ff02::1:ff${(t[13] ?? 0).toString(16).padStart(2, '0')}:${h(t[14] ?? 0, t[15] ?? 0)}`;
}

/** Options of `neighborSolicitation`; the defaults make a valid NS. */
export interface NsSpec {
  target: string;
  /** Default fe80::1. */
  src?: string;
  /** Default: the target's solicited-node group. */
  dst?: string;
  /** Default 02:00:00:00:00:01. */
  srcMac?: string;
  /** Ethernet destination when `dst` is unicast (default 02:00:00:00:00:fe). */
  dstMac?: string;
  hopLimit?: number;
  /** ICMPv6 type (default 135: another ND message built the same way). */
  type?: number;
  code?: number;
  badChecksum?: boolean;
  /** Source link-layer address option (default: with one unless src is ::). */
  slla?: boolean;
  /** A zero-length option (invalid). */
  zeroOption?: boolean;
  /** Raw option bytes appended after the others. */
  options?: number[];
  /** Cuts the ICMPv6 message to this many bytes (checksum computed over what remains). */
  truncateTo?: number;
  vlans?: number[];
}

/** An ICMPv6 Neighbor Solicitation (RFC 4861 4.3), checksum correct unless `badChecksum`. */
export function neighborSolicitation(s: NsSpec): Uint8Array {
  const srcMac = s.srcMac ?? '02:00:00:00:00:01';
  const src = ipv6(s.src ?? 'fe80::1');
  const dst = ipv6(s.dst ?? solicitedNode(s.target));
  const slla = s.slla ?? s.src !== '::';
  let msg = [s.type ?? 135, s.code ?? 0, 0, 0, 0, 0, 0, 0, ...ipv6(s.target)];
  if (slla) msg.push(1, 1, ...mac(srcMac));
  if (s.zeroOption) msg.push(1, 0, 0, 0, 0, 0, 0, 0);
  msg.push(...(s.options ?? []));
  if (s.truncateTo !== undefined) msg = msg.slice(0, s.truncateTo);
  const sum = checksum([...src, ...dst, 0, 0, ...be16(msg.length), 0, 0, 0, 58, ...msg]);
  const c = sum ^ (s.badChecksum ? 0x0101 : 0);
  msg[2] = c >> 8;
  msg[3] = c & 0xff;
  const packet = [
    0x60,
    0,
    0,
    0,
    ...be16(msg.length),
    58,
    s.hopLimit ?? 255,
    ...src,
    ...dst,
    ...msg,
  ];
  const dstMac =
    dst[0] === 0xff
      ? `33:33:${dst
          .slice(12)
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(':')}`
      : (s.dstMac ?? '02:00:00:00:00:fe');
  return Uint8Array.from(ethernet(dstMac, srcMac, 0x86dd, packet, s.vlans));
}
