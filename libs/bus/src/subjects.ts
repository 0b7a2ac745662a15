import { InvalidTokenError } from './errors.js';

/** Prefix of every subject of ours, so OPI traffic never collides with other NATS users. */
export const SUBJECT_ROOT = 'opi';

const TOKEN = /^[A-Za-z0-9_-]+$/;
/** Longest accepted token; keeps subjects, client names and KV bucket names short. */
export const MAX_TOKEN_LENGTH = 64;

/**
 * validateToken checks that `value` can be one NATS subject token (and a KV bucket name part):
 * 1–64 characters of `[A-Za-z0-9_-]`. It throws {@link InvalidTokenError} naming `field` and
 * the reason (a dot, a wildcard, whitespace, another character), and returns `value`.
 */
export function validateToken(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidTokenError(field, value, 'must be a string');
  if (value.length === 0) throw new InvalidTokenError(field, value, 'must not be empty');
  if (value.length > MAX_TOKEN_LENGTH) {
    throw new InvalidTokenError(field, value, `must be at most ${MAX_TOKEN_LENGTH} characters`);
  }
  if (TOKEN.test(value)) return value;
  if (value.includes('.'))
    throw new InvalidTokenError(field, value, "'.' separates subject tokens");
  if (value.includes('*') || value.includes('>')) {
    throw new InvalidTokenError(field, value, "'*' and '>' are subject wildcards");
  }
  if (/\s/.test(value)) throw new InvalidTokenError(field, value, 'whitespace is not allowed');
  const bad = [...value].find((c) => !TOKEN.test(c));
  throw new InvalidTokenError(
    field,
    value,
    `character ${JSON.stringify(bad)} is not allowed (use A-Z a-z 0-9 _ -)`,
  );
}

/**
 * validateEventType checks a dotted event type such as `port.created`: one or more tokens,
 * each valid by {@link validateToken}. Dots are allowed here because the type becomes the tail
 * of the event subject, so consumers can filter with `…evt.<agent>.port.>`.
 */
export function validateEventType(value: unknown): string {
  if (typeof value !== 'string')
    throw new InvalidTokenError('eventType', value, 'must be a string');
  const tokens = value.split('.');
  if (tokens.length > 8)
    throw new InvalidTokenError('eventType', value, 'must have at most 8 dot-separated parts');
  tokens.forEach((token, index) => validateToken(`eventType part ${index + 1}`, token));
  return value;
}

const nodeOrAny = (nodeId?: string) =>
  nodeId === undefined ? '*' : validateToken('nodeId', nodeId);

/**
 * subjects builds every subject of the OPI bus taxonomy. The node id is always the second
 * token, so many DPUs can share one NATS system and a leaf node can export `opi.<node>.>`.
 * Wildcard builders take an optional node id and match all nodes without it.
 */
export const subjects = {
  /** `opi.<node>.evt.<agent>.<type>`: one typed event (type may be dotted). */
  events(nodeId: string, agent: string, eventType: string): string {
    return `${SUBJECT_ROOT}.${validateToken('nodeId', nodeId)}.evt.${validateToken('agent', agent)}.${validateEventType(eventType)}`;
  },
  /** `opi.<node>.evt.<agent>.>`: every event of one agent on one node. */
  agentEvents(nodeId: string, agent: string): string {
    return `${SUBJECT_ROOT}.${validateToken('nodeId', nodeId)}.evt.${validateToken('agent', agent)}.>`;
  },
  /** `opi.<node|*>.evt.>`: every event of one node, or of all nodes. */
  allEvents(nodeId?: string): string {
    return `${SUBJECT_ROOT}.${nodeOrAny(nodeId)}.evt.>`;
  },
  /** `opi.<node>.hb.<agent>.<instance>`: heartbeats of one agent instance. */
  heartbeat(nodeId: string, agent: string, instanceId: string): string {
    return `${SUBJECT_ROOT}.${validateToken('nodeId', nodeId)}.hb.${validateToken('agent', agent)}.${validateToken('instanceId', instanceId)}`;
  },
  /** `opi.<node|*>.hb.>`: heartbeats of every instance of one node, or of all nodes. */
  allHeartbeats(nodeId?: string): string {
    return `${SUBJECT_ROOT}.${nodeOrAny(nodeId)}.hb.>`;
  },
  /** `opi.<node>.tlm.<agent>`: telemetry sample batches of one agent. */
  telemetry(nodeId: string, agent: string): string {
    return `${SUBJECT_ROOT}.${validateToken('nodeId', nodeId)}.tlm.${validateToken('agent', agent)}`;
  },
  /** `opi.<node|*>.tlm.*`: telemetry of every agent of one node, or of all nodes. */
  allTelemetry(nodeId?: string): string {
    return `${SUBJECT_ROOT}.${nodeOrAny(nodeId)}.tlm.*`;
  },
  /** `opi.<node>.svc.<agent>.<instance>.<endpoint>`: a request/reply endpoint of one instance. */
  serviceEndpoint(nodeId: string, agent: string, instanceId: string, endpoint: string): string {
    return `${SUBJECT_ROOT}.${validateToken('nodeId', nodeId)}.svc.${validateToken('agent', agent)}.${validateToken('instanceId', instanceId)}.${validateToken('endpoint', endpoint)}`;
  },
  /**
   * `opi.<node>.<area>.<token…>`: a subject of another area, e.g. `scoped('dpu0', 'kit',
   * 'kinds')` → `opi.dpu0.kit.kinds`. Keeps every project inside the taxonomy (node id second,
   * tokens validated). The areas with builders above (`evt`, `hb`, `tlm`, `svc`) are refused.
   */
  scoped(nodeId: string, area: string, ...tokens: string[]): string {
    validateToken('area', area);
    if ((RESERVED_AREAS as readonly string[]).includes(area)) {
      throw new InvalidTokenError(
        'area',
        area,
        'is reserved for its own builder (events, heartbeat, …)',
      );
    }
    if (tokens.length === 0)
      throw new InvalidTokenError('tokens', tokens, 'at least one token must follow the area');
    tokens.forEach((token, index) => validateToken(`token ${index + 1}`, token));
    return `${SUBJECT_ROOT}.${validateToken('nodeId', nodeId)}.${area}.${tokens.join('.')}`;
  },
} as const;

/** Areas (third subject token) that have their own builder in {@link subjects}. */
export const RESERVED_AREAS = ['evt', 'hb', 'tlm', 'svc'] as const;

/** A subject split back into its parts; see {@link parseSubject}. */
export interface ParsedSubject {
  nodeId: string;
  kind: 'evt' | 'hb' | 'tlm' | 'svc';
  agent: string;
  /** Event type (evt), instance id (hb), `<instance>.<endpoint>` (svc), '' (tlm). */
  rest: string;
}

/** parseSubject reverses the builders of {@link subjects}; undefined for foreign subjects. */
export function parseSubject(subject: string): ParsedSubject | undefined {
  const [root, nodeId, kind, agent, ...rest] = subject.split('.');
  if (root !== SUBJECT_ROOT || !nodeId || !agent) return undefined;
  if (kind !== 'evt' && kind !== 'hb' && kind !== 'tlm' && kind !== 'svc') return undefined;
  return { nodeId, kind, agent, rest: rest.join('.') };
}
