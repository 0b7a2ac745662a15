// The network agent's own configuration keys (the shared ones come from @opi/runtime).
import { z } from 'zod';
import { canonicalIpAddress, canonicalMac } from '@opi/hal';

const ipAddress = z.string().refine((v) => canonicalIpAddress(v) !== undefined, {
  message: 'must be an IPv4 or IPv6 address',
});

/** A configured device port: name and (for the sim backend) MAC. */
const devicePort = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'must be 1-15 characters of [A-Za-z0-9_.:-]'),
  mac: z
    .string()
    .refine((v) => canonicalMac(v) !== undefined, {
      message: 'must be a MAC like 02:00:00:00:00:01',
    })
    .optional(),
});

/** A list given as JSON (`["a","b"]`) or comma-separated text (`a,b`). */
const listOf = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part !== '')
        : value,
    z.array(item),
  );

/**
 * networkAgentConfig: `ports` (device ports, `[{name, mac}]`), `vtepAddress` (local VTEP),
 * `remoteVteps` (static fabric peers), `netns` (namespace the linux backend programs), and the
 * reconciler's timing.
 */
export const networkAgentConfig = {
  ports: z.array(devicePort).default([]),
  vtepAddress: ipAddress.optional(),
  remoteVteps: listOf(ipAddress).default([]),
  netns: z.string().min(1).optional(),
  resyncMs: z.coerce.number().int().nonnegative().default(30_000),
  leaseTtlMs: z.coerce.number().int().positive().default(3000),
};
