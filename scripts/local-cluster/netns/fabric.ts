import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../legacy/common/log.ts';
import type { NodeLaunch } from '../real-node.ts';
import { hasEnvEntry, isAlive, killAll, processesWithEnv, signal } from '../processes.ts';
import { logTail } from '../real-node.ts';
import { ClusterTimeoutError, LocalClusterError } from '../errors.ts';
import { clusterId, NETNS_PREFIX } from './names.ts';
import { netnsTopology, bridgePort, NODE_INTERFACE, renderPublicAddresses, type NetnsTopology } from './topology.ts';
import type { NetnsHelperRecord, NetnsRecord } from './record.ts';
import {
  chooseSubnet, createNetwork, interfaceAddresses, listNamespaces, macAddress, namespacePids, neighbourMac,
  removeNamespaces, removeNamespacesSync, setLink,
} from './network.ts';
import { inNamespace, inNodeNamespaces } from './launcher.ts';
import { CLIENT_AGENT_SCRIPT, RESPONDER_SCRIPT } from './helper-scripts.ts';
import { probeTcp, responderPnn, type ProbeResult } from './client-probe.ts';
import { mustRun, runTool } from './commands.ts';
import { NetnsProbeError } from './errors.ts';

/**
 * The network side of a netns cluster, shared by the real and the embedded
 * kind: the namespaces, the bridge and veths, a responder per node, the
 * client agent, extra per-node processes, and the questions a test asks
 * from the client's side ("who answers public address A"). Every process
 * it starts carries CTDB_BRIDGE_NETNS=<id> in its environment and lives in
 * one of the cluster's namespaces, so cleanup finds it by either.
 */

export interface NetnsOptions {
  /** Public addresses on 10.x.1.0/24 (default: 2 per node). */
  publicAddresses?: number;
  /** Fixed x of 10.x.0.0/24 (default: the first free one in subnetRange). */
  subnet?: number;
  subnetRange?: [number, number];
  responderPort?: number;
  /** Limit of one TCP probe from the client namespace. */
  probeTimeoutMs?: number;
  /** Limit for a helper (responder, client agent) to become ready. */
  helperReadyMs?: number;
  /**
   * Node `pnn`'s public_addresses text (default: every address of the
   * topology on eth0, the same on every node). Bad-input tests give nodes
   * differing or malformed files.
   */
  publicAddressesFile?: (pnn: number, topology: NetnsTopology) => string;
}

export interface FabricHooks {
  logger: Logger;
  /** Persists cluster.json (helpers are recorded before they are waited for). */
  save(): Promise<void>;
}

export type IsolationMethod = 'link' | 'drop';

const DEFAULT_SUBNET_RANGE: [number, number] = [100, 250];
const ISOLATION_TABLE = 'ctdbb_isolate';
export const NETNS_ENV = 'CTDB_BRIDGE_NETNS';

export class NetnsFabric {
  private helpers: NetnsHelperRecord[];
  private macToPnn: Map<string, number> | null = null;

  private constructor(
    readonly dir: string,
    readonly topology: NetnsTopology,
    helpers: NetnsHelperRecord[],
    private readonly hooks: FabricHooks,
    private readonly opts: NetnsOptions,
  ) {
    this.helpers = helpers;
  }

  /** Chooses an id no existing namespace uses and a subnet for a new cluster. */
  static async plan(dir: string, nodes: number, ownerPid: number | undefined, opts: NetnsOptions, hooks: FabricHooks): Promise<NetnsFabric> {
    const taken = new Set(listNamespaces().filter((n) => n.startsWith(NETNS_PREFIX)).map((n) => n.split('-')[1]));
    let id = clusterId(ownerPid);
    while (taken.has(id)) id = clusterId(ownerPid);
    const subnet = opts.subnet ?? await chooseSubnet(opts.subnetRange ?? DEFAULT_SUBNET_RANGE);
    const topology = netnsTopology({
      id, subnet, nodes, publicAddresses: opts.publicAddresses ?? 2 * nodes, responderPort: opts.responderPort,
    });
    return new NetnsFabric(dir, topology, [], hooks, opts);
  }

