// Parses the human-readable OPI wire table (shared/opi-api-wire-table.md) into the
// machine-readable copy that the wire-compatibility test compares our compiled protos against.
// Kept dependency-free and independent of our .proto files so that the comparison is not
// circular: the table is the only input.
//
// Usage:
//   node scripts/wire-table.mjs [table.md] [out.json]   write the JSON copy (default paths below)
//   node scripts/wire-table.mjs --check [table.md] [out.json]  exit 1 if the copy is stale
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatJson } from './format-json.mjs';

const libDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Default location of the wire table: `<repo>/../shared`, next to the clone. */
export const defaultTablePath = resolve(libDir, '../../../shared/opi-api-wire-table.md');
/** Committed machine-readable copy of the table. */
export const defaultJsonPath = join(libDir, 'wire/opi-wire-table.json');

const scalarTypes = new Set([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
  'string',
  'bytes',
]);

/** Error for a line of the table that does not follow its notation. */
export class WireTableSyntaxError extends Error {
  constructor(lineNumber, line, reason) {
    super(`wire table line ${lineNumber}: ${reason}: ${line}`);
    this.name = 'WireTableSyntaxError';
  }
}

function qualify(pkg, type) {
  if (scalarTypes.has(type)) return type;
  if (type.startsWith('google.') || type.startsWith('opi_api.')) return type;
  return `${pkg}.${type}`;
}

function parseField(pkg, text, lineNumber, line) {
  const match =
    /^(\d+) ([a-z][a-z0-9_]*) (\[\])?(optional )?([A-Za-z][A-Za-z0-9_.]*)(?: \(oneof ([a-z][a-z0-9_]*)\))?$/.exec(
      text.trim(),
    );
  if (!match) throw new WireTableSyntaxError(lineNumber, line, `cannot parse field "${text}"`);
  const [, number, name, repeated, optional, type, oneof] = match;
  const field = {
    number: Number(number),
    name,
    type: qualify(pkg, type),
    label: repeated ? 'repeated' : optional ? 'proto3_optional' : 'singular',
  };
  if (oneof) field.oneof = oneof;
  return field;
}

/**
 * parseWireTable turns the markdown table into
 * `{ packages: { [pkg]: { services, messages, enums } } }` with every type name fully qualified
 * (no leading dot), fields sorted by number and method paths as gRPC sends them.
 */
export function parseWireTable(markdown) {
  const packages = {};
  // Where the parser is: the current package (name + contents), section and service.
  let pkgName;
  let pkg;
  let section;
  let serviceName;
  markdown.split('\n').forEach((line, index) => {
    const lineNumber = index + 1;
    let match;
    if ((match = /^## package `([a-z0-9_.]+)`/.exec(line))) {
      pkgName = match[1];
      pkg = packages[pkgName] = { services: {}, messages: {}, enums: {} };
      section = undefined;
    } else if ((match = /^### service `([A-Za-z0-9_]+)`/.exec(line))) {
      section = 'service';
      serviceName = match[1];
      pkg.services[serviceName] = [];
    } else if (/^### messages/.test(line)) {
      section = 'messages';
    } else if (/^### enums/.test(line)) {
      section = 'enums';
    } else if (line.startsWith('- ') && pkg && section) {
      const item = line.slice(2);
      if (section === 'service') {
        match = /^([A-Za-z0-9_]+)\(([A-Za-z0-9_.]+)\) → ([A-Za-z0-9_.]+)$/.exec(item);
        if (!match) throw new WireTableSyntaxError(lineNumber, line, 'cannot parse method');
        const [, method, request, response] = match;
        pkg.services[serviceName].push({
          name: method,
          path: `/${pkgName}.${serviceName}/${method}`,
          requestType: qualify(pkgName, request),
          responseType: qualify(pkgName, response),
        });
        return;
      }
      match = /^\*\*([A-Za-z0-9_.]+)\*\*: (.*)$/.exec(item);
      if (!match) throw new WireTableSyntaxError(lineNumber, line, 'cannot parse definition');
      const [, name, body] = match;
      const fullName = `${pkgName}.${name}`;
      if (section === 'messages') {
        const fields =
          body.trim() === '(empty)'
            ? []
            : body.split(';').map((text) => parseField(pkgName, text, lineNumber, line));
        pkg.messages[fullName] = fields.sort((a, b) => a.number - b.number);
      } else {
        pkg.enums[fullName] = body.split(',').map((text) => {
          const value = /^([A-Z0-9_]+)=(-?\d+)$/.exec(text.trim());
          if (!value) throw new WireTableSyntaxError(lineNumber, line, `bad enum value "${text}"`);
          return { name: value[1], number: Number(value[2]) };
        });
      }
    }
  });
  checkReferences(packages);
  return { packages };
}

// A reference to a type the table does not define means the table (or the parser) is wrong;
// failing here keeps a typo from silently weakening the comparison.
function checkReferences(packages) {
  const defined = new Set();
  for (const p of Object.values(packages)) {
    Object.keys(p.messages).forEach((n) => defined.add(n));
    Object.keys(p.enums).forEach((n) => defined.add(n));
  }
  const known = (type) => scalarTypes.has(type) || type.startsWith('google.') || defined.has(type);
  for (const p of Object.values(packages)) {
    for (const [message, fields] of Object.entries(p.messages)) {
      for (const field of fields) {
        if (!known(field.type))
          throw new Error(`${message}.${field.name}: unknown type ${field.type}`);
      }
    }
    for (const methods of Object.values(p.services)) {
      for (const m of methods) {
        for (const type of [m.requestType, m.responseType]) {
          if (!known(type)) throw new Error(`${m.path}: unknown type ${type}`);
        }
      }
    }
  }
}

/** Serializes the parsed table the way it is committed (prettier-formatted JSON). */
export function formatWireTable(table, path = defaultJsonPath) {
  return formatJson(table, path);
}

async function main(argv) {
  const check = argv[0] === '--check';
  const [tablePath = defaultTablePath, jsonPath = defaultJsonPath] = check ? argv.slice(1) : argv;
  if (!existsSync(tablePath)) {
    console.error(`wire table not found: ${tablePath}`);
    process.exit(2);
  }
  const fresh = await formatWireTable(parseWireTable(readFileSync(tablePath, 'utf8')), jsonPath);
  if (check) {
    const committed = existsSync(jsonPath) ? readFileSync(jsonPath, 'utf8') : '';
    if (committed !== fresh) {
      console.error(`${jsonPath} is stale: run node libs/api/scripts/wire-table.mjs`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(jsonPath, fresh);
  console.log(`wrote ${jsonPath}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
