import { CallId, HEADER_SIZE, Operation, nodeName } from './constants.ts';
import {
  controlPayloadPadRanges, decodeControlReply, decodeControlRequest, encodeControlReply, encodeControlRequest,
} from './control-payloads.ts';
import { Control, controlInfo, controlName } from './controls.ts';
import { CtdbDecodeError, CtdbFramingError, CtdbProtocolError } from './errors.ts';
import { PacketFramer } from './framing.ts';
import {
  decodeMessagePayload, encodeMessagePayload, messageKindForSrvid, messagePayloadPadRanges, type MessageKind,
} from './message-payloads.ts';
import { decodePacket, encodePacket, operationName, packetPadRanges, type Packet } from './packets.ts';
import { srvidName } from './srvid.ts';

/**
 * Turns a captured byte stream into one JSON-ready record per packet: the
 * header, the operation's fields, control / SRVID names and the decoded
 * payload, optionally with a re-encoding check. Pure: no I/O (the CLI in
 * scripts/cli/commands/decode.ts reads files and prints).
 *
 * A Dissector keeps context across packets and streams: the opcode of each
 * request id (so a REPLY_CONTROL's payload can be decoded) and the SRVIDs
 * announced by TRAVERSE_START / DB_PULL / DB_PUSH_START / reply addresses
 * (so the messages that follow on them can be decoded).
 */

export interface DissectOptions {
  /** Re-encode every packet and payload and compare with the original bytes. */
  roundtrip?: boolean;
  /** Node-to-node framing rules (length multiple of 8, magic/version checked). */
  strict?: boolean;
}

export interface RoundtripResult {
  ok: boolean;
  /** Non-zero bytes in padding that was ignored by the comparison (garbage padding). */
  ignoredPaddingBytes?: number;
  /** First differing byte, packet offset. */
  offset?: number;
  expected?: string;
  actual?: string;
  reason?: string;
}

export interface PacketRecord {
  index: number;
  /** Label of the stream (file name) when several are dissected. */
  stream?: string;
  /** Byte offset of the packet in its stream. */
  offset: number;
  length: number;
  operation: string;
  [field: string]: unknown;
  payload?: unknown;
  payloadError?: ErrorInfo;
  roundtrip?: RoundtripResult;
  error?: ErrorInfo;
}

export interface ErrorInfo {
  message: string;
  type: string;
  structure?: string;
  field?: string;
  /** Offset within the packet (decode errors) or the stream (framing errors). */
  offset?: number;
  streamOffset?: number;
}

export interface DissectSummary {
  packets: number;
  errors: number;
  /** Human-readable one-liners naming packet index and offset, for stderr. */
  messages: string[];
}

export class Dissector {
  private readonly reqidOpcode = new Map<number, number>();
  private readonly srvidKind = new Map<bigint, MessageKind>();
  private index = 0;
  readonly summary: DissectSummary = { packets: 0, errors: 0, messages: [] };

  constructor(private readonly opts: DissectOptions = {}) {}

  /** Dissect one whole stream (a capture file). Returns its records; context carries over to the next stream. */
  dissectStream(bytes: Buffer, stream?: string): PacketRecord[] {
    const records: PacketRecord[] = [];
    const framer = new PacketFramer({ strict: this.opts.strict });
    let offset = 0;
    try {
      framer.push(bytes, (packet) => {
        records.push(this.dissectPacket(packet, offset, stream));
        offset += packet.length;
      });
    } catch (err) {
      if (!(err instanceof CtdbFramingError)) throw err;
      records.push(this.failure(offset, stream, bytes.length - offset, errorInfo(err, { streamOffset: err.streamOffset }),
        `framing error at stream offset ${err.streamOffset}: ${err.message}`));
      return records;
    }
    if (framer.pendingBytes > 0) {
      const need = bytes.length - offset >= 4 ? bytes.readUInt32LE(offset) : undefined;
      const reason = `truncated packet: ${framer.pendingBytes} bytes left at the end of the stream`
        + (need !== undefined ? `, header length says ${need}` : '');
      records.push(this.failure(offset, stream, framer.pendingBytes,
        { message: reason, type: 'CtdbFramingError', field: 'length', streamOffset: offset }, reason));
    }
    return records;
  }

  private failure(offset: number, stream: string | undefined, length: number, error: ErrorInfo, text: string): PacketRecord {
    const index = this.index++;
    this.noteError(index, offset, stream, text);
    const rec: PacketRecord = { index, offset, length, operation: '(unframed)', error };
    if (stream !== undefined) rec.stream = stream;
    return rec;
  }

  private noteError(index: number, offset: number, stream: string | undefined, text: string): void {
    this.summary.errors++;
    this.summary.messages.push(`${stream ? `${stream}: ` : ''}packet ${index} (stream offset ${offset}): ${text}`);
  }

