// Generic resource commands: `opictl <kind> create|get|list|update|delete|status` and
// `opictl apply -f file.yaml`, derived from the kit's resource descriptors. They speak the OPI
// gRPC wire API, so they work against any OPI-compatible server, not only our agents.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Command, Option } from 'commander';
import { parseAllDocuments, stringify as toYaml } from 'yaml';
import type { NatsConnection } from '@nats-io/transport-node';
import { discoverAgents } from '@opi/bus';
import {
  canonicalJson,
  fetchKindCatalogs,
  getPath,
  resolveKind,
  setPath,
  sortKindsByDependency,
  type JsonObject,
  type ResourceKind,
} from '@opi/kit';
import { printTable } from '../table.js';

/** Where the commands write; tests pass their own streams. */
export interface ResourceCommandIo {
  out: NodeJS.WritableStream;
  /** Default gRPC address of a kind (e.g. from discovery); falls back to our port plan. */
  addressOf?: (kind: ResourceKind) => string | undefined;
}

/** Kinds learned from the running agents, with the address of an agent serving each. */
export interface DiscoveredKinds {
  kinds: ResourceKind[];
  addresses: Map<string, string>;
}

/**
 * discoverResourceKinds asks a node's agents for their kind catalogs (kit, over NATS) and for
 * their endpoints (bus discovery), so opictl knows every kind the running system serves without
 * linking any agent. Kinds whose message or service `@opi/api` lacks are skipped.
 */
export async function discoverResourceKinds(
  nc: NatsConnection,
  nodeId: string,
  timeoutMs = 1000,
): Promise<DiscoveredKinds> {
  const [catalogs, instances] = await Promise.all([
    fetchKindCatalogs(nc, nodeId, timeoutMs),
    discoverAgents(nc, { nodeId, timeoutMs }).catch(() => []),
  ]);
  const endpointOf = new Map(instances.filter((i) => i.healthy).map((i) => [i.id, i.endpoint]));
  const kinds: ResourceKind[] = [];
  const addresses = new Map<string, string>();
  for (const catalog of catalogs) {
    for (const summary of catalog.kinds) {
      if (kinds.some((k) => k.kind === summary.kind)) continue;
      try {
        kinds.push(resolveKind(summary));
      } catch {
        continue;
      }
      const endpoint = endpointOf.get(catalog.instanceId);
      if (endpoint) addresses.set(summary.kind, endpoint);
    }
  }
  return { kinds, addresses };
}

type OutputFormat = 'table' | 'json' | 'yaml';

interface ConnectionFlags {
  addr?: string;
  tlsfiles?: string;
  timeout: string;
}

/** Default agent address per proto package (our port plan, see opi-api-facts §1). */
function defaultAddress(kind: ResourceKind): string {
  if (kind.messageType.startsWith('opi_api.storage.')) return 'localhost:50051';
  if (kind.messageType.startsWith('opi_api.network.')) return 'localhost:50151';
  if (kind.messageType.startsWith('opi_api.security.')) return 'localhost:50251';
  return 'localhost:50351';
}

/** CliError is a usage or input error; its message names the offending flag, file or field. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** A gRPC client for the services of a set of kinds, one channel per address. */
class ResourceClient {
  private readonly clients = new Map<grpc.ServiceDefinition, grpc.Client>();

  constructor(
    private readonly address: string,
    private readonly credentials: grpc.ChannelCredentials,
    private readonly timeoutMs: number,
  ) {}

