// A bare Node "daemon" for the daemon RTT floor (scripts/bench/daemon-floor.ts):
// it answers REQ_CONTROL from unix clients itself, or relays them over TCP to
// its one peer (one outgoing, one incoming connection, as ctdbd does) and
// the reply back. No validation, no state: only what any Node daemon must
// do per round trip (wake-up, read, frame, write).
//
// Child mode only: started by daemon-floor.ts with IPC.
//   run-ts.mjs floor-node.ts --socket PATH --pnn N

import { createServer, Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LeanStream } from './lean-client.ts';

const { values: args } = parseArgs({ options: { socket: { type: 'string' }, pnn: { type: 'string' } } });
const PNN = Number(args.pnn);
const CURRENT = 0xf0000001;
const REQ_CONTROL = 7;
const REPLY_CONTROL = 8;

function reply(destnode: number, reqid: number, status: number): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt32LE(48, 0);
  b.writeUInt32LE(0x43544442, 4);
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(REPLY_CONTROL, 16);
  b.writeUInt32LE(destnode, 20);
  b.writeUInt32LE(PNN, 24);
  b.writeUInt32LE(reqid, 28);
  b.writeInt32LE(status, 32);
  return b;
}

let out: Socket | undefined;
let client: Socket | undefined;
const pending = new Map<number, number>();
let nextId = 1;

const onClientPacket = (b: Buffer, off: number, len: number): void => {
  if (b.readUInt32LE(off + 16) !== REQ_CONTROL) return;
  const dest = b.readUInt32LE(off + 20);
  const reqid = b.readUInt32LE(off + 28);
  if (dest === CURRENT || dest === PNN) {
    client!.write(reply(0, reqid, PNN));
    return;
  }
  const id = nextId++;
  pending.set(id, reqid);
  const p = b.subarray(off, off + len);
  p.writeUInt32LE(PNN, 24);
  p.writeUInt32LE(id, 28);
  out?.write(p);
};

const onNodePacket = (b: Buffer, off: number): void => {
  const op = b.readUInt32LE(off + 16);
  if (op === REQ_CONTROL) {
    out?.write(reply(b.readUInt32LE(off + 24), b.readUInt32LE(off + 28), PNN));
  } else if (op === REPLY_CONTROL) {
    const id = b.readUInt32LE(off + 28);
    const reqid = pending.get(id);
    if (reqid === undefined) return;
    pending.delete(id);
    const p = b.subarray(off, off + 48);
    p.writeUInt32LE(reqid, 28);
    client?.write(p);
  }
};

const unix = createServer((s) => {
  client = s;
  const stream = new LeanStream();
  s.on('data', (chunk: Buffer) => stream.push(chunk, onClientPacket));
  s.on('error', () => undefined);
});
try { unlinkSync(args.socket!); } catch { /* none */ }
unix.listen(args.socket!);

const tcp = createServer({ noDelay: true }, (s) => {
  const stream = new LeanStream();
  s.on('data', (chunk: Buffer) => stream.push(chunk, onNodePacket));
  s.on('error', () => undefined);
});
tcp.listen({ host: '127.0.0.1', port: 0 }, () => {
  const addr = tcp.address();
  process.send!({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});

process.on('message', (m: { peerPort?: number }) => {
  if (m.peerPort === undefined) return;
  const s = new Socket();
  s.setNoDelay(true);
  s.on('error', () => undefined);
  s.connect({ host: '127.0.0.1', port: m.peerPort }, () => {
    out = s;
    process.send!({ connected: true });
  });
});
process.on('disconnect', () => process.exit(0));
