// Generates the TypeScript for our protos (messages + @grpc/grpc-js service definitions) with
// buf and ts-proto, both from node_modules, so it runs offline and reproducibly.
//
// Usage:
//   node scripts/codegen.mjs            regenerate src/gen/
//   node scripts/codegen.mjs --check    generate into a temp dir; exit 1 if src/gen/ differs
import { createRequire } from 'node:module';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createBufWorkspace, libDir } from './buf-workspace.mjs';

const require = createRequire(import.meta.url);

/** Where the committed generated code lives. */
export const genDir = join(libDir, 'src/gen');
/**
 * Where the committed compiled descriptors live: a FileDescriptorSet of our protos and their
 * Google imports, served by gRPC reflection (see src/package-definition.ts).
 */
export const descriptorSetPath = join(libDir, 'descriptors/opi.binpb');

/**
 * ts-proto options, chosen for strict, idiomatic TS under NodeNext ESM:
 * - outputServices=grpc-js: `XServiceService` definitions for server.addService + typed clients.
 * - importSuffix=.js + esModuleInterop: imports that resolve under NodeNext.
 * - useOptionals=messages: message-typed fields are optional (absent ≠ empty message).
 * - oneof=unions-value: a oneof is one `{ $case, value }` property, so two members cannot be set.
 * - forceLong=number: 64-bit ints are numbers (all our values fit in 2^53; decode throws beyond).
 * - exportCommonSymbols=false: no DeepPartial/Exact helpers exported from every file, so
 *   package barrels can `export *` several files without name clashes.
 * - outputIndex=true: one barrel per proto package (index.<package>.ts).
 */
export const tsProtoOptions = [
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'importSuffix=.js',
  'useOptionals=messages',
  'oneof=unions-value',
  'forceLong=number',
  'env=node',
  'exportCommonSymbols=false',
  'outputIndex=true',
];

function generate(outDir, descriptorOut) {
  const plugin = join(require.resolve('ts-proto/package.json'), '../protoc-gen-ts_proto');
  const workspace = createBufWorkspace();
  try {
    const template = [
      'version: v2',
      'plugins:',
      `  - local: ${JSON.stringify(plugin)}`,
      `    out: ${JSON.stringify(outDir)}`,
      '    include_imports: true',
      // One plugin run for all files: per-directory runs would overwrite each other's barrels.
      '    strategy: all',
      '    opt:',
      ...tsProtoOptions.map((o) => `      - ${o}`),
      '',
    ].join('\n');
    writeFileSync(join(workspace.dir, 'buf.gen.yaml'), template);
    workspace.buf(['generate']);
    mkdirSync(dirname(descriptorOut), { recursive: true });
    workspace.buf([
      'build',
      '--exclude-source-info',
      '--as-file-descriptor-set',
      '-o',
      descriptorOut,
    ]);
  } finally {
    workspace.dispose();
  }
}

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** differences lists files that are missing, extra or different between two trees. */
export function differences(expectedDir, actualDir) {
  const expected = listFiles(expectedDir);
  const actual = listFiles(actualDir);
  const problems = [];
  for (const file of expected) {
    if (!actual.includes(file)) problems.push(`missing: ${file}`);
    else if (
      readFileSync(join(expectedDir, file), 'utf8') !== readFileSync(join(actualDir, file), 'utf8')
    ) {
      problems.push(`differs: ${file}`);
    }
  }
  for (const file of actual) if (!expected.includes(file)) problems.push(`not generated: ${file}`);
  return problems;
}

function main(argv) {
  if (argv[0] === '--check') {
    const fresh = mkdtempSync(join(tmpdir(), 'opi-api-codegen-'));
    try {
      const freshDescriptors = join(fresh, 'descriptors.binpb');
      generate(join(fresh, 'gen'), freshDescriptors);
      const problems = differences(join(fresh, 'gen'), genDir);
      const committed = existsSync(descriptorSetPath)
        ? readFileSync(descriptorSetPath)
        : Buffer.alloc(0);
      if (!committed.equals(readFileSync(freshDescriptors))) {
        problems.push(`differs: ${relative(libDir, descriptorSetPath)}`);
      }
      if (problems.length > 0) {
        console.error('generated code is stale; run `nx run api:codegen` and commit:');
        for (const p of problems) console.error(`  ${p}`);
        process.exit(1);
      }
      console.log('libs/api/src/gen and descriptors/ are up to date');
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
    return;
  }
  rmSync(genDir, { recursive: true, force: true });
  generate(genDir, descriptorSetPath);
  console.log(
    `generated ${listFiles(genDir).length} files in ${relative(process.cwd(), genDir) || '.'}`,
  );
}

main(process.argv.slice(2));
