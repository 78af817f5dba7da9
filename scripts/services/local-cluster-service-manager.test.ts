import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, signal, waitForExit } from '../local-cluster/processes.ts';
import type { LocalClusterNode } from '../local-cluster/types.ts';
import {
  LocalClusterServiceManager, ServiceStopError, UnknownNodeError, type DrainRunner, type ServiceSpawner, type SupervisedChild,
} from './local-cluster-service-manager.ts';
import type { BridgeService } from './services.ts';

const nodes: LocalClusterNode[] = [0, 1].map((pnn) => ({
  pnn, address: `127.0.0.${pnn + 1}`, base: `/tmp/lc/node.${pnn}`, socketPath: `/tmp/lc/node.${pnn}/run/ctdbd.socket`,
}));
const cluster = { dir: '/tmp/lc', nodes };

/** Every process the fake spawner started, killed after each test whatever happened. */
const started: number[] = [];

/** Stands in for the daemons with real processes (`sleep`), so PIDs, exits and stops are real. */
class SleepSpawner implements ServiceSpawner {
  readonly events: string[] = [];
  /** Services whose stop fails (a child that does not exit). */
  readonly stuck = new Set<string>();
  async spawn(node: LocalClusterNode, service: BridgeService, transportSocket: string): Promise<SupervisedChild> {
    const proc = spawn('sleep', ['60'], { stdio: 'ignore' });
    started.push(proc.pid!);
    this.events.push(`spawn ${node.pnn} ${service} ${transportSocket}`);
    return {
      pid: proc.pid!,
      exit: () => (proc.exitCode === null && proc.signalCode === null ? undefined : `exited with ${proc.signalCode ?? proc.exitCode}`),
      stop: async () => {
        this.events.push(`stop ${node.pnn} ${service}`);
        if (this.stuck.has(`${node.pnn} ${service}`)) throw new Error('still alive after SIGKILL');
        signal(proc.pid!, 'SIGTERM');
        await waitForExit([proc.pid!], 2000);
      },
    };
  }
}

afterEach(async () => {
  for (const pid of started) signal(pid, 'SIGKILL');
  await waitForExit(started.splice(0), 2000);
});

