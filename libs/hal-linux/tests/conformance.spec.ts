import { describeNetworkDeviceConformance } from '@opi/hal/testing';
import type { DevicePortConfig } from '@opi/hal';
import { createLinuxNetworkDevice } from '../src/index.js';
import { Namespaces, randomHex, sh } from './namespaces.js';

const namespaces = new Namespaces();

describeNetworkDeviceConformance(
  'linux',
  async () => {
    const device = await namespaces.add('opihal-dev-');
    const hosts = await namespaces.add('opihal-host-');
    const macBase = `02:${randomHex(2)}:${randomHex(2)}:${randomHex(2)}:00`;
    const ports: DevicePortConfig[] = [];
    for (let index = 0; index < 3; index += 1) {
      const port = { name: `pf${index}`, mac: `${macBase}:1${index}` };
      await namespaces.veth(device, port.name, hosts, `host${index}`, port.mac);
      ports.push(port);
    }
    await sh('ip', '-n', device, 'address', 'add', '192.0.2.1/32', 'dev', 'lo');
    return {
      device: await createLinuxNetworkDevice({ netns: device }),
      ports,
      vtepAddress: '192.0.2.1',
    };
  },
  () => namespaces.removeAll(),
);
