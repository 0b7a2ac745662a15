import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultJsonPath } from '../scripts/wire-table.mjs';
import {
  evpnGwV1alpha1,
  loadOpiPackageDefinition,
  opiServices,
  opiServicesFor,
  storageV1,
} from '../src/index.js';
import type { WireTable } from './support/wire-view.js';

const run = promisify(execFile);
const bufBin = createRequire(import.meta.url).resolve('@bufbuild/buf/bin/buf');
const table = JSON.parse(readFileSync(defaultJsonPath, 'utf8')) as WireTable;

describe('generated gRPC services', () => {
  it('opiServices holds the 16 OPI services, each with the agent that serves it', () => {
    const byAgent = Object.fromEntries(
      (['storage', 'network', 'security', 'telemetry'] as const).map((a) => [
        a,
        opiServicesFor(a)
          .map((s) => s.fullName)
          .sort(),
      ]),
    );
    expect(opiServices).toHaveLength(16);
    expect(byAgent.storage).toHaveLength(9);
    expect(byAgent.storage?.every((n) => n.startsWith('opi_api.storage.v1.'))).toBe(true);
    expect(byAgent.network).toEqual([
      'opi_api.network.evpn_gw.v1alpha1.BridgePortService',
      'opi_api.network.evpn_gw.v1alpha1.LogicalBridgeService',
      'opi_api.network.evpn_gw.v1alpha1.SviService',
      'opi_api.network.evpn_gw.v1alpha1.VrfService',
      'opi_api.network.opinetcommon.v1alpha1.NetInterfaceService',
    ]);
    expect(byAgent.security).toEqual(['opi_api.security.v1.IPsecService']);
    expect(byAgent.telemetry).toEqual(['opi_api.inventory.v1.InventoryService']);
  });

  it('every RPC path of the wire table is served by exactly one generated definition', () => {
    const tablePaths = Object.values(table.packages)
      .flatMap((p) => Object.values(p.services).flat())
      .map((m) => m.path)
      .sort();
    const servedPaths = opiServices
      .flatMap((s) => Object.values(s.definition).map((m) => m.path))
      .sort();
    expect(servedPaths).toEqual(tablePaths);
    for (const service of opiServices) {
      for (const method of Object.values(service.definition)) {
        expect(method.path.startsWith(`/${service.fullName}/`)).toBe(true);
        expect(method.requestStream || method.responseStream).toBe(false);
      }
    }
  });
});