  /** The fabric of a cluster described by cluster.json (for down/status from another process). */
  static fromRecord(dir: string, nodes: number, record: NetnsRecord, opts: NetnsOptions, hooks: FabricHooks): NetnsFabric {
    const topology = netnsTopology({
      id: record.id, subnet: record.subnet, nodes, publicAddresses: record.publicAddressCount, responderPort: record.responderPort,
    });
    return new NetnsFabric(dir, topology, [...record.helpers], hooks, opts);
  }

  get record(): NetnsRecord {
    const t = this.topology;
    return {
      id: t.id, subnet: t.subnet, publicAddressCount: t.publicAddresses.length, responderPort: t.responderPort,
      namespaces: [t.clientNamespace, ...t.nodeNamespaces], helpers: [...this.helpers],
    };
  }

  /** What node `pnn`'s public_addresses file says (options.publicAddressesFile or the default). */
  publicAddressesText(pnn: number): string {
    return this.opts.publicAddressesFile?.(pnn, this.topology) ?? renderPublicAddresses(this.topology);
  }

  get namespaces(): string[] {
    return [this.topology.clientNamespace, ...this.topology.nodeNamespaces];
  }

  /** The environment entry every process of this cluster carries. */
  get envEntry(): string {
    return `${NETNS_ENV}=${this.topology.id}`;
  }

  taggedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...env, [NETNS_ENV]: this.topology.id };
  }

  get agentSocket(): string {
    return join(this.dir, 'client-agent.sock');
  }

  /** Namespaces, links and addresses, then the client agent and a responder per node. */
  async up(): Promise<void> {
    await createNetwork(this.topology);
    await this.startClientAgent();
    for (const pnn of this.topology.nodeNamespaces.keys()) await this.startResponder(pnn);
  }

  /**
   * Starts `launch` inside node `pnn`'s network namespace (and, with
   * `mountsOf`, inside private mounts of that node directory like ctdbd's)
   * as a detached process recorded for cleanup: the hook for transportd and
   * the components. Output goes to `logFile`. Resolves with its PID.
   */
  async startNodeProcess(pnn: number, role: string, launch: NodeLaunch, opts: { logFile: string; mountsOf?: string }): Promise<number> {
    return this.spawnHelper(role, pnn, this.wrapForNode(pnn, launch, opts.mountsOf), opts.logFile);
  }

  /** `launch` run inside node `pnn`'s network namespace, with `mountsOf`: also inside private mounts of that directory. */
  wrapForNode(pnn: number, launch: NodeLaunch, mountsOf?: string): NodeLaunch {
    const ns = this.nodeNamespace(pnn);
    return mountsOf ? inNodeNamespaces(ns, mountsOf, launch) : inNamespace(ns, launch);
  }

  /** SIGTERM, then SIGKILL, one recorded helper. */
  async stopNodeProcess(pid: number, timeoutMs = 5_000): Promise<void> {
    if (this.ownsPid(pid)) {
      signal(pid, 'SIGTERM');
      if (!(await killAllAfter([pid], timeoutMs))) throw new LocalClusterError('KILL_FAILED', `helper ${pid} survived SIGKILL`);
    }
    this.helpers = this.helpers.filter((h) => h.pid !== pid);
    await this.hooks.save();
  }

  /** Recorded helpers still running (verified by the environment tag, never a recycled PID). */
  liveHelpers(): NetnsHelperRecord[] {
    return this.helpers.filter((h) => this.ownsPid(h.pid));
  }

  /** Every live process of this cluster, by environment tag. */
  pids(): number[] {
    return processesWithEnv(this.envEntry);
  }

  /** Kills every process of the cluster (by tag and by namespace) and deletes the namespaces. */
  async teardown(): Promise<void> {
    const tagged = this.pids();
    if (tagged.length > 0 && !(await killAll(tagged))) {
      throw new LocalClusterError('KILL_FAILED', `processes ${tagged.filter(isAlive).join(', ')} survived SIGKILL`);
    }
    const failed = await removeNamespaces(this.namespaces);
    if (failed.length > 0) throw new LocalClusterError('NETNS_REMOVE_FAILED', `could not delete namespaces ${failed.join(', ')}`);
    this.helpers = [];
    rmSync(this.agentSocket, { force: true });
  }

  /** Synchronous teardown for exit handlers. */
  teardownSync(): void {
    for (const pid of this.pids()) signal(pid, 'SIGKILL');
    removeNamespacesSync(this.namespaces);
  }

  /** Namespaces of this cluster that still exist. */
  existingNamespaces(): string[] {
    const all = new Set(listNamespaces());
    return this.namespaces.filter((n) => all.has(n));
  }

  /** A TCP connection from the client namespace to ip:port. */
  probe(ip: string, port = this.topology.responderPort): Promise<ProbeResult> {
    return probeTcp(this.agentSocket, ip, port, this.opts.probeTimeoutMs ?? 1_000);
  }

  /** The PNN whose responder answers a TCP connection to `ip` from the client, undefined when none does. */
  async whoAnswers(ip: string): Promise<number | undefined> {
    return responderPnn(await this.probe(ip));
  }

  /** whoAnswers for every public address, asked in parallel. */
  async answersAll(): Promise<Map<string, number | undefined>> {
    const answers = await Promise.all(this.topology.publicAddresses.map((ip) => this.whoAnswers(ip)));
    return new Map(this.topology.publicAddresses.map((ip, i) => [ip, answers[i]]));
  }

  /** Polls answersAll until `accept` approves; resolves with the answers and the time it took. */
  async waitForAnswers(
    accept: (answers: Map<string, number | undefined>) => boolean, timeoutMs: number, pollMs = 100,
  ): Promise<{ answers: Map<string, number | undefined>; ms: number }> {
    const started = Date.now();
    for (;;) {
      const answers = await this.answersAll();
      if (accept(answers)) return { answers, ms: Date.now() - started };
      if (Date.now() - started >= timeoutMs) {
        throw new ClusterTimeoutError('public addresses answered as expected', timeoutMs, JSON.stringify(Object.fromEntries(answers)));
      }
      await sleep(pollMs);
    }
  }

  /** One ICMP echo from the client namespace (secondary check). */
  async ping(ip: string): Promise<boolean> {
    const r = await runTool('ip', ['netns', 'exec', this.topology.clientNamespace, 'ping', '-n', '-q', '-c', '1', '-W', '1', ip]);
    return r.exitCode === 0;
  }

  /** The node whose MAC the client has cached for `ip` (secondary check; ask after a probe or ping). */
  async arpOwner(ip: string): Promise<number | undefined> {
    const mac = await neighbourMac(this.topology.clientNamespace, ip);
    return mac === undefined ? undefined : (await this.nodeMacs()).get(mac);
  }

  /** Which node namespaces have each public address on their interface (a killed node keeps its addresses until restarted). */
  async holders(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>(this.topology.publicAddresses.map((ip) => [ip, []]));
    for (const [pnn, ns] of this.topology.nodeNamespaces.entries()) {
      for (const address of await interfaceAddresses(ns, NODE_INTERFACE)) out.get(address)?.push(pnn);
    }
    return out;
  }

  /**
   * Cuts node `pnn` off the network. 'link': its bridge port goes down (the
   * node sees no carrier, as with a pulled cable; 10.interface marks it
   * unhealthy). 'drop': nftables in its namespace drops everything on its
   * interface while the link stays up (a silent partition).
   */
  async isolate(pnn: number, how: IsolationMethod = 'link'): Promise<void> {
    if (how === 'link') return setLink(this.topology.clientNamespace, bridgePort(pnn), false);
    const rules = [
      `table inet ${ISOLATION_TABLE} {`,
      `  chain input { type filter hook input priority -10; policy accept; iifname "${NODE_INTERFACE}" drop; }`,
      `  chain output { type filter hook output priority -10; policy accept; oifname "${NODE_INTERFACE}" drop; }`,
      '}',
    ].join('\n');
    await mustRun('ip', ['netns', 'exec', this.nodeNamespace(pnn), 'nft', '-f', '-'], { input: rules });
  }

  /** Undoes either isolation. */
  async heal(pnn: number): Promise<void> {
    await setLink(this.topology.clientNamespace, bridgePort(pnn), true);
    // Absent unless isolated with 'drop': a failure here means there was nothing to remove.
    await runTool('ip', ['netns', 'exec', this.nodeNamespace(pnn), 'nft', 'delete', 'table', 'inet', ISOLATION_TABLE]);
  }

  private nodeNamespace(pnn: number): string {
    const ns = this.topology.nodeNamespaces[pnn];
    if (ns === undefined) throw new LocalClusterError('UNKNOWN_NODE', `no node ${pnn} in a ${this.topology.nodeNamespaces.length}-node netns cluster`);
    return ns;
  }

  private async nodeMacs(): Promise<Map<string, number>> {
    this.macToPnn ??= new Map(await Promise.all(this.topology.nodeNamespaces.map(
      async (ns, pnn) => [await macAddress(ns, NODE_INTERFACE), pnn] as [string, number])));
    return this.macToPnn;
  }

  private ownsPid(pid: number): boolean {
    return hasEnvEntry(pid, this.envEntry);
  }

  private async startClientAgent(): Promise<void> {
    rmSync(this.agentSocket, { force: true });
    const logFile = join(this.dir, 'client-agent.log');
    const pid = await this.spawnHelper('client-agent', undefined,
      inNamespace(this.topology.clientNamespace, { file: process.execPath, args: ['-e', CLIENT_AGENT_SCRIPT, this.agentSocket], env: process.env }),
      logFile);
    await this.waitReady(pid, logFile, 'client agent', async () => existsSync(this.agentSocket));
  }

  private async startResponder(pnn: number): Promise<void> {
    const logFile = join(this.dir, `node.${pnn}`, 'responder.log');
    const pid = await this.startNodeProcess(pnn, 'responder',
      { file: process.execPath, args: ['-e', RESPONDER_SCRIPT, String(pnn), String(this.topology.responderPort)], env: process.env },
      { logFile });
    // Ready when the client reaches it on the node's own address: proves bridge, veth and agent too.
    await this.waitReady(pid, logFile, `responder of node ${pnn}`,
      async () => responderPnn(await this.probe(this.topology.privateAddresses[pnn])) === pnn);
  }

  private async spawnHelper(role: string, pnn: number | undefined, launch: NodeLaunch, logFile: string): Promise<number> {
    const fd = openSync(logFile, 'a');
    const child = spawn(launch.file, launch.args, {
      env: this.taggedEnv(launch.env), stdio: ['ignore', fd, fd], detached: true, // outlives a CLI "up"
    });
    closeSync(fd);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new LocalClusterError('HELPER_START_FAILED', `${role}: spawn ${launch.file} failed`);
    this.helpers.push({ pid, role, ...(pnn === undefined ? {} : { pnn }) });
    await this.hooks.save();
    this.hooks.logger.info({ role, pnn, pid }, 'netns helper started');
    return pid;
  }

  private async waitReady(pid: number, logFile: string, what: string, ready: () => Promise<boolean>): Promise<void> {
    const timeoutMs = this.opts.helperReadyMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!isAlive(pid)) throw new LocalClusterError('HELPER_START_FAILED', `${what} exited: ${await logTail(logFile)}`);
      if (await ready().catch((err) => { if (err instanceof NetnsProbeError) return false; throw err; })) return;
      if (Date.now() >= deadline) throw new ClusterTimeoutError(`${what} ready`, timeoutMs, await logTail(logFile));
      await sleep(50);
    }
  }
}

async function killAllAfter(pids: number[], graceMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isAlive)) await sleep(50);
  return killAll(pids);
}

/** Every process whose mount table shows a mount from inside `dir` (should be none after down()). */
export function mountsFrom(dir: string): Array<{ pid: number; line: string }> {
  const out: Array<{ pid: number; line: string }> = [];
  // The root is relative to the file system holding `dir`: on a separate one (a tmpfs /tmp) only its tail shows.
  const tail = `/${basename(dir)}/`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/mountinfo`, 'utf8');
    } catch {
      continue;
    }
    // Field 4 is the mount's root inside its file system: our bind mounts show the node directory there.
    for (const line of text.split('\n')) {
      const root = line.split(' ')[3] ?? '';
      if (root.startsWith(`${dir}/`) || root.includes(tail)) out.push({ pid: Number(name), line });
    }
  }
  return out;
}

/** Processes in the namespaces, by name (for diagnostics). */
export async function processesInNamespaces(names: string[]): Promise<number[]> {
  return (await Promise.all(names.map(namespacePids))).flat();
}
