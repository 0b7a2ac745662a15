import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  EventDataError,
  eventDataSchemas,
  eventJsonSchema,
  eventTypes,
  isEventType,
  maxSamplesPerBatch,
  parseEventData,
  stripWriteOnlyFields,
  type EventType,
  type TelemetrySample,
} from '../src/index.js';

const libDir = join(import.meta.dirname, '..');
const schemasDir = join(libDir, 'schemas');

/** The JSON example that follows each "#### `<type>`" heading of the README. */
function readmeExamples(): Map<string, unknown> {
  const readme = readFileSync(join(libDir, 'README.md'), 'utf8');
  const examples = new Map<string, unknown>();
  for (const [, type, json] of readme.matchAll(
    /#### `([a-z0-9.]+)`[\s\S]*?```json\n([\s\S]*?)```/g,
  )) {
    examples.set(type as string, JSON.parse(json as string));
  }
  return examples;
}

function issuesOf(type: EventType, data: unknown): readonly string[] {
  try {
    parseEventData(type, data);
  } catch (error) {
    if (error instanceof EventDataError) return error.issues;
    throw error;
  }
  return [];
}

const counter = (value: number): TelemetrySample => ({
  metric: 'opi_rx_bytes_total',
  type: 'counter',
  unit: 'By',
  labels: { port: 'p0' },
  value,
});

const batchOf = (samples: TelemetrySample[]) => ({
  node: 'dpu-1',
  agent: 'network',
  time: '2026-11-25T09:00:05.000Z',
  samples,
});

