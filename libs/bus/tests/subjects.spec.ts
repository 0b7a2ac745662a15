import { describe, expect, it } from 'vitest';
import { InvalidTokenError, parseSubject, subjects, validateToken } from '../src/index.js';

describe('subject taxonomy', () => {
  it('puts the node id second in every subject', () => {
    expect(subjects.events('dpu0', 'network-agent', 'port.created')).toBe(
      'opi.dpu0.evt.network-agent.port.created',
    );
    expect(subjects.agentEvents('dpu0', 'network-agent')).toBe('opi.dpu0.evt.network-agent.>');
    expect(subjects.heartbeat('dpu0', 'storage-agent', 'abc-123')).toBe(
      'opi.dpu0.hb.storage-agent.abc-123',
    );
    expect(subjects.telemetry('dpu1', 'telemetry-agent')).toBe('opi.dpu1.tlm.telemetry-agent');
    expect(subjects.serviceEndpoint('dpu0', 'network-agent', 'i1', 'health')).toBe(
      'opi.dpu0.svc.network-agent.i1.health',
    );
  });

  it('builds subjects of other areas inside the taxonomy', () => {
    expect(subjects.scoped('dpu0', 'kit', 'kinds')).toBe('opi.dpu0.kit.kinds');
    expect(() => subjects.scoped('dpu0', 'evt', 'x')).toThrow(/area "evt" .*reserved/);
    expect(() => subjects.scoped('dpu0', 'kit')).toThrow(/at least one token/);
    expect(() => subjects.scoped('dpu0', 'kit', 'a.b')).toThrow(/token 1 "a\.b"/);
  });

  it('builds wildcards for one node or for all nodes', () => {
    expect(subjects.allEvents()).toBe('opi.*.evt.>');
    expect(subjects.allEvents('dpu7')).toBe('opi.dpu7.evt.>');
    expect(subjects.allHeartbeats()).toBe('opi.*.hb.>');
    expect(subjects.allTelemetry('dpu7')).toBe('opi.dpu7.tlm.*');
  });

  it('parses a subject back into node, kind and agent', () => {
    expect(parseSubject('opi.dpu0.evt.network-agent.port.created')).toEqual({
      nodeId: 'dpu0',
      kind: 'evt',
      agent: 'network-agent',
      rest: 'port.created',
    });
    expect(parseSubject('$SRV.PING')).toBeUndefined();
    expect(parseSubject('opi.dpu0.other.x')).toBeUndefined();
  });
});

describe('subject token validation', () => {
  const rejected: Array<[string, RegExp]> = [
    ['dpu.0', /'\.' separates subject tokens/],
    ['dpu*', /wildcards/],
    ['dpu>', /wildcards/],
    ['dpu 0', /whitespace/],
    ['dpu\t0', /whitespace/],
    ['', /must not be empty/],
    ['dpü', /character "ü" is not allowed/],
    ['x'.repeat(65), /at most 64 characters/],
  ];

  it.each(rejected)('rejects node id %j with a reason', (value, reason) => {
    expect(() => subjects.events(value, 'agent', 'type')).toThrow(InvalidTokenError);
    expect(() => subjects.events(value, 'agent', 'type')).toThrow(reason);
  });

  it('names the offending field in the error', () => {
    const error = (() => {
      try {
        subjects.heartbeat('dpu0', 'network.agent', 'i1');
      } catch (e) {
        return e as InvalidTokenError;
      }
    })();
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect(error?.field).toBe('agent');
    expect(error?.retryable).toBe(false);
    expect(error?.message).toMatch(/^agent "network\.agent" is not a valid NATS subject token/);
  });

  it('accepts dotted event types but validates each part', () => {
    expect(subjects.events('n', 'a', 'vrf.route.added')).toBe('opi.n.evt.a.vrf.route.added');
    expect(() => subjects.events('n', 'a', 'route..added')).toThrow(
      /eventType part 2 "" .*must not be empty/,
    );
    expect(() => subjects.events('n', 'a', 'route.*')).toThrow(/eventType part 2/);
  });

  it('accepts letters, digits, dash and underscore', () => {
    expect(validateToken('nodeId', 'DPU_0-a9')).toBe('DPU_0-a9');
  });
});
