import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { opiExtBreakingChanges, opiExtLintFindings, protoDir } from '../scripts/buf-workspace.mjs';
import { telemetryExtV1 } from '../src/index.js';

const batchProto = 'opi_ext/telemetry/v1/sample_batch.proto';

describe('opi_ext release guard', () => {
  const tempDirs: string[] = [];
  afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function mutant(from: string, to: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'opi-ext-mutant-'));
    tempDirs.push(dir);
    cpSync(protoDir, dir, { recursive: true });
    const text = readFileSync(join(dir, batchProto), 'utf8');
    if (!text.includes(from)) throw new Error(`mutation target "${from}" not in ${batchProto}`);
    writeFileSync(join(dir, batchProto), text.replace(from, to));
    return dir;
  }

  it('the current opi_ext packages are compatible with the released image', () => {
    expect(opiExtBreakingChanges()).toEqual([]);
  });

  it('retyping a released field is reported as a breaking change naming it', () => {
    const findings = opiExtBreakingChanges(mutant('double sum = 3;', 'float sum = 3;'));
    expect(findings.join('\n')).toMatch(
      /Field "3" with name "sum" on message "Histogram" changed type/,
    );
  });

  it('renaming a released field breaks JSON compatibility and is reported', () => {
    const findings = opiExtBreakingChanges(mutant('string unit = 3;', 'string units = 3;'));
    expect(findings.join('\n')).toMatch(/"unit"/);
  });

  it('opi_ext follows buf lint STANDARD rules, and a violation is reported', () => {
    expect(opiExtLintFindings()).toEqual([]);
    const findings = opiExtLintFindings(mutant('string unit = 3;', 'string unitName = 3;'));
    expect(findings.join('\n')).toMatch(/"unitName" should be lower_snake_case/);
  });

  it('adding a new field is not a breaking change', () => {
    expect(
      opiExtBreakingChanges(mutant('double sum = 3;', 'double sum = 3;\n  double min = 4;')),
    ).toEqual([]);
  });

  it('the generated SampleBatch codec round-trips a histogram sample', () => {
    const batch = telemetryExtV1.SampleBatch.fromPartial({
      node: 'dpu-1',
      agent: 'network',
      time: new Date('2026-11-25T09:00:05.000Z'),
      samples: [
        {
          metric: 'opi_rpc_duration_seconds',
          type: telemetryExtV1.MetricType.METRIC_TYPE_HISTOGRAM,
          unit: 's',
          labels: { method: 'CreateVrf' },
          observation: {
            $case: 'histogram',
            value: { buckets: [{ upperBound: 0.01, count: 4 }], count: 5, sum: 0.2 },
          },
        },
      ],
    });
    const decoded = telemetryExtV1.SampleBatch.decode(
      telemetryExtV1.SampleBatch.encode(batch).finish(),
    );
    expect(decoded).toEqual(batch);
  });
});
