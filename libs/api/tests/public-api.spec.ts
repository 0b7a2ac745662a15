import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

// A golden list of the runtime exports: removing or renaming one breaks other projects, so it
// must be a deliberate change of this list too.
describe('public API of @opi/api', () => {
  it('exports exactly the documented runtime names', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'EventDataError',
        'alarmEventSchema',
        'alarmSeverities',
        'descriptorSetPath',
        'eventDataSchemas',
        'eventJsonSchema',
        'eventTypes',
        'evpnGwV1alpha1',
        'googleProtoRoot',
        'googleProtobuf',
        'histogramSchema',
        'inventoryV1',
        'isEventType',
        'loadOpiPackageDefinition',
        'maxSamplesPerBatch',
        'messageTypeSchema',
        'metricTypes',
        'opiProtoFiles',
        'opiServices',
        'opiServicesFor',
        'opinetcommonV1alpha1',
        'parseEventData',
        'protoRoot',
        'resourceChangeTypes',
        'resourceChangedEventSchema',
        'resourceKindSchema',
        'resourceNameSchema',
        'resourcePhases',
        'securityV1',
        'statusChangedEventSchema',
        'storageV1',
        'stripWriteOnlyFields',
        'telemetryExtV1',
        'telemetrySampleBatchSchema',
        'telemetrySampleSchema',
        'writeOnlyFieldPaths',
      ].sort(),
    );
  });

  it('each generated namespace holds its package services and messages', () => {
    expect(api.storageV1.MallocVolumeServiceService.createMallocVolume.path).toBe(
      '/opi_api.storage.v1.MallocVolumeService/CreateMallocVolume',
    );
    expect(api.evpnGwV1alpha1.VrfServiceService.createVrf.path).toBe(
      '/opi_api.network.evpn_gw.v1alpha1.VrfService/CreateVrf',
    );
    expect(api.opinetcommonV1alpha1.IpAf.IP_AF_INET6).toBe(2);
    expect(api.securityV1.IntegAlgorithm.INTEG_ALGORITHM_SHA384).toBe(7);
    expect(api.inventoryV1.InventoryServiceService.getInventory.path).toBe(
      '/opi_api.inventory.v1.InventoryService/GetInventory',
    );
    expect(api.googleProtobuf.Empty.encode({}).finish()).toHaveLength(0);
  });
});
