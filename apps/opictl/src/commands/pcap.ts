import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseCaptureFiles, runCaptureFile } from '@opi/datapath';

/**
 * registerPcapCommands adds `opictl pcap parse FILE... [--json]` (what the datapath's parser
 * sees in each frame of each capture; bad files and malformed frames are data, exit 0, only
 * usage errors fail) and `opictl pcap run FILE --config CFG` (replay through a configured
 * pipeline). `write` receives the output text (default: stdout).
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
    .option('--port <n>', 'ingress port of every frame (0-255)', intOption(0, 255), 0)
    .option('--out <file>', 'write the frames that leave the pipeline to this capture')
    .addOption(
      new Option('--format <format>', 'output capture format')
        .choices(['pcap', 'pcapng'])
        .default('pcap'),
    )
    .option(
      '--trace <n>',
      'trace the first N packets through every stage',
      intOption(0, 1 << 20),
      0,
    )
    .option('--json', 'one JSON object per line')
    .action(
      async (
        file: string,
        flags: {
          config: string;
          port: number;
          out?: string;
          format: 'pcap' | 'pcapng';
          trace: number;
          json?: boolean;
        },
      ) => {
        const lines: string[] = [];
        await runCaptureFile(
          {
            input: file,
            config: flags.config,
            port: flags.port,
            output: flags.out,
            format: flags.format,
            trace: flags.trace,
            json: flags.json === true,
          },
          (line) => lines.push(line),
        );
        if (lines.length > 0) write(lines.join('\n') + '\n');
      },
    );
}

function intOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}
