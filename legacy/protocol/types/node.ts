import { f, struct } from '../struct.ts';
import { sockAddrCodec, type SockAddr } from './sock-addr.ts';

/** Node related payloads (types.md §3). */

export interface NodeAndFlags { pnn: number; flags: number; addr: SockAddr }
export const nodeAndFlagsDef = struct<NodeAndFlags>('ctdb_node_and_flags', [
  f.u32('pnn'), f.u32('flags'), f.fixed('addr', sockAddrCodec),
]);

export interface NodeMap { nodes: NodeAndFlags[] }
export const nodeMapDef = struct<NodeMap>('ctdb_node_map', [f.lengthOf('nodes'), f.array('nodes', nodeAndFlagsDef)]);

export interface NodeFlagChange { pnn: number; newFlags: number; oldFlags: number }
export const nodeFlagChangeDef = struct<NodeFlagChange>('ctdb_node_flag_change', [
  f.u32('pnn'), f.u32('newFlags'), f.u32('oldFlags'),
]);

export interface VnnMap { generation: number; map: number[] }
export const vnnMapDef = struct<VnnMap>('ctdb_vnn_map', [f.u32('generation'), f.lengthOf('map'), f.values('map', 'u32')]);

export interface BanState { pnn: number; time: number }
export const banStateDef = struct<BanState>('ctdb_ban_state', [f.u32('pnn'), f.u32('time')]);
