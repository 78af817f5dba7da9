import { EventEmitter } from 'node:events';
import { Control } from '../protocol/controls.ts';
import { ControlFlag, Node } from '../protocol/constants.ts';
import { decodeControlReply, encodeControlRequest } from '../protocol/control-payloads.ts';
import type {
  BanState, DbMap, EchoData, IfaceList, NodeMap, PublicIpInfo, PublicIpList, SockAddr, Statistics, TunableList,
  Uptime, VarList, VnnMap,
} from '../protocol/types/index.ts';
import type { LegacyClientEvents } from './events.ts';
import { LegacyControlError, LegacyReplyDecodeError } from './errors.ts';

/** Where a control goes and how long to wait for it. */
export interface CallOptions {
  /** PNN or Node.CURRENT (default): the local daemon forwards to remote nodes. */
  destnode?: number;
  /** Per-call timeout; the client's default otherwise. */
  timeoutMs?: number;
}

export interface ControlOptions extends CallOptions {
  /** REQ_CONTROL srvid header field (SRVID, tunnel id, ...). */
  srvid?: bigint;
  /** REQ_CONTROL flags (NOREPLY is added by controlNoReply). */
  flags?: number;
  /** Request payload, already encoded. */
  data?: Buffer;
}

/** A REPLY_CONTROL as received. */
export interface ControlReply {
  status: number;
  data: Buffer;
  /** Error text without NUL; empty when the daemon sent none. */
  errorText: string;
  /** The local daemon's PNN (also for controls executed on another node). */
  srcnode: number;
  generation: number;
}

export interface AttachOptions extends CallOptions {
  persistent?: boolean;
  replicated?: boolean;
}

/** What SET_TUNABLE reported: done, or accepted but the tunable is obsolete (status 1). */
export type SetTunableResult = 'set' | 'obsolete';

/**
 * Typed helpers over control(): each encodes its request with the protocol
 * codecs, checks the status the way the C client library does and decodes
 * the reply. A non-zero status throws LegacyControlError, an undecodable
 * reply LegacyReplyDecodeError. LegacyClient implements the transport.
 */
export abstract class ControlsApi extends EventEmitter<LegacyClientEvents> {
  abstract control(opcode: number, opts?: ControlOptions): Promise<ControlReply>;
  abstract controlNoReply(opcode: number, opts?: ControlOptions): void;

  /** Send with an encoded payload; status must be 0; decode the reply payload. */
  protected async call<T>(opcode: number, opts: CallOptions | undefined, request?: unknown,
    extra: Pick<ControlOptions, 'flags' | 'srvid'> = {}): Promise<T> {
    const reply = await this.control(opcode, {
      ...opts, ...extra, data: request === undefined ? undefined : encodeControlRequest(opcode, request),
    });
    if (reply.status !== 0) throw this.failure(opcode, opts, reply);
    try {
      return decodeControlReply(opcode, reply.data) as T;
    } catch (err) {
      throw new LegacyReplyDecodeError(opcode, opts?.destnode ?? Node.CURRENT, err);
    }
  }

  /** Controls that answer in `status` (>= 0 is the value, negative a failure). */
  protected async statusOf(opcode: number, opts: CallOptions | undefined, request?: unknown): Promise<number> {
    const reply = await this.control(opcode, {
      ...opts, data: request === undefined ? undefined : encodeControlRequest(opcode, request),
    });
    if (reply.status < 0) throw this.failure(opcode, opts, reply);
    return reply.status;
  }

  private failure(opcode: number, opts: CallOptions | undefined, reply: ControlReply): LegacyControlError {
    return new LegacyControlError(opcode, opts?.destnode ?? Node.CURRENT, reply.status, reply.errorText);
  }

  // ---- node and cluster state -------------------------------------------------

  /** GET_PNN: the PNN of the node asked. */
  getPnn(opts?: CallOptions): Promise<number> {
    return this.statusOf(Control.GET_PNN, opts);
  }

