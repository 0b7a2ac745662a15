// Capture files: libpcap (microsecond and nanosecond, either byte order) and pcapng (SHB,
// IDB, EPB, SPB, obsolete PB; several sections and interfaces), read whole and synchronously,
// with every length checked before use. Writing produces classic libpcap or pcapng.
import { CaptureFormatError } from '../errors.js';

/** Link type of Ethernet captures (LINKTYPE_ETHERNET). */
export const LINKTYPE_ETHERNET = 1;
/** Largest packet accepted in a capture (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_CAPTURED_LENGTH = 262144;

/** One captured packet. */
export interface CapturedPacket {
  data: Uint8Array;
  /** Length on the wire (may exceed data.length when the capture was truncated). */
  originalLength: number;
  /** Capture time in seconds since the epoch (fractional, best effort). */
  timestamp: number;
  /** Link type of the interface the packet was captured on. */
  linkType: number;
}

/** A capture file's contents. */
export interface Capture {
  format: 'pcap' | 'pcapng';
  packets: CapturedPacket[];
  /** Set when the file ends in a corrupt or truncated record after `packets`. */
  error: string | null;
}

function readPcap(b: Buffer): Capture {
  const magicLe = b.readUInt32LE(0);
  const magicBe = b.readUInt32BE(0);
  const little = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
  const nano = (little ? magicLe : magicBe) === 0xa1b23c4d;
  if (b.length < 24) throw new CaptureFormatError('truncated pcap file header');
  const u32 = (at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const linkType = u32(20) & 0x0fffffff;
  const packets: CapturedPacket[] = [];
  let at = 24;
  while (at < b.length) {
    if (b.length - at < 16)
      return { format: 'pcap', packets, error: `truncated record header at byte ${at}` };
    const sec = u32(at);
    const frac = u32(at + 4);
    const caplen = u32(at + 8);
    const origlen = u32(at + 12);
    if (caplen > MAX_CAPTURED_LENGTH)
      return { format: 'pcap', packets, error: `record at byte ${at} claims ${caplen} bytes` };
    if (b.length - at - 16 < caplen)
      return { format: 'pcap', packets, error: `truncated record at byte ${at}` };
    packets.push({
      data: new Uint8Array(b.subarray(at + 16, at + 16 + caplen)),
      originalLength: origlen,
      timestamp: sec + frac / (nano ? 1e9 : 1e6),
      linkType,
    });
    at += 16 + caplen;
  }
  return { format: 'pcap', packets, error: null };
}

interface PcapngInterface {
  linkType: number;
  /** Timestamp units per second. */
  resolution: number;
}

function interfaceResolution(b: Buffer, start: number, end: number, little: boolean): number {
  let at = start;
  while (end - at >= 4) {
    const code = little ? b.readUInt16LE(at) : b.readUInt16BE(at);
    const len = little ? b.readUInt16LE(at + 2) : b.readUInt16BE(at + 2);
    if (code === 0 || end - at - 4 < len) break;
    if (code === 9 && len >= 1) {
      const v = b.readUInt8(at + 4);
      const exp = v & 0x7f;
      // Resolutions beyond 2^-63 or 10^-18 are not meaningful; fall back to microseconds.
      if ((v & 0x80) !== 0) return exp <= 63 ? 2 ** exp : 1e6;
      return exp <= 18 ? 10 ** exp : 1e6;
    }
    at += 4 + ((len + 3) & ~3);
  }
  return 1e6;
}

function readPcapng(b: Buffer): Capture {
  const packets: CapturedPacket[] = [];
  let little = true;
  let interfaces: PcapngInterface[] = [];
  let at = 0;
  const fail = (error: string): Capture => {
    if (packets.length === 0 && at === 0) throw new CaptureFormatError(error);
    return { format: 'pcapng', packets, error };
  };
  while (at < b.length) {
    if (b.length - at < 12) return fail(`truncated block header at byte ${at}`);
    const type = little ? b.readUInt32LE(at) : b.readUInt32BE(at);
    if (type === 0x0a0d0d0a) {
      const bom = b.readUInt32LE(at + 8);
      if (bom === 0x1a2b3c4d) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else return fail(`bad byte-order magic at byte ${at}`);
      interfaces = [];
    }
    const u32 = (p: number) => (little ? b.readUInt32LE(p) : b.readUInt32BE(p));
    const total = u32(at + 4);
    if (total < 12 || total % 4 !== 0) return fail(`bad block length ${total} at byte ${at}`);
    if (b.length - at < total) return fail(`truncated block at byte ${at}`);
    if (u32(at + total - 4) !== total) return fail(`block length trailer mismatch at byte ${at}`);
    const body = at + 8;
    const bodyEnd = at + total - 4;
    if (type === 1) {
      if (bodyEnd - body < 8) return fail(`truncated interface block at byte ${at}`);
      const linkType = little ? b.readUInt16LE(body) : b.readUInt16BE(body);
      interfaces.push({ linkType, resolution: interfaceResolution(b, body + 8, bodyEnd, little) });
    } else if (type === 6 || type === 2) {
      if (bodyEnd - body < 20) return fail(`truncated packet block at byte ${at}`);
      const ifIndex = type === 6 ? u32(body) : little ? b.readUInt16LE(body) : b.readUInt16BE(body);
      const iface = interfaces[ifIndex];
      if (!iface) return fail(`packet block at byte ${at} names unknown interface ${ifIndex}`);
      const tsHigh = u32(body + 4);
      const tsLow = u32(body + 8);
      const caplen = u32(body + 12);
      const origlen = u32(body + 16);
      if (caplen > MAX_CAPTURED_LENGTH || bodyEnd - body - 20 < caplen) {
        return fail(`packet block at byte ${at} claims ${caplen} bytes`);
      }
      packets.push({
        data: new Uint8Array(b.subarray(body + 20, body + 20 + caplen)),
        originalLength: origlen,
        timestamp: (tsHigh * 2 ** 32 + tsLow) / iface.resolution,
        linkType: iface.linkType,
      });
    } else if (type === 3) {
      const iface = interfaces[0];
      if (!iface) return fail(`simple packet block at byte ${at} without an interface`);
      if (bodyEnd - body < 4) return fail(`truncated simple packet block at byte ${at}`);
      const origlen = u32(body);
      const caplen = Math.min(origlen, bodyEnd - body - 4, MAX_CAPTURED_LENGTH);
      packets.push({
        data: new Uint8Array(b.subarray(body + 4, body + 4 + caplen)),
        originalLength: origlen,
        timestamp: 0,
        linkType: iface.linkType,
      });
    }
    at += total;
  }
  return { format: 'pcapng', packets, error: null };
}

/**
 * Reads a libpcap or pcapng capture from memory. Throws CaptureFormatError when the file is
 * not a capture at all; a capture that breaks off later returns the packets before the break
 * and the reason in `error`.
 */
export function readCapture(bytes: Uint8Array): Capture {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4) throw new CaptureFormatError('file too short to be a capture');
  const magic = b.readUInt32LE(0);
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(magic)) return readPcap(b);
  if (magic === 0x0a0d0d0a) return readPcapng(b);
  throw new CaptureFormatError('not a pcap or pcapng file (unknown magic number)');
}

