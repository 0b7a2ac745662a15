import { describe, expect, it } from 'vitest';
import {
  FencingGuard,
  InvalidSpecError,
  NetworkDeviceRegistry,
  StaleFenceError,
  UnknownBackendError,
  type NetworkDevice,
  type NetworkDeviceOptions,
} from '../src/index.js';

describe('fencing guard', () => {
  it('admits equal or newer tokens and rejects older ones', () => {
    const guard = new FencingGuard();
    guard.admit(3);
    guard.admit(3);
    guard.admit(9);
    expect(guard.highestSeen).toBe(9);
    expect(() => guard.admit(8)).toThrow(StaleFenceError);
    expect(guard.highestSeen).toBe(9);
  });

  it('rejects tokens older than one observed from elsewhere', () => {
    const guard = new FencingGuard();
    guard.observe(12);
    guard.observe(4);
    expect(guard.highestSeen).toBe(12);
    expect(() => guard.admit(11)).toThrow(StaleFenceError);
    guard.admit(12);
  });

  it('rejects tokens that are not non-negative integers', () => {
    const guard = new FencingGuard();
    expect(() => guard.admit(-1)).toThrow(InvalidSpecError);
    expect(() => guard.admit(1.5)).toThrow(InvalidSpecError);
    expect(() => guard.admit(Number.NaN)).toThrow(InvalidSpecError);
  });
});

describe('network device registry', () => {
  const fakeDevice = (backend: string) => ({ backend }) as unknown as NetworkDevice;

  it('creates the named backend with the given options and defaults to sim', async () => {
    const seen: Array<[string, NetworkDeviceOptions]> = [];
    const registry = new NetworkDeviceRegistry()
      .register('sim', async (options) => {
        seen.push(['sim', options]);
        return fakeDevice('sim');
      })
      .register('linux', async (options) => {
        seen.push(['linux', options]);
        return fakeDevice('linux');
      });
    expect(registry.names()).toEqual(['linux', 'sim']);
    expect((await registry.create('linux', { netns: 'x' })).backend).toBe('linux');
    expect((await registry.create(undefined, {})).backend).toBe('sim');
    expect((await registry.create('', {})).backend).toBe('sim');
    expect(seen).toEqual([
      ['linux', { netns: 'x' }],
      ['sim', {}],
      ['sim', {}],
    ]);
  });

  it('names the OPI_HAL setting and the known backends for an unknown name', async () => {
    const registry = new NetworkDeviceRegistry().register('sim', async () => fakeDevice('sim'));
    const error = await registry.create('dpdk', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownBackendError);
    expect((error as Error).message).toBe(
      'OPI_HAL: unknown network device backend "dpdk" (known: sim)',
    );
  });

  it('refuses to register a name twice', () => {
    const registry = new NetworkDeviceRegistry().register('sim', async () => fakeDevice('sim'));
    expect(() => registry.register('sim', async () => fakeDevice('sim'))).toThrow(/already/);
  });
});
