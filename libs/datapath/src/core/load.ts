// Loads the compiled core once per process. The .wasm sits in the project's build/ folder,
// one level above both src/ and dist/, so the same relative URL works from either.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RoutingCoreExports } from '../routes.js';
import type { AclCoreExports } from '../acl.js';
import type { PolicerCoreExports } from '../policers.js';
import type { ConnTrackCoreExports } from '../conntrack.js';
import type { Routing6CoreExports } from '../routes6.js';
import type { GatewayCoreExports } from '../gateway.js';

/** The parts of the WebAssembly JS API used here (the global has no typings in our lib set). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A WebAssembly memory as seen from the host. */
export interface CoreMemory {
  readonly buffer: ArrayBuffer;
}

/** A WebAssembly global as seen from the host. */
export interface CoreGlobal {
  readonly value: unknown;
}

/** Exports of the WebAssembly core (see assembly/index.ts). */
export interface CoreExports
  extends
    RoutingCoreExports,
    AclCoreExports,
    PolicerCoreExports,
    ConnTrackCoreExports,
    Routing6CoreExports,
    GatewayCoreExports {
  memory: CoreMemory;
  mtuSet(port: number, mtu: number): number;
  egressMtu(port: number): number;
  layoutInit(
    slots: number,
    dataCapacity: number,
    vectorCapacity: number,
    macBucketsLog2: number,
  ): number;
  layoutValue(which: number): number;
  dropReasonName(code: number): number;
  DROP_REASON_COUNT: CoreGlobal;
  NODE_COUNT: CoreGlobal;
  nodeName(id: number): number;
  nodeNextNames(id: number): number;
  process(n: number, nowMs: number, stageMask: number, startNode: number): number;
  traceStart(packets: number): void;
  traceRecords(): number;
  traceLostRecords(): number;
  traceClear(): void;
  macCreate(log2: number): number;
  macFree(): void;
  macReset(): void;
  macCount(): number;
  macCapacity(): number;
  macLookup(key: bigint): number;
  macLookupBulk(keys: number, n: number, out: number): number;
  macAdd(key: bigint, port: number, flags: number, now: number): number;
  macDelete(key: bigint): number;
  macIterate(cursor: number): number;
  macEntryPtr(index: number): number;
  macAge(now: number, maxAge: number): number;
}

/** Where the compiled core is expected. */
export const CORE_WASM_PATH = fileURLToPath(new URL('../../build/datapath.wasm', import.meta.url));

let compiled: object | undefined;

/** Instantiates a fresh core (its own memory and tables). */
export function instantiateCore(): CoreExports {
  if (!compiled) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(CORE_WASM_PATH);
    } catch (err) {
      throw new Error(
        `datapath core not built: ${CORE_WASM_PATH} (run the datapath build target)`,
        {
          cause: err,
        },
      );
    }
    compiled = new wasmApi.Module(bytes);
  }
  const instance = new wasmApi.Instance(compiled, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`datapath core aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as CoreExports;
}

/** Reads an AssemblyScript string (UTF-16LE, byte length stored just before it). */
export function readCoreString(memory: CoreMemory, ptr: number): string {
  const view = new DataView(memory.buffer);
  const byteLength = view.getUint32(ptr - 4, true);
  return Buffer.from(memory.buffer, ptr, byteLength).toString('utf16le');
}