  /** Dissect one complete packet (as framed). */
  dissectPacket(bytes: Buffer, offset = 0, stream?: string): PacketRecord {
    const index = this.index++;
    this.summary.packets++;
    const rec: PacketRecord = { index, offset, length: bytes.length, operation: '?' };
    if (stream !== undefined) rec.stream = stream;
    if (bytes.length >= 20) rec.operation = operationName(bytes.readUInt32LE(16));
    let p: Packet;
    try {
      p = decodePacket(bytes);
    } catch (err) {
      if (!(err instanceof CtdbProtocolError)) throw err;
      rec.error = errorInfo(err);
      rec.raw = bytes;
      this.noteError(index, offset, stream, `${err.message}`);
      return rec;
    }
    Object.assign(rec, headerFields(p));
    const payload = this.describeBody(p, rec);
    if (this.opts.roundtrip) {
      rec.roundtrip = this.roundtrip(p, bytes, payload);
      if (!rec.roundtrip.ok) {
        this.noteError(index, offset, stream, `round trip: ${rec.roundtrip.reason ?? ''}`
          + (rec.roundtrip.offset !== undefined
            ? ` at packet offset ${rec.roundtrip.offset} (expected ${rec.roundtrip.expected}, got ${rec.roundtrip.actual})` : ''));
      }
    }
    if (rec.payloadError) this.noteError(index, offset, stream, `payload: ${rec.payloadError.message}`);
    return rec;
  }

  /** Adds the operation's fields to `rec`; returns what the payload check needs. */
  private describeBody(p: Packet, rec: PacketRecord): PayloadInfo | undefined {
    switch (p.operation) {
      case Operation.REQ_CALL:
        Object.assign(rec, { flags: p.flags, dbId: p.dbId, callId: p.callId, call: callName(p.callId), hopcount: p.hopcount,
          key: p.key, callData: p.callData });
        return undefined;
      case Operation.REPLY_CALL:
        Object.assign(rec, { status: p.status, data: p.data });
        return undefined;
      case Operation.REQ_DMASTER:
        Object.assign(rec, { dbId: p.dbId, rsn: p.rsn, dmaster: p.dmaster, key: p.key, data: p.data, recordFlags: p.recordFlags });
        return undefined;
      case Operation.REPLY_DMASTER:
        Object.assign(rec, { dbId: p.dbId, rsn: p.rsn, key: p.key, data: p.data, recordFlags: p.recordFlags });
        return undefined;
      case Operation.REPLY_ERROR:
        Object.assign(rec, { status: p.status, msg: text(p.msg) });
        return undefined;
      case Operation.REQ_KEEPALIVE:
        if (p.version !== undefined) Object.assign(rec, { version: `0x${p.version.toString(16).padStart(8, '0')}`, uptime: p.uptime });
        else rec.headerOnly = true;
        return undefined;
      case Operation.REQ_TUNNEL:
        Object.assign(rec, { tunnelId: p.tunnelId, flags: p.flags, data: p.data });
        return undefined;
      case Operation.REQ_MESSAGE: {
        Object.assign(rec, { srvid: p.srvid });
        const name = srvidName(p.srvid);
        if (name) rec.srvidName = name;
        const kind = this.srvidKind.get(p.srvid) ?? messageKindForSrvid(p.srvid);
        const info = this.decodePayload(rec, p.data, HEADER_SIZE + 12, () => decodeMessagePayload(p.srvid, p.data, kind),
          (v) => encodeMessagePayload(p.srvid, v, kind), (v) => messagePayloadPadRanges(p.srvid, v, kind));
        if (info) this.learnFromMessage(kind, info.value);
        return info;
      }
      case Operation.REQ_CONTROL: {
        Object.assign(rec, { opcode: p.opcode, control: controlName(p.opcode), srvid: p.srvid, clientId: p.clientId, flags: p.flags });
        this.reqidOpcode.set(p.reqid, p.opcode);
        const info = this.decodePayload(rec, p.data, HEADER_SIZE + 28, () => decodeControlRequest(p.opcode, p.data),
          (v) => encodeControlRequest(p.opcode, v), (v) => controlPayloadPadRanges(p.opcode, 'request', v));
        if (info) this.learn(p.opcode, info.value);
        return info;
      }
      case Operation.REPLY_CONTROL: {
        rec.status = p.status;
        const opcode = this.reqidOpcode.get(p.reqid);
        if (opcode !== undefined) {
          Object.assign(rec, { opcode, control: controlName(opcode) });
          const info = controlInfo(opcode);
          if (info.statusReply) rec.statusMeaning = info.statusMeaning;
        }
        if (p.errorMessage.length > 0) rec.errorMessage = text(p.errorMessage);
        if (opcode === undefined || (p.status !== 0 && p.data.length === 0)) {
          if (p.data.length > 0) rec.data = p.data;
          return undefined;
        }
        return this.decodePayload(rec, p.data, HEADER_SIZE + 12, () => decodeControlReply(opcode, p.data),
          (v) => encodeControlReply(opcode, v), (v) => controlPayloadPadRanges(opcode, 'reply', v));
      }
    }
  }

