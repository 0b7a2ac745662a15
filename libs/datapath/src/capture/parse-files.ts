// `opictl pcap parse`: reads captures one after another and reports, per frame, what the
// datapath's parse stage sees. Bad files and malformed frames are data, never exceptions.
import { readFile, stat } from 'node:fs/promises';
import { createDatapath, type Datapath } from '../datapath.js';
import { CaptureFormatError } from '../errors.js';
import { describeFrame, frameRecordText } from './describe.js';
import { LINKTYPE_ETHERNET, MAX_CAPTURED_LENGTH, readCapture } from './pcap.js';

/** Options of parseCaptureFiles. */
export interface ParseCaptureOptions {
  /** One JSON object per line instead of text. */
  json?: boolean;
}

/** Totals of one parseCaptureFiles run. */
export interface ParseCaptureSummary {
  files: number;
  frames: number;
  dropped: number;
  fileErrors: number;
}

const BATCH = 64;

let shared: Datapath | undefined;
function parser(): Datapath {
  shared ??= createDatapath({
    batchSize: BATCH,
    frameCapacity: MAX_CAPTURED_LENGTH,
    macBucketsLog2: 0,
  });
  return shared;
}

/**
 * Parses every capture in `files` with the datapath's parse stage, calling `write` once per
 * output line (without newline). Unreadable, corrupt or non-Ethernet files produce a
 * `{file, error}` line and the run goes on.
 */
export async function parseCaptureFiles(
  files: string[],
  opts: ParseCaptureOptions,
  write: (line: string) => void,
): Promise<ParseCaptureSummary> {
  const summary: ParseCaptureSummary = {
    files: files.length,
    frames: 0,
    dropped: 0,
    fileErrors: 0,
  };
  const fileError = (file: string, error: string) => {
    summary.fileErrors++;
    write(opts.json ? JSON.stringify({ file, error }) : `${file}: error: ${error}`);
  };
  for (const file of files) {
    let bytes: Buffer;
    try {
      // FIFOs and devices (/dev/zero) could block or never end: read regular files only.
      if (!(await stat(file)).isFile()) {
        fileError(file, 'not a regular file');
        continue;
      }
      bytes = await readFile(file);
    } catch (err) {
      fileError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      continue;
    }
    let capture;
    try {
      capture = readCapture(bytes);
    } catch (err) {
      if (err instanceof CaptureFormatError) {
        fileError(file, err.message);
        continue;
      }
      throw err;
    }
    const other = capture.packets.find((p) => p.linkType !== LINKTYPE_ETHERNET);
    if (other) {
      fileError(file, `unsupported link type ${other.linkType} (only Ethernet, 1)`);
      continue;
    }
    const dp = parser();
    for (let start = 0; start < capture.packets.length; start += BATCH) {
      const batch = capture.packets.slice(start, start + BATCH).map((p) => p.data);
      const results = dp.parse(batch);
      results.forEach((parsed, i) => {
        const record = describeFrame(file, start + i + 1, batch[i] as Uint8Array, parsed);
        summary.frames++;
        if (!record.ok) summary.dropped++;
        write(opts.json ? JSON.stringify(record) : frameRecordText(record));
      });
    }
    if (capture.error)
      fileError(file, `corrupt capture after frame ${capture.packets.length}: ${capture.error}`);
  }
  return summary;
}
