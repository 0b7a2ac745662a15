// The four OPI EVPN gateway kinds as kit resources: names, validation, uniqueness, references
// and status. Shared by the network agent (which serves them) and opictl (which calls them).
import { evpnGwV1alpha1 as evpn } from '@opi/api';
import { MAX_VNI } from '@opi/hal';
import {
  defineResourceKind,
  invalidArgument,
  operStatusRule,
  type MessageFns,
  type ResourceKind,
} from '@opi/kit';
import { ipPrefixToText, macFromBytes } from './addresses.js';

/** MAX_VLAN_ID is the highest vlan_id the API accepts (4095 is reserved by 802.1Q but accepted). */
export const MAX_VLAN_ID = 4095;

function checkVni(vni: number | undefined, field: string): void {
  if (vni === undefined) return;
  if (!Number.isInteger(vni) || vni < 1 || vni > MAX_VNI)
    throw invalidArgument(field, `must be 1-${MAX_VNI}, got ${vni}`);
}

/** LOGICAL_BRIDGE declares `LogicalBridge` (`//network.opiproject.org/bridges/{id}`). */
export const LOGICAL_BRIDGE = defineResourceKind<evpn.LogicalBridge>({
  kind: 'LogicalBridge',
  plural: 'LogicalBridges',
  message: evpn.LogicalBridge as MessageFns<evpn.LogicalBridge>,
  service: evpn.LogicalBridgeServiceService,
  names: {
    canonical: '//network.opiproject.org/bridges/{bridge}',
    aliases: ['logicalBridges/{bridge}', 'bridges/{bridge}'],
  },
  requestShape: 'evpn',
  status: operStatusRule('LB_OPER_STATUS'),
  unique: [
    { field: 'spec.vni', scope: 'evpn-vni' },
    { field: 'spec.vlanId', scope: 'evpn-vlan' },
  ],
  validate(bridge) {
    const spec = bridge.spec;
    if (!spec) throw invalidArgument('logical_bridge.spec', 'required');
    if (!Number.isInteger(spec.vlanId) || spec.vlanId < 1 || spec.vlanId > MAX_VLAN_ID)
      throw invalidArgument(
        'logical_bridge.spec.vlan_id',
        `must be 1-${MAX_VLAN_ID}, got ${spec.vlanId}`,
      );
    checkVni(spec.vni, 'logical_bridge.spec.vni');
    if (spec.vtepIpPrefix) ipPrefixToText(spec.vtepIpPrefix, 'logical_bridge.spec.vtep_ip_prefix');
  },
  cli: {
    command: 'logical-bridge',
    columns: [
      { header: 'NAME', path: 'name' },
      { header: 'VLAN', path: 'spec.vlanId' },
      { header: 'VNI', path: 'spec.vni' },
      { header: 'STATUS', path: 'status.operStatus' },
    ],
  },
});

/** BRIDGE_PORT declares `BridgePort` (`//network.opiproject.org/ports/{id}`). */
export const BRIDGE_PORT = defineResourceKind<evpn.BridgePort>({
  kind: 'BridgePort',
  plural: 'BridgePorts',
  message: evpn.BridgePort as MessageFns<evpn.BridgePort>,
  service: evpn.BridgePortServiceService,
  names: {
    canonical: '//network.opiproject.org/ports/{port}',
    aliases: ['bridgePorts/{port}', 'ports/{port}'],
  },
  requestShape: 'evpn',
  status: operStatusRule('BP_OPER_STATUS'),
  unique: [{ field: 'spec.macAddress', scope: 'evpn-port-mac' }],
  references: [{ field: 'spec.logicalBridges', kinds: ['LogicalBridge'], form: 'name' }],
  validate(port) {
    const spec = port.spec;
    if (!spec) throw invalidArgument('bridge_port.spec', 'required');
    macFromBytes(spec.macAddress, 'bridge_port.spec.mac_address');
    const bridges = spec.logicalBridges;
    if (new Set(bridges).size !== bridges.length)
      throw invalidArgument('bridge_port.spec.logical_bridges', 'lists a bridge twice');
    if (bridges.some((b) => b === ''))
      throw invalidArgument('bridge_port.spec.logical_bridges', 'holds an empty name');
    if (spec.ptype === evpn.BridgePortType.BRIDGE_PORT_TYPE_ACCESS) {
      if (bridges.length !== 1)
        throw invalidArgument(
          'bridge_port.spec.logical_bridges',
          `an ACCESS port needs exactly one logical bridge, got ${bridges.length}`,
        );
    } else if (spec.ptype === evpn.BridgePortType.BRIDGE_PORT_TYPE_TRUNK) {
      if (bridges.length === 0)
        throw invalidArgument(
          'bridge_port.spec.logical_bridges',
          'a TRUNK port needs at least one logical bridge',
        );
    } else {
      throw invalidArgument('bridge_port.spec.ptype', 'must be ACCESS or TRUNK');
    }
  },
  cli: {
    command: 'bridge-port',
    columns: [
      { header: 'NAME', path: 'name' },
      { header: 'TYPE', path: 'spec.ptype' },
      { header: 'BRIDGES', path: 'spec.logicalBridges' },
      { header: 'STATUS', path: 'status.operStatus' },
    ],
  },
});

