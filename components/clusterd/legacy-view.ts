// ctdbd's view of the cluster, as the legacy protocol gives it: the node map
// with flags (polled: ctdbd marks a node DISCONNECTED as soon as its TCP link
// drops, which is the quickest death notice there is) and the leader it
// broadcasts. While ctdbd cannot be reached the view is `undefined`, and the
// log says clusterd is waiting for it.

import type { Logger } from 'pino';
import { LegacyClient } from '../../legacy/client/client.ts';
import { Node } from '../../legacy/protocol/constants.ts';
import type { ComponentTimers } from '../framework/component.ts';

export interface LegacySnapshot {
  /** PNN of the local ctdbd. */
  pnn: number;
  nodes: Array<{ pnn: number; flags: number }>;
  /** The leader ctdbd announced last; undefined while none is known. */
  leader: number | undefined;
}

export interface LegacyViewOptions {
  socketPath: string;
  pollMs: number;
  logger: Logger;
  timers: ComponentTimers;
  onChange(snapshot: LegacySnapshot | undefined): void;
}

export class LegacyView {
  private client: LegacyClient | undefined;
  private timer: unknown;
  private stopped = false;
  private last: LegacySnapshot | undefined;
  private lastKey = '';
  private waitingLogged = false;
  private polling = false;

  constructor(private readonly opts: LegacyViewOptions) {}

  get snapshot(): LegacySnapshot | undefined {
    return this.last;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.opts.timers.clearTimeout(this.timer);
    await this.client?.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.opts.timers.setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const client = await this.connected();
      const map = await client.getNodeMap({ timeoutMs: Math.max(1000, this.opts.pollMs * 4) });
      const leader = client.leader === Node.UNKNOWN_PNN ? undefined : client.leader;
      this.update({ pnn: client.pnn, nodes: map.nodes.map((n) => ({ pnn: n.pnn, flags: n.flags })), leader });
      if (this.waitingLogged) this.opts.logger.info({ socket: this.opts.socketPath }, 'ctdbd answers again');
      this.waitingLogged = false;
    } catch (err) {
      if (!this.waitingLogged) {
        this.opts.logger.warn({ socket: this.opts.socketPath, reason: (err as Error).message }, 'waiting for ctdbd');
        this.waitingLogged = true;
      }
      this.update(undefined);
    } finally {
      this.polling = false;
      this.schedule(this.opts.pollMs);
    }
  }

  private async connected(): Promise<LegacyClient> {
    if (this.client?.connected) return this.client;
    if (this.client && this.client.state === 'reconnecting') throw new Error('ctdbd connection is being re-established');
    await this.client?.close().catch(() => undefined);
    this.client = undefined;
    const client = new LegacyClient({ socketPath: this.opts.socketPath, logger: this.opts.logger, reconnect: true });
    await client.connect();
    this.client = client;
    return client;
  }

  private update(snapshot: LegacySnapshot | undefined): void {
    const key = snapshot ? JSON.stringify(snapshot) : '';
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.last = snapshot;
    this.opts.onChange(snapshot);
  }
}
