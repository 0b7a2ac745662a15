// Stand-in message companions with ts-proto's JSON behaviour, used until @opi/api exports
// the generated OPI messages. Only the fields the tests touch are modelled.
import type * as grpc from '@grpc/grpc-js';
import type { MessageFns } from '../../src/index.js';

type Shape = { [field: string]: unknown };

function fakeMessage(shape: Shape): MessageFns<never> {
  const read = (s: Shape, object: unknown): Record<string, unknown> => {
    const input = (typeof object === 'object' && object !== null ? object : {}) as Record<
      string,
      unknown
    >;
    const out: Record<string, unknown> = {};
    for (const [field, def] of Object.entries(s)) {
      const value = input[field];
      if (typeof def === 'object' && def !== null && !Array.isArray(def)) {
        out[field] = value === undefined || value === null ? undefined : read(def as Shape, value);
      } else if (Array.isArray(def)) out[field] = Array.isArray(value) ? [...value] : [];
      else if (def === undefined) out[field] = value ?? undefined;
      else {
        if (value !== undefined && typeof value !== typeof def)
          throw new Error(`${field}: expected ${typeof def}`);
        out[field] = value ?? def;
      }
    }
    return out;
  };
  const write = (s: Shape, message: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [field, def] of Object.entries(s)) {
      const value = message[field];
      if (value === undefined || value === def || (Array.isArray(value) && value.length === 0))
        continue;
      out[field] =
        typeof def === 'object' && def !== null && !Array.isArray(def)
          ? write(def as Shape, value as Record<string, unknown>)
          : value;
    }
    return out;
  };
  return {
    fromJSON: (object) => read(shape, object) as never,
    toJSON: (message) => write(shape, message as Record<string, unknown>),
    fromPartial: (object) => read(shape, object) as never,
  };
}

const none = undefined as unknown as grpc.ServiceDefinition;

export const testMessages = {
  NullVolume: fakeMessage({ name: '', blockSize: 0, blocksCount: 0, uuid: '' }),
  NullVolumeService: none,
  MallocVolume: fakeMessage({ name: '', blockSize: 0, blocksCount: 0, metadataSize: 0, uuid: '' }),
  MallocVolumeService: none,
  NvmeSubsystem: fakeMessage({
    name: '',
    spec: { nqn: '', serialNumber: '', modelNumber: '', maxNamespaces: 0, hostnqn: '', psk: '' },
    status: { firmwareRevision: '', fruGuid: '' },
  }),
  NvmeController: fakeMessage({
    name: '',
    spec: { nvmeControllerId: undefined, trtype: '', maxNsq: 0 },
    status: { active: false },
  }),
  NvmeNamespace: fakeMessage({
    name: '',
    spec: { hostNsid: 0, volumeNameRef: '' },
    status: { state: '', operState: '' },
  }),
  FrontendNvmeService: none,
  LogicalBridge: fakeMessage({
    name: '',
    spec: { vlanId: 0, vni: undefined },
    status: { operStatus: '', components: [] },
  }),
  LogicalBridgeService: none,
  BridgePort: fakeMessage({
    name: '',
    spec: { macAddress: '', ptype: '', logicalBridges: [] },
    status: { operStatus: '', components: [] },
  }),
  BridgePortService: none,
};
