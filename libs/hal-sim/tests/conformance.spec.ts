import { describeNetworkDeviceConformance } from '@opi/hal/testing';
import { createSimNetworkDevice } from '../src/index.js';

const ports = [
  { name: 'pf0', mac: '02:00:00:00:00:10' },
  { name: 'pf1', mac: '02:00:00:00:00:11' },
  { name: 'pf2', mac: '02:00:00:00:00:12' },
];

describeNetworkDeviceConformance(
  'sim',
  async () => ({
    device: await createSimNetworkDevice({ ports }),
    ports,
    vtepAddress: '192.0.2.1',
  }),
  async () => undefined,
);
