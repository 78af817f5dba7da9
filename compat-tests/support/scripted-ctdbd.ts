import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { ControlFlag, Node, NodeFlag, Operation, RunState } from '../../legacy/protocol/constants.ts';
import { Control, controlName } from '../../legacy/protocol/controls.ts';
import { decodeControlRequest, encodeControlReply } from '../../legacy/protocol/control-payloads.ts';
import { CtdbProtocolError } from '../../legacy/protocol/errors.ts';
import { PacketFramer } from '../../legacy/protocol/framing.ts';
import { decodeMessagePayload } from '../../legacy/protocol/message-payloads.ts';
import { decodePacket, encodePacket, type Packet, type ReqControl } from '../../legacy/protocol/packets.ts';
import { Srvid } from '../../legacy/protocol/srvid.ts';
import { sockAddrCodec, type SockAddr } from '../../legacy/protocol/types/sock-addr.ts';
import { defaultTunableList, type TunableList } from '../../legacy/protocol/types/tunables.ts';
import type { PublicIp } from '../../legacy/protocol/types/public-ip.ts';
import { createLogger, type Logger } from '../../legacy/common/log.ts';
import { ALGORITHM_BY_TUNABLE, type AllocationInput } from '../../components/failoverd/allocation/types.ts';

/**
 * A ctdbd that exists only as a script: one unix socket plays every node of
 * a cluster, the way Samba's fake_ctdbd does for its takeover_helper tests.
 * It answers what a takeover run asks (GET_PNN, GET_ALL_TUNABLES,
 * GET_NODEMAP, GET_PUBLIC_IPS with or without the available flag,
 * GET_RUNSTATE, GET_IFACES), records RELEASE_IP / TAKEOVER_IP /
 * IPREALLOCATED and messages in arrival order, and keeps each node's view of
 * who hosts what (as fake_ctdbd updates it) so `ctdb ip all` can be computed
 * afterwards. Anything else is recorded as unscripted and answered with an
 * error; undecodable bytes are recorded as typed errors. Tests assert both
 * lists are empty: this daemon must never hide a bug.
 */

/** A scripted failure, as fake_ctdbd's CONTROLFAILS stanza: `<opcode> <pnn> ERROR|TIMEOUT`. */
export interface ScriptedFailure {
  opcode: number;
  /** The node whose control fails; -1 for every node. */
  pnn: number;
  kind: 'error' | 'timeout';
  /** Status of an error reply (fake_ctdbd: -1). */
  status?: number;
  message?: string;
}

export interface CtdbdScript {
  input: AllocationInput;
  /** The node the socket belongs to (GET_PNN, CURRENT_NODE). */
  localPnn: number;
  /** Tunables besides the allocation's own (TakeoverTimeout, EnableBans, an out-of-range IPAllocAlgorithm...). */
  tunables?: Partial<TunableList>;
  failures?: ScriptedFailure[];
}

/** One control as received, with what the daemon did about it. */
export interface RecordedControl {
  /** Position among everything this daemon saw or sent (requests and replies share the counter). */
  seq: number;
  /** seq of the reply; undefined when none was sent (scripted timeout). */
  replySeq?: number;
  opcode: number;
  name: string;
  /** The node addressed (CURRENT_NODE resolved to the local PNN). */
  destnode: number;
  flags: number;
  /** RELEASE_IP / TAKEOVER_IP payload. */
  ip?: string;
  pnn?: number;
  outcome: 'ok' | 'error' | 'timeout' | 'unscripted';
  status?: number;
  /** Milliseconds since the daemon started. */
  atMs: number;
}

export interface RecordedMessage {
  seq: number;
  destnode: number;
  srvid: bigint;
  data: Buffer;
  /** The PNN carried by SRVID_BANNING. */
  pnn?: number;
}

