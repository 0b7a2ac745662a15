// Public API of @opi/hal/testing: the backend conformance suite, for backends' spec files.
export { describeNetworkDeviceConformance } from './conformance.js';
export type {
  CleanupConformanceFixture,
  ConformanceFixture,
  MakeConformanceFixture,
} from './conformance.js';
