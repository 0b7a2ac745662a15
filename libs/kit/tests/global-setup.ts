// Builds what the replica processes run: the workspace libs the kit imports (tsc -b through the
// project references), the fixture agent with the kit compiled next to it, and the benchmark.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const kitRoot = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));

export default function setup(): void {
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.lib.json'], {
    cwd: kitRoot,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [tsc, '-p', 'tests/fixtures/tsconfig.json'], {
    cwd: kitRoot,
    stdio: 'inherit',
  });
}
