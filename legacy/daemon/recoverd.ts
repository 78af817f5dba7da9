import type { Logger } from '../common/log.ts';
import { Capability, ControlFlag, Node, NodeFlag, RecoveryMode } from '../protocol/constants.ts';
import { Srvid } from '../protocol/srvid.ts';
import { type ElectionMessage, electionMessageDef } from '../protocol/types/messages.ts';
import { disableMessageDef, messageResultDef, srvidMessageDef, type DisableMessage, type SrvidMessage } from '../protocol/types/messages.ts';
import { nodeFlagChangeDef, nodeMapDef, vnnMapDef, type NodeMap } from '../protocol/types/node.ts';
import { Control as Ctl } from '../protocol/controls.ts';
import type { ControlReply, Daemon } from './daemon.ts';
import { timevalNow } from './cluster-state.ts';

/**
 * The recovery daemon, in-process (behaviour.md §6). ctdbd runs it as a
 * separate client; here it uses the daemon's internal API but speaks the
 * same messages and controls on the wire:
 * - leader election with SRVID_ELECTION (32-byte election message, the
 *   priority_time rule), SRVID_LEADER broadcast every second by the leader;
 * - a new election when no LEADER message came for `leader timeout`, or the
 *   leader is disconnected or inactive;
 * - the leader's monitoring: node flags as each node reports them about
 *   itself are pushed with MODIFY_FLAGS; recovery mode and VNN map checks;
 * - a recovery without databases: SET_RECMODE, START_RECOVERY, SETVNNMAP
 *   with a fresh generation, SET_RECMODE NORMAL, END_RECOVERY;
 * - TAKEOVER_RUN and DISABLE_* requests answered by the leader; while
 *   takeover runs are disabled (failoverd's lease), TAKEOVER_RUN requests
 *   wait, as in ctdbd, so the CLI gets failoverd's answer after its run.
 * A cluster lock file, if configured, is reported but not taken: Node has
 * no fcntl locks, so the election decides alone.
 */

type Timeval = { sec: number; usec: number };

/** Takeover-run requests kept while runs are disabled; more are refused (a CLI re-sends one per timeout). */
export const MAX_WAITING_TAKEOVER_RUN_REQUESTS = 256;

export class Recoverd {
  private readonly d: Daemon;
  private readonly log: Logger;
  leader: number = Node.UNKNOWN_PNN;
  private electing = false;
  private electionTimer: NodeJS.Timeout | undefined;
  private rebroadcastTimer: NodeJS.Timeout | undefined;
  private loopTimer: NodeJS.Timeout | undefined;
  private startupElectionTimer: NodeJS.Timeout | undefined;
  /** A LEADER or ELECTION message came from another node, or we elected: startup is over. */
  private heardOfLeadership = false;
  private lastLeaderSeen = Date.now();
  private priorityTime: Timeval;
  private monitoring = false;
  private recoveriesSuppressedUntil = 0;
  /** DISABLE_TAKEOVER_RUNS in force until then (ms since the epoch; 0: enabled). */
  private takeoverRunsDisabledUntil = 0;
  /** TAKEOVER_RUN requests that came while runs were disabled, answered once they are enabled again. */
  private waitingRunRequests: SrvidMessage[] = [];
  private stopped = false;
  /** Capabilities last reported by each node. */
  private readonly caps = new Map<number, number>();

  constructor(daemon: Daemon) {
    this.d = daemon;
    this.log = daemon.log.child({ module: 'recoverd' });
    const [sec, usec] = timevalNow();
    this.priorityTime = { sec, usec };
  }