/** Test support failure: a bad script, or bytes this daemon could not make sense of. */
export class ScriptedCtdbdError extends Error {
  override name = 'ScriptedCtdbdError';
  constructor(readonly code: 'BAD_SCRIPT' | 'BAD_PACKET' | 'UNSCRIPTED', message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One address in one node's view (a ctdbd vnn: the address and who that node thinks hosts it). */
interface ViewEntry { addr: SockAddr; ip: string; pnn: number; available: boolean }

const UNKNOWN_PNN = Node.UNKNOWN_PNN;
const EMPTY = Buffer.alloc(0);
/** ctdbd answers an empty available list when its node has any of these flags (INACTIVE | DISABLED). */
const CANNOT_HOST_FLAGS = NodeFlag.INACTIVE | NodeFlag.DISABLED;

/** inet_ntop-style text of an address, as the codec decodes it; throws on a non-address. */
export function canonicalIp(text: string): string {
  return toSockAddr(text).address;
}

function toSockAddr(text: string): SockAddr {
  const value: SockAddr = { family: text.includes(':') ? 'inet6' : 'inet', address: text, port: 0 };
  const buf = Buffer.alloc(sockAddrCodec.size);
  sockAddrCodec.encode(value, buf, 0);
  return sockAddrCodec.decode(buf, 0);
}

export class ScriptedCtdbd {
  readonly controls: RecordedControl[] = [];
  readonly messages: RecordedMessage[] = [];
  /** Requests no script covers: each one is a test failure. */
  readonly unscripted: ScriptedCtdbdError[] = [];
  /** Bytes that did not decode: each one is a test failure. */
  readonly errors: ScriptedCtdbdError[] = [];
  private readonly views: ViewEntry[][];
  private readonly tunables: TunableList;
  private readonly sockets = new Set<Socket>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly started = performance.now();
  private seq = 0;
  private connectionsSeen = 0;

  private constructor(
    readonly script: CtdbdScript,
    readonly socketPath: string,
    private readonly server: Server,
    private readonly log: Logger,
  ) {
    this.views = script.input.nodes.map((n) => n.ips.map((a) => {
      const addr = toSockAddr(a.ip);
      return { addr, ip: addr.address, pnn: a.pnn < 0 ? UNKNOWN_PNN : a.pnn, available: a.available };
    }));
    this.tunables = { ...defaultTunableList(), ...allocationTunables(script.input), ...script.tunables };
    server.on('connection', (s) => this.accept(s));
  }

  /** Listens on `socketPath` (which must not exist). */
  static async start(script: CtdbdScript, socketPath: string, log?: Logger): Promise<ScriptedCtdbd> {
    checkScript(script);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new ScriptedCtdbd(script, socketPath, server, log ?? createLogger({ component: 'scripted-ctdbd' }));
  }

  /** Resolves once at least one client came and every client has gone (everything it sent has been read). */
  whenIdle(): Promise<void> {
    if (this.connectionsSeen > 0 && this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Each node's view: address -> the PNN that node reports as host (-1 none). */
  nodeViews(): Array<Map<string, number>> {
    return this.views.map((v) => new Map(v.map((e) => [e.ip, signedPnn(e.pnn)])));
  }

  /**
   * What `ctdb ip all` prints, computed as the ctdb tool does: every active
   * node is asked; a node naming itself as host wins (the last one asked),
   * otherwise the address shows -1.
   */
  ipAll(): Map<string, number> {
    const out = new Map<string, number>();
    for (const node of this.script.input.nodes) {
      if ((node.flags & NodeFlag.INACTIVE) !== 0) continue;
      for (const e of this.views[node.pnn]) {
        if (e.pnn === node.pnn) out.set(e.ip, node.pnn);
        else if (!out.has(e.ip)) out.set(e.ip, -1);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  // ---- connections --------------------------------------------------------------

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    this.connectionsSeen++;
    const framer = new PacketFramer();
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk, (bytes) => this.onBytes(socket, bytes));
      } catch (err) {
        this.badInput(`framing: ${(err as Error).message}`, err);
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private onBytes(socket: Socket, bytes: Buffer): void {
    let packet: Packet;
    try {
      packet = decodePacket(bytes);
    } catch (err) {
      if (!(err instanceof CtdbProtocolError)) throw err;
      this.badInput(`undecodable packet of ${bytes.length} bytes: ${err.message}`, err);
      return;
    }
    if (packet.operation === Operation.REQ_CONTROL) this.onControl(socket, packet);
    else if (packet.operation === Operation.REQ_MESSAGE) this.onMessage(packet.destnode, packet.srvid, packet.data);
    else this.notScripted(`operation ${packet.operation} from a client`);
  }

  private badInput(reason: string, cause: unknown): void {
    this.log.warn({ reason }, 'scripted ctdbd: bad input');
    this.errors.push(new ScriptedCtdbdError('BAD_PACKET', reason, { cause }));
  }

  private notScripted(what: string): void {
    this.log.warn({ what }, 'scripted ctdbd: request not covered by the script');
    this.unscripted.push(new ScriptedCtdbdError('UNSCRIPTED', what));
  }

  private onMessage(destnode: number, srvid: bigint, data: Buffer): void {
    const m: RecordedMessage = { seq: this.seq++, destnode, srvid, data: Buffer.from(data) };
    if (srvid === Srvid.BANNING) {
      try {
        m.pnn = (decodeMessagePayload(srvid, data) as { pnn: number }).pnn;
      } catch (err) {
        this.badInput(`SRVID_BANNING payload: ${(err as Error).message}`, err);
      }
    }
    this.messages.push(m);
  }

  // ---- controls -----------------------------------------------------------------

  private onControl(socket: Socket, p: ReqControl): void {
    const destnode = p.destnode === Node.CURRENT ? this.script.localPnn : p.destnode;
    const rec: RecordedControl = {
      seq: this.seq++, opcode: p.opcode, name: controlName(p.opcode), destnode, flags: p.flags, outcome: 'ok',
      atMs: performance.now() - this.started,
    };
    this.controls.push(rec);
    const reply = (status: number, data: Buffer = EMPTY, message = '') => {
      rec.status = status;
      rec.replySeq = this.seq++;
      if (socket.destroyed) return;
      socket.write(encodePacket({
        operation: Operation.REPLY_CONTROL, generation: 1, destnode: p.srcnode, srcnode: destnode, reqid: p.reqid,
        status, data, errorMessage: Buffer.from(message),
      }, { padding: 'daemon' }));
    };
    const unscripted = (what: string) => {
      rec.outcome = 'unscripted';
      this.notScripted(`${rec.name} to node ${destnode}: ${what}`);
      reply(-1, EMPTY, 'not scripted');
    };

    if ((p.flags & ControlFlag.NOREPLY) !== 0) return unscripted('sent with NOREPLY');
    const node = this.script.input.nodes[destnode];
    if (!node) return unscripted('no such node');
    if ((node.flags & NodeFlag.DISCONNECTED) !== 0 && destnode !== this.script.localPnn) {
      return unscripted('the node is disconnected');
    }
    const failure = this.script.failures?.find((f) => f.opcode === p.opcode && (f.pnn === -1 || f.pnn === destnode));
    if (failure?.kind === 'timeout') {
      rec.outcome = 'timeout';
      return;
    }
    if (failure) {
      rec.outcome = 'error';
      return reply(failure.status ?? -1, EMPTY, failure.message ?? `${rec.name} scripted failure`);
    }

    let request: any;
    try {
      request = decodeControlRequest(p.opcode, p.data);
    } catch (err) {
      this.badInput(`${rec.name} request: ${(err as Error).message}`, err);
      rec.outcome = 'error';
      return reply(-1, EMPTY, 'bad request');
    }
    switch (p.opcode) {
      case Control.GET_PNN:
        return reply(destnode);
      case Control.GET_ALL_TUNABLES:
        return reply(0, encodeControlReply(p.opcode, this.tunables));
      case Control.GET_NODEMAP:
        return reply(0, encodeControlReply(p.opcode, {
          nodes: this.script.input.nodes.map((n) => ({
            pnn: n.pnn, flags: n.flags, addr: { family: 'inet', address: `127.0.${n.pnn >> 8}.${(n.pnn & 0xff) + 1}`, port: 4379 },
          })),
        }));
      case Control.GET_RUNSTATE:
        return reply(0, encodeControlReply(p.opcode, { runState: node.runstate }));
      case Control.GET_IFACES:
        return reply(0, encodeControlReply(p.opcode, { ifaces: [{ name: 'eth1', linkState: 1, references: 0 }] }));
      case Control.GET_PUBLIC_IPS:
        return reply(0, encodeControlReply(p.opcode, { ips: this.publicIps(destnode, p.flags) }));
      case Control.RELEASE_IP:
      case Control.TAKEOVER_IP: {
        const ip = request as PublicIp;
        rec.ip = ip.addr.address;
        rec.pnn = signedPnn(ip.pnn);
        this.move(destnode, p.opcode, ip);
        return reply(0);
      }
      case Control.IPREALLOCATED:
        return reply(0);
      default:
        return unscripted('no answer scripted for this control');
    }
  }

  /** GET_PUBLIC_IPS as ctdbd answers it: the available list is empty on a node that cannot host. */
  private publicIps(pnn: number, flags: number): PublicIp[] {
    const node = this.script.input.nodes[pnn];
    let entries = this.views[pnn];
    if ((flags & ControlFlag.PUBLIC_IP_ONLY_AVAILABLE) !== 0) {
      const canHost = node.runstate === RunState.RUNNING && (node.flags & CANNOT_HOST_FLAGS) === 0;
      entries = canHost ? entries.filter((e) => e.available) : [];
    }
    return entries.map((e) => ({ pnn: e.pnn, addr: e.addr }));
  }

  /** A node's view after RELEASE_IP / TAKEOVER_IP, as fake_ctdbd keeps it (unknown addresses are ignored). */
  private move(pnn: number, opcode: number, ip: PublicIp): void {
    const entry = this.views[pnn].find((e) => e.ip === ip.addr.address);
    if (!entry) return;
    if (opcode === Control.TAKEOVER_IP && entry.pnn === pnn) return;
    entry.pnn = ip.pnn;
  }
}

function signedPnn(pnn: number): number {
  return pnn === UNKNOWN_PNN ? -1 : pnn;
}

/** The tunables an AllocationInput implies (IPAllocAlgorithm from the algorithm's name). */
function allocationTunables(input: AllocationInput): Partial<TunableList> {
  const algorithm = Object.entries(ALGORITHM_BY_TUNABLE).find(([, name]) => name === input.algorithm)?.[0];
  return {
    IPAllocAlgorithm: Number(algorithm ?? 2),
    NoIPFailback: input.tunables.NoIPFailback,
    NoIPTakeover: input.tunables.NoIPTakeover,
    NoIPHostOnAllDisabled: input.tunables.NoIPHostOnAllDisabled,
  };
}

function checkScript(script: CtdbdScript): void {
  const nodes = script.input.nodes;
  const bad = (reason: string): never => { throw new ScriptedCtdbdError('BAD_SCRIPT', reason); };
  nodes.forEach((n, i) => {
    if (n.pnn !== i) bad(`node ${i} has pnn ${n.pnn}: nodes must be listed by PNN from 0`);
    for (const a of n.ips) {
      try {
        toSockAddr(a.ip);
      } catch (err) {
        bad(`node ${i}: not an address: ${a.ip} (${(err as Error).message})`);
      }
    }
  });
  if (!nodes[script.localPnn]) bad(`local PNN ${script.localPnn} is not a node`);
}
