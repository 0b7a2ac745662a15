import type * as grpc from '@grpc/grpc-js';
import { ResourceNames } from './names.js';

/** A JSON object in protobuf's canonical JSON mapping (camelCase field names). */
export type JsonObject = { [key: string]: unknown };

/**
 * MessageFns is the part of a ts-proto generated message companion the kit uses. Resources are
 * stored and compared in protobuf JSON form, so the kit never depends on a message's TS type.
 */
export interface MessageFns<T> {
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
  fromPartial(object: never): T;
}

/** ReferenceRule declares a field that points at other resources, which must exist. */
export interface ReferenceRule {
  /** JSON path of the field (camelCase, dotted); a repeated field holds several references. */
  field: string;
  /** Kinds the reference may point at (the first that has it wins). */
  kinds: readonly string[];
  /**
   * `name`: the value is a full name in any accepted form (EVPN). `idOrName`: a bare id or a
   * name (storage `volume_name_ref`, scripts pass `Malloc0`-style ids).
   */
  form: 'name' | 'idOrName';
  /** When true an empty value is INVALID_ARGUMENT; otherwise an empty value is no reference. */
  required?: boolean;
}

/** UniqueConstraint declares a field whose value no two resources in `scope` may share. */
export interface UniqueConstraint {
  /** JSON path of the field, e.g. `spec.nqn`. */
  field: string;
  /** Resources of every kind with the same scope compete; defaults to the kind. */
  scope?: string;
}

/** Component state as the reconciler records it (mirrors EVPN `CompStatus`). */
export type ComponentState = 'PENDING' | 'SUCCESS' | 'ERROR';

/** One part of a resource realized on the device, with its state. */
export interface ComponentObservation {
  name: string;
  state: ComponentState;
  details?: string;
}

/**
 * Observation is what the kit knows about a resource's realization: the input of a kind's
 * status renderer. `phase` is PENDING until the reconciler has applied the current generation.
 */
export interface Observation {
  phase: 'PENDING' | 'SUCCESS' | 'ERROR' | 'DELETING';
  components: ComponentObservation[];
  details?: string;
  /** Output-only values reported by the device (JSON form), merged by the renderer. */
  device?: JsonObject;
}

/** StatusRule says where a kind's wire message carries status and how to write it. */
export interface StatusRule {
  /** Field of the resource message holding the status (`status`). */
  field: string;
  /** Builds the status message in JSON form from the observation. */
  render(observation: Observation): JsonObject;
}

/** CLI presentation of a kind: command name and table columns. */
export interface CliRule {
  /** `opictl <command> ...`, e.g. `null-volume`. Defaults to the kind in kebab-case. */
  command?: string;
  /** Table columns: header and JSON path into the resource. */
  columns?: ReadonlyArray<{ header: string; path: string }>;
}

/**
 * ResourceKindSpec is everything an agent declares about one OPI resource kind; the kit derives
 * RPC handlers, storage, events, status and CLI commands from it.
 */
export interface ResourceKindSpec<T = unknown> {
  /** Message name, e.g. `NullVolume`; RPCs are `Create<kind>`, `List<plural>`, ... */
  kind: string;
  /** PascalCase plural used by the List RPC, e.g. `NullVolumes`, `LogicalBridges`. */
  plural: string;
  /** Companion of the resource message (ts-proto). */
  message: MessageFns<T>;
  /**
   * Fully qualified proto message name (`opi_api.storage.v1.NullVolume`), used in events.
   * Defaults to the service's package plus the kind.
   */
  messageType?: string;
  /** gRPC service that carries the kind's RPCs (optional for tests that use the store directly). */
  service?: grpc.ServiceDefinition;
  /** Canonical name template (what responses carry) and accepted aliases. */
  names: { canonical: string; aliases?: readonly string[] };
  /** Parent kind for child resources (`parent` field in Create/List requests). */
  parent?: string;
  /**
   * Shape of the Create request. `resource-first` (storage: `{res=1|2, res_id}`) and
   * `id-first` (EVPN) differ only in field numbers; the kit reads fields by name either way.
   */
  requestShape?: 'storage' | 'evpn';
  /** Present when the wire message has a status; absent means Create/Update/Delete wait for the device. */
  status?: StatusRule;
  /** JSON paths the server sets; ignored on input (`name` and the status field are implicit). */
  outputOnly?: readonly string[];
  /** JSON paths accepted and stored but never returned (secrets). */
  writeOnly?: readonly string[];
  /** JSON paths that must be set on create. */
  required?: readonly string[];
  references?: readonly ReferenceRule[];
  unique?: readonly UniqueConstraint[];
  /**
   * Kinds with the same name scope share one id namespace (storage: every volume-like object is
   * `volumes/{id}`). Defaults to the kind.
   */
  nameScope?: string;
  /** Kind-specific validation of a create/update; throw `invalidArgument(field, ...)`. */
  validate?(resource: T, context: { operation: 'create' | 'update' }): void;
  /** Version of the stored resource payload; bump it and add `migrate` when the shape changes. */
  schemaVersion?: number;
  /** Upgrades a stored payload written with an older `schemaVersion`. */
  migrate?(resource: JsonObject, fromVersion: number): JsonObject;
  cli?: CliRule;
}

