import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DatapathConfigError, readCapture, writePcap, writePcapng } from '@opi/datapath';
import { registerPcapCommands } from '../src/commands/pcap.js';

const dir = mkdtempSync(join(tmpdir(), 'opictl-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

// IPv4/UDP 10.0.0.1:1234 -> 10.0.0.2:53 with a valid header checksum, VLAN 42.
const udpVlan = hex(`020000000002 020000000001 8100 002a 0800
  4500 001c 1234 0000 4011 549b 0a000001 0a000002  04d2 0035 0008 0000`);
// Same UDP packet without the tag but with a broken IPv4 header checksum.
const badChecksum = hex(`020000000002 020000000001 0800
  4500 001c 1234 0000 4011 0000 0a000001 0a000002  04d2 0035 0008 0000`);

async function run(args: string[]): Promise<{ lines: string[] }> {
  const program = new Command('opictl').exitOverride();
  let out = '';
  registerPcapCommands(program, (text) => {
    out += text;
  });
  await program.parseAsync(['node', 'opictl', ...args]);
  return { lines: out.split('\n').filter((l) => l !== '') };
}

describe('opictl pcap parse', () => {
  it('prints one JSON object per frame across several files, pcap and pcapng', async () => {
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcapng');
    writeFileSync(a, writePcap([{ data: udpVlan }, { data: badChecksum }]));
    writeFileSync(b, writePcapng([{ data: udpVlan }]));
    const { lines } = await run(['pcap', 'parse', '--json', a, b]);
    const records = lines.map((l) => JSON.parse(l));
    expect(records).toHaveLength(3);
    expect(records[0]).toEqual({
      file: a,
      frame: 1,
      ok: true,
      drop: null,
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', type: 0x0800 },
      vlan: [42],
      ip: { v: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: 17 },
      l4: { sport: 1234, dport: 53 },
      vni: null,
      inner: null,
    });
    expect(records[1]).toMatchObject({
      file: a,
      frame: 2,
      ok: false,
      drop: 'ipv4-bad-checksum',
      vlan: [],
      ip: null,
    });
    expect(records[2]).toMatchObject({ file: b, frame: 1, ok: true, vlan: [42] });
  });

  it('reports missing, corrupt and non-Ethernet files as one error line each and goes on', async () => {
    const garbage = join(dir, 'garbage.pcap');
    writeFileSync(garbage, Buffer.from('this is not a capture at all'));
    const linux = join(dir, 'sll.pcap');
    writeFileSync(linux, writePcap([{ data: udpVlan }], 113));
    const good = join(dir, 'good.pcap');
    writeFileSync(good, writePcap([{ data: udpVlan }]));
    const { lines } = await run([
      'pcap',
      'parse',
      '--json',
      join(dir, 'missing.pcap'),
      garbage,
      linux,
      good,
    ]);
    const records = lines.map((l) => JSON.parse(l));
    expect(records.map((r) => [r.file, typeof r.error])).toEqual([
      [join(dir, 'missing.pcap'), 'string'],
      [garbage, 'string'],
      [linux, 'string'],
      [good, 'undefined'],
    ]);
    expect(records[2].error).toContain('link type 113');
  });

  it('prints readable text without --json', async () => {
    const a = join(dir, 'text.pcap');
    writeFileSync(a, writePcap([{ data: udpVlan }]));
    const { lines } = await run(['pcap', 'parse', a]);
    expect(lines).toEqual([
      `${a}#1 ok 02:00:00:00:00:01 > 02:00:00:00:00:02 type 0x0800, vlan 42, ipv4 10.0.0.1 > 10.0.0.2 proto 17, ports 1234 > 53`,
    ]);
  });

  it('fails with a usage error when no file is given', async () => {
    await expect(run(['pcap', 'parse', '--json'])).rejects.toBeInstanceOf(CommanderError);
  });
});

describe('opictl pcap run', () => {
  const config = join(dir, 'pipeline.yaml');
  writeFileSync(
    config,
    [
      'bridges: [{ id: 1 }]',
      'ports: [{ port: 0, bridge: 1 }, { port: 1, bridge: 1 }, { port: 9 }]',
      'tunnels:',
      '  - { id: 0, port: 100, bridge: 1, vni: 77, local: 192.0.2.1, remote: 192.0.2.2, localMac: "02:00:00:00:ff:01", remoteMac: "02:00:00:00:ff:02", underlayPort: 9 }',
      'macs: [{ bridge: 1, mac: "02:00:00:00:00:02", port: 100, static: true }]',
    ].join('\n'),
  );

  it('replays a capture, encapsulates towards the tunnel, writes the output and shows the trace', async () => {
    const input = join(dir, 'in.pcap');
    const out = join(dir, 'out.pcapng');
    writeFileSync(input, writePcap([{ data: hexUntagged() }, { data: badChecksum }]));
    const { lines } = await run([
      'pcap',
      'run',
      input,
      '--config',
      config,
      '--out',
      out,
      '--format',
      'pcapng',
      '--trace',
      '1',
    ]);
    expect(lines[0]).toBe('#1 in 0 forward -> port 9 92B');
    expect(lines[1]).toBe('#2 in 0 drop (ipv4-bad-checksum) 42B');
    expect(lines.slice(2)).toEqual([
      'trace packet 1 parse -> l2: ethertype 0x0800 proto 17',
      'trace packet 1 l2 -> vxlan-encap: bridge 1 dst port 100',
      'trace packet 1 vxlan-encap -> tx: tunnel 0 vni 77',
      'trace packet 1 tx: port 9',
    ]);
    const written = readCapture(readFileSync(out));
    expect(written.format).toBe('pcapng');
    expect(written.packets).toHaveLength(1);
    expect(written.packets[0]?.data.length).toBe(92);
  });

  it('rejects a bad --port as a usage error', async () => {
    await expect(
      run(['pcap', 'run', 'x.pcap', '--config', config, '--port', '300']),
    ).rejects.toBeInstanceOf(CommanderError);
  });

  it('rejects a configuration naming the offending field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'bridges: [{ id: 1 }]\nports: [{ port: 300, bridge: 1 }]\n');
    const input = join(dir, 'in2.pcap');
    writeFileSync(input, writePcap([{ data: badChecksum }]));
    await expect(run(['pcap', 'run', input, '--config', bad])).rejects.toThrow(DatapathConfigError);
    await expect(run(['pcap', 'run', input, '--config', bad])).rejects.toThrow(/^ports\.0\.port:/);
  });
});

function hexUntagged(): Uint8Array {
  // udpVlan without its 802.1Q tag.
  return Uint8Array.from([...udpVlan.slice(0, 12), ...udpVlan.slice(16)]);
}
