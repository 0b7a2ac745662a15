import { z } from 'zod';
import { resourceNameSchema } from './resource.js';

/** alarmSeverities lists alarm severities, most severe first (ITU X.733 style). */
export const alarmSeverities = ['critical', 'major', 'minor', 'warning', 'info'] as const;

/** AlarmSeverity is one of `alarmSeverities`. */
export type AlarmSeverity = (typeof alarmSeverities)[number];

/**
 * alarmEventSchema is the data of `io.opi.alarm.v1`. An alarm is identified by
 * (code, resource.kind, resource.name): it is published once with state `raised` and once with
 * state `cleared` (carrying the same raisedAt), so a subscriber can keep the set of active alarms.
 */
export const alarmEventSchema = z
  .object({
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/, 'must be UPPER_SNAKE_CASE, e.g. LINK_DOWN')
      .max(64)
      .describe('Stable machine-readable alarm code'),
    severity: z.enum(alarmSeverities),
    state: z.enum(['raised', 'cleared']),
    message: z
      .string()
      .min(1)
      .max(1024)
      .describe('Human-readable explanation; never holds secrets'),
    resource: z
      .object({
        kind: z.string().min(1).max(64).describe('Proto message name, or Node / Agent'),
        name: resourceNameSchema,
      })
      .describe('What the alarm is about'),
    raisedAt: z.iso.datetime({ offset: true }),
    clearedAt: z.iso.datetime({ offset: true }).optional().describe('Present exactly when cleared'),
  })
  .superRefine((alarm, ctx) => {
    if (alarm.state === 'cleared' && !alarm.clearedAt) {
      ctx.addIssue({
        code: 'custom',
        path: ['clearedAt'],
        message: 'clearedAt is required when state is cleared',
      });
    }
    if (alarm.state === 'raised' && alarm.clearedAt) {
      ctx.addIssue({
        code: 'custom',
        path: ['clearedAt'],
        message: 'clearedAt must be absent while raised',
      });
    }
  })
  .meta({ title: 'Alarm', description: 'A condition that needs attention was raised or cleared' });

/** AlarmEvent is the data of an alarm event. */
export type AlarmEvent = z.infer<typeof alarmEventSchema>;
