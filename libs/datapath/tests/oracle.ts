// Deliberately naive test oracle: decodes well-formed frames field by field at fixed offsets,
// with none of the datapath's validation. Only meaningful for frames built to be valid.

export interface OracleLayer {
  dst: string;
  src: string;
  type: number;
  vlans: number[];
  ip: { v: 4 | 6; src: string; dst: string; proto: number } | null;
  ports: [number, number] | null;
  icmp: [number, number] | null;
}

export interface OracleFrame extends OracleLayer {
  vni: number | null;
  inner: OracleLayer | null;
}

const hex = (b: number) => b.toString(16).padStart(2, '0');
const macAt = (f: Uint8Array, i: number) => Array.from(f.slice(i, i + 6), hex).join(':');
const word = (f: Uint8Array, i: number) => (f[i] as number) * 256 + (f[i + 1] as number);

function v6Text(f: Uint8Array, i: number): string {
  const groups: string[] = [];
  for (let k = 0; k < 8; k++) groups.push(word(f, i + 2 * k).toString(16));
  // Compress the longest run of two or more zero groups (first one wins on ties).
  let best = -1;
  let bestLen = 0;
  for (let k = 0; k < 8;) {
    if (groups[k] !== '0') {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && groups[e] === '0') e++;
    if (e - k > bestLen && e - k >= 2) {
      best = k;
      bestLen = e - k;
    }
    k = e;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function layer(f: Uint8Array, at: number, withVxlan: boolean): OracleFrame {
  const out: OracleFrame = {
    dst: macAt(f, at),
    src: macAt(f, at + 6),
    type: word(f, at + 12),
    vlans: [],
    ip: null,
    ports: null,
    icmp: null,
    vni: null,
    inner: null,
  };
  let i = at + 14;
  while (out.type === 0x8100 || out.type === 0x88a8) {
    out.vlans.push(word(f, i) & 0xfff);
    out.type = word(f, i + 2);
    i += 4;
  }
  let l4 = -1;
  let proto = -1;
  let laterFragment = false;
  if (out.type === 0x0800) {
    proto = f[i + 9] as number;
    out.ip = {
      v: 4,
      src: Array.from(f.slice(i + 12, i + 16)).join('.'),
      dst: Array.from(f.slice(i + 16, i + 20)).join('.'),
      proto,
    };
    laterFragment = (word(f, i + 6) & 0x1fff) !== 0;
    l4 = i + ((f[i] as number) & 15) * 4;
  } else if (out.type === 0x86dd) {
    proto = f[i + 6] as number;
    l4 = i + 40;
    while ([0, 43, 60, 44].includes(proto)) {
      if (proto === 44 && (word(f, l4 + 2) & 0xfff8) !== 0) laterFragment = true;
      const len = proto === 44 ? 8 : ((f[l4 + 1] as number) + 1) * 8;
      proto = f[l4] as number;
      l4 += len;
    }
    out.ip = { v: 6, src: v6Text(f, i + 8), dst: v6Text(f, i + 24), proto };
  }
  if (l4 >= 0 && !laterFragment) {
    if (proto === 6 || proto === 17) out.ports = [word(f, l4), word(f, l4 + 2)];
    if ((proto === 1 && out.ip?.v === 4) || (proto === 58 && out.ip?.v === 6))
      out.icmp = [f[l4] as number, f[l4 + 1] as number];
    if (proto === 17 && withVxlan && out.ports?.[1] === 4789) {
      out.vni =
        ((f[l4 + 12] as number) << 16) | ((f[l4 + 13] as number) << 8) | (f[l4 + 14] as number);
      out.inner = layer(f, l4 + 16, false);
    }
  }
  return out;
}

/** Decodes a well-formed frame. */
export function oracleDecode(frame: Uint8Array): OracleFrame {
  return layer(frame, 0, true);
}