  /** PING: number of clients connected to that daemon. */
  ping(opts?: CallOptions): Promise<number> {
    return this.statusOf(Control.PING, opts);
  }

  /** GET_PID: ctdbd's process id. */
  getPid(opts?: CallOptions): Promise<number> {
    return this.statusOf(Control.GET_PID, opts);
  }

  /** GET_RECMODE: 0 NORMAL, 1 ACTIVE. */
  getRecmode(opts?: CallOptions): Promise<number> {
    return this.statusOf(Control.GET_RECMODE, opts);
  }

  async setRecmode(mode: number, opts?: CallOptions): Promise<void> {
    await this.call(Control.SET_RECMODE, opts, { mode });
  }

  /** GET_RUNSTATE (RunState values). */
  async getRunstate(opts?: CallOptions): Promise<number> {
    return (await this.call<{ runState: number }>(Control.GET_RUNSTATE, opts)).runState;
  }

  uptime(opts?: CallOptions): Promise<Uptime> {
    return this.call(Control.UPTIME, opts);
  }

  getNodeMap(opts?: CallOptions): Promise<NodeMap> {
    return this.call(Control.GET_NODEMAP, opts);
  }

  /** GET_NODES_FILE: the node list as the daemon read it (flags 0 or DELETED). */
  getNodesFile(opts?: CallOptions): Promise<NodeMap> {
    return this.call(Control.GET_NODES_FILE, opts);
  }

  getVnnMap(opts?: CallOptions): Promise<VnnMap> {
    return this.call(Control.GETVNNMAP, opts);
  }

  async getCapabilities(opts?: CallOptions): Promise<number> {
    return (await this.call<{ capabilities: number }>(Control.GET_CAPABILITIES, opts)).capabilities;
  }

  getBanState(opts?: CallOptions): Promise<BanState> {
    return this.call(Control.GET_BAN_STATE, opts);
  }

  statistics(opts?: CallOptions): Promise<Statistics> {
    return this.call(Control.STATISTICS, opts);
  }

  async statisticsReset(opts?: CallOptions): Promise<void> {
    await this.call(Control.STATISTICS_RESET, opts);
  }

  /** GET_DEBUG: the daemon's debug level (DEBUG_ERR 0 ... DEBUG_DEBUG 10). */
  async getDebug(opts?: CallOptions): Promise<number> {
    return (await this.call<{ level: number }>(Control.GET_DEBUG, opts)).level;
  }

  async setDebug(level: number, opts?: CallOptions): Promise<void> {
    await this.call(Control.SET_DEBUG, opts, { level });
  }

  /** GET_RECLOCK_FILE: the cluster lock setting; undefined when none is configured. */
  async getReclockFile(opts?: CallOptions): Promise<string | undefined> {
    const { path } = await this.call<{ path: string }>(Control.GET_RECLOCK_FILE, opts);
    return path === '' ? undefined : path;
  }

  /** PROCESS_EXISTS: is a client with this pid connected to that daemon? */
  async processExists(pid: number, opts?: CallOptions): Promise<boolean> {
    return (await this.rawStatus(Control.PROCESS_EXISTS, opts, { pid })) === 0;
  }

  /** CHECK_PID_SRVID: has a client with this pid registered this SRVID there? */
  async checkPidSrvid(pid: number, srvid: bigint, opts?: CallOptions): Promise<boolean> {
    return (await this.rawStatus(Control.CHECK_PID_SRVID, opts, { pid, srvid })) === 0;
  }

  /** Status of a yes/no control (0 yes, anything else no), as `ctdb process-exists` uses it. */
  async rawStatus(opcode: number, opts: CallOptions | undefined, request?: unknown): Promise<number> {
    const reply = await this.control(opcode, {
      ...opts, data: request === undefined ? undefined : encodeControlRequest(opcode, request),
    });
    return reply.status;
  }

  /** ECHO_DATA: the daemon returns the payload unchanged (handy for payload round trips). */
  async echoData(data: Buffer, opts?: CallOptions): Promise<Buffer> {
    const reply = await this.call<EchoData>(Control.ECHO_DATA, opts, { timeout: 0, data });
    return reply.data;
  }