/** ResourceKind is a declared kind with its derived names; build it with {@link defineResourceKind}. */
export interface ResourceKind<T = unknown> extends ResourceKindSpec<T> {
  readonly nameForms: ResourceNames;
  /** Field of the resource in requests, e.g. `nullVolume`. */
  readonly resourceField: string;
  /** Field of the client-chosen id, e.g. `nullVolumeId`. */
  readonly idField: string;
  /** Field of the list response, e.g. `nullVolumes`. */
  readonly listField: string;
  /** The kebab-case command name. */
  readonly command: string;
  /** Top-level JSON fields of the message (from an empty message), for mask validation. */
  readonly fields: ReadonlySet<string>;
  readonly payloadVersion: number;
  readonly messageType: string;
}

/** The proto package of a service definition, from any method path (`/pkg.Service/Rpc`). */
function servicePackage(service: grpc.ServiceDefinition | undefined): string | undefined {
  const path = service ? Object.values(service)[0]?.path : undefined;
  const match = path ? /^\/(.+)\.[A-Za-z0-9]+\//.exec(path) : null;
  return match?.[1];
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * defineResourceKind validates a declaration and derives request field names, name parsers and
 * the CLI command. Declare each kind once and share the value between agent and CLI.
 */
export function defineResourceKind<T>(spec: ResourceKindSpec<T>): ResourceKind<T> {
  const nameForms = new ResourceNames(spec.names.canonical, spec.names.aliases ?? []);
  const expectedArity = spec.parent ? 2 : 1;
  if (nameForms.canonical.arity < expectedArity) {
    throw new Error(`${spec.kind}: name template needs an id for the parent and the resource`);
  }
  const resourceField = lowerFirst(spec.kind);
  const fields = new Set(Object.keys(spec.message.fromPartial({} as never) as object));
  return {
    ...spec,
    nameForms,
    resourceField,
    idField: `${resourceField}Id`,
    listField: lowerFirst(spec.plural),
    command: spec.cli?.command ?? kebab(spec.kind),
    fields,
    payloadVersion: spec.schemaVersion ?? 1,
    messageType: spec.messageType ?? `${servicePackage(spec.service) ?? 'opi_api'}.${spec.kind}`,
  };
}

/** componentStatus maps a component state to EVPN `CompStatus` enum names. */
const compStatusName: Record<ComponentState, string> = {
  PENDING: 'COMP_STATUS_PENDING',
  SUCCESS: 'COMP_STATUS_SUCCESS',
  ERROR: 'COMP_STATUS_ERROR',
};

/**
 * operStatusRule renders EVPN-style status `{oper_status, components}` for an enum prefix such as
 * `LB_OPER_STATUS`: UP when applied, DOWN while pending or failed, TO_BE_DELETED while deleting.
 */
export function operStatusRule(prefix: string, field = 'status'): StatusRule {
  return {
    field,
    render(observation) {
      const oper =
        observation.phase === 'SUCCESS'
          ? 'UP'
          : observation.phase === 'DELETING'
            ? 'TO_BE_DELETED'
            : 'DOWN';
      return {
        operStatus: `${prefix}_${oper}`,
        components: observation.components.map((c) => ({
          name: c.name,
          status: compStatusName[c.state],
          ...(c.details ? { details: c.details } : {}),
        })),
      };
    },
  };
}

/**
 * sortKindsByDependency orders kinds so that every kind comes after its parent and the kinds it
 * references (creation order; reverse it for deletion). Unknown dependencies are ignored.
 */
export function sortKindsByDependency<
  K extends Pick<ResourceKindSpec, 'kind' | 'parent' | 'references'>,
>(kinds: readonly K[]): K[] {
  const byName = new Map(kinds.map((k) => [k.kind, k]));
  const order: K[] = [];
  const visiting = new Set<string>();
  const visit = (kind: K) => {
    if (order.includes(kind) || visiting.has(kind.kind)) return;
    visiting.add(kind.kind);
    const needs = [
      ...(kind.parent ? [kind.parent] : []),
      ...(kind.references ?? []).flatMap((r) => r.kinds),
    ];
    for (const name of needs) {
      const dependency = byName.get(name);
      if (dependency) visit(dependency);
    }
    order.push(kind);
  };
  kinds.forEach(visit);
  return order;
}
