import { f, struct } from '../struct.ts';
import { sockAddrCodec, type SockAddr } from './sock-addr.ts';

/** Public IPs, interfaces and TCP connections (types.md §7). */

/** 32 bytes: owner pnn (0xFFFFFFFF = unassigned) and address. */
export interface PublicIp { pnn: number; addr: SockAddr }
export const publicIpDef = struct<PublicIp>('ctdb_public_ip', [f.u32('pnn'), f.fixed('addr', sockAddrCodec)]);

export interface PublicIpList { ips: PublicIp[] }
export const publicIpListDef = struct<PublicIpList>('ctdb_public_ip_list', [f.lengthOf('ips'), f.array('ips', publicIpDef)]);

/** 24 bytes: an 18-byte NUL-padded name, link state (0 down, 1 up), references. */
export interface Iface { name: string; linkState: number; references: number }
export const ifaceDef = struct<Iface>('ctdb_iface', [f.fixedString('name', 18), f.u16('linkState'), f.u32('references')]);

export interface IfaceList { ifaces: Iface[] }
export const ifaceListDef = struct<IfaceList>('ctdb_iface_list', [f.lengthOf('ifaces'), f.array('ifaces', ifaceDef)]);

/** GET_PUBLIC_IP_INFO reply: 40 + 24 * num. */
export interface PublicIpInfo { ip: PublicIp; activeIdx: number; ifaces: Iface[] }
export const publicIpInfoDef = struct<PublicIpInfo>('ctdb_public_ip_info', [
  f.struct('ip', publicIpDef), f.u32('activeIdx'), f.lengthOf('ifaces'), f.array('ifaces', ifaceDef),
]);

/** ADD/DEL_PUBLIC_IP, SEND_GRATUITOUS_ARP: 36 + n (exact). */
export interface AddrInfo { addr: SockAddr; mask: number; iface: string }
export const addrInfoDef = struct<AddrInfo>('ctdb_addr_info', [
  f.fixed('addr', sockAddrCodec), f.u32('mask'), f.lengthOf('iface'), f.stringn('iface'),
]);

/**
 * A TCP connection, 56 bytes. ctdbd's header names src "server" and dst
 * "client", but smbd's TCP_CLIENT and ctdbd's own use are the other way
 * round: dst is the public address (server side), src the client.
 */
export interface Connection { src: SockAddr; dst: SockAddr }
export const connectionDef = struct<Connection>('ctdb_connection', [f.fixed('src', sockAddrCodec), f.fixed('dst', sockAddrCodec)]);

/** Helper list type (not a control payload): u32 num + connections. */
export interface ConnectionList { connections: Connection[] }
export const connectionListDef = struct<ConnectionList>('ctdb_connection_list', [
  f.lengthOf('connections'), f.array('connections', connectionDef),
]);

/** GET/SET_TCP_TICKLE_LIST: 32 + 56 * num. */
export interface TickleList { addr: SockAddr; connections: Connection[] }
export const tickleListDef = struct<TickleList>('ctdb_tickle_list', [
  f.fixed('addr', sockAddrCodec), f.lengthOf('connections'), f.array('connections', connectionDef),
]);
