// opictl resource commands and `apply -f` against a real agent (runtime + kit) on a real nats-server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evpnGwV1alpha1 as evpn, storageV1 as storage } from '@opi/api';
import {
  defineResourceKind,
  operStatusRule,
  startResourceAgent,
  type KindReconciler,
  type ResourceKind,
} from '@opi/kit';
import { startAgent, type RunningAgent } from '@opi/runtime';
import {
  freePort,
  startNatsServer,
  tempDir,
  waitFor,
  type RunningNatsServer,
  type TempDir,
} from '@opi/testing';
import { connect } from '@nats-io/transport-node';
import { discoverResourceKinds, registerResourceCommands } from '../src/commands/resources.js';

const kinds = [
  defineResourceKind({
    kind: 'NullVolume',
    plural: 'NullVolumes',
    message: storage.NullVolume,
    service: storage.NullVolumeServiceService,
    names: { canonical: 'volumes/{volume}', aliases: ['nullVolumes/{volume}'] },
    nameScope: 'volumes',
    required: ['blockSize', 'blocksCount'],
  }),
  defineResourceKind({
    kind: 'NvmeSubsystem',
    plural: 'NvmeSubsystems',
    message: storage.NvmeSubsystem,
    service: storage.FrontendNvmeServiceService,
    names: { canonical: 'nvmeSubsystems/{subsystem}' },
    writeOnly: ['spec.psk'],
    status: { field: 'status', render: () => ({}) },
  }),
  defineResourceKind({
    kind: 'NvmeNamespace',
    plural: 'NvmeNamespaces',
    message: storage.NvmeNamespace,
    service: storage.FrontendNvmeServiceService,
    names: { canonical: 'nvmeSubsystems/{subsystem}/nvmeNamespaces/{namespace}' },
    parent: 'NvmeSubsystem',
    references: [
      { field: 'spec.volumeNameRef', kinds: ['NullVolume'], form: 'idOrName', required: true },
    ],
    status: {
      field: 'status',
      render: (o) => ({
        operState: o.phase === 'SUCCESS' ? 'OPER_STATE_ONLINE' : 'OPER_STATE_OFFLINE',
      }),
    },
  }),
  defineResourceKind({
    kind: 'LogicalBridge',
    plural: 'LogicalBridges',
    message: evpn.LogicalBridge,
    service: evpn.LogicalBridgeServiceService,
    names: {
      canonical: '//network.opiproject.org/bridges/{bridge}',
      aliases: ['logicalBridges/{bridge}'],
    },
    status: operStatusRule('LB_OPER_STATUS'),
    cli: {
      columns: [
        { header: 'NAME', path: 'name' },
        { header: 'VLAN', path: 'spec.vlanId' },
        { header: 'STATUS', path: 'status.operStatus' },
      ],
    },
  }),
  defineResourceKind({
    kind: 'BridgePort',
    plural: 'BridgePorts',
    message: evpn.BridgePort,
    service: evpn.BridgePortServiceService,
    names: { canonical: '//network.opiproject.org/ports/{port}', aliases: ['bridgePorts/{port}'] },
    status: operStatusRule('BP_OPER_STATUS'),
    references: [{ field: 'spec.logicalBridges', kinds: ['LogicalBridge'], form: 'name' }],
  }),
] as ResourceKind[];

/** A device that accepts everything (the kit's reconciler contract, in memory). */
const accepting: KindReconciler = {
  apply: async () => ({ components: [{ name: 'test', state: 'SUCCESS' }] }),
  remove: async () => undefined,
};

let nats: RunningNatsServer;
let agent: RunningAgent;
let dir: TempDir;
let addr: string;

beforeAll(async () => {
  nats = await startNatsServer();
  dir = await tempDir('opictl-resources');
  const port = await freePort();
  addr = `127.0.0.1:${port}`;
  agent = await startAgent(
    {
      name: 'resources-test-agent',
      agent: 'storage',
      version: '0.0.0',
      defaultGrpcPort: port,
      start: async (ctx) => {
        await startResourceAgent(ctx, {
          agent: 'test',
          kinds,
          reconcilers: Object.fromEntries(kinds.map((k) => [k.kind, accepting])),
        });
      },
    },
    [],
    {
      OPI_NATS_URL: nats.url,
      OPI_GRPC_ADDR: addr,
      OPI_STATE_DIR: join(dir.path, 'state'),
      OPI_LOG_LEVEL: 'silent',
      OPI_NODE_ID: 'cli',
    },
  );
});
afterAll(async () => {
  await agent?.stop();
  await nats?.stop();
  await dir?.cleanup();
});

