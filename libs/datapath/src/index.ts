// Public API of @opi/datapath: everything importable from outside is listed here.
export { createDatapath, Datapath, MacTable } from './datapath.js';
export type { DatapathOptions, TraceRecord, MacEntry, StageInfo, RunMode } from './datapath.js';
export { DatapathConfigError, DatapathTableError, CaptureFormatError } from './errors.js';
export {
  Ipv4RouteTable,
  NextHopTable,
  MAX_VRFS,
  MAX_NEXT_HOPS,
  parseIpv4,
  formatIpv4,
  parseIpv4Prefix,
} from './routes.js';
export type { Ipv4Route, PackedIpv4Routes, NextHop, RouteTableOptions } from './routes.js';
export { Ipv6RouteTable, parseIpv6, formatIpv6, parseIpv6Prefix } from './routes6.js';
export type { Ipv6Route, PackedIpv6Routes, Route6TableOptions } from './routes6.js';
export { Acl, ACL_LOG_CAPACITY } from './acl.js';
export type {
  AclRule,
  AclLoadOptions,
  AclSetInfo,
  AclAction,
  AclDirection,
  AclLogRecord,
  AclCounter,
} from './acl.js';
export { PolicerTable, MAX_POLICERS } from './policers.js';
export { ConnTrackTable, DEFAULT_CONNTRACK_TIMEOUTS } from './conntrack.js';
export type {
  ConnTrackTuple,
  ConnTrackState,
  ConnTrackTimeouts,
  ConnTrackOptions,
  ConnTrackEntry,
  ConnTrackStats,
} from './conntrack.js';
export type {
  PolicerOptions,
  PolicerState,
  FlowPolicerOptions,
  FlowPolicerState,
  FlowTuple,
  FlowBucket,
} from './policers.js';
export { GatewayTable, MAX_GATEWAY_ADDRESSES } from './gateway.js';
export type { BridgeGatewayOptions, BridgeGatewayState } from './gateway.js';
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
export {
  readCapture,
  writePcap,
  writePcapng,
  LINKTYPE_ETHERNET,
  MAX_CAPTURED_LENGTH,
} from './capture/pcap.js';
export type { Capture, CapturedPacket, PacketToWrite } from './capture/pcap.js';
export { describeFrame, frameRecordText } from './capture/describe.js';
export type { FrameRecord, LayerRecord } from './capture/describe.js';
export { parseCaptureFiles } from './capture/parse-files.js';
export type { ParseCaptureOptions, ParseCaptureSummary } from './capture/parse-files.js';
export { runCaptureThroughPipeline } from './capture/run.js';
export type { RunCaptureOptions } from './capture/run.js';
export {
  pipelineConfigSchema,
  parsePipelineConfig,
  applyPipelineConfig,
} from './capture/pipeline-config.js';
export type { PipelineConfig } from './capture/pipeline-config.js';
export { runCaptureFile } from './capture/run-file.js';
export type { RunCaptureFileOptions } from './capture/run-file.js';
