// Public API of @opi/datapath: everything importable from outside is listed here.
export { createDatapath, Datapath, MacTable } from './datapath.js';
export type { DatapathOptions, TraceRecord, MacEntry, StageInfo } from './datapath.js';
export { DatapathConfigError, DatapathTableError, CaptureFormatError } from './errors.js';
export type {
  Verdict,
  FrameIn,
  PacketResult,
  PortCounters,
  BridgeCounters,
  StageCounters,
  CountersSnapshot,
  BridgeOptions,
  PortOptions,
  VxlanTunnelOptions,
  ParsedLayer,
  ParseResult,
} from './types.js';
export { parseMac, formatMac, parseIp, formatIp } from './net.js';
