import { describe, expect, it } from 'vitest';
import {
  describeKind,
  fetchKindCatalogs,
  kindCatalogSubject,
  resolveKind,
  serveKindCatalog,
} from '../src/index.js';
import { allKinds, bridgePort, logicalBridge, nullVolume } from './support/kinds.js';
import { useNatsServer } from './support/nats.js';

const nats = useNatsServer();

describe('kind catalogs', () => {
  it('lets a client learn every agent’s kinds from the bus, once per agent, skipping malformed answers', async () => {
    const storageA = serveKindCatalog(nats.nc, {
      agent: 'storage',
      nodeId: 'cat',
      instanceId: 'a',
      kinds: allKinds.slice(0, 5),
    });
    const storageB = serveKindCatalog(nats.nc, {
      agent: 'storage',
      nodeId: 'cat',
      instanceId: 'b',
      kinds: allKinds.slice(0, 5),
    });
    const network = serveKindCatalog(nats.nc, {
      agent: 'network',
      nodeId: 'cat',
      instanceId: 'c',
      kinds: [logicalBridge, bridgePort],
    });
    const garbage = nats.nc.subscribe(kindCatalogSubject('cat'), {
      callback: (_e, msg) => void msg.respond('not json'),
    });
    const catalogs = await fetchKindCatalogs(nats.nc, 'cat', 500);
    [storageA, storageB, network, garbage].forEach((s) => s.unsubscribe());
    expect(catalogs.map((c) => c.agent).sort()).toEqual(['network', 'storage']);
    const kinds = catalogs.flatMap((c) => c.kinds.map((k) => k.kind)).sort();
    expect(kinds).toEqual(allKinds.map((k) => k.kind).sort());
  });

  it('resolves a summary back to a kind with the real OPI message and service', () => {
    const resolved = resolveKind(JSON.parse(JSON.stringify(describeKind(bridgePort))));
    expect(resolved.messageType).toBe('opi_api.network.evpn_gw.v1alpha1.BridgePort');
    expect(resolved.nameForms.parse('bridgePorts/p-1')).toEqual(['p-1']);
    expect(resolved.references).toEqual(bridgePort.references);
    expect(resolved.status?.field).toBe('status');
    expect(
      resolved.message.toJSON(
        resolved.message.fromJSON({ spec: { ptype: 'BRIDGE_PORT_TYPE_ACCESS' } }) as never,
      ),
    ).toEqual({ spec: { ptype: 'BRIDGE_PORT_TYPE_ACCESS' } });
    expect(Object.keys(resolved.service!)).toContain('createBridgePort');
    const volume = resolveKind(describeKind(nullVolume));
    expect([volume.nameScope, volume.status, volume.required]).toEqual([
      'volumes',
      undefined,
      ['blockSize', 'blocksCount'],
    ]);
  });

  it.each([
    [
      'an unknown message type',
      { messageType: 'opi_api.storage.v1.Teapot' },
      /unknown message type/,
    ],
    ['an unknown service', { service: 'opi_api.storage.v1.TeapotService' }, /unknown service/],
  ])('refuses %s', (_title, change, message) => {
    expect(() => resolveKind({ ...describeKind(nullVolume), ...change })).toThrow(message);
  });
});
