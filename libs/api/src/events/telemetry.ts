import { z } from 'zod';

/** metricTypes lists the metric kinds of a telemetry sample. */
export const metricTypes = ['counter', 'gauge', 'histogram'] as const;

/** MetricType is one of `metricTypes`. */
export type MetricType = (typeof metricTypes)[number];

/**
 * maxSamplesPerBatch caps one batch so that a message stays well below NATS' default
 * max_payload (1 MiB); publishers split larger sets into several batches.
 */
export const maxSamplesPerBatch = 5000;

/** histogramSchema is a cumulative histogram: each bucket counts observations <= upperBound. */
export const histogramSchema = z
  .object({
    buckets: z
      .array(z.object({ upperBound: z.number(), count: z.number().int().nonnegative() }))
      .min(1),
    count: z
      .number()
      .int()
      .nonnegative()
      .describe('All observations, including those above the last bound'),
    sum: z.number(),
  })
  .superRefine((histogram, ctx) => {
    histogram.buckets.forEach((bucket, i) => {
      const previous = histogram.buckets[i - 1];
      if (previous && bucket.upperBound <= previous.upperBound) {
        ctx.addIssue({
          code: 'custom',
          path: ['buckets', i, 'upperBound'],
          message: 'bounds must increase',
        });
      }
      if (previous && bucket.count < previous.count) {
        ctx.addIssue({
          code: 'custom',
          path: ['buckets', i, 'count'],
          message: 'bucket counts are cumulative',
        });
      }
    });
    const last = histogram.buckets.at(-1);
    if (last && histogram.count < last.count) {
      ctx.addIssue({
        code: 'custom',
        path: ['count'],
        message: 'count is below the last bucket count',
      });
    }
  });

/** Histogram is a cumulative histogram value. */
export type Histogram = z.infer<typeof histogramSchema>;

/** telemetrySampleSchema is one observation of one metric with its labels. */
export const telemetrySampleSchema = z
  .object({
    metric: z
      .string()
      .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus-style metric name')
      .max(200),
    type: z.enum(metricTypes),
    unit: z.string().max(64).describe('UCUM-style unit: By, s, 1, {packet}, ...'),
    labels: z.record(
      z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus-style label name'),
      z.string().max(1024),
    ),
    value: z.number().optional().describe('Counter or gauge value'),
    histogram: histogramSchema.optional().describe('Histogram value'),
  })
  .superRefine((sample, ctx) => {
    if (sample.type === 'histogram') {
      if (!sample.histogram) {
        ctx.addIssue({
          code: 'custom',
          path: ['histogram'],
          message: 'histogram samples need histogram',
        });
      }
      if (sample.value !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['value'],
          message: 'histogram samples carry no value',
        });
      }
      return;
    }
    if (sample.value === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `${sample.type} samples need value`,
      });
    }
    if (sample.histogram !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['histogram'],
        message: `${sample.type} samples carry no histogram`,
      });
    }
    if (sample.type === 'counter' && sample.value !== undefined && sample.value < 0) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'counters are never negative' });
    }
  });

/** TelemetrySample is one sample of a batch. */
export type TelemetrySample = z.infer<typeof telemetrySampleSchema>;

/**
 * telemetrySampleBatchSchema is the data of `io.opi.telemetry.samples.v1`: many samples taken
 * at one moment by one agent on one node. One message per sample would cap throughput at
 * JetStream's acknowledged publish rate, so samples always travel in batches.
 */
export const telemetrySampleBatchSchema = z
  .object({
    node: z.string().min(1).max(253).describe('Node (DPU) the samples come from'),
    agent: z.string().min(1).max(64).describe('Agent that took the samples'),
    time: z.iso.datetime({ offset: true }).describe('When the samples were taken'),
    samples: z.array(telemetrySampleSchema).min(1).max(maxSamplesPerBatch),
  })
  .meta({
    title: 'Telemetry sample batch',
    description: 'Metric samples of one agent at one moment',
  });

/** TelemetrySampleBatch is the data of a telemetry event. */
export type TelemetrySampleBatch = z.infer<typeof telemetrySampleBatchSchema>;
