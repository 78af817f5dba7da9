// Several transportds in one process over an in-process hub (tests, benches,
// component tests). Members without a transportd act as legacy-only nodes.

import { silentLogger } from '../../legacy/common/log.ts';
import { InProcessHub } from '../uplinks/inproc.ts';
import { Transportd, type TransportdOptions } from '../transportd.ts';

export interface InProcessCluster {
  hub: InProcessHub;
  daemons: Map<number, Transportd>;
  /** Resolves once every transportd sees every other one as "transport". */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startInProcessCluster(opts: {
  transportNodes: number[];
  members?: number[];
  daemon?: Partial<Omit<TransportdOptions, 'node' | 'uplink'>>;
}): Promise<InProcessCluster> {
  const hub = new InProcessHub(opts.members ?? opts.transportNodes);
  const daemons = new Map<number, Transportd>();
  for (const node of opts.transportNodes) {
    const d = new Transportd({ node, uplink: hub.createUplink(node), logger: silentLogger('transportd'), ...opts.daemon });
    await d.start();
    daemons.set(node, d);
  }
  return {
    hub,
    daemons,
    settled: (timeoutMs = 5000) => waitFor(() => [...daemons.values()].every((d) =>
      opts.transportNodes.every((n) => d.status().nodes.some((x) => x.node === n && (x.state === 'transport' || x.state === 'self')))), timeoutMs),
    stop: async () => {
      for (const d of daemons.values()) await d.stop();
    },
  };
}

/** Polls `cond` every 10 ms until true; rejects after timeoutMs. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
