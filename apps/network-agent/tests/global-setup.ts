// The tests run the real agent process from dist/: build it (and the libs it references) first.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const appRoot = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));

export default function setup(): void {
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.lib.json'], {
    cwd: appRoot,
    stdio: 'inherit',
  });
}
