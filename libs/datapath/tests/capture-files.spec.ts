import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCaptureFiles, readCapture, writePcap, writePcapng } from '../src/index.js';
import { prng, randInt, randomValidFrame } from './frames.js';

const dir = mkdtempSync(join(tmpdir(), 'dp-capfiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('capture files', () => {
  it('round-trips packets and timestamps through pcap and pcapng, and reads big-endian and nanosecond pcap', () => {
    const rand = prng(3);
    const packets = Array.from({ length: 50 }, (_, i) => ({
      data: randomValidFrame(rand),
      timestamp: 1_700_000_000 + i / 8,
    }));
    for (const bytes of [writePcap(packets), writePcapng(packets)]) {
      const c = readCapture(bytes);
      expect(c.error).toBeNull();
      expect(c.packets.map((p) => Buffer.from(p.data).toString('hex'))).toEqual(
        packets.map((p) => Buffer.from(p.data).toString('hex')),
      );
      expect(c.packets.map((p) => p.timestamp)).toEqual(packets.map((p) => p.timestamp));
    }
    // Big-endian, nanosecond-resolution libpcap file with one 14-byte frame.
    const be = Buffer.alloc(24 + 16 + 14);
    be.writeUInt32BE(0xa1b23c4d, 0);
    be.writeUInt16BE(2, 4);
    be.writeUInt16BE(4, 6);
    be.writeUInt32BE(65535, 16);
    be.writeUInt32BE(1, 20);
    be.writeUInt32BE(10, 24);
    be.writeUInt32BE(500_000_000, 28);
    be.writeUInt32BE(14, 32);
    be.writeUInt32BE(14, 36);
    const c = readCapture(be);
    expect(c.format).toBe('pcap');
    expect(c.packets[0]?.timestamp).toBe(10.5);
    expect(c.packets[0]?.data.length).toBe(14);
  });

  it('survives 3000 corrupted capture files: every file yields frames and/or one error line, nothing throws', async () => {
    const rand = prng(11);
    const good = [
      writePcap(Array.from({ length: 8 }, () => ({ data: randomValidFrame(rand) }))),
      writePcapng(Array.from({ length: 8 }, () => ({ data: randomValidFrame(rand) }))),
    ];
    const files: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const base = Buffer.from(good[i % 2] as Uint8Array);
      let bytes: Buffer;
      const kind = randInt(rand, 4);
      if (kind === 0) bytes = base.subarray(0, randInt(rand, base.length));
      else if (kind === 1)
        bytes = Buffer.from(Array.from({ length: randInt(rand, 200) }, () => randInt(rand, 256)));
      else {
        bytes = Buffer.from(base);
        for (let k = 0; k < 1 + randInt(rand, 6); k++) {
          const at =
            kind === 2 ? randInt(rand, Math.min(bytes.length, 64)) : randInt(rand, bytes.length);
          bytes[at] = randInt(rand, 256);
        }
      }
      const f = join(dir, `c${i}.cap`);
      writeFileSync(f, bytes);
      files.push(f);
    }
    files.push('/dev/zero', dir);
    const lines: string[] = [];
    const summary = await parseCaptureFiles(files, { json: true }, (l) => lines.push(l));
    expect(lines.filter((l) => l.includes('"file":"/dev/zero"'))).toEqual([
      JSON.stringify({ file: '/dev/zero', error: 'not a regular file' }),
    ]);
    const records = lines.map(
      (l) => JSON.parse(l) as { file: string; error?: string; frame?: number },
    );
    for (const f of files) {
      const mine = records.filter((r) => r.file === f);
      expect(mine.filter((r) => r.error !== undefined).length, f).toBeLessThanOrEqual(1);
      if (mine.length === 0) {
        // Only a well-formed capture without packets may print nothing.
        const c = readCapture(readFileSync(f));
        expect([c.error, c.packets.length], f).toEqual([null, 0]);
      }
    }
    expect(summary.fileErrors).toBeGreaterThan(1000);
    expect(summary.frames).toBeGreaterThan(1000);
  });
});
