// Runs buf on our protos without network and without hand-copied Google protos: a throw-away
// buf workspace holds two modules, our proto tree (or a test's mutated copy of it) and exactly
// the Google files our protos import, both as symlinks into the lib and into the
// google-proto-files package. buf refuses module paths outside its workspace directory, which
// is why the workspace is assembled in a temp dir instead of living in libs/api/buf.yaml.
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Root of libs/api. */
export const libDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Our .proto tree (opi_api/... and opi_ext/...). */
export const protoDir = join(libDir, 'proto');
/** Root of the google-proto-files package (holds google/api and google/protobuf). */
export const googleProtoDir = dirname(require.resolve('google-proto-files/package.json'));
const bufBin = require.resolve('@bufbuild/buf/bin/buf');

function listProtoFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.proto'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

const importPattern = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

/** googleImportsOf lists the Google .proto files that the given files import, transitively. */
export function googleImportsOf(files) {
  const seen = new Set();
  const pending = files.map((f) => readFileSync(f, 'utf8'));
  while (pending.length > 0) {
    const text = pending.pop();
    for (const [, path] of text.matchAll(importPattern)) {
      if (!path.startsWith('google/') || seen.has(path)) continue;
      seen.add(path);
      pending.push(readFileSync(join(googleProtoDir, path), 'utf8'));
    }
  }
  return [...seen].sort();
}

/**
 * createBufWorkspace assembles a temp buf workspace over `sourceDir` (default: our proto tree).
 * Returns its directory, a `buf(args)` runner (cwd = workspace, returns stdout, throws with
 * buf's stderr on failure) and `dispose()`, which removes the temp dir.
 */
export function createBufWorkspace(sourceDir = protoDir) {
  const dir = mkdtempSync(join(tmpdir(), 'opi-api-buf-'));
  symlinkSync(resolve(sourceDir), join(dir, 'proto'));
  for (const path of googleImportsOf(listProtoFiles(sourceDir))) {
    mkdirSync(dirname(join(dir, 'google', path)), { recursive: true });
    symlinkSync(join(googleProtoDir, path), join(dir, 'google', path));
  }
  const bufYaml = [
    'version: v2',
    'modules:',
    '  - path: proto',
    '  - path: google',
    'lint:',
    '  use: [STANDARD]',
    'breaking:',
    '  use: [WIRE_JSON]',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'buf.yaml'), bufYaml);
  return {
    dir,
    buf(args) {
      try {
        return execFileSync(process.execPath, [bufBin, ...args], {
          cwd: dir,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 256 * 1024 * 1024,
        });
      } catch (error) {
        const detail = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
        throw new Error(`buf ${args.join(' ')} failed: ${detail || error.message}`);
      }
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * buildImage compiles `sourceDir` and returns the FileDescriptorSet as protobuf-JSON
 * (camelCase descriptor fields, e.g. `messageType`, `typeName`, `proto3Optional`).
 */
export function buildImage(sourceDir = protoDir) {
  const workspace = createBufWorkspace(sourceDir);
  try {
    const out = join(workspace.dir, 'image.json');
    workspace.buf(['build', '--exclude-source-info', '-o', out]);
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    workspace.dispose();
  }
}

/** The committed image of the last released opi_ext packages. */
export const opiExtReleaseImage = join(libDir, 'proto-release/opi_ext-v1.binpb');

/** buildOpiExtImage writes a binary image of the opi_ext tree (with its imports) to `out`. */
export function buildOpiExtImage(out, sourceDir = protoDir) {
  const workspace = createBufWorkspace(sourceDir);
  try {
    workspace.buf([
      'build',
      'proto',
      '--path',
      'proto/opi_ext',
      '--exclude-source-info',
      '-o',
      out,
    ]);
  } finally {
    workspace.dispose();
  }
}

/**
 * opiExtBreakingChanges compares the opi_ext packages of `sourceDir` against a released image
 * with buf's WIRE_JSON rules and returns buf's findings, one per line ([] = compatible).
 */
export function opiExtBreakingChanges(sourceDir = protoDir, against = opiExtReleaseImage) {
  const workspace = createBufWorkspace(sourceDir);
  try {
    const current = join(workspace.dir, 'current.binpb');
    workspace.buf([
      'build',
      'proto',
      '--path',
      'proto/opi_ext',
      '--exclude-source-info',
      '-o',
      current,
    ]);
    try {
      execFileSync(process.execPath, [bufBin, 'breaking', current, '--against', against], {
        cwd: workspace.dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return [];
    } catch (error) {
      const findings = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
      if (!findings) throw error;
      return findings.split('\n');
    }
  } finally {
    workspace.dispose();
  }
}

/** opiExtLintFindings runs `buf lint` (STANDARD rules) on our own opi_ext packages. */
export function opiExtLintFindings(sourceDir = protoDir) {
  const workspace = createBufWorkspace(sourceDir);
  try {
    workspace.buf(['lint', 'proto', '--path', 'proto/opi_ext']);
    return [];
  } catch (error) {
    return error.message.split('\n');
  } finally {
    workspace.dispose();
  }
}
