import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetnsRealLocalCluster } from '../../scripts/local-cluster/netns/index.ts';
import { descendants, isAlive, killAll, signal } from '../../scripts/local-cluster/processes.ts';
import { logTail } from '../../scripts/local-cluster/real-node.ts';
import { clientConf, smbclient, type SmbclientTarget } from './smbclient.ts';

/**
 * Debian's smbd, unmodified and clustered, on every node of a netns real
 * cluster: per node an smb.conf with `clustering = yes` pointing at that
 * node's ctdbd socket, its own private/lock/state/cache/pid directories in
 * the node directory, and one guest share on a single directory every node
 * serves (the namespaces share the host's file system: it is the cluster
 * file system). smbd runs in the node's network namespace listening on all
 * addresses, so it answers on whichever public addresses the node holds.
 * Started through the fabric (tagged, recorded for the cluster's teardown),
 * stopped by PID with its children.
 */

export const SMB_SHARE = 'data';

export interface ClusteredSmbdOptions {
  /** The shared directory (default DIR/share). */
  shareDir?: string;
  port?: number;
  /** Limit for an smbd to answer a listing on its node's own address. */
  readyMs?: number;
}

export class ClusteredSmbd {
  readonly shareDir: string;
  readonly port: number;
  private readonly pids = new Map<number, number>();
  private clientConfFile = '';

  constructor(private readonly cluster: NetnsRealLocalCluster, private readonly opts: ClusteredSmbdOptions = {}) {
    this.shareDir = opts.shareDir ?? join(cluster.dir, 'share');
    this.port = opts.port ?? 445;
  }

  /** The client namespace's view of `address` (for smbclient). */
  target(address: string): SmbclientTarget {
    return { namespace: this.cluster.netns.topology.clientNamespace, address, share: SMB_SHARE, confFile: this.clientConfFile, port: this.port };
  }

  get clientConf(): string {
    return this.clientConfFile;
  }

  async startAll(): Promise<void> {
    await mkdir(this.shareDir, { recursive: true });
    this.clientConfFile = await clientConf(join(this.cluster.dir, 'smbclient'));
    await Promise.all(this.cluster.nodes.map((n) => this.start(n.pnn)));
  }

  /** Starts node `pnn`'s smbd and resolves once it serves the share on the node's own address (within `readyMs`). */
  async start(pnn: number, readyMs = this.opts.readyMs ?? 20_000): Promise<number> {
    const node = this.cluster.nodes[pnn];
    const smbDir = join(node.base, 'smbd');
    for (const sub of ['private', 'lock', 'state', 'cache', 'run', 'ncalrpc', 'binddns']) await mkdir(join(smbDir, sub), { recursive: true });
    const conf = join(smbDir, 'smb.conf');
    await writeFile(conf, renderSmbConf({ smbDir, ctdbdSocket: node.socketPath, shareDir: this.shareDir, port: this.port }));
    const logFile = join(smbDir, 'smbd.out');
    const pid = await this.cluster.netns.startNodeProcess(pnn, 'smbd',
      { file: 'smbd', args: ['-F', '--no-process-group', '-s', conf], env: process.env }, { logFile });
    this.pids.set(pnn, pid);
    const own = this.target(this.cluster.netns.topology.privateAddresses[pnn]);
    const deadline = Date.now() + readyMs;
    for (;;) {
      if (!isAlive(pid)) throw new Error(`smbd of node ${pnn} exited: ${await logTail(logFile)}\n${await logTail(join(smbDir, 'log.smbd'))}`);
      const r = await smbclient(own, 'ls', 5_000);
      if (r.ok) return pid;
      if (Date.now() > deadline) throw new Error(`smbd of node ${pnn} not serving after ${readyMs} ms: ${r.output}`);
      await sleep(200);
    }
  }

  pidOf(pnn: number): number | undefined {
    return this.pids.get(pnn);
  }

  /** SIGTERM node `pnn`'s smbd, then SIGKILL it and its children (per-client smbd processes). */
  async stop(pnn: number): Promise<void> {
    const pid = this.pids.get(pnn);
    if (pid === undefined) return;
    const all = [pid, ...descendants(pid)];
    if (isAlive(pid)) signal(pid, 'SIGTERM');
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline && all.some(isAlive)) await sleep(50);
    await killAll(all);
    this.pids.delete(pnn);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.pids.keys()].map((pnn) => this.stop(pnn)));
  }
}

export interface SmbConfInput {
  smbDir: string;
  ctdbdSocket: string;
  shareDir: string;
  port: number;
}

/** One node's smb.conf: clustered, everything of its own under smbDir, one guest share. */
export function renderSmbConf(c: SmbConfInput): string {
  return [
    '[global]',
    '\tclustering = yes',
    `\tctdbd socket = ${c.ctdbdSocket}`,
    // One name for the whole cluster, as on a real site.
    '\tnetbios name = CTDBBRIDGE',
    '\tworkgroup = CTDBB',
    '\tserver role = standalone server',
    '\tmap to guest = Bad User',
    `\tpassdb backend = tdbsam:${join(c.smbDir, 'private', 'passdb.tdb')}`,
    `\tprivate dir = ${join(c.smbDir, 'private')}`,
    `\tlock directory = ${join(c.smbDir, 'lock')}`,
    `\tstate directory = ${join(c.smbDir, 'state')}`,
    `\tcache directory = ${join(c.smbDir, 'cache')}`,
    `\tpid directory = ${join(c.smbDir, 'run')}`,
    `\tncalrpc dir = ${join(c.smbDir, 'ncalrpc')}`,
    `\tbinddns dir = ${join(c.smbDir, 'binddns')}`,
    `\tlog file = ${join(c.smbDir, 'log.smbd')}`,
    '\tlog level = 1',
    '\tmax log size = 0',
    `\tsmb ports = ${c.port}`,
    '\tdisable netbios = yes',
    '\tserver min protocol = SMB2_02',
    '\tload printers = no',
    '\tprinting = bsd',
    '\tprintcap name = /dev/null',
    '\tdisable spoolss = yes',
    '',
    `[${SMB_SHARE}]`,
    `\tpath = ${c.shareDir}`,
    '\tguest ok = yes',
    '\tread only = no',
    // The share sits in the test's private (0700) directory, where the guest account cannot reach.
    '\tforce user = root',
    '',
  ].join('\n');
}
