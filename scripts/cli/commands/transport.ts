import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
// Each from its own module, not transport/index.ts: the transportd process
// loads only the uplink it runs (uplinkFor()), e.g. not ws for the tunnel.
import { BUILTIN_SERVICE } from '../../../transport/endpoint.ts';
import { TransportClient } from '../../../transport/api.ts';
import { Transportd } from '../../../transport/transportd.ts';
import type { TransportStatus } from '../../../transport/builtin-service.ts';
import type { Uplink } from '../../../transport/uplinks/uplink.ts';
import { UPLINK_KINDS, type UplinkKind } from '../../../transport/uplinks/kinds.ts';
import { resolveSocketPath } from '../../../legacy/client/socket-path.ts';
import {
  DEFAULT_WS_PORT, parseHostPort, parseNodesFile, parsePeerList, peersFromNodesFile, readClusterSecret,
} from '../../../transport/uplinks/ws-config.ts';
import { createLogger } from '../../../legacy/common/log.ts';
import { tierUpWhenBusy } from '../../local-cluster/tier-up.ts';
import { DEFAULT_TRANSPORT_SOCKET } from '../../../components/framework/services.ts';

/** `ctdb-bridge transport ping|status` (talk to the local transportd) and `ctdb-bridge transportd` (run one). */

export { DEFAULT_TRANSPORT_SOCKET };

function pnnArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xefffffff) throw new InvalidArgumentError('expected a node number (0, 1, ...)');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected 0 or a positive integer');
  return n;
}

function socketOption(): Option {
  return new Option('--socket <path>', 'transportd unix socket (env CTDB_BRIDGE_TRANSPORT_SOCKET)').default(DEFAULT_TRANSPORT_SOCKET);
}

