// Composition root of the network agent: configuration, HAL backend selection, and the kit
// resource agent serving the OPI EVPN gateway kinds plus NetInterfaceService.
import { createRequire } from 'node:module';
import {
  EVPN_GATEWAY_KINDS,
  PortSettingsStore,
  createEvpnReconcilers,
  createNetInterfaceService,
} from '@opi/evpn-gateway';
import { NetworkDeviceRegistry, UnknownBackendError, type DevicePortConfig } from '@opi/hal';
import { linuxNetworkDeviceFactory } from '@opi/hal-linux';
import { simNetworkDeviceFactory } from '@opi/hal-sim';
import { startResourceAgent } from '@opi/kit';
import { ConfigError, runAgent } from '@opi/runtime';
import { networkAgentConfig } from './config.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

await runAgent({
  name: 'network-agent',
  agent: 'network',
  version,
  defaultGrpcPort: 50151,
  extraConfig: networkAgentConfig,
  async start(ctx) {
    const { config } = ctx;
    if (config.hal === 'sim') {
      const missing = config.ports.findIndex((port) => !port.mac);
      if (missing >= 0)
        throw new ConfigError(
          'ports',
          `the sim backend needs a MAC for every port, missing at ${missing}.mac`,
        );
    }
    const registry = new NetworkDeviceRegistry()
      .register('sim', simNetworkDeviceFactory)
      .register('linux', linuxNetworkDeviceFactory);
    const ports: DevicePortConfig[] = config.ports.map((p) => ({ name: p.name, mac: p.mac ?? '' }));
    const device = await registry
      .create(config.hal, {
        ...(ports.length > 0 ? { ports } : {}),
        ...(config.netns ? { netns: config.netns } : {}),
      })
      .catch((error: unknown) => {
        // A backend name that does not exist is a configuration error (exit 2 naming the key).
        if (error instanceof UnknownBackendError)
          throw new ConfigError(
            'hal',
            `unknown backend "${error.value}" (known: ${error.known.join(', ')})`,
          );
        throw error;
      });
    ctx.onStop(() => device.close());
    ctx.logger.info(
      {
        backend: device.backend,
        ports: ports.map((p) => p.name),
        vtepAddress: config.vtepAddress,
        remoteVteps: config.remoteVteps,
      },
      'network device ready',
    );
    const agent = await startResourceAgent(ctx, {
      agent: 'network',
      kinds: EVPN_GATEWAY_KINDS,
      reconcilers: createEvpnReconcilers({
        device,
        fabric: { vtepAddress: config.vtepAddress, remoteVteps: config.remoteVteps },
      }),
      resyncMs: config.resyncMs,
      lease: { ttlMs: config.leaseTtlMs },
    });
    // Port settings are re-applied whenever this replica starts driving the device.
    const portSettings = await PortSettingsStore.open(ctx.nc, ctx.nodeId);
    const restorePortSettings = () =>
      portSettings.restore(device, agent.lease.fence()).then(
        ({ restored, missing }) =>
          ctx.logger.info({ restored, missing }, 'device port settings restored'),
        (error: unknown) => ctx.logger.warn({ err: error }, 'device port settings not restored'),
      );
    agent.lease.onAcquired(() => void restorePortSettings());
    if (agent.controller.isDriving) await restorePortSettings();
    const netInterfaces = createNetInterfaceService({
      device,
      fence: () => agent.lease.fence(),
      settings: portSettings,
    });
    ctx.grpc.addService(netInterfaces.definition, netInterfaces.implementation);
  },
});
