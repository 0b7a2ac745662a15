// Reduces a compiled FileDescriptorSet to the shape of wire/opi-wire-table.json and compares
// the two, so that a difference reads as "which field of which message differs, and how".
import type {
  DescriptorSetJson,
  EnumDescriptorJson,
  MessageDescriptorJson,
} from '../../scripts/buf-workspace.mjs';

/** One field as the wire table records it. */
export interface WireField {
  number: number;
  name: string;
  type: string;
  label: 'singular' | 'repeated' | 'proto3_optional';
  oneof?: string;
}

/** One RPC as the wire table records it. */
export interface WireMethod {
  name: string;
  path: string;
  requestType: string;
  responseType: string;
  streaming?: boolean;
}

/** One proto package: services → methods, messages → fields, enums → values. */
export interface WirePackage {
  services: Record<string, WireMethod[]>;
  messages: Record<string, WireField[]>;
  enums: Record<string, { name: string; number: number }[]>;
}

/** The whole table: package name → contents. */
export interface WireTable {
  packages: Record<string, WirePackage>;
}

const stripDot = (name: string): string => name.replace(/^\./, '');

function scalarOrReference(type: string, typeName: string | undefined): string {
  if (type === 'TYPE_MESSAGE' || type === 'TYPE_ENUM' || type === 'TYPE_GROUP') {
    return stripDot(typeName ?? '');
  }
  return type.replace(/^TYPE_/, '').toLowerCase();
}

function addEnum(pkg: WirePackage, fullName: string, descriptor: EnumDescriptorJson): void {
  pkg.enums[fullName] = (descriptor.value ?? []).map((v) => ({ name: v.name, number: v.number }));
}

function addMessage(pkg: WirePackage, fullName: string, descriptor: MessageDescriptorJson): void {
  const oneofs = descriptor.oneofDecl ?? [];
  pkg.messages[fullName] = (descriptor.field ?? [])
    .map((f): WireField => {
      const field: WireField = {
        number: f.number,
        name: f.name,
        type: scalarOrReference(f.type, f.typeName),
        label:
          f.label === 'LABEL_REPEATED'
            ? 'repeated'
            : f.proto3Optional
              ? 'proto3_optional'
              : 'singular',
      };
      // proto3 `optional` compiles to a synthetic oneof; it is presence, not a real oneof.
      if (f.oneofIndex !== undefined && !f.proto3Optional) {
        field.oneof = oneofs[f.oneofIndex]?.name ?? `#${f.oneofIndex}`;
      }
      return field;
    })
    .sort((a, b) => a.number - b.number);
  for (const nested of descriptor.nestedType ?? []) {
    addMessage(pkg, `${fullName}.${nested.name}`, nested);
  }
  for (const nested of descriptor.enumType ?? [])
    addEnum(pkg, `${fullName}.${nested.name}`, nested);
}

/** wireViewOf extracts the packages whose names pass `include` from a compiled descriptor set. */
export function wireViewOf(image: DescriptorSetJson, include: (pkg: string) => boolean): WireTable {
  const packages: Record<string, WirePackage> = {};
  for (const file of image.file) {
    const name = file.package ?? '';
    if (!include(name)) continue;
    const pkg = (packages[name] ??= { services: {}, messages: {}, enums: {} });
    for (const m of file.messageType ?? []) addMessage(pkg, `${name}.${m.name}`, m);
    for (const e of file.enumType ?? []) addEnum(pkg, `${name}.${e.name}`, e);
    for (const s of file.service ?? []) {
      pkg.services[s.name] = (s.method ?? []).map((m) => {
        const method: WireMethod = {
          name: m.name,
          path: `/${name}.${s.name}/${m.name}`,
          requestType: stripDot(m.inputType),
          responseType: stripDot(m.outputType),
        };
        if (m.clientStreaming || m.serverStreaming) method.streaming = true;
        return method;
      });
    }
  }
  return { packages };
}

function describeField(f: WireField): string {
  const label = f.label === 'singular' ? '' : `${f.label} `;
  return `${f.number} ${label}${f.type}${f.oneof ? ` (oneof ${f.oneof})` : ''}`;
}

function compareKeys<T>(
  what: string,
  expected: Record<string, T>,
  actual: Record<string, T>,
  problems: string[],
  each: (name: string, expected: T, actual: T) => void,
): void {
  for (const name of Object.keys(expected)) {
    if (!(name in actual)) problems.push(`${what} ${name}: missing from the protos`);
    else each(name, expected[name] as T, actual[name] as T);
  }
  for (const name of Object.keys(actual)) {
    if (!(name in expected)) problems.push(`${what} ${name}: in the protos but not in the table`);
  }
}

/**
 * compareWireTables lists every difference between the table (`expected`) and the compiled
 * protos (`actual`); an empty list means wire-compatible. Each entry names the package
 * element and the field or value that differs.
 */
export function compareWireTables(expected: WireTable, actual: WireTable): string[] {
  const problems: string[] = [];
  compareKeys('package', expected.packages, actual.packages, problems, (_, want, got) => {
    compareKeys('service', want.services, got.services, problems, (service, wantM, gotM) => {
      const byName = (ms: WireMethod[]) => Object.fromEntries(ms.map((m) => [m.name, m]));
      compareKeys(`rpc of ${service}`, byName(wantM), byName(gotM), problems, (method, w, g) => {
        for (const key of ['path', 'requestType', 'responseType'] as const) {
          if (w[key] !== g[key]) {
            problems.push(`rpc ${w.path}: ${key} is ${g[key]}, the table says ${w[key]}`);
          }
        }
        if (g.streaming) problems.push(`rpc ${service}.${method}: streams, the table says unary`);
      });
    });
    compareKeys('message', want.messages, got.messages, problems, (message, wantF, gotF) => {
      const byName = (fs: WireField[]) => Object.fromEntries(fs.map((f) => [f.name, f]));
      compareKeys(`field of ${message}`, byName(wantF), byName(gotF), problems, (field, w, g) => {
        if (describeField(w) !== describeField(g)) {
          problems.push(
            `field ${message}.${field}: protos have ${describeField(g)}, the table says ${describeField(w)}`,
          );
        }
      });
    });
    compareKeys('enum', want.enums, got.enums, problems, (enumName, wantV, gotV) => {
      const byName = (vs: { name: string; number: number }[]) =>
        Object.fromEntries(vs.map((v) => [v.name, v.number]));
      compareKeys(`value of ${enumName}`, byName(wantV), byName(gotV), problems, (v, w, g) => {
        if (w !== g)
          problems.push(`enum value ${enumName}.${v}: protos have ${g}, the table says ${w}`);
      });
    });
  });
  return problems;
}
