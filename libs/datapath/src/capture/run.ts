// pcap in, pipeline, pcap out: replays a capture through a configured datapath and writes
// the frames that leave it (forwarded, flooded and flood copies into tunnels), in order, as a
// new capture.
import type { Datapath } from '../datapath.js';
import type { PacketResult } from '../types.js';
import { LINKTYPE_ETHERNET, readCapture, writePcap, writePcapng } from './pcap.js';
import { CaptureFormatError } from '../errors.js';

/** Options of runCaptureThroughPipeline. */
export interface RunCaptureOptions {
  /** Ingress port of every frame. */
  port: number;
  /** Pipeline time for the whole capture in ms (default 0). */
  nowMs?: number;
  /** Output file format (default pcap). */
  format?: 'pcap' | 'pcapng';
}

/** Replays `capture` (file bytes) through `dp`; returns the results and the output capture. */
export function runCaptureThroughPipeline(
  dp: Datapath,
  capture: Uint8Array,
  opts: RunCaptureOptions,
): { results: PacketResult[]; output: Uint8Array } {
  const parsed = readCapture(capture);
  if (parsed.error) throw new CaptureFormatError(parsed.error);
  if (parsed.packets.some((p) => p.linkType !== LINKTYPE_ETHERNET))
    throw new CaptureFormatError('not an Ethernet capture');
  const results = dp.process(
    parsed.packets.map((p) => ({ data: p.data, port: opts.port })),
    opts.nowMs ?? 0,
  );
  const leaving = results.flatMap((r, i) => {
    const timestamp = parsed.packets[i]?.timestamp ?? 0;
    const own =
      r.verdict === 'forward' || r.verdict === 'flood' ? [{ data: r.frame, timestamp }] : [];
    return [...own, ...r.floodCopies.map((c) => ({ data: c.frame, timestamp }))];
  });
  const output = opts.format === 'pcapng' ? writePcapng(leaving) : writePcap(leaving);
  return { results, output };
}
