import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Operation } from './constants.ts';
import { encodeControlRequest } from './control-payloads.ts';
import { Control } from './controls.ts';
import { compareMasked, Dissector, parseHexDump, toJsonValue } from './dissect.ts';
import { CtdbDecodeError } from './errors.ts';
import { encodePacket } from './packets.ts';
import { nodeLinkStream } from './testing/golden.ts';

const golden = (name: string) => fileURLToPath(new URL(`./fixtures/golden/${name}`, import.meta.url));

describe('hex dumps', () => {
  const bin = readFileSync(golden('ctdb-status.c2s.bin'));

  test('xxd, hexdump -C and od -A x -t x1 output of the real status capture parse to the same bytes', () => {
    expect(parseHexDump(readFileSync(golden('ctdb-status.c2s.xxd'), 'utf8')).equals(bin)).toBe(true);
    expect(parseHexDump(readFileSync(golden('ctdb-status.c2s.od'), 'utf8')).equals(bin)).toBe(true);
    expect(parseHexDump(readFileSync(golden('ctdb-status.s2c.hexdump'), 'utf8'))
      .equals(readFileSync(golden('ctdb-status.s2c.bin')))).toBe(true);
  });

  test('plain hex with whitespace, 0x prefixes, commas and comments', () => {
    expect(parseHexDump('0x40, 0x00 0x00\n00 # comment\n  4244 5443').toString('hex')).toBe('4000000042445443');
    expect(parseHexDump('00000000 00000000 0200 111b').toString('hex')).toBe('00000000000000000200111b');
  });

  test('"*" lines of hexdump -C are expanded from the next offset', () => {
    const text = [
      '00000000  01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10  |................|',
      '00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|',
      '*',
      '00000040  ff ff                                             |..|',
      '00000042',
    ].join('\n');
    const b = parseHexDump(text);
    expect(b.length).toBe(0x42);
    expect(b.subarray(0x10, 0x40).every((x) => x === 0)).toBe(true);
    expect(b[0x41]).toBe(0xff);
  });

  test('bad input names the line', () => {
    expect(() => parseHexDump('4000\nzz00')).toThrow(/line 2/);
    expect(() => parseHexDump('400')).toThrow(CtdbDecodeError);
  });
});

describe('Dissector', () => {
  test('the node-link golden stream: everything decodes and round-trips under strict framing', () => {
    const bytes = readFileSync(golden('node-link.bin'));
    expect(bytes.equals(nodeLinkStream())).toBe(true); // codec output unchanged since the golden file was made
    const d = new Dissector({ roundtrip: true, strict: true });
    const recs = d.dissectStream(bytes);
    expect(d.summary.errors).toBe(0);
    expect(recs.every((r) => r.roundtrip?.ok)).toBe(true);
    const traverse = recs.find((r) => r.control === 'TRAVERSE_ALL_EXT')!;
    expect(traverse.roundtrip?.ignoredPaddingBytes).toBe(6); // 01 05 69 83 6a 55 00
    const confirm = recs.find((r) => r.operation === 'REPLY_CONTROL' && r.control === 'DB_PUSH_CONFIRM')!;
    expect(confirm.payload).toEqual({ numRecords: 1 });
    const err = recs.find((r) => r.errorMessage)!;
    expect(err.errorMessage).toBe('ctdb_control to disconnected node');
    const json = toJsonValue(recs[2]) as Record<string, unknown>;
    expect(json.srvid).toBe('0xf100000000000000');
    expect(json.srvidName).toBe('ELECTION');
  });

  test('replies are matched to their request opcode across streams; traverse records are recognised by SRVID', () => {
    const d = new Dissector();
    const c2s = d.dissectStream(readFileSync(golden('ctdb-status.c2s.bin')), 'c2s');
    const s2c = d.dissectStream(readFileSync(golden('ctdb-status.s2c.bin')), 's2c');
    expect(c2s.map((r) => r.control)).toEqual(['GET_PNN', 'REGISTER_SRVID', 'GET_NODEMAP', 'GET_RUNSTATE', 'GETVNNMAP',
      'GET_RECMODE', 'GET_IFACES', 'GET_IFACES', 'GET_IFACES']);
    const nodemap = s2c.find((r) => r.control === 'GET_NODEMAP')!;
    expect((nodemap.payload as { nodes: unknown[] }).nodes).toHaveLength(3);
    expect(s2c.find((r) => r.operation === 'REQ_MESSAGE')?.payload).toEqual({ pnn: expect.any(Number) });
  });

  test('a round-trip mismatch reports packet and offset, with a non-zero error count', () => {
    const d = new Dissector({ roundtrip: true });
    // A DB_ATTACH name with bytes after the NUL decodes, but re-encodes differently.
    const b = encodePacket({ operation: Operation.REQ_CONTROL, generation: 0, destnode: 0, srcnode: 0, reqid: 1,
      opcode: Control.DB_ATTACH, srvid: 0n, clientId: 0, flags: 0, data: Buffer.from('a.tdb\0junk') });
    const [rec] = d.dissectStream(b);
    expect(rec.payload).toEqual({ name: 'a.tdb' });
    expect(rec.roundtrip).toMatchObject({ ok: false, reason: 'payload bytes differ', offset: 60 + 6 });
    expect(d.summary.errors).toBe(1);
    expect(d.summary.messages[0]).toMatch(/^packet 0 \(stream offset 0\): round trip: payload bytes differ at packet offset 66/);
  });

  test('a malformed payload falls back to raw with the error; a broken header is reported; truncation is reported', () => {
    const d = new Dissector();
    const good = encodePacket({ operation: Operation.REQ_CONTROL, generation: 0, destnode: 0, srcnode: 0, reqid: 1,
      opcode: Control.GET_DB_SEQNUM, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(4) });
    const badMagic = Buffer.from(good);
    badMagic.writeUInt32LE(0, 4);
    const recs = d.dissectStream(Buffer.concat([good, badMagic, good.subarray(0, 40)]));
    expect(recs[0].payloadError?.field).toBe('(pad)');
    expect(recs[0].payloadError?.offset).toBe(64);
    expect(recs[0].payload).toEqual({ raw: Buffer.alloc(4) });
    expect(recs[1].error?.field).toBe('ctdb_magic');
    expect(recs[2].error?.message).toMatch(/truncated packet: 40 bytes left/);
    expect(d.summary.errors).toBe(3);
  });

  test('strict framing stops at an unrounded length', () => {
    const d = new Dissector({ strict: true });
    const p = encodePacket({ operation: Operation.REQ_CONTROL, generation: 0, destnode: 0, srcnode: 0, reqid: 1,
      opcode: Control.DB_ATTACH, srvid: 0n, clientId: 0, flags: 0, data: encodeControlRequest(Control.DB_ATTACH, { name: 'x' }) },
    { padding: 'none' });
    const recs = d.dissectStream(p);
    expect(recs[0].error?.type).toBe('CtdbFramingError');
  });

  test('compareMasked ignores padding and counts garbage in it', () => {
    expect(compareMasked(Buffer.from([1, 9, 3]), Buffer.from([1, 0, 3]), [[1, 2]], 0)).toEqual({ ok: true, ignoredPaddingBytes: 1 });
    expect(compareMasked(Buffer.from([1, 2]), Buffer.from([1, 3]), [], 10)).toMatchObject({ ok: false, offset: 11 });
  });
});
