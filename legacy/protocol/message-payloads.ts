import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';
import { Srvid, srvidName } from './srvid.ts';
import type { StructDef } from './struct.ts';
import {
  cstringPayload, dbIdDef, disableMessageDef, electionMessageDef, emptyDef, messageResultDef, nodeFlagChangeDef,
  pnnDef, publicIpDef, recBufferDef, recDataDef, srvidMessageDef, u32Payload,
} from './types/index.ts';
import type { RawPayload } from './control-payloads.ts';

/**
 * REQ_MESSAGE payloads by SRVID (types.md §9). Well-known SRVIDs have fixed
 * layouts; the SRVID_RECOVERY range carries record buffers. Everything else
 * is opaque (`{ raw }`) unless the caller knows better and passes a kind
 * (e.g. a dissector that saw the TRAVERSE_START naming that srvid).
 */

export type MessageKind =
  | 'election' | 'pnn' | 'dbId' | 'timeout' | 'ip' | 'nodeFlagChange' | 'publicIp' | 'recBuffer' | 'recData'
  | 'srvidMessage' | 'disableMessage' | 'result' | 'empty' | 'raw';

export const messageKindDefs: Record<Exclude<MessageKind, 'raw'>, StructDef<any>> = {
  election: electionMessageDef,
  pnn: pnnDef,
  dbId: dbIdDef,
  timeout: u32Payload('disable_ip_check', 'timeout'),
  ip: cstringPayload('ip_message', 'ip'),
  nodeFlagChange: nodeFlagChangeDef,
  publicIp: publicIpDef,
  recBuffer: recBufferDef,
  recData: recDataDef,
  srvidMessage: srvidMessageDef,
  disableMessage: disableMessageDef,
  result: messageResultDef,
  empty: emptyDef,
};

const bySrvid = new Map<bigint, MessageKind>([
  [Srvid.ELECTION, 'election'],
  [Srvid.LEADER, 'pnn'],
  [Srvid.BANNING, 'pnn'],
  [Srvid.REBALANCE_NODE, 'pnn'],
  [Srvid.DETACH_DATABASE, 'dbId'],
  [Srvid.DISABLE_IP_CHECK, 'timeout'],
  [Srvid.RELEASE_IP, 'ip'],
  [Srvid.TAKE_IP, 'ip'],
  [Srvid.SET_NODE_FLAGS, 'nodeFlagChange'],
  [Srvid.PUSH_NODE_FLAGS, 'nodeFlagChange'],
  [Srvid.RECD_UPDATE_IP, 'publicIp'],
  [Srvid.VACUUM_FETCH, 'recBuffer'],
  [Srvid.RECONFIGURE, 'empty'],
  [Srvid.GETLOG, 'empty'],
  [Srvid.CLEARLOG, 'empty'],
  [Srvid.RELOAD_NODES, 'empty'],
  [Srvid.IPREALLOCATED, 'empty'],
  [Srvid.START_IPREALLOCATE, 'empty'],
  [Srvid.MEM_DUMP, 'srvidMessage'],
  [Srvid.TAKEOVER_RUN, 'srvidMessage'],
  [Srvid.DISABLE_TAKEOVER_RUNS, 'disableMessage'],
  [Srvid.DISABLE_RECOVERIES, 'disableMessage'],
]);

/** The payload kind implied by a SRVID alone. */
export function messageKindForSrvid(srvid: bigint): MessageKind {
  const exact = bySrvid.get(srvid);
  if (exact) return exact;
  // The recovery helper streams record buffers on SRVID_RECOVERY + n.
  if ((srvid & 0xffff000000000000n) === Srvid.RECOVERY) return 'recBuffer';
  return 'raw';
}

/** Decode a message payload; `kind` overrides what the SRVID implies. */
export function decodeMessagePayload(srvid: bigint, data: Buffer, kind: MessageKind = messageKindForSrvid(srvid)): any {
  if (kind === 'raw') return { raw: data } satisfies RawPayload;
  const def = messageKindDefs[kind];
  try {
    return def.decodeExact(data);
  } catch (err) {
    if (err instanceof CtdbDecodeError) {
      const where = srvidName(srvid) ?? `0x${srvid.toString(16)}`;
      throw new CtdbDecodeError(`message ${where} (${err.structure})`, err.field, err.offset, err.reason);
    }
    throw err;
  }
}

export function encodeMessagePayload(srvid: bigint, value: unknown, kind: MessageKind = messageKindForSrvid(srvid)): Buffer {
  const raw = (value as Partial<RawPayload> | undefined)?.raw;
  if (raw instanceof Uint8Array && Object.keys(value as object).length === 1) {
    return Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  }
  if (kind === 'raw') throw new CtdbEncodeError('message', 'raw', 'opaque SRVID: pass { raw: Buffer }');
  return messageKindDefs[kind].encode(value);
}

export function messagePayloadPadRanges(srvid: bigint, value: unknown, kind: MessageKind = messageKindForSrvid(srvid)): Array<[number, number]> {
  if (kind === 'raw' || (value as Partial<RawPayload>)?.raw instanceof Uint8Array) return [];
  return messageKindDefs[kind].padRanges(value);
}