describe('a server built from the generated code', () => {
  const server = new grpc.Server();
  const received: Record<string, unknown> = {};
  let address = '';

  beforeAll(async () => {
    for (const { definition } of opiServices) {
      const overrides: Record<string, grpc.UntypedHandleCall> = {};
      if (definition === storageV1.MallocVolumeServiceService) {
        overrides.createMallocVolume = ((
          call: grpc.ServerUnaryCall<storageV1.CreateMallocVolumeRequest, storageV1.MallocVolume>,
          callback: grpc.sendUnaryData<storageV1.MallocVolume>,
        ) => {
          received.createMallocVolume = call.request;
          const volume = storageV1.MallocVolume.fromPartial({
            ...call.request.mallocVolume,
            name: `volumes/${call.request.mallocVolumeId}`,
          });
          callback(null, volume);
        }) as grpc.UntypedHandleCall;
      }
      if (definition === storageV1.FrontendNvmeServiceService) {
        overrides.createNvmeController = ((
          call: grpc.ServerUnaryCall<
            storageV1.CreateNvmeControllerRequest,
            storageV1.NvmeController
          >,
          callback: grpc.sendUnaryData<storageV1.NvmeController>,
        ) => {
          received.createNvmeController = call.request;
          callback(null, {
            ...call.request.nvmeController,
            name: 'nvmeSubsystems/s1/nvmeControllers/c1',
          });
        }) as grpc.UntypedHandleCall;
      }
      if (definition === evpnGwV1alpha1.VrfServiceService) {
        overrides.createVrf = ((
          call: grpc.ServerUnaryCall<evpnGwV1alpha1.CreateVrfRequest, evpnGwV1alpha1.Vrf>,
          callback: grpc.sendUnaryData<evpnGwV1alpha1.Vrf>,
        ) => {
          received.createVrf = call.request;
          callback(null, {
            ...call.request.vrf,
            name: `//network.opiproject.org/vrfs/${call.request.vrfId}`,
          });
        }) as grpc.UntypedHandleCall;
      }
      // Methods without a handler answer UNIMPLEMENTED (grpc-js default), as in the agents.
      server.addService(definition, overrides);
    }
    new ReflectionService(loadOpiPackageDefinition()).addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  // A client that encodes with protobufjs from the .proto files: an implementation
  // independent of the ts-proto codecs the server uses.
  type UnaryCallback<T> = (error: grpc.ServiceError | null, response: T) => void;
  type DynamicClient = grpc.Client &
    Record<string, (request: unknown, cb: UnaryCallback<unknown>) => void>;

  function dynamicClient(pkg: string, service: string): DynamicClient {
    const loaded = grpc.loadPackageDefinition(
      loadOpiPackageDefinition({
        keepCase: true,
        longs: Number,
        enums: String,
        defaults: false,
        oneofs: true,
      }),
    );
    const ctor = pkg
      .split('.')
      .concat(service)
      .reduce<unknown>(
        (node, key) => (node as Record<string, unknown>)[key],
        loaded,
      ) as grpc.ServiceClientConstructor;
    return new ctor(address, grpc.credentials.createInsecure()) as never;
  }

  function call<T>(client: DynamicClient, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) =>
      client[method]!(request, (error, response) =>
        error ? reject(error) : resolve(response as T),
      ),
    );
  }

  it('decodes a protobufjs-encoded request and answers in a form protobufjs decodes', async () => {
    const client = dynamicClient('opi_api.storage.v1', 'MallocVolumeService');
    const response = await call<Record<string, unknown>>(client, 'CreateMallocVolume', {
      malloc_volume: { block_size: 512, blocks_count: 131072, uuid: 'u-1' },
      malloc_volume_id: 'malloc0',
    });
    expect(received.createMallocVolume).toEqual({
      mallocVolume: { name: '', blockSize: 512, blocksCount: 131072, metadataSize: 0, uuid: 'u-1' },
      mallocVolumeId: 'malloc0',
    });
    expect(response).toMatchObject({
      name: 'volumes/malloc0',
      block_size: 512,
      blocks_count: 131072,
    });
    client.close();
  });

  it('keeps oneof membership and proto3 optional presence (controller id 0) across implementations', async () => {
    const client = dynamicClient('opi_api.storage.v1', 'FrontendNvmeService');
    const response = await call<{ spec: Record<string, unknown> }>(client, 'CreateNvmeController', {
      parent: 'nvmeSubsystems/s1',
      nvme_controller: {
        spec: {
          nvme_controller_id: 0,
          trtype: 'NVME_TRANSPORT_TYPE_TCP',
          fabrics_id: { traddr: '127.0.0.1', trsvcid: '4420', adrfam: 'NVME_ADDRESS_FAMILY_IPV4' },
        },
      },
      nvme_controller_id: 'c1',
    });
    const request = received.createNvmeController as storageV1.CreateNvmeControllerRequest;
    expect(request.nvmeController?.spec?.nvmeControllerId).toBe(0);
    expect(request.nvmeController?.spec?.endpoint).toEqual({
      $case: 'fabricsId',
      value: {
        traddr: '127.0.0.1',
        trsvcid: '4420',
        adrfam: storageV1.NvmeAddressFamily.NVME_ADDRESS_FAMILY_IPV4,
      },
    });
    expect(response.spec.endpoint).toBe('fabrics_id');
    expect(response.spec.nvme_controller_id).toBe(0);
    expect(response.spec.trtype).toBe('NVME_TRANSPORT_TYPE_TCP');
    client.close();
  });

  it('carries an IPv4 address as a big-endian fixed32 across the opinetcommon import', async () => {
    const client = dynamicClient('opi_api.network.evpn_gw.v1alpha1', 'VrfService');
    await call(client, 'CreateVrf', {
      vrf_id: 'blue',
      vrf: {
        spec: {
          vni: 100,
          loopback_ip_prefix: { addr: { af: 'IP_AF_INET', v4_addr: 174325761 }, len: 24 },
        },
      },
    });
    const request = received.createVrf as evpnGwV1alpha1.CreateVrfRequest;
    expect(request.vrf?.spec?.vni).toBe(100);
    expect(request.vrf?.spec?.loopbackIpPrefix?.addr?.v4OrV6).toEqual({
      $case: 'v4Addr',
      value: 0x0a640001,
    });
    client.close();
  });

  it('an RPC registered without a handler answers UNIMPLEMENTED', async () => {
    const client = dynamicClient('opi_api.security.v1', 'IPsecService');
    await expect(call(client, 'IPsecVersion', {})).rejects.toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
    });
    client.close();
  });

  it('garbage bytes and out-of-range 64-bit values get an error status, and the server keeps serving', async () => {
    // A raw client that sends whatever bytes it is given, bypassing any encoder.
    const RawClient = grpc.makeGenericClientConstructor(
      {
        terminate: {
          path: '/opi_api.security.v1.IPsecService/IPsecTerminate',
          requestStream: false,
          responseStream: false,
          requestSerialize: (bytes: Buffer) => bytes,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (bytes: Buffer) => bytes,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      'Raw',
    );
    const raw = new RawClient(
      address,
      grpc.credentials.createInsecure(),
    ) as unknown as DynamicClient;
    // Field 1 (string) claiming 100 bytes that are not there.
    await expect(call(raw, 'terminate', Buffer.from([0x0a, 0x64, 0x41]))).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
    });
    // child_id (uint64, field 3) = 2^63: beyond what forceLong=number can represent.
    const huge = Buffer.from([0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    await expect(call(raw, 'terminate', huge)).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
    });
    raw.close();
    const client = dynamicClient('opi_api.storage.v1', 'MallocVolumeService');
    await expect(
      call(client, 'CreateMallocVolume', {
        malloc_volume: { block_size: 512 },
        malloc_volume_id: 'after',
      }),
    ).resolves.toMatchObject({ name: 'volumes/after' });
    client.close();
  });

  const bufCurl = (...args: string[]) =>
    run(
      process.execPath,
      [bufBin, 'curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
      {
        timeout: 20_000,
      },
    );

  it('reflection lists every OPI service to an independent client (buf curl)', async () => {
    const { stdout } = await bufCurl('--list-services', `http://${address}`);
    const listed = stdout.trim().split('\n');
    for (const { fullName } of opiServices) expect(listed).toContain(fullName);
  });

  it('reflection resolves message types well enough for buf curl to call by JSON', async () => {
    const { stdout } = await bufCurl(
      '-d',
      JSON.stringify({ mallocVolume: { blockSize: 4096, blocksCount: 8 }, mallocVolumeId: 'm1' }),
      `http://${address}/opi_api.storage.v1.MallocVolumeService/CreateMallocVolume`,
    );
    expect(JSON.parse(stdout)).toEqual({ name: 'volumes/m1', blockSize: '4096', blocksCount: '8' });
    const failure = await bufCurl(
      '-d',
      '{}',
      `http://${address}/opi_api.inventory.v1.InventoryService/GetInventory`,
    ).catch((error: { stderr: string; stdout: string }) => error);
    expect(`${failure.stdout}${failure.stderr}`).toMatch(/unimplemented/);
  });
});
