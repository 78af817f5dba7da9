// Keeps ctdbd's own takeover runs off while failoverd performs them (stage 3).
// In 4.17 the only run-time switch is the DISABLE_TAKEOVER_RUNS message to
// each node's recovery daemon, with a timeout in seconds after which ctdbd
// turns its runs back on by itself: renewed, it is a lease, so a dead
// failoverd hands failover back to ctdbd without anyone's help. A timeout of
// 0 turns them back on at once (handback).

import { decodeMessagePayload, encodeMessagePayload } from '../../legacy/protocol/message-payloads.ts';
import { Srvid, SrvidRange } from '../../legacy/protocol/srvid.ts';
import type { LegacyMessage } from '../../legacy/client/events.ts';
import type { ComponentTimers } from '../framework/component.ts';

/** The part of a legacy client the lease needs. */
export interface LeaseLink {
  readonly pnn: number;
  registerSrvid(srvid: bigint, handler: (m: LegacyMessage) => void): Promise<{ close(): Promise<void> }>;
  sendMessage(destnode: number, srvid: bigint, data: Buffer): void;
}

export interface LeaseAnswer {
  /** Nodes whose recovery daemon answered with its PNN: done. */
  confirmed: number[];
  /** Nodes that did not confirm in time (silent, or among the refusals). */
  unconfirmed: number[];
  /**
   * Negative errnos received (-EAGAIN while a run is in progress). ctdbd
   * does not say who sent a message, so a refusal names no node.
   */
  refusals: number[];
}

/** Our reply port: the client range, this process, and the low bits naming the purpose. */
export function leaseReplySrvid(pid = process.pid): bigint {
  return (SrvidRange.CLIENT << 56n) | (BigInt(pid & 0xffffff) << 24n) | 0xfb03n;
}

export class TakeoverRunsLease {
  private waiting: ((result: number) => void) | undefined;
  private registered: Promise<unknown> | undefined;
  /** One request at a time: replies carry no request id. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly link: LeaseLink,
    private readonly timers: ComponentTimers,
    private readonly replyTimeoutMs = 2000,
    private readonly replySrvid = leaseReplySrvid(),
  ) {}

  /** Turns takeover runs off on `nodes` for `seconds`. */
  hold(nodes: readonly number[], seconds: number): Promise<LeaseAnswer> {
    return this.ask(nodes, seconds);
  }

  /** Turns them back on at once. */
  release(nodes: readonly number[]): Promise<LeaseAnswer> {
    return this.ask(nodes, 0);
  }

  private ask(nodes: readonly number[], seconds: number): Promise<LeaseAnswer> {
    const next = this.queue.then(() => this.askNow(nodes, seconds));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async askNow(nodes: readonly number[], seconds: number): Promise<LeaseAnswer> {
    this.registered ??= this.link.registerSrvid(this.replySrvid, (m) => this.onReply(m)).catch((err) => {
      this.registered = undefined;
      throw err;
    });
    await this.registered;
    const pending = new Set(nodes);
    const answer: LeaseAnswer = { confirmed: [], unconfirmed: [], refusals: [] };
    await new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(() => finish(), this.replyTimeoutMs);
      const finish = () => {
        this.timers.clearTimeout(timer);
        this.waiting = undefined;
        answer.unconfirmed = [...pending];
        resolve();
      };
      this.waiting = (result) => {
        if (result < 0) answer.refusals.push(result);
        else if (pending.delete(result)) answer.confirmed.push(result);
        if (pending.size === 0) finish();
      };
      const data = encodeMessagePayload(Srvid.DISABLE_TAKEOVER_RUNS, { pnn: this.link.pnn, srvid: this.replySrvid, timeout: seconds });
      for (const pnn of nodes) this.link.sendMessage(pnn, Srvid.DISABLE_TAKEOVER_RUNS, data);
    });
    return answer;
  }

  /** ctdbd replies with the answering recovery daemon's PNN on success, a negative errno otherwise. */
  private onReply(m: LegacyMessage): void {
    if (!this.waiting || m.data.length !== 4) return;
    const { result } = decodeMessagePayload(m.srvid, m.data, 'result') as { result: number };
    this.waiting(result);
  }
}
