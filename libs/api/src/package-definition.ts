import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import {
  loadSync,
  type EnumTypeDefinition,
  type MessageTypeDefinition,
  type Options,
  type PackageDefinition,
} from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

// This module runs from src/ (tests, typecheck) and from dist/ (runtime); both sit directly
// below the lib root, which ships the proto/ and descriptors/ trees.
const libRoot = fileURLToPath(new URL('..', import.meta.url));

/** protoRoot is the directory holding our `opi_api/...` and `opi_ext/...` .proto trees. */
export const protoRoot = join(libRoot, 'proto');

/** googleProtoRoot is the google-proto-files package root (google/api, google/protobuf). */
export const googleProtoRoot = dirname(require.resolve('google-proto-files/package.json'));

/**
 * descriptorSetPath is the compiled FileDescriptorSet of our protos and their Google imports
 * (written by `nx run api:codegen` with buf, checked fresh by `api:codegen-check`).
 */
export const descriptorSetPath = join(libRoot, 'descriptors/opi.binpb');

/** opiProtoFiles lists our .proto files relative to `protoRoot`, sorted. */
export function opiProtoFiles(): string[] {
  return readdirSync(protoRoot, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.proto'))
    .map((entry) => relative(protoRoot, join(entry.parentPath, entry.name)))
    .sort();
}

interface CompiledFiles {
  /** Encoded FileDescriptorProto per file name. */
  encoded: Map<string, Buffer>;
  /** File name that defines each fully qualified message, enum and service name. */
  definingFile: Map<string, string>;
  /** Direct imports per file name. */
  imports: Map<string, string[]>;
}

function indexMessages(
  file: string,
  scope: string,
  messages: DescriptorProto[],
  into: Map<string, string>,
) {
  for (const message of messages) {
    const name = `${scope}.${message.name}`;
    into.set(name, file);
    for (const e of message.enumType) into.set(`${name}.${e.name}`, file);
    indexMessages(file, name, message.nestedType, into);
  }
}

function readCompiledFiles(): CompiledFiles {
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath));
  const compiled: CompiledFiles = {
    encoded: new Map(),
    definingFile: new Map(),
    imports: new Map(),
  };
  for (const file of set.file as FileDescriptorProto[]) {
    compiled.encoded.set(file.name, Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
    compiled.imports.set(file.name, file.dependency);
    indexMessages(file.name, file.package, file.messageType, compiled.definingFile);
    for (const e of file.enumType)
      compiled.definingFile.set(`${file.package}.${e.name}`, file.name);
    for (const s of file.service) compiled.definingFile.set(`${file.package}.${s.name}`, file.name);
  }
  return compiled;
}

function withImports(file: string, compiled: CompiledFiles): string[] {
  const seen = new Set<string>();
  const pending = [file];
  while (pending.length > 0) {
    const next = pending.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    pending.push(...(compiled.imports.get(next) ?? []));
  }
  return [...seen];
}

/**
 * loadOpiPackageDefinition loads every OPI (and opi_ext) proto with @grpc/proto-loader, e.g.
 * for `new ReflectionService(loadOpiPackageDefinition())` or a dynamic client.
 *
 * proto-loader describes each package as one synthetic file without imports, which reflection
 * clients (grpcurl, buf curl) cannot resolve across packages. So each type's
 * `fileDescriptorProtos` is replaced by the buf-compiled descriptors of its real file and that
 * file's imports: reflection then serves exactly the files of `proto/`.
 */
export function loadOpiPackageDefinition(options: Options = {}): PackageDefinition {
  const definition = loadSync(opiProtoFiles(), {
    includeDirs: [protoRoot, googleProtoRoot],
    ...options,
  });
  const compiled = readCompiledFiles();
  for (const [name, entry] of Object.entries(definition)) {
    // Services carry no descriptors of their own; their file reaches reflection via the types.
    if (typeof entry.format !== 'string') continue;
    const file = compiled.definingFile.get(name);
    if (file === undefined) continue;
    const typeEntry = entry as MessageTypeDefinition<object, object> | EnumTypeDefinition;
    definition[name] = {
      ...typeEntry,
      fileDescriptorProtos: withImports(file, compiled).map(
        (f) => compiled.encoded.get(f) as Buffer,
      ),
    };
  }
  return definition;
}
