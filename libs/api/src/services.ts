import type { ServiceDefinition } from '@grpc/grpc-js';
import {
  BridgePortServiceService,
  LogicalBridgeServiceService,
  SviServiceService,
  VrfServiceService,
} from './gen/index.opi_api.network.evpn_gw.v1alpha1.js';
import { InventoryServiceService } from './gen/index.opi_api.inventory.v1.js';
import { NetInterfaceServiceService } from './gen/index.opi_api.network.opinetcommon.v1alpha1.js';
import { IPsecServiceService } from './gen/index.opi_api.security.v1.js';
import {
  AioVolumeServiceService,
  FrontendNvmeServiceService,
  FrontendVirtioBlkServiceService,
  FrontendVirtioScsiServiceService,
  MallocVolumeServiceService,
  MiddleendEncryptionServiceService,
  MiddleendQosVolumeServiceService,
  NullVolumeServiceService,
  NvmeRemoteControllerServiceService,
} from './gen/index.opi_api.storage.v1.js';

/** OpiAgent names the agent that serves a group of OPI services. */
export type OpiAgent = 'storage' | 'network' | 'security' | 'telemetry';

/** OpiService describes one OPI gRPC service and the agent that serves it. */
export interface OpiService {
  /** Fully qualified proto name, e.g. `opi_api.storage.v1.MallocVolumeService`. */
  readonly fullName: string;
  readonly agent: OpiAgent;
  /** Generated grpc-js definition, ready for `server.addService(definition, impl)`. */
  readonly definition: ServiceDefinition;
}

// The full name is read from the generated method paths (`/<service>/<method>`) rather than
// written out again, so it cannot drift from what goes on the wire.
function service(agent: OpiAgent, definition: ServiceDefinition): OpiService {
  const firstMethod = Object.values(definition)[0];
  const fullName = firstMethod?.path.split('/')[1];
  if (!fullName) throw new Error('generated service definition has no methods');
  return Object.freeze({ fullName, agent, definition });
}

/** opiServices lists every OPI service we serve, with the agent responsible for it. */
export const opiServices: readonly OpiService[] = Object.freeze([
  service('storage', FrontendNvmeServiceService),
  service('storage', FrontendVirtioBlkServiceService),
  service('storage', FrontendVirtioScsiServiceService),
  service('storage', NvmeRemoteControllerServiceService),
  service('storage', MallocVolumeServiceService),
  service('storage', NullVolumeServiceService),
  service('storage', AioVolumeServiceService),
  service('storage', MiddleendEncryptionServiceService),
  service('storage', MiddleendQosVolumeServiceService),
  service('network', LogicalBridgeServiceService),
  service('network', BridgePortServiceService),
  service('network', VrfServiceService),
  service('network', SviServiceService),
  service('network', NetInterfaceServiceService),
  service('security', IPsecServiceService),
  service('telemetry', InventoryServiceService),
]);

/** opiServicesFor returns the OPI services that `agent` serves. */
export function opiServicesFor(agent: OpiAgent): readonly OpiService[] {
  return opiServices.filter((s) => s.agent === agent);
}
