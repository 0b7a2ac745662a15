// Measures what validating and encoding telemetry batches costs, so the telemetry agent can
// size its batches. Runs on the built lib (`nx run api:bench` builds first); bounded in time.
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { libDir } from './buf-workspace.mjs';

const { eventTypes, maxSamplesPerBatch, parseEventData, telemetryExtV1 } = await import(
  join(libDir, 'dist/index.js')
);

const samples = Array.from({ length: maxSamplesPerBatch }, (_, i) => ({
  metric: i % 2 ? 'opi_port_rx_bytes_total' : 'opi_port_up',
  type: i % 2 ? 'counter' : 'gauge',
  unit: i % 2 ? 'By' : '1',
  labels: { port: `p${i % 64}`, queue: String(i % 8) },
  value: i * 1000,
}));
const batch = { node: 'dpu-1', agent: 'network', time: new Date().toISOString(), samples };
const json = JSON.stringify(batch);

function measure(label, iterations, fn) {
  fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const seconds = (performance.now() - start) / 1000;
  const perSecond = (iterations * samples.length) / seconds;
  console.log(
    `${label}: ${(perSecond / 1e6).toFixed(2)} M samples/s (${((seconds / iterations) * 1e3).toFixed(2)} ms per ${samples.length}-sample batch)`,
  );
}

console.log(
  `JSON batch: ${json.length} bytes, ${(json.length / samples.length).toFixed(1)} bytes/sample`,
);
measure('JSON.parse + zod validation', 20, () =>
  parseEventData(eventTypes.telemetrySamples, JSON.parse(json)),
);
const proto = telemetryExtV1.SampleBatch.fromPartial({
  ...batch,
  time: new Date(batch.time),
  samples: samples.map((s) => ({
    ...s,
    type: s.type === 'counter' ? 1 : 2,
    observation: { $case: 'value', value: s.value },
  })),
});
const encoded = telemetryExtV1.SampleBatch.encode(proto).finish();
console.log(
  `protobuf batch (opi_ext): ${encoded.length} bytes, ${(encoded.length / samples.length).toFixed(1)} bytes/sample`,
);
measure('protobuf encode', 20, () => telemetryExtV1.SampleBatch.encode(proto).finish());
measure('protobuf decode', 20, () => telemetryExtV1.SampleBatch.decode(encoded));