/** Runs one opictl command line and returns what it printed. */
async function opictl(...args: string[]): Promise<string> {
  let output = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  const program = new Command('opictl').exitOverride();
  registerResourceCommands(program, kinds, { out });
  await program.parseAsync([
    'node',
    'opictl',
    ...args,
    ...(args[0] === 'help' ? [] : ['--addr', addr]),
  ]);
  return output;
}

const applyFile = (name: string, text: string) => {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
};

const stack = `
# children and referring objects first on purpose: apply orders by dependency
kind: NvmeNamespace
id: ns-1
parent: nvmeSubsystems/ss-1
spec: { volumeNameRef: vol-1, hostNsid: 1 }
---
kind: BridgePort
id: port-1
spec: { macAddress: "AAECAwQF", ptype: BRIDGE_PORT_TYPE_ACCESS, logicalBridges: ["//network.opiproject.org/bridges/blue"] }
---
kind: NullVolume
id: vol-1
blockSize: 512
blocksCount: 1024
---
kind: NvmeSubsystem
id: ss-1
spec: { nqn: "nqn.2022-09.io.spdk:ss1", psk: "c2VjcmV0" }
---
kind: LogicalBridge
name: logicalBridges/blue
spec: { vlanId: 10, vni: 1000 }
`;

describe('opictl apply -f', () => {
  it('creates a multi-kind file in dependency order, then reports no changes on the second run', async () => {
    const file = applyFile('stack.yaml', stack);
    const first = JSON.parse(await opictl('apply', '-f', file, '-o', 'json')) as Array<{
      action: string;
      kind: string;
      name: string;
    }>;
    expect(first.every((o) => o.action === 'created')).toBe(true);
    const position = (kind: string) => first.findIndex((o) => o.kind === kind);
    expect(first).toHaveLength(5);
    expect(position('NvmeSubsystem')).toBeLessThan(position('NvmeNamespace'));
    expect(position('NullVolume')).toBeLessThan(position('NvmeNamespace'));
    expect(position('LogicalBridge')).toBeLessThan(position('BridgePort'));
    const second = await opictl('apply', '-f', file);
    expect(second).toContain('0 created, 0 updated, 5 unchanged');
    expect(second).toMatch(
      /unchanged\s+LogicalBridge\s+\/\/network\.opiproject\.org\/bridges\/blue/,
    );
  });

  it('updates only what changed', async () => {
    const file = applyFile('stack2.yaml', stack.replace('blocksCount: 1024', 'blocksCount: 2048'));
    const third = JSON.parse(await opictl('apply', '-f', file, '-o', 'json')) as Array<{
      action: string;
      name: string;
    }>;
    expect(third.filter((o) => o.action !== 'unchanged')).toEqual([
      { action: 'updated', kind: 'NullVolume', name: 'volumes/vol-1' },
    ]);
  });

  it.each([
    ['an unknown kind', 'kind: Teapot\nid: t-1\n', /object 1: kind: unknown kind "Teapot"/],
    ['no identity', 'kind: NullVolume\nblockSize: 512\n', /object 1: id or name: required/],
    ['a child without parent', 'kind: NvmeNamespace\nid: ns-9\n', /object 1: parent: required/],
    ['invalid YAML', 'kind: [unclosed\n', /document 1/],
    [
      'a server-side validation error',
      'kind: NullVolume\nid: BAD\nblockSize: 512\nblocksCount: 1\n',
      /INVALID_ARGUMENT: null_volume_id/,
    ],
  ])('fails with a precise message for %s', async (_title, text, message) => {
    await expect(opictl('apply', '-f', applyFile('bad.yaml', text))).rejects.toThrow(message);
  });
});

