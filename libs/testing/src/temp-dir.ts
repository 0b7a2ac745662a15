import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory that deletes itself with everything in it. */
export interface TempDir {
  readonly path: string;
  /** Removes the directory recursively; calling it twice is harmless. */
  cleanup(): Promise<void>;
}

/** tempDir creates a fresh directory under the OS temp dir, named `<prefix>-XXXXXX`. */
export async function tempDir(prefix = 'opi-test'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `${prefix}-`));
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
}