async function withClient<T>(socketPath: string, timeoutMs: number, fn: (c: TransportClient) => Promise<T>): Promise<T> {
  const client = new TransportClient({ socketPath, name: 'ctdb-bridge-cli', defaultTimeoutMs: timeoutMs });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function formatTransportStatus(s: TransportStatus): string {
  const rows = [['PNN', 'STATE', 'SOFTWARE', 'PROTOCOL', 'SINCE']];
  for (const n of s.nodes) {
    rows.push([String(n.node), n.state, n.software ?? '-', n.protocolVersions?.join(',') ?? '-', n.since]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  const services = s.services.map((x) => `${x.service} ${x.name}`).join(', ');
  return [
    `transportd on node ${s.node} (${s.software}), uplink ${s.uplink}, up ${s.uptimeSeconds.toFixed(1)} s`,
    ...lines,
    `local services: ${services}`,
  ].join('\n');
}

export interface PingResult {
  node: number;
  state: string;
  ok: boolean;
  rttMs?: number;
  error?: string;
}

/** Pings one node, or every node that runs a transportd; legacy-only nodes are listed, not failed. */
export async function pingNodes(client: TransportClient, target: 'all' | number, timeoutMs: number): Promise<PingResult[]> {
  const status = await client.request<TransportStatus>({ node: client.node, service: BUILTIN_SERVICE }, 'transport.status', {});
  const byNode = new Map(status.nodes.map((n) => [n.node, n.state] as const));
  const targets = target === 'all' ? status.nodes.map((n) => n.node) : [target];
  return Promise.all(targets.map(async (node): Promise<PingResult> => {
    const state = byNode.get(node) ?? 'unknown';
    if (target === 'all' && (state === 'legacy-only' || state === 'unreachable')) return { node, state, ok: true };
    const started = performance.now();
    try {
      await client.request({ node, service: BUILTIN_SERVICE }, 'transport.ping', {}, { timeoutMs });
      return { node, state, ok: true, rttMs: Number((performance.now() - started).toFixed(3)) };
    } catch (err) {
      return { node, state, ok: false, error: (err as Error).message };
    }
  }));
}

function formatPing(r: PingResult): string {
  if (r.rttMs !== undefined) return `node ${r.node}: reply in ${r.rttMs} ms`;
  if (r.ok) return `node ${r.node}: ${r.state}${r.state === 'legacy-only' ? ' (no transportd)' : ''}`;
  return `node ${r.node}: FAILED: ${r.error}`;
}

export function registerTransport(program: Command): void {
  const group = program.command('transport').description('talk to the local transportd (new-protocol transport)');

  group
    .command('ping')
    .description('ping the built-in service of one node or of every node running a transportd')
    .option('-n, --node <all|pnn>', 'target node number or "all"', 'all')
    .addOption(socketOption())
    .option('--timeout <ms>', 'per-ping timeout', positiveInt, 2000)
    .option('--json', 'print results as JSON')
    .action(async (opts: { node: string; socket: string; timeout: number; json?: boolean }) => {
      const target = opts.node === 'all' ? 'all' : pnnArg(opts.node);
      const results = await withClient(opts.socket, opts.timeout, (c) => pingNodes(c, target, opts.timeout));
      if (opts.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      else process.stdout.write(results.map(formatPing).join('\n') + '\n');
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });

  group
    .command('status')
    .description('nodes known to the local transportd, with their state (self, transport, legacy-only, ...)')
    .addOption(socketOption())
    .option('--timeout <ms>', 'request timeout', positiveInt, 2000)
    .option('--json', 'print the status as JSON (the wire format)')
    .action(async (opts: { socket: string; timeout: number; json?: boolean }) => {
      const status = await withClient(opts.socket, opts.timeout, (c) =>
        c.request<TransportStatus>({ node: c.node, service: BUILTIN_SERVICE }, 'transport.status', {}));
      process.stdout.write((opts.json ? JSON.stringify(status, null, 2) : formatTransportStatus(status)) + '\n');
    });

  program
    .command('transportd')
    .description('run the transport daemon of one node until SIGINT/SIGTERM')
    .option('--node <pnn>', 'this node number (tunnel: learned from ctdbd, must match if given)', pnnArg)
    .addOption(socketOption())
    .addOption(new Option('--uplink <kind>', 'how to reach other nodes').choices([...UPLINK_KINDS]).default('tunnel'))
    .option('--ctdb-socket <path>', 'tunnel: ctdbd unix socket (default: as ctdb finds it, CTDB_SOCKET / test mode / /run/ctdb)')
    .option('--poll-interval <ms>', 'tunnel: how often the ctdbd node map is read', positiveInt, 1000)
    .option('--listen <host:port>', 'ws: address to listen on and dial from (default: own nodes-file address)')
    .option('--peers <list>', 'ws: PNN=HOST:PORT,... (default: from --nodes-file)')
    .option('--nodes-file <path>', 'ws: ctdb nodes file giving every node address', '/etc/ctdb/nodes')
    .option('--ws-port <port>', 'ws: port used with nodes-file addresses', positiveInt, DEFAULT_WS_PORT)
    .option('--secret-file <path>', 'ws: file holding the cluster secret (at least 16 bytes; owned by root or the daemon user, mode 0600 or stricter)')
    .option('--max-payload <bytes>', 'largest JSON payload accepted', positiveInt)
    .option('--hello-timeout <ms>', 'a node that does not answer a hello within this is legacy-only (default 3000)', positiveInt)
    .option('--liveness-interval <ms>', 'transport nodes silent this long are asked for a hello; a dead transportd is ' +
      'legacy-only within 2 x this + hello timeout (default 2000, 0: off)', nonNegativeInt)
    .action(async (opts: TransportdCommandOptions) => {
      const uplink = await uplinkFor(opts);
      const node = uplink.localNode;
      const logger = createLogger({ component: 'transportd', node });
      await mkdir(dirname(opts.socket), { recursive: true, mode: 0o700 });
      const daemon = new Transportd({
        node, uplink, socketPath: opts.socket, maxPayload: opts.maxPayload, logger,
        helloTimeoutMs: opts.helloTimeout, livenessIntervalMs: opts.livenessInterval,
      });
      // A signal during start still stops what was started.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      try {
        await daemon.start();
      } catch (err) {
        await uplink.stop().catch(() => undefined);
        throw err;
      }
      process.stderr.write(`transportd node ${node} listening on ${opts.socket} (uplink ${opts.uplink})\n`);
      const stopWatching = tierUpWhenBusy(() => daemon.packetsReceived, {
        onTierUp: () => logger.info('busy: V8 optimises the packet path at its own pace from now on'),
      });
      await stopped;
      stopWatching();
      await daemon.stop();
    });
}

interface TransportdCommandOptions {
  node?: number; socket: string; uplink: UplinkKind; ctdbSocket?: string; pollInterval: number; listen?: string;
  peers?: string; nodesFile: string; wsPort: number; secretFile?: string; maxPayload?: number;
  helloTimeout?: number; livenessInterval?: number;
}

/** The uplink for the transportd command; the tunnel learns the node number from ctdbd (GET_PNN). */
async function uplinkFor(opts: TransportdCommandOptions): Promise<Uplink> {
  if (opts.uplink === 'tunnel') {
    const socketPath = resolveSocketPath(opts.ctdbSocket);
    const { openTunnelUplink } = await import('../../../transport/uplinks/tunnel-config.ts');
    const uplink = await openTunnelUplink({
      socketPath, pollIntervalMs: opts.pollInterval, logger: createLogger({ component: 'tunnel-uplink', node: opts.node }),
    });
    if (opts.node !== undefined && opts.node !== uplink.localNode) {
      await uplink.stop();
      throw new Error(`--node ${opts.node} given, but the ctdbd at ${socketPath} is node ${uplink.localNode}`);
    }
    return uplink;
  }
  if (opts.node === undefined) throw new Error(`--uplink ${opts.uplink} needs --node`);
  const logger = createLogger({ component: 'transportd', node: opts.node });
  const ws = opts.uplink === 'ws' ? await wsConfig({ ...opts, node: opts.node }) : undefined;
  const { createUplink } = await import('../../../transport/uplinks/index.ts');
  return createUplink(opts.uplink, { node: opts.node, logger, ws });
}

async function wsConfig(opts: { node: number; listen?: string; peers?: string; nodesFile: string; wsPort: number; secretFile?: string }) {
  if (!opts.secretFile) throw new Error('--uplink ws needs --secret-file');
  const secret = await readClusterSecret(opts.secretFile);
  const nodesText = opts.peers && opts.listen ? undefined : await readFile(opts.nodesFile, 'utf8');
  const peers = opts.peers ? parsePeerList(opts.peers) : peersFromNodesFile(nodesText!, opts.wsPort, opts.nodesFile);
  let listen;
  if (opts.listen) listen = parseHostPort(opts.listen);
  else {
    const own = parseNodesFile(nodesText!, opts.nodesFile).find((e) => e.node === opts.node)?.address;
    if (!own) throw new Error(`node ${opts.node} has no address in ${opts.nodesFile}; give --listen`);
    listen = { host: own, port: opts.wsPort };
  }
  return { listen, peers, secret };
}