  call(
    kind: ResourceKind,
    rpc: string,
    request: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const service = kind.service;
    if (!service) throw new CliError(`${kind.kind} has no gRPC service`);
    const key = Object.keys(service).find((k) => service[k]!.path.endsWith(`/${rpc}`));
    if (!key) throw new CliError(`${kind.kind}: the API has no ${rpc}`);
    let client = this.clients.get(service);
    if (!client) {
      const Client = grpc.makeGenericClientConstructor(service, kind.kind);
      client = new Client(this.address, this.credentials);
      this.clients.set(service, client);
    }
    const method = (client as unknown as Record<string, (...args: unknown[]) => void>)[key]!;
    return new Promise((resolve, reject) => {
      method.call(
        client,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (error: grpc.ServiceError | null, response: Record<string, unknown>) =>
          error ? reject(error) : resolve(response),
      );
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}

function credentialsOf(tlsfiles: string | undefined): grpc.ChannelCredentials {
  if (!tlsfiles) return grpc.credentials.createInsecure();
  const parts = tlsfiles.split(':');
  if (parts.length !== 3 || parts.some((p) => !p))
    throw new CliError('--tlsfiles: must be cert:key:ca');
  const [cert, key, ca] = parts.map((p) => readFileSync(p)) as [Buffer, Buffer, Buffer];
  return grpc.credentials.createSsl(ca, key, cert);
}

let addressOf: ResourceCommandIo['addressOf'];

const addressFor = (kind: ResourceKind, flags: ConnectionFlags) =>
  flags.addr ?? addressOf?.(kind) ?? defaultAddress(kind);

function connect(kind: ResourceKind, flags: ConnectionFlags): ResourceClient {
  const timeout = Number(flags.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new CliError(`--timeout: must be a positive number of ms`);
  return new ResourceClient(addressFor(kind, flags), credentialsOf(flags.tlsfiles), timeout);
}

const toJson = (kind: ResourceKind, message: unknown) =>
  kind.message.toJSON(message as never) as JsonObject;
const toMessage = (kind: ResourceKind, json: JsonObject) => kind.message.fromJSON(json);

function print(
  io: ResourceCommandIo,
  kind: ResourceKind | undefined,
  items: JsonObject[],
  format: OutputFormat,
  single: boolean,
) {
  if (format === 'json') io.out.write(JSON.stringify(single ? items[0] : items, null, 2) + '\n');
  else if (format === 'yaml') io.out.write(toYaml(single ? items[0] : items));
  else {
    const columns = kind?.cli?.columns ?? [
      { header: 'NAME', path: 'name' },
      ...(kind?.status ? [{ header: 'STATUS', path: `${kind.status.field}.operStatus` }] : []),
    ];
    printTable(
      columns.map((c) => c.header),
      items.map((item) => columns.map((c) => cell(getPath(item, c.path)))),
      io.out,
    );
  }
}

const cell = (value: unknown): string =>
  value === undefined || value === null
    ? ''
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);

/** Reads the resource body from `-f file` (JSON or YAML) or `--json`. */
function readBody(flags: { file?: string; json?: string }): JsonObject {
  if (flags.file && flags.json) throw new CliError('give either -f/--file or --json, not both');
  let text: string;
  let source: string;
  if (flags.json) {
    text = flags.json;
    source = '--json';
  } else if (flags.file) {
    source = flags.file;
    try {
      text = flags.file === '-' ? readFileSync(0, 'utf8') : readFileSync(flags.file, 'utf8');
    } catch (error) {
      throw new CliError(`${flags.file}: ${(error as Error).message}`);
    }
  } else throw new CliError('the resource is required: -f/--file FILE or --json TEXT');
  const documents = parseYamlDocuments(text, source);
  if (documents.length !== 1 || !isObject(documents[0]))
    throw new CliError(`${source}: must hold exactly one object`);
  return documents[0];
}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseYamlDocuments(text: string, source: string): unknown[] {
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  const out: unknown[] = [];
  for (const [index, document] of list.entries()) {
    if (document.errors.length > 0)
      throw new CliError(`${source}: document ${index + 1}: ${document.errors[0]!.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  }
  return out;
}

function grpcMessage(error: unknown): string {
  const e = error as Partial<grpc.ServiceError>;
  if (typeof e.code === 'number')
    return `${grpc.status[e.code] ?? e.code}: ${e.details ?? e.message}`;
  return (error as Error).message;
}

/** Runs a command body, turning gRPC failures into a CLI error with the status name. */
async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(grpcMessage(error));
  }
}

function withConnection(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--addr <host:port>',
        'agent gRPC address (default: the agent of this kind on localhost)',
      ).env('OPI_ADDR'),
    )
    .addOption(
      new Option('--tlsfiles <cert:key:ca>', 'mutual TLS files, as godpu').env('OPI_TLSFILES'),
    )
    .option('--timeout <ms>', 'RPC deadline', '10000');
}

const outputOption = () =>
  new Option('-o, --output <format>', 'output format')
    .choices(['table', 'json', 'yaml'])
    .default('table');

/**
 * registerResourceCommands adds `opictl <kind> create|get|list|update|delete|status` for every
 * kind and `opictl apply -f FILE` for all of them together.
 */
export function registerResourceCommands(
  program: Command,
  kinds: readonly ResourceKind[],
  io: ResourceCommandIo = { out: process.stdout },
): void {
  addressOf = io.addressOf;
  for (const kind of kinds) registerKind(program, kind, io);
  registerApply(program, kinds, io);
}

function registerKind(program: Command, kind: ResourceKind, io: ResourceCommandIo): void {
  const group = program
    .command(kind.command)
    .description(`${kind.kind} resources (${kind.messageType})`);

  withConnection(
    group
      .command('create')
      .description(`create a ${kind.kind}; prints its name (or the object with -o)`)
      .option(
        '-f, --file <file>',
        'resource in JSON or YAML (protobuf JSON field names); - for stdin',
      )
      .option('--json <text>', 'resource as JSON text')
      .option(
        '--id <id>',
        `client-chosen id (${kind.idField}); omitted: the server generates a UUID`,
      )
      .option(
        '--parent <name>',
        kind.parent ? `parent ${kind.parent} (required)` : 'parent (unused by this kind)',
      )
      .addOption(
        new Option('-o, --output <format>', 'output format')
          .choices(['name', 'table', 'json', 'yaml'])
          .default('name'),
      ),
  ).action(
    (
      flags: ConnectionFlags & {
        file?: string;
        json?: string;
        id?: string;
        parent?: string;
        output: string;
      },
    ) =>
      run(async () => {
        const body = readBody(flags);
        const client = connect(kind, flags);
        try {
          const created = toJson(
            kind,
            await client.call(
              kind,
              `Create${kind.kind}`,
              createRequest(kind, body, flags.id, flags.parent),
            ),
          );
          if (flags.output === 'name') io.out.write(`${String(created['name'])}\n`);
          else print(io, kind, [created], flags.output as OutputFormat, true);
        } finally {
          client.close();
        }
      }),
  );

  withConnection(
    group
      .command('get')
      .description(`show one ${kind.kind}`)
      .argument('<name>', 'resource name')
      .addOption(outputOption()),
  ).action((name: string, flags: ConnectionFlags & { output: OutputFormat }) =>
    run(async () => {
      const client = connect(kind, flags);
      try {
        print(
          io,
          kind,
          [toJson(kind, await client.call(kind, `Get${kind.kind}`, { name }))],
          flags.output,
          true,
        );
      } finally {
        client.close();
      }
    }),
  );

  withConnection(
    group
      .command('list')
      .description(`list ${kind.plural} (every page unless --page-size)`)
      .option(
        '--parent <name>',
        kind.parent ? `parent ${kind.parent}` : 'parent (unused by this kind)',
      )
      .option(
        '--page-size <n>',
        'one page of at most n items; prints the next page token on stderr',
      )
      .option('--page-token <token>', 'continue from a previous page')
      .addOption(outputOption()),
  ).action(
    (
      flags: ConnectionFlags & {
        parent?: string;
        pageSize?: string;
        pageToken?: string;
        output: OutputFormat;
      },
    ) =>
      run(async () => {
        const client = connect(kind, flags);
        try {
          const items: JsonObject[] = [];
          let pageToken = flags.pageToken ?? '';
          const pageSize = flags.pageSize === undefined ? 0 : Number(flags.pageSize);
          if (!Number.isInteger(pageSize)) throw new CliError('--page-size: must be an integer');
          for (;;) {
            const page = await client.call(kind, `List${kind.plural}`, {
              parent: flags.parent ?? '',
              pageSize,
              pageToken,
            });
            items.push(...((page[kind.listField] as unknown[]) ?? []).map((m) => toJson(kind, m)));
            pageToken = String(page['nextPageToken'] ?? '');
            if (!pageToken || flags.pageSize !== undefined) break;
          }
          print(io, kind, items, flags.output, false);
          if (flags.pageSize !== undefined && pageToken)
            process.stderr.write(`next page token: ${pageToken}\n`);
        } finally {
          client.close();
        }
      }),
  );

  withConnection(
    group
      .command('update')
      .description(`update a ${kind.kind} (the body carries its name)`)
      .option('-f, --file <file>', 'resource in JSON or YAML; - for stdin')
      .option('--json <text>', 'resource as JSON text')
      .option('--name <name>', 'resource name, if the body has none')
      .option('--mask <paths>', 'comma-separated field paths to update', '*')
      .option('--allow-missing', 'create the resource when it does not exist')
      .addOption(outputOption()),
  ).action(
    (
      flags: ConnectionFlags & {
        file?: string;
        json?: string;
        name?: string;
        mask: string;
        allowMissing?: boolean;
        output: OutputFormat;
      },
    ) =>
      run(async () => {
        const body = readBody(flags);
        if (flags.name) body['name'] = flags.name;
        if (!body['name'])
          throw new CliError('the resource name is required: a "name" field or --name');
        const client = connect(kind, flags);
        try {
          const updated = await client.call(kind, `Update${kind.kind}`, {
            [kind.resourceField]: toMessage(kind, body),
            updateMask: flags.mask
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean),
            allowMissing: Boolean(flags.allowMissing),
          });
          print(io, kind, [toJson(kind, updated)], flags.output, true);
        } finally {
          client.close();
        }
      }),
  );

  withConnection(
    group
      .command('delete')
      .description(`delete a ${kind.kind}`)
      .argument('<name>', 'resource name')
      .option('--allow-missing', 'succeed if it does not exist'),
  ).action((name: string, flags: ConnectionFlags & { allowMissing?: boolean }) =>
    run(async () => {
      const client = connect(kind, flags);
      try {
        await client.call(kind, `Delete${kind.kind}`, {
          name,
          allowMissing: Boolean(flags.allowMissing),
        });
        io.out.write(`deleted ${name}\n`);
      } finally {
        client.close();
      }
    }),
  );

  withConnection(
    group
      .command('status')
      .description(`show the realization status of a ${kind.kind}`)
      .argument('<name>', 'resource name')
      .addOption(outputOption()),
  ).action((name: string, flags: ConnectionFlags & { output: OutputFormat }) =>
    run(async () => {
      const client = connect(kind, flags);
      try {
        const object = toJson(kind, await client.call(kind, `Get${kind.kind}`, { name }));
        // Kinds without a status field are applied synchronously: existing means realized.
        const status = kind.status
          ? ((object[kind.status.field] as JsonObject | undefined) ?? {})
          : { applied: true };
        const row: JsonObject = { name: object['name'], ...status };
        if (flags.output === 'table') {
          const keys = Object.keys(row);
          printTable(
            keys.map((k) => k.toUpperCase()),
            [keys.map((k) => cell(row[k]))],
            io.out,
          );
        } else print(io, kind, [row], flags.output, true);
      } finally {
        client.close();
      }
    }),
  );
}

/** Builds a Create request; request-level fields a kind's request lacks are ignored by the encoder. */
function createRequest(
  kind: ResourceKind,
  body: JsonObject,
  id: string | undefined,
  parent: string | undefined,
) {
  return {
    [kind.resourceField]: toMessage(kind, body),
    [kind.idField]: id ?? '',
    parent: parent ?? '',
  };
}

/** One object of an apply file. */
interface ApplyItem {
  index: number;
  kind: ResourceKind;
  id: string;
  parent: string;
  name: string;
  body: JsonObject;
}

/** What apply did to one object. */
export interface ApplyOutcome {
  action: 'created' | 'updated' | 'unchanged';
  kind: string;
  name: string;
}

function parseApplyItems(
  kinds: readonly ResourceKind[],
  documents: unknown[],
  source: string,
): ApplyItem[] {
  const byKind = new Map<string, ResourceKind>();
  for (const kind of kinds) {
    byKind.set(kind.kind, kind);
    byKind.set(kind.command, kind);
  }
  return documents.map((document, index) => {
    const where = `${source}: object ${index + 1}`;
    if (!isObject(document)) throw new CliError(`${where}: must be a mapping`);
    const { kind: kindName, id, parent, ...body } = document;
    if (typeof kindName !== 'string') throw new CliError(`${where}: kind: required`);
    const kind = byKind.get(kindName);
    if (!kind)
      throw new CliError(
        `${where}: kind: unknown kind "${kindName}" (known: ${kinds.map((k) => k.kind).join(', ')})`,
      );
    const name = typeof body['name'] === 'string' ? body['name'] : '';
    if (kind.parent && !parent && !name)
      throw new CliError(`${where}: parent: required for ${kind.kind}`);
    let ids: string[] | undefined;
    if (name) {
      ids = kind.nameForms.parse(name);
      if (!ids) throw new CliError(`${where}: name: "${name}" is not a ${kind.kind} name`);
    } else {
      if (typeof id !== 'string' || !id)
        throw new CliError(`${where}: id or name: required (apply needs a stable identity)`);
      const parentKind = kind.parent ? byKind.get(kind.parent) : undefined;
      const parentIds = parentKind ? parentKind.nameForms.parse(String(parent)) : [];
      if (!parentIds)
        throw new CliError(`${where}: parent: "${String(parent)}" is not a ${kind.parent} name`);
      ids = [...parentIds, id];
    }
    const canonical = kind.nameForms.format(ids);
    const parentName = kind.parent
      ? (byKind.get(kind.parent)?.nameForms.format(ids.slice(0, -1)) ?? String(parent ?? ''))
      : '';
    delete body['name'];
    try {
      toMessage(kind, body);
    } catch (error) {
      throw new CliError(`${where}: ${(error as Error).message}`);
    }
    return { index, kind, id: ids[ids.length - 1]!, parent: parentName, name: canonical, body };
  });
}

/** The comparable part of an object: its JSON without name, status, output-only and write-only fields. */
function comparable(kind: ResourceKind, json: JsonObject): string {
  const copy = structuredClone(json);
  const drop = [
    'name',
    ...(kind.status ? [kind.status.field] : []),
    ...(kind.outputOnly ?? []),
    ...(kind.writeOnly ?? []),
  ];
  for (const path of drop) setPath(copy, path, undefined);
  return canonicalJson(copy);
}

/**
 * applyResources creates or updates every object of an apply file, parents and referenced kinds
 * first, and reports what changed. An object equal to the server's (ignoring output-only and
 * write-only fields) is left alone, so applying the same file twice changes nothing.
 */
export async function applyResources(
  kinds: readonly ResourceKind[],
  text: string,
  source: string,
  flags: ConnectionFlags,
): Promise<ApplyOutcome[]> {
  const items = parseApplyItems(kinds, parseYamlDocuments(text, source), source);
  const order = sortKindsByDependency([...new Set(items.map((i) => i.kind))]);
  items.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.index - b.index);
  const clients = new Map<string, ResourceClient>();
  const clientFor = (kind: ResourceKind) => {
    const address = addressFor(kind, flags);
    let client = clients.get(address);
    if (!client) clients.set(address, (client = connect(kind, flags)));
    return client;
  };
  const outcomes: ApplyOutcome[] = [];
  try {
    for (const item of items) {
      const { kind } = item;
      const client = clientFor(kind);
      const desired = toJson(kind, toMessage(kind, item.body));
      let current: JsonObject | undefined;
      try {
        current = toJson(kind, await client.call(kind, `Get${kind.kind}`, { name: item.name }));
      } catch (error) {
        if ((error as grpc.ServiceError).code !== grpc.status.NOT_FOUND)
          throw new CliError(`${item.name}: ${grpcMessage(error)}`);
      }
      try {
        if (!current) {
          await client.call(
            kind,
            `Create${kind.kind}`,
            createRequest(kind, desired, item.id, item.parent),
          );
          outcomes.push({ action: 'created', kind: kind.kind, name: item.name });
        } else if (comparable(kind, current) !== comparable(kind, desired)) {
          await client.call(kind, `Update${kind.kind}`, {
            [kind.resourceField]: toMessage(kind, { ...desired, name: item.name }),
            updateMask: ['*'],
            allowMissing: false,
          });
          outcomes.push({ action: 'updated', kind: kind.kind, name: item.name });
        } else outcomes.push({ action: 'unchanged', kind: kind.kind, name: item.name });
      } catch (error) {
        throw new CliError(
          `${item.name}: ${grpcMessage(error)} (after ${describeOutcomes(outcomes)})`,
        );
      }
    }
  } finally {
    for (const client of clients.values()) client.close();
  }
  return outcomes;
}

function describeOutcomes(outcomes: readonly ApplyOutcome[]): string {
  const count = (action: ApplyOutcome['action']) =>
    outcomes.filter((o) => o.action === action).length;
  return `${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged`;
}

function registerApply(
  program: Command,
  kinds: readonly ResourceKind[],
  io: ResourceCommandIo,
): void {
  withConnection(
    program
      .command('apply')
      .description(
        'create or update the resources of a YAML/JSON file in dependency order; reports what changed',
      )
      .requiredOption(
        '-f, --file <file>',
        'file of objects ("kind", "id" or "name", "parent", then protobuf JSON fields); - for stdin',
      )
      .addOption(
        new Option('-o, --output <format>', 'output format')
          .choices(['table', 'json', 'yaml'])
          .default('table'),
      ),
  ).action((flags: ConnectionFlags & { file: string; output: OutputFormat }) =>
    run(async () => {
      let text: string;
      try {
        text = flags.file === '-' ? readFileSync(0, 'utf8') : readFileSync(flags.file, 'utf8');
      } catch (error) {
        throw new CliError(`${flags.file}: ${(error as Error).message}`);
      }
      const outcomes = await applyResources(kinds, text, flags.file, flags);
      if (flags.output === 'json') io.out.write(JSON.stringify(outcomes, null, 2) + '\n');
      else if (flags.output === 'yaml') io.out.write(toYaml(outcomes));
      else {
        printTable(
          ['ACTION', 'KIND', 'NAME'],
          outcomes.map((o) => [o.action, o.kind, o.name]),
          io.out,
        );
        io.out.write(`${describeOutcomes(outcomes)}\n`);
      }
    }),
  );
}