  private decodePayload(rec: PacketRecord, data: Buffer, dataOffset: number, decode: () => unknown,
    encode: (v: unknown) => Buffer, pads: (v: unknown) => Array<[number, number]>): PayloadInfo | undefined {
    try {
      const value = decode();
      rec.payload = value;
      return { value, data, dataOffset, encode, pads };
    } catch (err) {
      if (!(err instanceof CtdbDecodeError)) throw err;
      rec.payloadError = errorInfo(err, { offset: err.offset + dataOffset });
      rec.payload = { raw: data };
      return undefined;
    }
  }

  /** Remember which SRVIDs will carry which payloads. */
  private learn(opcode: number, value: any): void {
    if (!value || 'raw' in value) return;
    switch (opcode) {
      case Control.TRAVERSE_START: case Control.TRAVERSE_START_EXT:
        this.srvidKind.set(value.srvid, 'recData');
        break;
      case Control.DB_PULL: case Control.DB_PUSH_START:
        this.srvidKind.set(value.srvid, 'recBuffer');
        break;
    }
  }

  /** Messages asking for an answer announce the reply SRVID. */
  private learnFromMessage(kind: MessageKind, value: any): void {
    if ((kind === 'srvidMessage' || kind === 'disableMessage') && value?.srvid && value.srvid !== 0n) {
      this.srvidKind.set(value.srvid, 'result');
    }
  }

  private roundtrip(p: Packet, original: Buffer, payload: PayloadInfo | undefined): RoundtripResult {
    let again: Buffer;
    try {
      again = encodePacket(p, { length: original.length });
    } catch (err) {
      return { ok: false, reason: `re-encoding failed: ${(err as Error).message}` };
    }
    const pads = packetPadRanges(p, original.length);
    const cmp = compareMasked(original, again, pads, 0);
    if (!cmp.ok) return { ...cmp, reason: 'packet bytes differ' };
    let ignored = cmp.ignoredPaddingBytes ?? 0;
    if (payload) {
      let enc: Buffer;
      try {
        enc = payload.encode(payload.value);
      } catch (err) {
        return { ok: false, reason: `payload re-encoding failed: ${(err as Error).message}` };
      }
      const pc = compareMasked(payload.data, enc, payload.pads(payload.value), payload.dataOffset);
      if (!pc.ok) return { ...pc, reason: 'payload bytes differ' };
      ignored += pc.ignoredPaddingBytes ?? 0;
    }
    return ignored > 0 ? { ok: true, ignoredPaddingBytes: ignored } : { ok: true };
  }
}

interface PayloadInfo {
  value: unknown;
  data: Buffer;
  /** Offset of the data within the packet. */
  dataOffset: number;
  encode(v: unknown): Buffer;
  pads(v: unknown): Array<[number, number]>;
}

/** Compare two encodings, ignoring padding ranges; report the first difference (offset + base). */
export function compareMasked(original: Buffer, again: Buffer, pads: Array<[number, number]>, base: number): RoundtripResult {
  const isPad = new Uint8Array(Math.max(original.length, again.length));
  for (const [a, b] of pads) isPad.fill(1, Math.max(0, a), Math.min(isPad.length, b));
  let ignored = 0;
  const n = Math.max(original.length, again.length);
  for (let i = 0; i < n; i++) {
    if (isPad[i]) {
      if (i < original.length && original[i] !== 0) ignored++;
      continue;
    }
    if (i >= original.length || i >= again.length || original[i] !== again[i]) {
      return {
        ok: false,
        offset: base + i,
        expected: i < original.length ? hexByte(original[i]) : '(end)',
        actual: i < again.length ? hexByte(again[i]) : '(end)',
      };
    }
  }
  return ignored > 0 ? { ok: true, ignoredPaddingBytes: ignored } : { ok: true };
}

function hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

function headerFields(p: Packet): Record<string, unknown> {
  const out: Record<string, unknown> = {
    generation: p.generation, destnode: p.destnode, srcnode: p.srcnode, reqid: p.reqid,
  };
  const dn = nodeName(p.destnode);
  if (dn) out.destnodeName = dn;
  const sn = nodeName(p.srcnode);
  if (sn) out.srcnodeName = sn;
  return out;
}

function callName(callId: number): string | undefined {
  for (const [name, id] of Object.entries(CallId)) if (id === callId) return name;
  return undefined;
}

/** Message text without a trailing NUL. */
function text(b: Buffer): string {
  const end = b.length > 0 && b[b.length - 1] === 0 ? b.length - 1 : b.length;
  return b.toString('utf8', 0, end);
}