/** VRF declares `Vrf` (`//network.opiproject.org/vrfs/{id}`); its status is fields 8 and 9. */
export const VRF = defineResourceKind<evpn.Vrf>({
  kind: 'Vrf',
  plural: 'Vrfs',
  message: evpn.Vrf as MessageFns<evpn.Vrf>,
  service: evpn.VrfServiceService,
  names: { canonical: '//network.opiproject.org/vrfs/{vrf}', aliases: ['vrfs/{vrf}'] },
  requestShape: 'evpn',
  status: operStatusRule('VRF_OPER_STATUS'),
  unique: [{ field: 'spec.vni', scope: 'evpn-vni' }],
  validate(vrf) {
    const spec = vrf.spec;
    if (!spec) throw invalidArgument('vrf.spec', 'required');
    checkVni(spec.vni, 'vrf.spec.vni');
    ipPrefixToText(spec.loopbackIpPrefix, 'vrf.spec.loopback_ip_prefix');
    if (spec.vtepIpPrefix) ipPrefixToText(spec.vtepIpPrefix, 'vrf.spec.vtep_ip_prefix');
  },
  cli: {
    command: 'vrf',
    columns: [
      { header: 'NAME', path: 'name' },
      { header: 'VNI', path: 'spec.vni' },
      { header: 'STATUS', path: 'status.operStatus' },
    ],
  },
});

/** SVI declares `Svi` (`//network.opiproject.org/svis/{id}`), a bridge's gateway in a VRF. */
export const SVI = defineResourceKind<evpn.Svi>({
  kind: 'Svi',
  plural: 'Svis',
  message: evpn.Svi as MessageFns<evpn.Svi>,
  service: evpn.SviServiceService,
  names: { canonical: '//network.opiproject.org/svis/{svi}', aliases: ['svis/{svi}'] },
  requestShape: 'evpn',
  status: operStatusRule('SVI_OPER_STATUS'),
  references: [
    { field: 'spec.vrf', kinds: ['Vrf'], form: 'name', required: true },
    { field: 'spec.logicalBridge', kinds: ['LogicalBridge'], form: 'name', required: true },
  ],
  validate(svi) {
    const spec = svi.spec;
    if (!spec) throw invalidArgument('svi.spec', 'required');
    macFromBytes(spec.macAddress, 'svi.spec.mac_address');
    spec.gwIpPrefix.forEach((prefix, i) => ipPrefixToText(prefix, `svi.spec.gw_ip_prefix[${i}]`));
    if (spec.remoteAs !== 0 && !spec.enableBgp)
      throw invalidArgument('svi.spec.remote_as', 'may be set only with enable_bgp');
  },
  cli: {
    command: 'svi',
    columns: [
      { header: 'NAME', path: 'name' },
      { header: 'VRF', path: 'spec.vrf' },
      { header: 'BRIDGE', path: 'spec.logicalBridge' },
      { header: 'STATUS', path: 'status.operStatus' },
    ],
  },
});

/**
 * EVPN_GATEWAY_KINDS lists the four kinds in creation order; give it to `startResourceAgent`
 * and to opictl's `registerResourceCommands`.
 */
export const EVPN_GATEWAY_KINDS: readonly ResourceKind[] = [
  VRF,
  LOGICAL_BRIDGE,
  BRIDGE_PORT,
  SVI,
] as unknown as readonly ResourceKind[];