describe('opictl <kind> commands', () => {
  it('create prints the name, get/list/status show it, update changes it, delete removes it', async () => {
    const name = (
      await opictl('logical-bridge', 'create', '--json', '{"spec":{"vlanId":20}}', '--id', 'red-1')
    ).trim();
    expect(name).toBe('//network.opiproject.org/bridges/red-1');
    expect(
      JSON.parse(await opictl('logical-bridge', 'get', 'logicalBridges/red-1', '-o', 'json')),
    ).toMatchObject({ name, spec: { vlanId: 20 } });
    const table = await opictl('logical-bridge', 'list');
    expect(table.split('\n')[0]).toMatch(/^NAME\s+VLAN\s+STATUS$/);
    expect(table).toMatch(
      /\/\/network\.opiproject\.org\/bridges\/red-1\s+20\s+LB_OPER_STATUS_(UP|DOWN)/,
    );
    expect(await opictl('logical-bridge', 'status', name, '-o', 'yaml')).toMatch(
      /operStatus: LB_OPER_STATUS_(UP|DOWN)/,
    );
    const updated = JSON.parse(
      await opictl(
        'logical-bridge',
        'update',
        '--json',
        `{"name":"${name}","spec":{"vlanId":21}}`,
        '--mask',
        'spec.vlan_id',
        '-o',
        'json',
      ),
    );
    expect(updated.spec.vlanId).toBe(21);
    expect(await opictl('logical-bridge', 'delete', name)).toBe(`deleted ${name}\n`);
    // Deletion is two-phase: the object reads TO_BE_DELETED until the device has removed it.
    const gone = await waitFor(
      () =>
        opictl('logical-bridge', 'get', name).then(
          () => undefined,
          (error: Error) => error,
        ),
      { timeoutMs: 10_000, message: 'the deleted bridge to disappear' },
    );
    expect(gone.message).toMatch(/NOT_FOUND/);
    expect(await opictl('logical-bridge', 'delete', name, '--allow-missing')).toBe(
      `deleted ${name}\n`,
    );
  });

  it('reads YAML from a file and never shows write-only fields', async () => {
    const file = applyFile('ss.yaml', 'spec:\n  nqn: nqn.2022-09.io.spdk:ss2\n  psk: c2VjcmV0\n');
    await opictl('nvme-subsystem', 'create', '-f', file, '--id', 'ss-2');
    const shown = await opictl('nvme-subsystem', 'get', 'nvmeSubsystems/ss-2', '-o', 'yaml');
    expect(shown).toContain('nqn.2022-09.io.spdk:ss2');
    expect(shown).not.toContain('c2VjcmV0');
  });

  it('lists every page, or one page with --page-size', async () => {
    for (let i = 0; i < 7; i++)
      await opictl(
        'null-volume',
        'create',
        '--json',
        '{"blockSize":512,"blocksCount":1}',
        '--id',
        `pg-${i}`,
      );
    const all = JSON.parse(await opictl('null-volume', 'list', '-o', 'json')) as unknown[];
    expect(all.length).toBeGreaterThanOrEqual(8);
    const one = JSON.parse(
      await opictl('null-volume', 'list', '--page-size', '3', '-o', 'json'),
    ) as unknown[];
    expect(one).toHaveLength(3);
  });

  it.each([
    [['null-volume', 'create'], /the resource is required/],
    [
      ['null-volume', 'create', '--json', '{"blockSize":512}'],
      /INVALID_ARGUMENT: null_volume.blocks_count: required/,
    ],
    [['null-volume', 'update', '--json', '{"blockSize":512}'], /the resource name is required/],
    [
      [
        'nvme-namespace',
        'create',
        '--json',
        '{"spec":{"volumeNameRef":"vol-1"}}',
        '--parent',
        'nvmeSubsystems/nope',
      ],
      /NOT_FOUND: parent/,
    ],
  ])('reports errors precisely: %j', async (args, message) => {
    await expect(opictl(...args)).rejects.toThrow(message);
  });
});

describe('kinds from the running system', () => {
  it('learns kinds and the serving address from the agents over NATS, and uses them', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const discovered = await discoverResourceKinds(nc, 'cli', 1500);
      expect(discovered.kinds.map((k) => k.kind).sort()).toEqual(kinds.map((k) => k.kind).sort());
      expect(discovered.addresses.get('LogicalBridge')).toBe(addr);
      let output = '';
      const out = new Writable({
        write(chunk: Buffer, _encoding, done) {
          output += chunk.toString();
          done();
        },
      });
      const program = new Command('opictl').exitOverride();
      registerResourceCommands(program, discovered.kinds, {
        out,
        addressOf: (k) => discovered.addresses.get(k.kind),
      });
      await program.parseAsync([
        'node',
        'opictl',
        'null-volume',
        'get',
        'volumes/vol-1',
        '-o',
        'json',
      ]); // no --addr
      expect(JSON.parse(output)).toMatchObject({ name: 'volumes/vol-1', blockSize: 512 });
    } finally {
      await nc.close();
    }
  });
});