describe('event data schemas', () => {
  const examples = readmeExamples();

  it('the README documents one example per event type, and each one parses', () => {
    expect([...examples.keys()].sort()).toEqual(Object.values(eventTypes).sort());
    for (const [type, example] of examples) {
      expect(isEventType(type)).toBe(true);
      expect(parseEventData(type as EventType, example)).toEqual(example);
    }
  });

  it('committed JSON Schemas equal the ones generated from the zod schemas', () => {
    const files = readdirSync(schemasDir).sort();
    expect(files).toEqual(
      Object.values(eventTypes)
        .map((t) => `${t}.json`)
        .sort(),
    );
    for (const type of Object.values(eventTypes)) {
      const committed = JSON.parse(readFileSync(join(schemasDir, `${type}.json`), 'utf8'));
      expect(committed, `schemas/${type}.json is stale: run nx run api:schemas`).toEqual(
        eventJsonSchema(type),
      );
    }
  });

  it('an independent JSON Schema validator accepts the README examples and rejects bad data', () => {
    const ajv = new Ajv({ allErrors: true, format: 'full' });
    const validators = new Map(
      Object.values(eventTypes).map((type) => [type, ajv.compile(eventJsonSchema(type))]),
    );
    for (const [type, validate] of validators) {
      expect(validate(examples.get(type)), JSON.stringify(validate.errors)).toBe(true);
    }
    const validateBatch = validators.get(eventTypes.telemetrySamples)!;
    expect(validateBatch({ ...batchOf([counter(1)]), time: 'yesterday' })).toBe(false);
    expect(validateBatch(batchOf([{ ...counter(1), type: 'summary' as never }]))).toBe(false);
  });

  it('a negative counter is rejected naming the sample and field', () => {
    expect(issuesOf(eventTypes.telemetrySamples, batchOf([counter(1), counter(-5)]))).toEqual([
      'samples.1.value: counters are never negative',
    ]);
  });

  it('a histogram sample needs cumulative buckets with increasing bounds and no value', () => {
    const issues = issuesOf(
      eventTypes.telemetrySamples,
      batchOf([
        {
          metric: 'opi_latency_seconds',
          type: 'histogram',
          unit: 's',
          labels: {},
          value: 3,
          histogram: {
            buckets: [
              { upperBound: 0.1, count: 5 },
              { upperBound: 0.05, count: 4 },
            ],
            count: 3,
            sum: 1,
          },
        },
      ]),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'samples.0.histogram.buckets.1.upperBound: bounds must increase',
        'samples.0.histogram.buckets.1.count: bucket counts are cumulative',
        'samples.0.histogram.count: count is below the last bucket count',
        'samples.0.value: histogram samples carry no value',
      ]),
    );
  });

  it('bad metric and label names, empty and oversized batches are rejected', () => {
    expect(
      issuesOf(eventTypes.telemetrySamples, batchOf([{ ...counter(1), metric: 'rx bytes' }]))[0],
    ).toMatch(/^samples\.0\.metric: /);
    expect(
      issuesOf(
        eventTypes.telemetrySamples,
        batchOf([{ ...counter(1), labels: { 'bad-name': 'x' } }]),
      )[0],
    ).toMatch(/^samples\.0\.labels/);
    expect(issuesOf(eventTypes.telemetrySamples, batchOf([]))[0]).toMatch(/^samples: /);
    const full = Array.from({ length: maxSamplesPerBatch }, (_, i) => counter(i));
    expect(issuesOf(eventTypes.telemetrySamples, batchOf(full))).toEqual([]);
    expect(issuesOf(eventTypes.telemetrySamples, batchOf([...full, counter(1)]))[0]).toMatch(
      /^samples: /,
    );
  });

  it('a resource-changed event carrying a write-only field is rejected', () => {
    const event = {
      kind: 'EncryptedVolume',
      messageType: 'opi_api.storage.v1.EncryptedVolume',
      name: 'volumes/enc0',
      revision: 7,
      generation: 1,
      change: 'created',
      object: {
        name: 'volumes/enc0',
        volumeNameRef: 'Malloc0',
        key: 'c2VjcmV0',
        cipher: 'ENCRYPTION_TYPE_AES_XTS_256',
      },
    };
    expect(issuesOf(eventTypes.resourceChanged, event)).toEqual([
      'object.key: object.key is write-only and must not be published',
    ]);
    const stripped = stripWriteOnlyFields(event.messageType, event.object);
    expect(stripped).not.toHaveProperty('key');
    expect(event.object).toHaveProperty('key');
    expect(issuesOf(eventTypes.resourceChanged, { ...event, object: stripped })).toEqual([]);
  });

  it('nested write-only fields are stripped without touching their siblings', () => {
    const subsystem = {
      name: 'nvmeSubsystems/s1',
      spec: { nqn: 'nqn.2022-09.io.spdk:s1', psk: 'AAEC' },
    };
    expect(stripWriteOnlyFields('opi_api.storage.v1.NvmeSubsystem', subsystem)).toEqual({
      name: 'nvmeSubsystems/s1',
      spec: { nqn: 'nqn.2022-09.io.spdk:s1' },
    });
    expect(stripWriteOnlyFields('opi_api.storage.v1.NvmeRemoteController', { name: 'n' })).toEqual({
      name: 'n',
    });
  });

  it('kind must match messageType and change must be a known change type', () => {
    const base = readmeExamples().get(eventTypes.resourceChanged) as Record<string, unknown>;
    expect(issuesOf(eventTypes.resourceChanged, { ...base, kind: 'NullVolume' })).toEqual([
      'kind: kind NullVolume does not match messageType opi_api.storage.v1.MallocVolume',
    ]);
    expect(issuesOf(eventTypes.resourceChanged, { ...base, change: 'renamed' })[0]).toMatch(
      /^change: /,
    );
    expect(issuesOf(eventTypes.resourceChanged, { ...base, generation: 0 })[0]).toMatch(
      /^generation: /,
    );
  });

  it('status errors need a reason; cleared alarms need clearedAt and raised ones must not have it', () => {
    const status = readmeExamples().get(eventTypes.statusChanged) as Record<string, unknown>;
    expect(issuesOf(eventTypes.statusChanged, { ...status, phase: 'error' })).toEqual([
      'reason: reason is required when phase is error',
    ]);
    const alarm = readmeExamples().get(eventTypes.alarm) as Record<string, unknown>;
    expect(issuesOf(eventTypes.alarm, { ...alarm, state: 'cleared' })).toEqual([
      'clearedAt: clearedAt is required when state is cleared',
    ]);
    expect(issuesOf(eventTypes.alarm, { ...alarm, clearedAt: '2026-11-25T09:01:00Z' })).toEqual([
      'clearedAt: clearedAt must be absent while raised',
    ]);
    expect(issuesOf(eventTypes.alarm, { ...alarm, code: 'link down' })[0]).toMatch(/^code: /);
  });

  it('non-object data and unknown types fail with an EventDataError, never a crash', () => {
    expect(issuesOf(eventTypes.alarm, 'not json object')[0]).toMatch(/^\(root\): /);
    expect(issuesOf(eventTypes.alarm, null)[0]).toMatch(/^\(root\): /);
    expect(() => parseEventData('io.opi.nope.v1' as EventType, {})).toThrow(EventDataError);
    expect(isEventType('io.opi.nope.v1')).toBe(false);
    expect(Object.keys(eventDataSchemas)).toHaveLength(4);
  });

  it('unknown fields from a newer v1 publisher are tolerated and dropped', () => {
    const alarm = readmeExamples().get(eventTypes.alarm) as Record<string, unknown>;
    expect(parseEventData(eventTypes.alarm, { ...alarm, runbook: 'https://x' })).toEqual(alarm);
  });
});
