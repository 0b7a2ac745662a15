import { describe, expect, it } from 'vitest';
import { waitFor } from '@opi/testing';
import { Lease, LeaseLostError } from '../src/index.js';
import { useNatsServer } from './support/nats.js';

const nats = useNatsServer();

const open = (agent: string, instanceId: string, ttlMs = 600) =>
  Lease.open(nats.nc, { nodeId: 'lease', agent, instanceId, ttlMs });

describe('Lease', () => {
  it('elects exactly one holder and hands over with a higher epoch when the holder stops renewing', async () => {
    const a = await open('one', 'a');
    const b = await open('one', 'b');
    const stopA = new AbortController();
    const stopB = new AbortController();
    const acquired: string[] = [];
    a.onAcquired((e) => acquired.push(`a@${e}`));
    b.onAcquired((e) => acquired.push(`b@${e}`));
    await a.start(stopA.signal);
    await b.start(stopB.signal);
    expect([a.held, b.held]).toEqual([true, false]);
    const fenceA = a.fence();
    expect(() => fenceA.check()).not.toThrow();
    stopA.abort(); // a freezes: no more renewals, no release
    await waitFor(() => b.held, { timeoutMs: 5000 });
    expect(acquired).toEqual(['a@1', 'b@2']);
    expect(a.held).toBe(false); // its own clock says the lease may be gone
    expect(() => fenceA.check()).toThrow(LeaseLostError);
    stopB.abort();
  });

  it('hands over at once on release, keeping the epoch increasing', async () => {
    const a = await open('two', 'a', 60_000);
    const b = await open('two', 'b', 60_000);
    const stopA = new AbortController();
    const stopB = new AbortController();
    await a.start(stopA.signal);
    await b.start(stopB.signal);
    const started = Date.now();
    await a.release();
    await waitFor(() => b.held, { timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(5000); // far less than the 60 s ttl
    expect(b.epoch).toBe(2);
    stopA.abort();
    stopB.abort();
  });

  it('notices a lost lease when another replica overwrote it', async () => {
    const a = await open('three', 'a', 60_000);
    const stop = new AbortController();
    const lost: number[] = [];
    a.onLost((e) => lost.push(e));
    await a.start(stop.signal);
    // Another writer takes the key by CAS (as a standby would after expiry).
    const { JsonBucket } = await import('../src/index.js');
    const bucket = await JsonBucket.open<{
      holder: string;
      epoch: number;
      ttlMs: number;
      renewedAt: string;
    }>(nats.nc, 'opi-kit-lease-leases');
    const current = (await bucket.get('three'))!;
    await bucket.update(
      'three',
      { ...current.value, holder: 'intruder', epoch: current.value.epoch + 1 },
      current.revision,
    );
    await waitFor(() => lost.length > 0, { timeoutMs: 60_000 / 3 + 5000 });
    expect(lost).toEqual([1]);
    expect(a.held).toBe(false);
    stop.abort();
  });
});