  // ---- tunables ---------------------------------------------------------------

  /** LIST_TUNABLES: names in the daemon's order (obsolete ones left out). */
  async listTunables(opts?: CallOptions): Promise<string[]> {
    return (await this.call<VarList>(Control.LIST_TUNABLES, opts)).names;
  }

  /** GET_TUNABLE (case-insensitive name). Unknown names fail with status -22. */
  async getTunable(name: string, opts?: CallOptions): Promise<number> {
    return (await this.call<{ value: number }>(Control.GET_TUNABLE, opts, { name })).value;
  }

  /** SET_TUNABLE. Status 1 = the tunable is obsolete (accepted, no effect). */
  async setTunable(name: string, value: number, opts?: CallOptions): Promise<SetTunableResult> {
    const reply = await this.control(Control.SET_TUNABLE, {
      ...opts, data: encodeControlRequest(Control.SET_TUNABLE, { value, name }),
    });
    if (reply.status === 1) return 'obsolete';
    if (reply.status !== 0) throw this.failure(Control.SET_TUNABLE, opts, reply);
    return 'set';
  }

  /** GET_ALL_TUNABLES: all 62 slots of ctdb_tunable_list by name. */
  getAllTunables(opts?: CallOptions): Promise<TunableList> {
    return this.call(Control.GET_ALL_TUNABLES, opts);
  }

  // ---- databases --------------------------------------------------------------

  getDbMap(opts?: CallOptions): Promise<DbMap> {
    return this.call(Control.GET_DBMAP, opts);
  }

  async getDbName(dbId: number, opts?: CallOptions): Promise<string> {
    return (await this.call<{ name: string }>(Control.GET_DBNAME, opts, { dbId })).name;
  }

  async getDbPath(dbId: number, opts?: CallOptions): Promise<string> {
    return (await this.call<{ path: string }>(Control.GETDBPATH, opts, { dbId })).path;
  }

  /** DB_GET_HEALTH: the reason a database is unhealthy; empty string when healthy. */
  async getDbHealth(dbId: number, opts?: CallOptions): Promise<string> {
    return (await this.call<{ reason: string }>(Control.DB_GET_HEALTH, opts, { dbId })).reason;
  }

  async getDbSeqnum(dbId: number, opts?: CallOptions): Promise<bigint> {
    return (await this.call<{ seqnum: bigint }>(Control.GET_DB_SEQNUM, opts, { dbId })).seqnum;
  }

  /** DB_ATTACH / DB_ATTACH_PERSISTENT / DB_ATTACH_REPLICATED; returns the db_id. */
  async attachDb(name: string, opts: AttachOptions = {}): Promise<number> {
    const opcode = opts.replicated ? Control.DB_ATTACH_REPLICATED
      : opts.persistent ? Control.DB_ATTACH_PERSISTENT : Control.DB_ATTACH;
    const { persistent: _p, replicated: _r, ...call } = opts;
    return (await this.call<{ dbId: number }>(opcode, call, { name })).dbId;
  }

  // ---- public IPs and interfaces ------------------------------------------------

  /** GET_PUBLIC_IPS; `onlyAvailable` asks for the IPs this node can host. */
  getPublicIps(opts: CallOptions & { onlyAvailable?: boolean } = {}): Promise<PublicIpList> {
    const { onlyAvailable, ...call } = opts;
    return this.call(Control.GET_PUBLIC_IPS, call, undefined,
      { flags: onlyAvailable ? ControlFlag.PUBLIC_IP_ONLY_AVAILABLE : 0 });
  }

  getPublicIpInfo(addr: SockAddr, opts?: CallOptions): Promise<PublicIpInfo> {
    return this.call(Control.GET_PUBLIC_IP_INFO, opts, { addr });
  }

  getIfaces(opts?: CallOptions): Promise<IfaceList> {
    return this.call(Control.GET_IFACES, opts);
  }
}
