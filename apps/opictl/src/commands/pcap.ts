import type { Command } from 'commander';
import { parseCaptureFiles } from '@opi/datapath';

/**
 * `opictl pcap parse FILE... [--json]`: what the datapath's parser sees in each frame of each
 * capture. Bad files and malformed frames are reported as data (exit 0); only usage errors
 * fail. `write` receives the output text (default: stdout).
 */
export function registerPcapCommands(
  program: Command,
  write: (text: string) => void = (text) => process.stdout.write(text),
): void {
  const pcap = program.command('pcap').description('inspect packet captures with the datapath');
  pcap
    .command('parse')
    .description('print, per frame, what the datapath parser sees (libpcap and pcapng)')
    .argument('<files...>', 'capture files')
    .option('--json', 'one JSON object per frame (and per bad file) per line')
    .action(async (files: string[], flags: { json?: boolean }) => {
      let pending: string[] = [];
      const flush = () => {
        if (pending.length > 0) write(pending.join('\n') + '\n');
        pending = [];
      };
      await parseCaptureFiles(files, { json: flags.json === true }, (line) => {
        pending.push(line);
        if (pending.length >= 1024) flush();
      });
      flush();
    });
}