  start(): void {
    const d = this.d;
    d.registerInternal(Srvid.ELECTION, 'recoverd', (_s, data) => this.onElection(data));
    d.registerInternal(Srvid.LEADER, 'recoverd', (_s, data) => this.onLeader(data));
    d.registerInternal(Srvid.TAKEOVER_RUN, 'recoverd', (_s, data) => this.onSrvidRequest(data, 'takeover run'));
    d.registerInternal(Srvid.MEM_DUMP, 'recoverd', (_s, data) => this.onMemDump(data));
    d.registerInternal(Srvid.DISABLE_TAKEOVER_RUNS, 'recoverd', (_s, data) => this.onDisable(data, 'takeover runs'));
    d.registerInternal(Srvid.DISABLE_RECOVERIES, 'recoverd', (_s, data) => this.onDisable(data, 'recoveries'));
    this.lastLeaderSeen = Date.now();
    this.schedule();
    this.nodeConnected(); // a one-node cluster is complete already
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.loopTimer, this.electionTimer, this.rebroadcastTimer, this.startupElectionTimer]) if (t) clearTimeout(t);
  }

  /**
   * A node connected. At startup, with startupElectionDelayMs set, the first
   * election starts once every node is connected, rather than after the
   * leader timeout: nobody else can be leading a cluster we see whole and
   * silent.
   */
  nodeConnected(): void {
    const delay = this.d.timing('startupElectionDelayMs');
    if (!Number.isFinite(delay) || this.startupElectionTimer || !this.startupElectionDue()) return;
    this.startupElectionTimer = setTimeout(() => {
      this.startupElectionTimer = undefined;
      if (!this.startupElectionDue()) return;
      this.log.info('every node is connected and no leader is known: start election');
      this.forceElection();
    }, delay);
  }

  private startupElectionDue(): boolean {
    const st = this.d.state;
    return !this.stopped && !this.heardOfLeadership && !this.electing && this.canBeLeader()
      && st.nodes.every((n) => n.pnn === this.d.pnn || !st.isValidNode(n.pnn) || st.isConnected(n.pnn));
  }

  /** When this recovery daemon started (or last became active): its election priority. */
  get priority(): Timeval {
    return this.priorityTime;
  }

  get isLeader(): boolean {
    return this.leader === this.d.pnn && !this.electing;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.loopTimer = setTimeout(() => {
      this.tick();
      this.schedule();
    }, this.d.timing('recoverIntervalMs'));
  }

  /** One pass of the main loop (public for tests). */
  tick(): void {
    const d = this.d;
    const st = d.state;
    if (st.selfInactive) {
      // An inactive node stays in recovery mode and takes no part.
      this.priorityTime = now();
      d.setRecoveryMode(RecoveryMode.ACTIVE);
      if (this.leader === d.pnn) this.leader = Node.UNKNOWN_PNN;
      return;
    }
    if (this.electing) return;
    this.answerWaitingRunRequests();
    const leaderBad = this.leader !== Node.UNKNOWN_PNN && this.leader !== d.pnn
      && (!st.isConnected(this.leader) || !st.isActive(this.leader));
    if (leaderBad) {
      this.log.info({ leader: this.leader }, 'leader is disconnected or inactive: new election');
      this.forceElection();
      return;
    }
    if (Date.now() - this.lastLeaderSeen > d.timing('leaderTimeoutMs')) {
      this.log.info('leader broadcast timeout: start election');
      this.forceElection();
      return;
    }
    if (this.leader === d.pnn) {
      this.broadcastLeader(d.pnn);
      void this.monitor();
    }
  }

  /** A node died: if it was the leader, elect now rather than after the timeout. */
  nodeDead(pnn: number): void {
    if (pnn === this.leader && !this.electing && !this.stopped && !this.d.state.selfInactive) {
      this.log.info({ leader: pnn }, 'leader died: new election');
      this.forceElection();
    }
  }

  // ---------------------------------------------------------------- election

  private canBeLeader(): boolean {
    const st = this.d.state;
    return (st.capabilities & Capability.RECMASTER) !== 0 && !st.selfInactive;
  }

  private ourElectionMessage(): ElectionMessage {
    const st = this.d.state;
    if (!this.canBeLeader()) {
      return { numConnected: 0, priorityTime: now(), pnn: this.d.pnn, nodeFlags: st.self.flags };
    }
    const numConnected = st.nodes.filter((n) => st.isConnected(n.pnn)).length;
    return { numConnected, priorityTime: this.priorityTime, pnn: this.d.pnn, nodeFlags: st.self.flags };
  }

  private sendElection(): void {
    this.d.sendMessage(Node.BROADCAST_ALL, Srvid.ELECTION, electionMessageDef.encode(this.ourElectionMessage()));
  }

  forceElection(): void {
    const d = this.d;
    this.log.info('starting election');
    this.heardOfLeadership = true;
    this.leader = d.pnn;
    d.state.leader = Node.UNKNOWN_PNN;
    // Everyone goes into recovery; the winner recovers the cluster.
    const mode = Buffer.alloc(4);
    mode.writeUInt32LE(RecoveryMode.ACTIVE);
    for (const n of d.state.nodes) {
      if (d.state.isActive(n.pnn)) void d.sendControl(n.pnn, Ctl.SET_RECMODE, mode);
    }
    this.broadcastLeader(Node.UNKNOWN_PNN);
    this.sendElection();
    this.restartElectionTimer();
  }

  private restartElectionTimer(): void {
    this.electing = true;
    if (this.electionTimer) clearTimeout(this.electionTimer);
    this.electionTimer = setTimeout(() => this.electionDone(), this.d.timing('electionTimeoutMs'));
  }

  private electionDone(): void {
    this.electionTimer = undefined;
    this.electing = false;
    this.lastLeaderSeen = Date.now();
    this.log.info({ leader: this.leader }, 'election finished');
    if (this.leader === this.d.pnn && this.canBeLeader()) {
      this.broadcastLeader(this.d.pnn);
      void this.monitor();
    }
  }

  private onElection(data: Buffer): void {
    if (this.stopped) return;
    let em: ElectionMessage;
    try {
      em = electionMessageDef.decode(data);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'bad election message: ignored');
      return;
    }
    if (em.pnn === this.d.pnn) return;
    this.heardOfLeadership = true;
    this.restartElectionTimer();
    if (this.weWin(em)) {
      this.leader = this.d.pnn;
      if (!this.rebroadcastTimer) {
        this.rebroadcastTimer = setTimeout(() => {
          this.rebroadcastTimer = undefined;
          if (!this.stopped && this.leader === this.d.pnn) this.sendElection();
        }, this.d.timing('electionRebroadcastMs'));
      }
      return;
    }
    if (this.rebroadcastTimer) clearTimeout(this.rebroadcastTimer);
    this.rebroadcastTimer = undefined;
    this.leader = em.pnn;
  }

  /**
   * We win against the sender if we may lead and the sender is inactive, or
   * started later (priority_time later than ours), or started at the same
   * time with a lower PNN.
   */
  weWin(em: ElectionMessage): boolean {
    if (!this.canBeLeader()) return false;
    if (em.nodeFlags & NodeFlag.INACTIVE) return true;
    const ours = this.priorityTime;
    const theirs = em.priorityTime;
    if (theirs.sec !== ours.sec) return theirs.sec > ours.sec;
    if (theirs.usec !== ours.usec) return theirs.usec > ours.usec;
    return this.d.pnn > em.pnn;
  }

  private onLeader(data: Buffer): void {
    if (data.length < 4 || this.stopped) return;
    const pnn = data.readUInt32LE(0);
    this.lastLeaderSeen = Date.now();
    if (pnn !== this.d.pnn) this.heardOfLeadership = true;
    if (pnn === Node.UNKNOWN_PNN) {
      this.d.state.leader = pnn;
      return;
    }
    if (pnn !== this.d.pnn && this.leader === this.d.pnn && !this.electing && this.canBeLeader()) {
      this.log.warn({ other: pnn }, 'another node claims leadership: new election');
      this.forceElection();
      return;
    }
    this.leader = pnn;
    this.d.state.leader = pnn;
  }

  private broadcastLeader(pnn: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(pnn >>> 0);
    this.d.sendMessage(Node.BROADCAST_CONNECTED, Srvid.LEADER, b);
  }

  // ------------------------------------------------ leader: requests to answer

  private reply(pnn: number, srvid: bigint, result: number): void {
    if (srvid === 0n) return;
    this.d.sendMessage(pnn, srvid, messageResultDef.encode({ result }));
  }

  private get takeoverRunsDisabled(): boolean {
    return Date.now() < this.takeoverRunsDisabledUntil;
  }

  /**
   * The embedded daemon moves no address itself, so a run is "nothing to
   * move" and answered at once. While takeover runs are disabled (failoverd
   * performs them) the request waits, as ctdbd's recovery daemon keeps it:
   * failoverd's deciding node answers after its run, and this one only if
   * the disable lapses first.
   */
  private onSrvidRequest(data: Buffer, what: string): void {
    if (!this.isLeader) return;
    let m: SrvidMessage;
    try {
      m = srvidMessageDef.decode(data);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, `bad ${what} request: ignored`);
      return;
    }
    if (this.takeoverRunsDisabled) {
      if (this.waitingRunRequests.length >= MAX_WAITING_TAKEOVER_RUN_REQUESTS) {
        this.log.warn({ from: m.pnn, waiting: this.waitingRunRequests.length }, `${what} requested while runs are disabled: too many waiting, refused`);
        return;
      }
      this.log.info({ from: m.pnn }, `${what} requested while runs are disabled: waits`);
      this.waitingRunRequests.push(m);
      return;
    }
    this.log.info({ from: m.pnn }, `${what} requested: nothing to move (no failover in the embedded daemon)`);
    this.reply(m.pnn, m.srvid, this.d.pnn);
  }

  /** Main loop: a leader answers requests that waited once runs are enabled again; other nodes drop them (ctdbd's rule). */
  private answerWaitingRunRequests(): void {
    if (this.waitingRunRequests.length === 0 || this.takeoverRunsDisabled) return;
    const waiting = this.waitingRunRequests.splice(0);
    if (!this.isLeader) return;
    this.log.info({ count: waiting.length }, 'takeover runs enabled again: answering the requests that waited');
    for (const m of waiting) this.reply(m.pnn, m.srvid, this.d.pnn);
  }

  /**
   * Every node's recovery daemon answers (as ctdbd's do): failoverd's lease
   * counts on each node's confirmation. Timeout in seconds, 0 re-enables.
   */
  private onDisable(data: Buffer, what: 'takeover runs' | 'recoveries'): void {
    let m: DisableMessage;
    try {
      m = disableMessageDef.decode(data);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'bad disable request: ignored');
      return;
    }
    if (what === 'takeover runs') {
      this.takeoverRunsDisabledUntil = m.timeout === 0 ? 0 : Date.now() + m.timeout * 1000;
      if (m.timeout === 0) this.answerWaitingRunRequests();
    }
    this.reply(m.pnn, m.srvid, this.d.pnn);
  }

  private onMemDump(data: Buffer): void {
    try {
      const m = srvidMessageDef.decode(data);
      if (m.srvid === 0n) return;
      const mem = process.memoryUsage();
      const text = `embedded recovery daemon: rss ${mem.rss} heapUsed ${mem.heapUsed}\n`;
      this.d.sendMessage(m.pnn, m.srvid, Buffer.from(text));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'bad memdump request: ignored');
    }
  }

  // ------------------------------------------------------- leader: monitoring

  /** One monitoring pass of the leader (public for tests). */
  async monitor(): Promise<void> {
    if (this.monitoring || !this.isLeader || this.stopped) return;
    this.monitoring = true;
    try {
      await this.monitorOnce();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'monitoring pass failed');
    } finally {
      this.monitoring = false;
    }
  }

  private async monitorOnce(): Promise<void> {
    const d = this.d;
    const st = d.state;
    const connected = st.nodes.filter((n) => st.isConnected(n.pnn)).map((n) => n.pnn);
    // Capabilities and node maps of every connected node.
    const [capReplies, mapReplies] = await Promise.all([
      Promise.all(connected.map((pnn) => d.sendControl(pnn, Ctl.GET_CAPABILITIES))),
      Promise.all(connected.map((pnn) => d.sendControl(pnn, Ctl.GET_NODEMAP))),
    ]);
    if (!this.isLeader) return;
    const maps = new Map<number, NodeMap>();
    connected.forEach((pnn, i) => {
      const c = capReplies[i];
      if (c.status === 0 && c.data.length >= 4) this.caps.set(pnn, c.data.readUInt32LE(0));
      const m = mapReplies[i];
      if (m.status !== 0) return;
      try {
        maps.set(pnn, nodeMapDef.decode(m.data));
      } catch (err) {
        this.log.warn({ pnn, err: (err as Error).message }, 'bad node map');
      }
    });
    await this.syncFlags(connected, maps);
    if (!this.isLeader) return;
    if (await this.recoveryNeeded()) await this.recover();
  }

  /**
   * The flags each node reports about itself are authoritative; any node
   * whose view differs gets a MODIFY_FLAGS (sent to all connected nodes).
   */
  private async syncFlags(connected: number[], maps: Map<number, NodeMap>): Promise<void> {
    const d = this.d;
    const pushes: Array<Promise<ControlReply>> = [];
    for (const [pnn, own] of maps) {
      const self = own.nodes[pnn];
      if (!self) continue;
      const auth = self.flags & ~NodeFlag.DISCONNECTED;
      let differs = false;
      for (const [viewer, m] of maps) {
        if (viewer === pnn) continue;
        const seen = m.nodes[pnn];
        if (!seen || (seen.flags & NodeFlag.DISCONNECTED)) continue;
        if ((seen.flags & ~NodeFlag.DISCONNECTED) !== auth) differs = true;
      }
      if (!differs) continue;
      const old = d.state.node(pnn)?.flags ?? 0;
      this.log.info({ pnn, flags: auth, old }, 'pushing node flags');
      const change = nodeFlagChangeDef.encode({ pnn, newFlags: auth, oldFlags: old });
      for (const target of connected) pushes.push(d.sendControl(target, Ctl.MODIFY_FLAGS, change));
    }
    await Promise.all(pushes);
  }

  private lmasters(): number[] {
    const st = this.d.state;
    return st.nodes
      .filter((n) => st.isActive(n.pnn) && ((this.caps.get(n.pnn) ?? st.capabilities) & Capability.LMASTER) !== 0)
      .map((n) => n.pnn);
  }

  private async recoveryNeeded(): Promise<boolean> {
    const d = this.d;
    const st = d.state;
    const active = st.nodes.filter((n) => st.isActive(n.pnn)).map((n) => n.pnn);
    const modes = await Promise.all(active.map((pnn) => d.sendControl(pnn, Ctl.GET_RECMODE)));
    for (const [i, r] of modes.entries()) {
      if (r.status === RecoveryMode.ACTIVE) {
        this.log.info({ pnn: active[i] }, 'node is in recovery mode: recovery');
        return true;
      }
    }
    if (Date.now() < this.recoveriesSuppressedUntil) return false;
    const expected = this.lmasters();
    const ours = st.vnnMap;
    if (ours.map.length !== expected.length || ours.map.some((p, i) => p !== expected[i])) {
      this.log.info({ vnnmap: ours.map, expected }, 'VNN map does not match the active nodes: recovery');
      return true;
    }
    const maps = await Promise.all(active.map((pnn) => d.sendControl(pnn, Ctl.GETVNNMAP)));
    for (const [i, r] of maps.entries()) {
      if (r.status !== 0) continue;
      try {
        const v = vnnMapDef.decode(r.data);
        if (v.generation !== ours.generation || v.map.length !== ours.map.length || v.map.some((p, j) => p !== ours.map[j])) {
          this.log.info({ pnn: active[i] }, 'node has a different VNN map: recovery');
          return true;
        }
      } catch {
        return true;
      }
    }
    return false;
  }

  /** A recovery without databases: new generation and VNN map on all active nodes. */
  private async recover(): Promise<void> {
    const d = this.d;
    const st = d.state;
    const active = st.nodes.filter((n) => st.isActive(n.pnn)).map((n) => n.pnn);
    let generation = 0;
    while (generation === 0 || generation === 1) generation = (Math.random() * 0x100000000) >>> 0;
    this.log.info({ active, generation }, 'recovery starting');
    const all = async (opcode: number, data?: Buffer) => {
      const rs = await Promise.all(active.map((pnn) => d.sendControl(pnn, opcode, data, { timeoutMs: d.tunables.get('RecoverTimeout') * 1000 })));
      const bad = rs.findIndex((r) => r.status !== 0);
      if (bad !== -1) throw new Error(`control ${opcode} failed on node ${active[bad]}: ${rs[bad].status} ${rs[bad].error}`);
    };
    const mode = (m: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(m); return b; };
    try {
      await all(Ctl.SET_RECMODE, mode(RecoveryMode.ACTIVE));
      await all(Ctl.START_RECOVERY);
      await all(Ctl.SETVNNMAP, vnnMapDef.encode({ generation, map: this.lmasters() }));
      await all(Ctl.SET_RECMODE, mode(RecoveryMode.NORMAL));
      await all(Ctl.END_RECOVERY);
      this.recoveriesSuppressedUntil = Date.now() + d.timing('rerecoveryTimeoutMs');
      d.sendMessage(Node.BROADCAST_CONNECTED, Srvid.RECONFIGURE, Buffer.alloc(0));
      this.log.info({ generation }, 'recovery complete');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'recovery failed: will retry');
    }
  }

  /** For tests: ask for an election-free NOREPLY broadcast of a control. */
  static readonly NOREPLY = ControlFlag.NOREPLY;
}

function now(): Timeval {
  const [sec, usec] = timevalNow();
  return { sec, usec };
}
