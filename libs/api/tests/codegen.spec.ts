import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const libDir = join(import.meta.dirname, '..');

describe('generated code', () => {
  it('src/gen and descriptors/ equal a fresh buf + ts-proto run (codegen-check)', async () => {
    const { stdout } = await run(process.execPath, ['scripts/codegen.mjs', '--check'], {
      cwd: libDir,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/up to date/);
  });
});
