// A one-node test cluster whose public-IP events are recorded instead of run
// (and the next one can be made to fail), with a raw client on its socket:
// the fixture of the public-IP control tests.

import { vi } from 'vitest';
import type { IpEvent } from '../ip-events.ts';
import { RawClient } from './raw-client.ts';
import { TestCluster } from './test-cluster.ts';

export interface IpEventNode {
  cluster: TestCluster;
  client: RawClient;
  /** Every event the daemon ran, in order. */
  events: IpEvent[];
  /** Makes the next event fail as a failing event script would. */
  failNextEvent(): void;
}

/** Starts the node (public_addresses text as given) and waits until it is RUNNING. */
export async function startIpEventNode(publicAddresses: string): Promise<IpEventNode> {
  const events: IpEvent[] = [];
  let failNext = false;
  const cluster = await TestCluster.create({
    nodes: 1,
    publicAddresses,
    ipEvents: {
      run: async (e) => {
        events.push(e);
        if (failNext) {
          failNext = false;
          throw new Error('script failed');
        }
      },
    },
  });
  const d = await cluster.startNode(0);
  await vi.waitFor(() => { if (d.state.runState !== 5) throw new Error(`run state ${d.state.runState}`); }, { timeout: 10_000 });
  const client = await RawClient.open(cluster.socketPath(0));
  return { cluster, client, events, failNextEvent: () => { failNext = true; } };
}
