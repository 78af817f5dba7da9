import { Option, type Command } from 'commander';
import { createLogger } from '../../../legacy/common/log.ts';
import { ComponentHost } from '../../../components/framework/host.ts';
import { configPaths } from '../../../components/framework/config-files.ts';
import { DEFAULT_TRANSPORT_SOCKET } from '../../../components/framework/services.ts';
import type { ComponentDefinition } from '../../../components/framework/component.ts';
import { resolveSocketPath } from '../../../legacy/client/socket-path.ts';

/**
 * `ctdb-bridge clusterd` (one component, its own daemon) and `ctdb-bridge
 * components --only clusterd,...` (several in one process). Both attach to
 * the local transportd, wait for it as long as it takes, reload their
 * configuration on SIGHUP and stop on SIGINT/SIGTERM.
 */

interface ComponentCommandOptions {
  socket: string;
  base?: string;
  ctdbSocket?: string;
}

/**
 * Each component's modules are loaded only when the process runs it: a
 * clusterd daemon does not hold failoverd's code (its allocation, takeover
 * runs, driver), nor the other way round.
 */
const COMPONENTS: Record<string, (opts: ComponentCommandOptions) => Promise<ComponentDefinition<any>>> = {
  clusterd: async (o) => (await import('../../../components/clusterd/clusterd.ts')).clusterdComponent({ ctdbSocket: o.ctdbSocket }),
  failoverd: async (o) => {
    const [{ failoverdComponent }, { CtdbdDriver }] = await Promise.all([
      import('../../../components/failoverd/failoverd.ts'), import('../../../components/failoverd/ctdbd-driver.ts')]);
    return failoverdComponent({
      createDriver: (logger) => new CtdbdDriver({ socketPath: resolveSocketPath(o.ctdbSocket), logger, base: configPaths(o.base).base }),
    });
  },
};

function options(cmd: Command): Command {
  return cmd
    .addOption(new Option('--socket <path>', 'transportd unix socket (env CTDB_BRIDGE_TRANSPORT_SOCKET)').default(DEFAULT_TRANSPORT_SOCKET))
    .option('--base <dir>', 'directory of nodes, ctdb.conf and ctdb-bridge.conf (default: $CTDB_BASE or /etc/ctdb)')
    .option('--ctdb-socket <path>', 'ctdbd unix socket (default: as ctdb finds it)');
}

/** The line a component prints on stderr once it is attached (start scripts wait for it). */
export function readyLine(name: string, node: number, socket: string): string {
  return `${name} node ${node} attached to transportd at ${socket}\n`;
}

async function runComponents(names: string[], opts: ComponentCommandOptions): Promise<void> {
  const unknown = names.filter((n) => !(n in COMPONENTS));
  if (unknown.length > 0) throw new Error(`unknown component(s): ${unknown.join(', ')} (known: ${Object.keys(COMPONENTS).join(', ')})`);
  const paths = configPaths(opts.base);
  const hosts = await Promise.all(names.map(async (name) => new ComponentHost({
    definition: await COMPONENTS[name](opts), socketPath: opts.socket, paths, logger: createLogger({ component: name }),
  })));
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const reload = () => void Promise.all(hosts.map((h) => h.reload()));
  process.on('SIGHUP', reload);
  try {
    for (const h of hosts) await h.start();
  } catch (err) {
    await Promise.all(hosts.map((h) => h.stop()));
    throw err;
  }
  void Promise.all(hosts.map(async (h) => {
    await h.attached();
    process.stderr.write(readyLine(h.name, h.node, opts.socket));
  })).catch(() => undefined);
  await stopped;
  process.off('SIGHUP', reload);
  await Promise.all(hosts.map((h) => h.stop()));
}

export function registerComponents(program: Command): void {
  options(program.command('clusterd').description('run clusterd (membership, health, leadership) until SIGINT/SIGTERM; SIGHUP reloads'))
    .action((opts: ComponentCommandOptions) => runComponents(['clusterd'], opts));
  options(program.command('failoverd').description('run failoverd (public IP failover: shadow or active) until SIGINT/SIGTERM; SIGHUP reloads'))
    .action((opts: ComponentCommandOptions) => runComponents(['failoverd'], opts));
  options(program.command('components').description('run several components in one process until SIGINT/SIGTERM; SIGHUP reloads'))
    .option('--only <list>', 'comma-separated components', 'clusterd')
    .action((opts: ComponentCommandOptions & { only: string }) => runComponents(opts.only.split(',').map((s) => s.trim()).filter(Boolean), opts));
}
