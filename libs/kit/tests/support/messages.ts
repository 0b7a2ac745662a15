// The real OPI message companions and gRPC services the fixture kinds use.
import { evpnGwV1alpha1 as evpn, storageV1 as storage } from '@opi/api';

export const testMessages = {
  NullVolume: storage.NullVolume,
  NullVolumeService: storage.NullVolumeServiceService,
  MallocVolume: storage.MallocVolume,
  MallocVolumeService: storage.MallocVolumeServiceService,
  NvmeSubsystem: storage.NvmeSubsystem,
  NvmeController: storage.NvmeController,
  NvmeNamespace: storage.NvmeNamespace,
  FrontendNvmeService: storage.FrontendNvmeServiceService,
  LogicalBridge: evpn.LogicalBridge,
  LogicalBridgeService: evpn.LogicalBridgeServiceService,
  BridgePort: evpn.BridgePort,
  BridgePortService: evpn.BridgePortServiceService,
};
