// One reader per operator file, with ctdbd 4.17's rules; every part of the
// project reads nodes, public_addresses and ctdb.conf through these.
export { OperatorFileError, type OperatorFileErrorCode, type OperatorFileWarning } from './errors.ts';
export { parseCtdbAddress, inetPton4, inetPton6, inetNtop4, inetNtop6, isInetAddress, type IpAddress } from './inet.ts';
export { parseNodesFile, formatNodesFile, nodeByAddress, DELETED_NODE_ADDRESS, type NodeEntry, type NodesFile } from './nodes-file.ts';
export {
  parsePublicAddresses, formatPublicAddresses, MAX_INTERFACE_NAME,
  type PublicAddress, type PublicAddressesFile, type ParsePublicAddressesOptions,
} from './public-addresses.ts';
export {
  parseCtdbConf, parseCtdbDebugLevel, parseLogLocation, CTDB_CONF_DEFAULTS,
  type CtdbConf, type CtdbConfKey, type CtdbConfValues, type CtdbConfPathCheck, type ParseCtdbConfOptions, type LogLocation,
} from './ctdb-conf.ts';
export {
  readOperatorFile, loadNodesFile, loadPublicAddresses, loadCtdbConf, hostInterfaceNames, runPathChecks,
  type LoadPublicAddressesOptions, type LoadCtdbConfOptions,
} from './load.ts';
