// Runs iproute2 (`ip`, `bridge`) in one network namespace via execFile, never through a shell.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { DeviceError } from '@opi/hal';

const execFileAsync = promisify(execFile);

/** IpRouteTool is an iproute2 program. */
export type IpRouteTool = 'ip' | 'bridge';

/** IpRoute runs iproute2 commands in a network namespace (or the current one). */
export class IpRoute {
  constructor(readonly netns?: string) {}

  /**
   * IpRoute.run runs `tool args` and returns stdout. A failing command becomes a retryable
   * DeviceError DEVICE_FAILURE quoting the command and iproute2's message.
   */
  async run(tool: IpRouteTool, args: readonly string[]): Promise<string> {
    const fullArgs = this.netns ? ['-n', this.netns, ...args] : [...args];
    try {
      const { stdout } = await execFileAsync(tool, fullArgs, {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
      const detail = stderr || (error as Error).message;
      throw new DeviceError('DEVICE_FAILURE', `${tool} ${fullArgs.join(' ')}: ${detail}`, true, {
        cause: error,
      });
    }
  }

  /** IpRoute.runIgnoringFailure runs a command whose failure means "nothing to do". */
  async runIgnoringFailure(tool: IpRouteTool, args: readonly string[]): Promise<void> {
    try {
      await this.run(tool, args);
    } catch {
      // Deleting what is already gone (flush of an absent table, del of an absent rule).
    }
  }

  /** IpRoute.json runs `tool -json args` and parses the array it prints. */
  async json<T>(tool: IpRouteTool, args: readonly string[]): Promise<T[]> {
    const stdout = await this.run(tool, ['-json', ...args]);
    const text = stdout.trim();
    if (text === '') return [];
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed as T[]) : [];
  }
}

interface PlannedCommand {
  args: readonly string[];
  ignoreFailure: boolean;
}

function batchLine(args: readonly string[]): string {
  return args
    .map((arg) => {
      if (/["\n\\]/.test(arg))
        throw new Error(`cannot pass ${JSON.stringify(arg)} to iproute2 batch`);
      return /^[A-Za-z0-9._:/=+-]+$/.test(arg) ? arg : `"${arg}"`;
    })
    .join(' ');
}

/** Batches run in this order: interfaces and addresses first, then per-family rules/routes. */
type BatchKey = 'ip' | 'ip -4' | 'ip -6' | 'bridge';
const BATCH_ORDER: readonly BatchKey[] = ['ip', 'ip -4', 'ip -6', 'bridge'];

/**
 * CommandPlan collects the writes of one operation and runs them as a few `ip -batch` and
 * `bridge -batch` processes, saving a process start per command. Batch lines take no global
 * options, so commands starting with `-4`/`-6` go to a batch run with that option, after the
 * family-less one; `bridge` commands run last. Order within a batch is kept. Commands marked
 * ignorable ("delete if present") may fail; any other failure becomes a DeviceError quoting
 * the command and iproute2's message.
 */
export class CommandPlan {
  readonly #batches: Record<BatchKey, PlannedCommand[]> = {
    ip: [],
    'ip -4': [],
    'ip -6': [],
    bridge: [],
  };

  /** CommandPlan.ip plans `ip args`. */
  ip(args: readonly string[]): void {
    this.#planIp(args, false);
  }

  /** CommandPlan.ipMaybe plans `ip args` whose failure means "nothing to do". */
  ipMaybe(args: readonly string[]): void {
    this.#planIp(args, true);
  }

  /** CommandPlan.bridge plans `bridge args`. */
  bridge(args: readonly string[]): void {
    this.#batches.bridge.push({ args, ignoreFailure: false });
  }

  #planIp(args: readonly string[], ignoreFailure: boolean): void {
    const [first, ...rest] = args;
    if (first === '-4' || first === '-6') {
      this.#batches[`ip ${first}`].push({ args: rest, ignoreFailure });
    } else {
      this.#batches.ip.push({ args, ignoreFailure });
    }
  }

  /** CommandPlan.execute runs the planned commands in `ip`'s namespace and empties the plan. */
  async execute(ip: IpRoute): Promise<void> {
    for (const key of BATCH_ORDER) {
      const commands = this.#batches[key].splice(0);
      if (commands.length === 0) continue;
      const [tool, ...options] = key.split(' ') as [IpRouteTool, ...string[]];
      await runBatch(ip.netns, tool, options, commands);
    }
  }
}

async function runBatch(
  netns: string | undefined,
  tool: IpRouteTool,
  options: readonly string[],
  commands: readonly PlannedCommand[],
): Promise<void> {
  const args = [...(netns ? ['-n', netns] : []), ...options, '-force', '-batch', '-'];
  const input = commands.map((command) => batchLine(command.args)).join('\n') + '\n';
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let output = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', () => resolve(output));
    child.stdin.end(input);
  });
  let message: string[] = [];
  for (const line of stderr.split('\n')) {
    const failed = /^Command failed -:(\d+)$/.exec(line.trim());
    if (!failed) {
      if (line.trim() !== '') message.push(line.trim());
      continue;
    }
    const command = commands[Number(failed[1]) - 1];
    if (command && !command.ignoreFailure) {
      const prefix = [tool, ...(netns ? ['-n', netns] : []), ...options, ...command.args];
      throw new DeviceError(
        'DEVICE_FAILURE',
        `${prefix.join(' ')}: ${message.join('; ') || 'failed'}`,
        true,
      );
    }
    message = [];
  }
}
