// `opictl pcap run`: replays a capture through a configured pipeline, prints each packet's
// verdict (and the trace of the first N packets) and optionally writes the frames that leave.
import { readFile, writeFile } from 'node:fs/promises';
import { createDatapath } from '../datapath.js';
import { MAX_CAPTURED_LENGTH } from './pcap.js';
import { applyPipelineConfig, parsePipelineConfig } from './pipeline-config.js';
import { runCaptureThroughPipeline } from './run.js';

/** Options of runCaptureFile. */
export interface RunCaptureFileOptions {
  /** Capture to replay. */
  input: string;
  /** Pipeline configuration file (YAML or JSON). */
  config: string;
  /** Ingress port of every frame. */
  port: number;
  /** Where to write the frames that leave the pipeline. */
  output?: string;
  format?: 'pcap' | 'pcapng';
  /** Trace the first N packets. */
  trace?: number;
  json?: boolean;
}

/** Replays one capture; throws DatapathConfigError / CaptureFormatError on bad input. */
export async function runCaptureFile(
  opts: RunCaptureFileOptions,
  write: (line: string) => void,
): Promise<void> {
  const config = parsePipelineConfig(await readFile(opts.config, 'utf8'));
  const dp = createDatapath({ frameCapacity: MAX_CAPTURED_LENGTH, batchSize: 64 });
  applyPipelineConfig(dp, config);
  if (opts.trace) dp.startTrace(opts.trace);
  const { results, output } = runCaptureThroughPipeline(dp, await readFile(opts.input), {
    port: opts.port,
    format: opts.format,
  });
  results.forEach((r, i) => {
    const record = {
      frame: i + 1,
      verdict: r.verdict,
      drop: r.drop,
      inPort: r.inPort,
      outPort: r.outPort,
      floodPorts: r.floodPorts,
      length: r.frame.length,
    };
    if (opts.json) write(JSON.stringify(record));
    else {
      const where =
        r.verdict === 'forward'
          ? ` -> port ${r.outPort}`
          : r.verdict === 'flood'
            ? ` -> ports ${r.floodPorts.join(',')}${r.floodCopies.length ? ` + tunnels ${r.floodCopies.map((c) => c.port).join(',')}` : ''}`
            : r.drop
              ? ` (${r.drop})`
              : '';
      write(`#${i + 1} in ${r.inPort} ${r.verdict}${where} ${r.frame.length}B`);
    }
  });
  for (const t of dp.readTrace()) {
    if (opts.json) write(JSON.stringify({ trace: t }));
    else write(`trace packet ${t.packet} ${t.stage}${t.next ? ` -> ${t.next}` : ''}: ${t.detail}`);
  }
  if (opts.output) await writeFile(opts.output, output);
}
