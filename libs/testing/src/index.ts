// Public API of @opi/testing: the shared test harness (real nats-server, processes, temp dirs).
export { cleanupStack } from './cleanup.js';
export type { CleanupStack } from './cleanup.js';
export { createNetns, run, uniqueName } from './netns.js';
export type { TestNetns } from './netns.js';
export { findNatsServer, NatsServerNotInstalledError, startNatsServer } from './nats-server.js';
export type { NatsServerOptions, RunningNatsServer } from './nats-server.js';
export { makePki } from './pki.js';
export type { TestPki } from './pki.js';
export { freePort } from './ports.js';
export { killSpawnedProcesses, spawnProcess } from './process.js';
export type { ProcessExit, SpawnedProcess, SpawnProcessOptions } from './process.js';
export { tempDir } from './temp-dir.js';
export type { TempDir } from './temp-dir.js';
export { sleep, waitFor, WaitTimeoutError } from './wait.js';
export type { WaitForOptions } from './wait.js';
