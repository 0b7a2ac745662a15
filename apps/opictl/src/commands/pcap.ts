import { Option, type Command } from 'commander';
import { parseCaptureFiles, runCaptureFile } from '@opi/datapath';

/**
 * `opictl pcap parse FILE... [--json]` and `opictl pcap run FILE --config CFG`: what the datapath's parser sees in each frame of each
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
  pcap
    .command('run')
    .description('replay a capture through a configured pipeline; print verdicts and traces')
    .argument('<file>', 'capture file (libpcap or pcapng)')
    .requiredOption(
      '--config <file>',
      'pipeline configuration (YAML or JSON: bridges, ports, tunnels, macs)',
    )
    .option('--port <n>', 'ingress port of every frame', '0')
    .option('--out <file>', 'write the frames that leave the pipeline to this capture')
    .addOption(
      new Option('--format <format>', 'output capture format')
        .choices(['pcap', 'pcapng'])
        .default('pcap'),
    )
    .option('--trace <n>', 'trace the first N packets through every stage', '0')
    .option('--json', 'one JSON object per line')
    .action(
      async (
        file: string,
        flags: {
          config: string;
          port: string;
          out?: string;
          format: 'pcap' | 'pcapng';
          trace: string;
          json?: boolean;
        },
      ) => {
        const lines: string[] = [];
        await runCaptureFile(
          {
            input: file,
            config: flags.config,
            port: Number(flags.port),
            output: flags.out,
            format: flags.format,
            trace: Number(flags.trace),
            json: flags.json === true,
          },
          (line) => lines.push(line),
        );
        if (lines.length > 0) write(lines.join('\n') + '\n');
      },
    );
}