/** A packet to write. */
export interface PacketToWrite {
  data: Uint8Array;
  /** Seconds since the epoch; default 0. */
  timestamp?: number;
  originalLength?: number;
}

/** Writes a libpcap file (microsecond timestamps, little-endian). */
export function writePcap(packets: PacketToWrite[], linkType = LINKTYPE_ETHERNET): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(MAX_CAPTURED_LENGTH, 16);
  out.writeUInt32LE(linkType, 20);
  let at = 24;
  for (const p of packets) {
    const ts = p.timestamp ?? 0;
    const sec = Math.floor(ts);
    out.writeUInt32LE(sec >>> 0, at);
    out.writeUInt32LE(Math.min(999999, Math.round((ts - sec) * 1e6)), at + 4);
    out.writeUInt32LE(p.data.length, at + 8);
    out.writeUInt32LE(p.originalLength ?? p.data.length, at + 12);
    out.set(p.data, at + 16);
    at += 16 + p.data.length;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Writes a pcapng file: one section, one interface, enhanced packet blocks (microseconds). */
export function writePcapng(packets: PacketToWrite[], linkType = LINKTYPE_ETHERNET): Uint8Array {
  const blocks: Buffer[] = [];
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12);
  shb.writeUInt16LE(0, 14);
  shb.writeBigInt64LE(-1n, 16);
  shb.writeUInt32LE(28, 24);
  blocks.push(shb);
  const idb = Buffer.alloc(20);
  idb.writeUInt32LE(1, 0);
  idb.writeUInt32LE(20, 4);
  idb.writeUInt16LE(linkType, 8);
  idb.writeUInt32LE(MAX_CAPTURED_LENGTH, 12);
  idb.writeUInt32LE(20, 16);
  blocks.push(idb);
  for (const p of packets) {
    const padded = (p.data.length + 3) & ~3;
    const total = 32 + padded;
    const epb = Buffer.alloc(total);
    const micros = BigInt(Math.round((p.timestamp ?? 0) * 1e6));
    epb.writeUInt32LE(6, 0);
    epb.writeUInt32LE(total, 4);
    epb.writeUInt32LE(0, 8);
    epb.writeUInt32LE(Number(micros >> 32n), 12);
    epb.writeUInt32LE(Number(micros & 0xffffffffn), 16);
    epb.writeUInt32LE(p.data.length, 20);
    epb.writeUInt32LE(p.originalLength ?? p.data.length, 24);
    epb.set(p.data, 28);
    epb.writeUInt32LE(total, total - 4);
    blocks.push(epb);
  }
  const out = Buffer.concat(blocks);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
