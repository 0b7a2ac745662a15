import { projectVitestConfig } from '../../tools/vitest-shared.js';

export default projectVitestConfig({ globalSetup: ['tests/global-setup.ts'] });