describe('LocalClusterServiceManager', () => {
  it('starting failoverd brings up transportd and clusterd first, each once', async () => {
    const spawner = new SleepSpawner();
    const m = new LocalClusterServiceManager({ cluster, spawner, drain: false });
    await Promise.all([m.start(1, 'failoverd'), m.start(1, 'clusterd'), m.start(1, 'failoverd')]);
    expect(spawner.events).toEqual([
      'spawn 1 transportd /tmp/lc/node.1/run/transportd.socket',
      'spawn 1 clusterd /tmp/lc/node.1/run/transportd.socket',
      'spawn 1 failoverd /tmp/lc/node.1/run/transportd.socket',
    ]);
    for (const s of ['transportd', 'clusterd', 'failoverd'] as const) {
      const st = await m.status(1, s);
      expect(st.state).toBe('running');
      expect(isAlive(st.pid!)).toBe(true);
    }
    expect((await m.status(0, 'transportd')).state).toBe('stopped');
    expect(m.pids()).toHaveLength(3);
    await m.stopAll();
    expect(m.pids()).toEqual([]);
    expect(started.every((pid) => !isAlive(pid))).toBe(true);
    expect(spawner.events.slice(3)).toEqual(['stop 1 failoverd', 'stop 1 clusterd', 'stop 1 transportd']);
  });

  it('a service that does not stop is named in the error (node, service, pid)', async () => {
    const spawner = new SleepSpawner();
    const m = new LocalClusterServiceManager({ cluster, spawner, drain: false });
    await m.start(1, 'clusterd');
    spawner.stuck.add('1 clusterd');
    const pid = (await m.status(1, 'clusterd')).pid!;
    const err = await m.stopAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceStopError);
    expect((err as Error).message).toBe(`node 1: clusterd (pid ${pid}) did not stop: still alive after SIGKILL`);
    expect(m.pids()).toContain(pid); // still tracked: the caller kills it by PID
  });

  it('stopping failoverd drains its node first; a failed drain is reported and the stop still happens', async () => {
    const spawner = new SleepSpawner();
    const drains: string[] = [];
    let fail = false;
    const drain: DrainRunner = async (pnn, socket) => {
      drains.push(`${pnn} ${socket}`);
      spawner.events.push(`drain ${pnn}`);
      if (fail) throw new Error('failoverd does not answer on node(s) 2');
    };
    const warnings: string[] = [];
    const m = new LocalClusterServiceManager({ cluster, spawner, drain, warn: (l) => warnings.push(l) });
    await m.start(0, 'failoverd');
    await m.stop(0, 'failoverd');
    expect(spawner.events.slice(-2)).toEqual(['drain 0', 'stop 0 failoverd']);
    expect(drains).toEqual(['0 /tmp/lc/node.0/run/transportd.socket']);
    expect((await m.status(0, 'failoverd')).state).toBe('stopped');
    expect((await m.status(0, 'clusterd')).state).toBe('running'); // only what was asked stops

    fail = true;
    await m.start(0, 'failoverd');
    await m.stop(0, 'failoverd');
    expect(spawner.events.slice(-2)).toEqual(['drain 0', 'stop 0 failoverd']);
    expect(warnings).toEqual(['node 0: drain before stopping failoverd failed, stopping anyway: failoverd does not answer on node(s) 2']);
    expect((await m.status(0, 'failoverd')).state).toBe('stopped');

    await m.stop(0, 'clusterd');
    expect(drains).toHaveLength(2); // only failoverd drains
    await m.stop(0, 'transportd');
    await m.stop(0, 'transportd'); // stopped already: nothing to do
    expect(m.pids()).toEqual([]);
  });

  it('a service that died is "failed" and the next start replaces it (no drain for a dead failoverd)', async () => {
    const spawner = new SleepSpawner();
    let drained = 0;
    const m = new LocalClusterServiceManager({ cluster, spawner, drain: async () => { drained++; } });
    await m.start(0, 'failoverd');
    const dead = (await m.status(0, 'failoverd')).pid!;
    signal(dead, 'SIGKILL');
    await waitForExit([dead], 2000);
    await new Promise((r) => setTimeout(r, 50)); // the exit event
    expect(await m.status(0, 'failoverd')).toEqual({ pnn: 0, service: 'failoverd', state: 'failed', pid: null, detail: 'exited with SIGKILL' });
    await m.start(0, 'failoverd');
    const again = await m.status(0, 'failoverd');
    expect(again.state).toBe('running');
    expect(again.pid).not.toBe(dead);
    await m.stopAll();
    expect(drained).toBe(1); // the live one, at stopAll
  });

  it('refuses a node the cluster does not have', async () => {
    const m = new LocalClusterServiceManager({ cluster, spawner: new SleepSpawner(), drain: false });
    await expect(m.start(5, 'transportd')).rejects.toThrow(UnknownNodeError);
    await expect(m.status(5, 'transportd')).rejects.toThrow('node 5 is not in this local cluster (nodes 0, 1)');
  });
});

describe('LocalClusterServiceManager adopting what an earlier process started', () => {
  /** A spawner whose children "survive" one manager and are adopted by the next (the detached spawner's role). */
  class AdoptingSpawner extends SleepSpawner {
    readonly left = new Map<string, SupervisedChild>();
    override async spawn(node: LocalClusterNode, service: BridgeService, socket: string): Promise<SupervisedChild> {
      const child = await super.spawn(node, service, socket);
      this.left.set(`${node.pnn}/${service}`, child);
      return child;
    }
    async adopt(node: LocalClusterNode, service: BridgeService): Promise<SupervisedChild | undefined> {
      const child = this.left.get(`${node.pnn}/${service}`);
      // By PID, as the detached spawner does (a reaped-but-not-yet-reported child is gone).
      return child && isAlive(child.pid) ? child : undefined;
    }
  }

  it('a second manager reports, keeps and stops the first one\'s services instead of starting them again', async () => {
    const spawner = new AdoptingSpawner();
    await new LocalClusterServiceManager({ cluster, spawner, drain: false }).start(0, 'clusterd');
    const second = new LocalClusterServiceManager({ cluster, spawner, drain: false });
    const pid = spawner.left.get('0/clusterd')!.pid;
    expect(await second.status(0, 'clusterd')).toEqual({ pnn: 0, service: 'clusterd', state: 'running', pid });
    await second.start(0, 'clusterd');
    expect(spawner.events.filter((e) => e.startsWith('spawn'))).toHaveLength(2); // transportd and clusterd, once each
    await second.stop(0, 'clusterd');
    expect(isAlive(pid)).toBe(false);
    expect((await second.status(0, 'clusterd')).state).toBe('stopped');
    expect((await second.status(0, 'transportd')).state).toBe('running');
  });
});
