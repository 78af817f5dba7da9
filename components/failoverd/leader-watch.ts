// Who leads, as this node's clusterd says: failoverd decides nothing about
// leadership itself. It subscribes to the local clusterd (renewed well
// within the subscription's lease), takes leader and epoch from the answer
// and from every clusterd.event, and tells failoverd about every leader or
// node change so a check runs at once rather than at the next interval.

import type { Logger } from 'pino';
import { LOCAL_NODE, type Endpoint } from '../../transport/endpoint.ts';
import { LimitedLog } from '../../legacy/common/log-limiter.ts';
import type { ComponentTimers, ComponentTransport, IncomingContext } from '../framework/component.ts';
import { CLUSTERD_SERVICE } from '../framework/services.ts';
import type { ClusterEvent, ClusterStatus } from '../clusterd/status.ts';

export interface Leadership {
  leader: number | null;
  epoch: number;
}

export interface LeaderWatchOptions {
  transport: ComponentTransport;
  timers: ComponentTimers;
  logger: Logger;
  onChange(leadership: Leadership | undefined, reason: string): void;
  /** Re-subscribe this often (clusterd drops a subscriber after 60 s). */
  renewMs?: number;
}

const LOCAL_CLUSTERD: Endpoint = { node: LOCAL_NODE, service: CLUSTERD_SERVICE };

export class LeaderWatch {
  private state: Leadership | undefined;
  private lastStatus: ClusterStatus | undefined;
  private timer: unknown;
  private waitingLogged = false;
  private stopListening: (() => void) | undefined;
  private readonly complaints: LimitedLog;

  constructor(private readonly opts: LeaderWatchOptions) {
    this.complaints = new LimitedLog(opts.logger);
  }

  /** The last leadership clusterd reported; undefined while clusterd cannot be asked. */
  get current(): Leadership | undefined {
    return this.state;
  }

  /** clusterd's last full answer (membership too); undefined while clusterd cannot be asked. */
  get status(): ClusterStatus | undefined {
    return this.lastStatus;
  }

  start(): void {
    this.stopListening ??= this.opts.transport.subscribe('clusterd.event', (event: ClusterEvent, c: IncomingContext) => {
      // Only this node's clusterd speaks for leadership; transportd enforces who holds its service.
      if (c.src.service !== CLUSTERD_SERVICE || c.src.node !== this.opts.transport.node) {
        this.complaints.warn('foreign-event', { from: c.src }, 'clusterd.event not from this node\'s clusterd; ignored');
        return;
      }
      this.onEvent(event);
    });
    if (this.timer === undefined) {
      this.timer = this.opts.timers.setInterval(() => void this.subscribe(), this.opts.renewMs ?? 20_000);
      void this.subscribe();
    }
  }

  stop(): void {
    if (this.timer !== undefined) this.opts.timers.clearInterval(this.timer);
    this.timer = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
  }

  /** Asks clusterd now (fencing before a takeover run: is this still the leadership we acted on?). */
  async confirm(): Promise<Leadership | undefined> {
    try {
      const s = await this.opts.transport.request<ClusterStatus>(LOCAL_CLUSTERD, 'clusterd.status', {}, { timeoutMs: 1000 });
      this.lastStatus = s;
      this.set({ leader: s.leader, epoch: s.epoch }, 'clusterd status');
    } catch {
      this.lastStatus = undefined;
      this.set(undefined, 'clusterd does not answer');
    }
    return this.state;
  }

  private async subscribe(): Promise<void> {
    try {
      const s = await this.opts.transport.request<ClusterStatus>(LOCAL_CLUSTERD, 'clusterd.subscribe', {}, { timeoutMs: 2000 });
      if (this.waitingLogged) this.opts.logger.info('clusterd answers again');
      this.waitingLogged = false;
      this.set({ leader: s.leader, epoch: s.epoch }, 'clusterd subscription');
    } catch (err) {
      if (!this.waitingLogged) this.opts.logger.warn({ reason: (err as Error).message }, 'waiting for clusterd');
      this.waitingLogged = true;
      this.set(undefined, 'clusterd does not answer');
    }
  }

  private onEvent(event: ClusterEvent): void {
    if (event.kind === 'leader') {
      this.set({ leader: event.leader ?? null, epoch: event.epoch }, `leader event: ${event.reason}`);
    } else if (event.kind === 'node') {
      // A node came or went: the allocation may change even if the leader did not.
      if (this.state) this.state = { ...this.state, epoch: Math.max(this.state.epoch, event.epoch) };
      this.opts.onChange(this.state, `node ${event.view?.pnn ?? '?'} ${event.view?.state ?? 'changed'}`);
    }
  }

  private set(next: Leadership | undefined, reason: string): void {
    const same = next?.leader === this.state?.leader && next?.epoch === this.state?.epoch && (next === undefined) === (this.state === undefined);
    this.state = next;
    if (!same) this.opts.onChange(next, reason);
  }
}
