import { InvalidArgumentError, Option, type Command } from 'commander';
import { TransportClient } from '../../../transport/index.ts';
import { LOCAL_NODE } from '../../../transport/endpoint.ts';
import { CLUSTERD_SERVICE, DEFAULT_TRANSPORT_SOCKET } from '../../../components/framework/services.ts';
import { CLUSTERD_MESSAGES } from '../../../components/clusterd/messages.ts';
import { BUILTIN_COMPONENT_MESSAGES } from '../../../components/framework/builtin-messages.ts';
import { createRegistry } from '../../../transport/schemas.ts';
import type { ClusterEvent, ClusterStatus } from '../../../components/clusterd/status.ts';
import { formatClusterStatus, formatLeader } from '../cluster/format-status.ts';

/** `ctdb-bridge cluster status|leader|watch`: ask the local (or -n) clusterd through transportd. */

/** Subscriptions last 60 s at clusterd; renewed well before. */
const RENEW_MS = 20_000;

function pnnArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xefffffff) throw new InvalidArgumentError('expected a node number (0, 1, ...)');
  return n;
}

interface CommonOptions {
  socket: string;
  node?: number;
  timeout: number;
  json?: boolean;
}

function common(cmd: Command): Command {
  return cmd
    .addOption(new Option('--socket <path>', 'transportd unix socket (env CTDB_BRIDGE_TRANSPORT_SOCKET)').default(DEFAULT_TRANSPORT_SOCKET))
    .option('-n, --node <pnn>', 'ask the clusterd of this node (default: this node)', pnnArg)
    .option('-t, --timeout <ms>', 'request timeout', (v) => Number(v), 3000);
}

function client(socketPath: string, timeoutMs: number, reconnect = false): TransportClient {
  return new TransportClient({
    socketPath, name: 'ctdb-bridge-cluster-cli', defaultTimeoutMs: timeoutMs, reconnect,
    registry: createRegistry([...BUILTIN_COMPONENT_MESSAGES, ...CLUSTERD_MESSAGES]),
  });
}

async function askStatus(opts: CommonOptions): Promise<ClusterStatus> {
  const c = client(opts.socket, opts.timeout);
  await c.connect();
  try {
    return await c.request<ClusterStatus>({ node: opts.node ?? LOCAL_NODE, service: CLUSTERD_SERVICE }, 'clusterd.status', {});
  } finally {
    await c.close();
  }
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('cluster membership and leadership as clusterd sees it');

  common(cluster.command('status').description('every node\'s state, ctdbd\'s flags beside it, leader, epoch, mode, differences from ctdbd'))
    .option('--json', 'print clusterd\'s answer as JSON')
    .action(async (opts: CommonOptions) => {
      const s = await askStatus(opts);
      process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatClusterStatus(s));
    });

  common(cluster.command('leader').description('the leader clusterd follows and its epoch'))
    .option('--json', 'print {leader, epoch} as JSON')
    .action(async (opts: CommonOptions) => {
      const s = await askStatus(opts);
      process.stdout.write(opts.json ? `${JSON.stringify({ leader: s.leader, epoch: s.epoch })}\n` : formatLeader(s));
      if (s.leader === null) process.exitCode = 1;
    });

  common(cluster.command('watch').description('clusterd\'s events as JSON lines (the current state first) until Ctrl-C'))
    .action(async (opts: CommonOptions) => {
      const c = client(opts.socket, opts.timeout, true);
      const dest = { node: opts.node ?? LOCAL_NODE, service: CLUSTERD_SERVICE };
      const line = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
      c.subscribe('clusterd.event', (event: ClusterEvent) => line({ type: 'event', ...event }));
      const subscribe = async () => line({ type: 'state', ...(await c.request<ClusterStatus>(dest, 'clusterd.subscribe', {})) });
      await c.connect();
      await subscribe();
      c.on('reconnect', () => void subscribe().catch((err: Error) => process.stderr.write(`ctdb-bridge: ${err.message}\n`)));
      const renew = setInterval(() => void c.request(dest, 'clusterd.subscribe', {}).catch(() => undefined), RENEW_MS);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(renew);
      await c.request(dest, 'clusterd.unsubscribe', {}).catch(() => undefined);
      await c.close();
    });
}