function errorInfo(err: CtdbProtocolError, extra: Partial<ErrorInfo> = {}): ErrorInfo {
  const info: ErrorInfo = { message: err.message, type: err.name };
  if (err instanceof CtdbDecodeError) Object.assign(info, { structure: err.structure, field: err.field, offset: err.offset });
  return { ...info, ...extra };
}

// ------------------------------------------------------------------ JSON

const HEX_BIGINT_KEYS = new Set(['srvid', 'tunnelId']);

/**
 * JSON-ready copy: Buffers become hex strings, SRVIDs / tunnel ids 0x hex
 * strings, other bigints decimal strings.
 */
export function toJsonValue(value: unknown, key = ''): unknown {
  if (typeof value === 'bigint') {
    return HEX_BIGINT_KEYS.has(key) ? `0x${value.toString(16).padStart(16, '0')}` : value.toString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length).toString('hex');
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v, key));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v, k);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

// ------------------------------------------------------------------ hex input

/**
 * Parse a hex dump: plain hex (any whitespace, `0x` prefixes, commas), xxd
 * (`00000000: 4000 0000 ...  ascii`), `hexdump -C` (`00000000  40 00 ... |ascii|`)
 * and `od -A x -t x1` (offset column without colon); a `*` line (repeated
 * lines elided by hexdump/od) is expanded from the next offset. `#` starts a
 * comment.
 */
export function parseHexDump(textIn: string): Buffer {
  const lines = textIn.split(/\r?\n/).map((l) => l.replace(/#.*$/, ''));
  const tokenLines = lines.map((l) => l.trim()).filter((l) => l.length > 0 && l !== '*').map((l) => l.split(/\s+/));
  // od style: every data line is "<offset> <byte> <byte> ..." with 2-digit byte tokens.
  const odStyle = tokenLines.some((t) => t.length >= 2) && tokenLines.every((t) =>
    (t.length === 1 && /^[0-9a-fA-F]{6,8}$/.test(t[0]))
    || (t.length >= 2 && /^[0-9a-fA-F]{4,8}$/.test(t[0]) && t.slice(1).every((x) => /^[0-9a-fA-F]{2}$/.test(x))));
  const anyHexdumpC = lines.some((l) => /\|.*\|\s*$/.test(l));
  const chunks: Buffer[] = [];
  let total = 0;
  let previous: Buffer | undefined;
  let repeat = false;
  const fillTo = (offset: number, lineNo: number) => {
    if (repeat && previous && previous.length > 0) {
      while (total + previous.length <= offset) { chunks.push(previous); total += previous.length; }
    }
    repeat = false;
    if (total !== offset) {
      throw new CtdbDecodeError('hex dump', `line ${lineNo}`, offset, `offset column says 0x${offset.toString(16)}, but ${total} bytes were read`);
    }
  };
  lines.forEach((line0, i) => {
    let line = line0;
    if (line.trim() === '*') { repeat = true; return; }
    let offset: number | undefined;
    const hexdumpC = /\|.*\|\s*$/.test(line);
    if (hexdumpC) line = line.replace(/\|.*\|\s*$/, '');
    const xxd = /^\s*(?:0x)?([0-9a-fA-F]+):/.exec(line);
    if (xxd) {
      offset = parseInt(xxd[1], 16);
      line = line.slice(xxd[0].length);
      // xxd puts the ASCII column after two or more spaces.
      if (!hexdumpC) {
        const m = /^(\s*(?:[0-9a-fA-F]+\s)*?[0-9a-fA-F]+)\s{2,}\S.*$/.exec(line);
        if (m) line = m[1];
      }
    } else if (odStyle || anyHexdumpC) {
      const t = line.trim().split(/\s+/);
      if (t[0] !== '') {
        offset = parseInt(t[0], 16);
        line = t.slice(1).join(' ');
      }
    }
    const cleaned = line.replace(/0x/gi, '').replace(/[,;]/g, ' ').replace(/\s+/g, '');
    if (offset !== undefined) fillTo(offset, i + 1);
    if (cleaned.length === 0) return;
    if (!/^[0-9a-fA-F]*$/.test(cleaned)) {
      const bad = cleaned.search(/[^0-9a-fA-F]/);
      throw new CtdbDecodeError('hex dump', `line ${i + 1}`, bad, `not a hex digit: ${JSON.stringify(cleaned[bad])}`);
    }
    if (cleaned.length % 2 !== 0) {
      throw new CtdbDecodeError('hex dump', `line ${i + 1}`, total, 'odd number of hex digits on the line');
    }
    previous = Buffer.from(cleaned, 'hex');
    chunks.push(previous);
    total += previous.length;
  });
  return Buffer.concat(chunks, total);
}
