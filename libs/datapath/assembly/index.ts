// WebAssembly exports of the datapath core: layout, configuration tables, MAC table verbs,
// the batch entry point, counters and trace. The TypeScript host in src/ wraps these.
import {
  layoutInit,
  poolSlots,
  slotSize,
  dataCapacity,
  vectorCapacity,
  portsBase,
  bridgesBase,
  tunnelsBase,
  portCountersBase,
  bridgeCountersBase,
  dropCountersBase,
  stageCountersBase,
  macBase,
  inputVectorBase,
  descBase,
  traceBase,
  poolBase,
  regionEnd,
  SLOT_DATA_START,
  DESC_SIZE,
} from './layout';

export { layoutInit };
export { dropReasonName, DROP_REASON_COUNT } from './drops';
export {
  nodeName,
  nodeNextNames,
  process,
  traceStart,
  traceRecords,
  traceLostRecords,
  traceClear,
  NODE_COUNT,
} from './graph';
export {
  macCreate,
  macFree,
  macReset,
  macCount,
  macCapacity,
  macLookup,
  macLookupBulk,
  macAdd,
  macDelete,
  macIterate,
  macEntryPtr,
  macAge,
} from './mactable';
export {
  lpmCreate,
  lpmFree,
  lpmReset,
  lpmExists,
  lpmCount,
  lpmMemory,
  lpmTopBits,
  lpmLookup,
  lpmLookupBulk,
  lpmAdd,
  lpmDelete,
  lpmLoad,
  lpmLoadBadRoute,
} from './lpm4';
export {
  lpm6AddrBuf,
  lpm6Create,
  lpm6Free,
  lpm6Reset,
  lpm6Exists,
  lpm6Count,
  lpm6Groups,
  lpm6Memory,
  lpm6TopBits,
  lpm6Lookup,
  lpm6LookupBulk,
  lpm6Add,
  lpm6Delete,
  lpm6Load,
  lpm6LoadBadRoute,
} from './lpm6';
export { l3v6SetPort } from './l3v6';
export { nhAdd, nhDelete, nhReset, nhSize, nhEntryPtr, l3SetPortAddress, l3SetPortMac } from './l3';
export { scratchReserve, heapUsed } from './heap';
export {
  aclAlloc,
  aclActivate,
  aclClear,
  aclActive,
  aclBind,
  aclLogBase,
  aclLogCount,
  aclLogLost,
  aclLogClear,
} from './acl';
export {
  ctCreate,
  ctFree,
  ctReset,
  ctCount,
  ctCapacity,
  ctMemory,
  ctStat,
  ctSetTimeout,
  ctTimeout,
  ctAdd,
  ctAddBulk,
  ctDelete,
  ctLookup,
  ctLookupBulk,
  ctLastDir,
  ctIterate,
  ctEntryPtr,
  ctAge,
  ctNow,
} from './conntrack';
export {
  policerAdd,
  policerDelete,
  policerReset,
  policerBind,
  policerEntryPtr,
  policerOfPort,
  policerBindBridge,
  policerOfBridge,
} from './policer';
export {
  flowPolicerBind,
  flowPolicerUnbind,
  flowPolicerReset,
  flowPolicerLookup,
  flowPolicerDelete,
  flowPolicerTablePtr,
  flowPolicerSlots,
  flowKeyBuffer,
} from './policerflow';
export { gwSet, gwAddIpv4, gwAddIpv6, gwDelete, gwReset, gwEntryPtr } from './gateway';
export { mtuSet, egressMtu } from './mtu';

/** Offsets and sizes the host needs, by name-independent index (see src/wasm-core.ts). */
export function layoutValue(which: i32): usize {
  switch (which) {
    case 0:
      return poolSlots;
    case 1:
      return slotSize;
    case 2:
      return dataCapacity;
    case 3:
      return vectorCapacity;
    case 4:
      return portsBase;
    case 5:
      return bridgesBase;
    case 6:
      return tunnelsBase;
    case 7:
      return portCountersBase;
    case 8:
      return bridgeCountersBase;
    case 9:
      return dropCountersBase;
    case 10:
      return stageCountersBase;
    case 11:
      return macBase;
    case 12:
      return inputVectorBase;
    case 13:
      return descBase;
    case 14:
      return traceBase;
    case 15:
      return poolBase;
    case 16:
      return regionEnd;
    case 17:
      return SLOT_DATA_START;
    case 18:
      return DESC_SIZE;
    default:
      return 0;
  }
}
