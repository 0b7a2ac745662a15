// Runs iproute2 (`ip`, `bridge`) in one network namespace via execFile, never through a shell.
import { execFile } from 'node:child_process';
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
