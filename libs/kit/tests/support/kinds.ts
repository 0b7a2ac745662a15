// Fixture kinds for the kit's own tests: real OPI kinds (storage volumes without status, NVMe
// subsystem/controller/namespace for parents, uniqueness and references, EVPN bridges and ports
// with status).
import {
  defineResourceKind,
  invalidArgument,
  operStatusRule,
  type MessageFns,
  type ResourceKind,
} from '../../src/index.js';
import { testMessages } from './messages.js';

const m = testMessages;

export const nullVolume = defineResourceKind({
  kind: 'NullVolume',
  plural: 'NullVolumes',
  message: m.NullVolume as MessageFns<{ blockSize: number; blocksCount: number }>,
  service: m.NullVolumeService,
  names: { canonical: 'volumes/{volume}', aliases: ['nullVolumes/{volume}'] },
  nameScope: 'volumes',
  required: ['blockSize', 'blocksCount'],
  validate(volume) {
    if (volume.blockSize % 512 !== 0)
      throw invalidArgument('null_volume.block_size', 'must be a multiple of 512');
  },
  cli: {
    columns: [
      { header: 'NAME', path: 'name' },
      { header: 'BLOCK SIZE', path: 'blockSize' },
      { header: 'BLOCKS', path: 'blocksCount' },
    ],
  },
});

export const mallocVolume = defineResourceKind({
  kind: 'MallocVolume',
  plural: 'MallocVolumes',
  message: m.MallocVolume,
  service: m.MallocVolumeService,
  names: { canonical: 'volumes/{volume}', aliases: ['mallocVolumes/{volume}'] },
  nameScope: 'volumes',
  required: ['blockSize', 'blocksCount'],
});

export const nvmeSubsystem = defineResourceKind({
  kind: 'NvmeSubsystem',
  plural: 'NvmeSubsystems',
  message: m.NvmeSubsystem,
  service: m.FrontendNvmeService,
  names: { canonical: 'nvmeSubsystems/{subsystem}' },
  required: ['spec.nqn'],
  unique: [{ field: 'spec.nqn' }],
  writeOnly: ['spec.psk'],
  outputOnly: [],
  status: {
    field: 'status',
    render: (o) =>
      o.device ? { firmwareRevision: String(o.device['firmwareRevision'] ?? '') } : {},
  },
});

export const nvmeController = defineResourceKind({
  kind: 'NvmeController',
  plural: 'NvmeControllers',
  message: m.NvmeController,
  service: m.FrontendNvmeService,
  names: { canonical: 'nvmeSubsystems/{subsystem}/nvmeControllers/{controller}' },
  parent: 'NvmeSubsystem',
  status: { field: 'status', render: (o) => ({ active: o.phase === 'SUCCESS' }) },
});

export const nvmeNamespace = defineResourceKind({
  kind: 'NvmeNamespace',
  plural: 'NvmeNamespaces',
  message: m.NvmeNamespace,
  service: m.FrontendNvmeService,
  names: { canonical: 'nvmeSubsystems/{subsystem}/nvmeNamespaces/{namespace}' },
  parent: 'NvmeSubsystem',
  references: [
    {
      field: 'spec.volumeNameRef',
      kinds: ['NullVolume', 'MallocVolume'],
      form: 'idOrName',
      required: true,
    },
  ],
  status: {
    field: 'status',
    render: (o) => ({
      state: o.phase === 'DELETING' ? 'STATE_DELETING' : 'STATE_ENABLED',
      operState: o.phase === 'SUCCESS' ? 'OPER_STATE_ONLINE' : 'OPER_STATE_OFFLINE',
    }),
  },
});

export const logicalBridge = defineResourceKind({
  kind: 'LogicalBridge',
  plural: 'LogicalBridges',
  message: m.LogicalBridge as MessageFns<{ spec?: { vlanId: number; vni?: number } }>,
  service: m.LogicalBridgeService,
  names: {
    canonical: '//network.opiproject.org/bridges/{bridge}',
    aliases: ['logicalBridges/{bridge}'],
  },
  requestShape: 'evpn',
  status: operStatusRule('LB_OPER_STATUS'),
  unique: [{ field: 'spec.vni', scope: 'vni' }],
  validate(bridge) {
    const vlan = bridge.spec?.vlanId ?? 0;
    if (vlan < 1 || vlan > 4095)
      throw invalidArgument('logical_bridge.spec.vlan_id', `must be 1-4095, got ${vlan}`);
  },
});

export const bridgePort = defineResourceKind({
  kind: 'BridgePort',
  plural: 'BridgePorts',
  message: m.BridgePort,
  service: m.BridgePortService,
  names: { canonical: '//network.opiproject.org/ports/{port}', aliases: ['bridgePorts/{port}'] },
  requestShape: 'evpn',
  status: operStatusRule('BP_OPER_STATUS'),
  references: [{ field: 'spec.logicalBridges', kinds: ['LogicalBridge'], form: 'name' }],
});

export const storageKinds: ResourceKind[] = [
  nullVolume,
  mallocVolume,
  nvmeSubsystem,
  nvmeController,
  nvmeNamespace,
] as ResourceKind[];
export const networkKinds: ResourceKind[] = [logicalBridge, bridgePort] as ResourceKind[];
export const allKinds: ResourceKind[] = [...storageKinds, ...networkKinds];
