// What each step does, through the seams: services start and stop through
// the service manager; handover and handback through the transport (the
// same switch `failover handover|handback` makes); the uplink switch through
// a manager that can restart transportd with another uplink. Each action
// is idempotent and waits until the cluster shows its effect.

import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceManager } from '../../services/service-manager.ts';
import { switchMode, type StepOptions } from '../failover/operations.ts';
import { connectAny } from './observe.ts';
import { clusterdConverged, doesFailover, runsFailoverd, runsTransportd, type ClusterObservation } from './stages.ts';
import type { FailoverdMode } from '../../../components/framework/bridge-conf.ts';
import type { Step } from './planner.ts';
import type { StepRunner } from './execute.ts';

export type UplinkKind = 'tunnel' | 'ws';

export interface UplinkSwitcher {
  /** Restarts the node's transportd with `uplink` (its components re-attach by themselves). */
  restartTransportd(pnn: number, uplink: UplinkKind): Promise<void>;
}

export interface ActionDeps {
  manager: ServiceManager;
  observe(): Promise<ClusterObservation>;
  transportSockets: string[];
  uplinks?: UplinkSwitcher;
  /** How long a step waits for the cluster to show its effect. */
  waitMs: number;
  pollMs?: number;
  timeoutMs: number;
  /** How long every clusterd must have heard every node before a handover (default 3000 ms). */
  settleMs?: number;
}

/**
 * handover (active) or handback (shadow) of every failoverd, through whichever
 * of this host's transportds answers first (the switch is cluster-wide).
 */
export async function switchFailoverThrough(
  transportSockets: string[], mode: FailoverdMode, opts: StepOptions & { connectTimeoutMs: number; progress: (line: string) => void },
): Promise<void> {
  const c = await connectAny(transportSockets, opts.connectTimeoutMs);
  if (!c) throw new Error('no transportd answers on this host: a cluster-wide switch goes through the transport');
  try {
    const r = await switchMode(c, mode, opts);
    if (r.moved.length > 0) opts.progress(`moved: ${r.moved.map((m) => `${m.ip} ${m.from}->${m.to}`).join(', ')}`);
  } finally {
    await c.close().catch(() => undefined);
  }
}

export class StepTimeoutError extends Error {
  override name = 'StepTimeoutError';
}

export class UpgradeActions implements StepRunner {
  constructor(private readonly deps: ActionDeps) {}

  async run(step: Step, progress: (line: string) => void): Promise<void> {
    const { manager } = this.deps;
    const node = step.node!;
    switch (step.kind) {
      case 'start-transportd':
        await manager.start(node, 'transportd');
        progress('transportd started');
        await this.until(progress, `node ${node}'s transportd answering`, (o) => o.nodes.find((n) => n.pnn === node)?.uplink !== null);
        return;
      case 'start-components':
        await manager.start(node, 'clusterd');
        await manager.start(node, 'failoverd');
        progress('clusterd and failoverd started');
        await this.until(progress, `node ${node}'s failoverd answering`, (o) => o.nodes.find((n) => n.pnn === node)?.failoverdMode !== null);
        return;
      case 'stop-components':
        await manager.stop(node, 'failoverd');
        await manager.stop(node, 'clusterd');
        return;
      case 'stop-transportd':
        await manager.stop(node, 'failoverd');
        await manager.stop(node, 'clusterd');
        await manager.stop(node, 'transportd');
        return;
      case 'handover':
        await this.readyForHandover(progress);
        return this.switchFailover('active', progress);
      case 'handback':
        return this.switchFailover('shadow', progress);
      case 'uplink-ws':
      case 'uplink-tunnel':
        return this.switchUplinks(step.kind === 'uplink-ws' ? 'ws' : 'tunnel', progress);
    }
  }

  private switchFailover(mode: FailoverdMode, progress: (line: string) => void): Promise<void> {
    return switchFailoverThrough(this.deps.transportSockets, mode, {
      connectTimeoutMs: this.deps.timeoutMs, timeoutMs: this.deps.waitMs, pollMs: this.deps.pollMs, progress,
    });
  }

  /**
   * Tunnel and ws links do not meet, so every node switches at once; while
   * the links are down clusterd would see its peers gone and an active
   * failoverd would move their addresses. So ctdbd does failover meanwhile
   * (handback), and failoverd takes it over again once every node is linked
   * (both stages an uplink step ends in, 3 and 4, have failoverd active).
   */
  private async switchUplinks(uplink: UplinkKind, progress: (line: string) => void): Promise<void> {
    const switcher = this.deps.uplinks;
    if (!switcher) throw new Error('this service manager cannot switch transportd\'s uplink');
    const before = await this.deps.observe();
    // Back to the mode failoverd had (active unless it reported another), after the switch.
    const mode = before.nodes.map((n) => n.failoverdMode).find(doesFailover) ?? 'active';
    if (before.nodes.some((n) => doesFailover(n.failoverdMode))) {
      progress('ctdbd does failover while the links change');
      await this.switchFailover('shadow', progress);
    }
    await Promise.all(before.nodes.filter((n) => runsTransportd(n) && n.uplink !== uplink).map(async (n) => {
      await switcher.restartTransportd(n.pnn, uplink);
      progress(`node ${n.pnn}: transportd on the ${uplink} uplink`);
    }));
    await this.until(progress, `every transportd on the ${uplink} uplink`, (o) => o.nodes.filter(runsTransportd).every((n) => n.uplink === uplink));
    await this.readyForHandover(progress);
    await this.switchFailover(mode, progress);
  }

  /**
   * Every failoverd answers, the deciding one agrees with ctdbd, and every
   * clusterd has heard every node for `settleMs` on end: a node clusterd
   * cannot hear (links still coming up) is one an active failoverd would
   * move addresses away from.
   */
  private async readyForHandover(progress: (line: string) => void): Promise<void> {
    const settleMs = this.deps.settleMs ?? 3000;
    let since: number | undefined;
    await this.until(progress, `every clusterd hearing every node for ${settleMs} ms and the deciding failoverd agreeing with ctdbd`, (o) => {
      const ok = clusterdConverged(o) && o.nodes.filter(runsFailoverd).every((n) => n.failoverdMode !== null) &&
        o.deciding !== null && o.deciding.differences === 0 && o.deciding.offPlan.length === 0;
      since = ok ? since ?? Date.now() : undefined;
      return since !== undefined && Date.now() - since >= settleMs;
    });
  }

  private async until(progress: (line: string) => void, what: string, done: (o: ClusterObservation) => boolean): Promise<ClusterObservation> {
    const started = Date.now();
    progress(`waiting for ${what}`);
    let last = '';
    for (;;) {
      const o = await this.deps.observe().catch((err: Error) => err);
      if (!(o instanceof Error) && done(o)) return o;
      if (o instanceof Error) last = o.message;
      if (Date.now() - started > this.deps.waitMs) {
        throw new StepTimeoutError(`timed out after ${this.deps.waitMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
      }
      await sleep(this.deps.pollMs ?? 250);
    }
  }
}
