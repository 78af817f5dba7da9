// Runs one component: reads its configuration, attaches it to the local
// transportd (waiting for transportd as long as it takes, saying so in the
// log), answers the built-in requests, keeps it attached across transportd
// restarts, and reconfigures it on reload(). Signals are the entry point's
// business (scripts/cli/commands/components.ts), not the host's.

import type { Logger } from 'pino';
import { PACKAGE_VERSION } from '../../legacy/common/package-info.ts';
// Imported from their own modules, not transport/index.ts: a component
// process then loads neither transportd nor the uplinks (ws, tunnel).
import { TransportClient } from '../../transport/api.ts';
import { createRegistry, type MessageRegistry } from '../../transport/schemas.ts';
import { BUILTIN_COMPONENT_MESSAGES, type ComponentLogLevel } from './builtin-messages.ts';
import { loadOperatorConfig, type ConfigPaths } from './config-files.ts';
import { realComponentTimers, type ComponentDefinition, type ComponentInstance, type ComponentTimers } from './component.ts';
import { HostedTransport } from './hosted-transport.ts';

export type HostState = 'starting' | 'waiting' | 'active' | 'stopping';

export interface ComponentHostOptions<C> {
  definition: ComponentDefinition<C>;
  /** transportd's unix socket. */
  socketPath: string;
  paths: ConfigPaths;
  logger: Logger;
  timers?: ComponentTimers;
  /** Longest wait between attempts to reach transportd (default 1000 ms; the first retry comes after 50 ms). */
  maxRetryMs?: number;
  /** Per-request timeout of the transport client (default 5000 ms). */
  requestTimeoutMs?: number;
}

export class ComponentHost<C> {
  readonly registry: MessageRegistry;
  private readonly transport = new HostedTransport();
  private readonly timers: ComponentTimers;
  private readonly startedAt = Date.now();
  private client: TransportClient | undefined;
  private instance: ComponentInstance<C> | undefined;
  private state: HostState = 'starting';
  private waitingFor: string | undefined;
  private retryTimer: unknown;
  private stopped = false;

  constructor(private readonly opts: ComponentHostOptions<C>) {
    this.timers = opts.timers ?? realComponentTimers;
    this.registry = createRegistry([...BUILTIN_COMPONENT_MESSAGES, ...opts.definition.messages]);
  }

  get name(): string {
    return this.opts.definition.name;
  }

  /** This node's PNN; throws before the first attach. */
  get node(): number {
    return this.transport.node;
  }

  get hostState(): HostState {
    return this.state;
  }

  /**
   * Reads the configuration (throws OperatorFileError: nothing started),
   * creates the component, registers its handlers, then attaches in the
   * background; resolves once the component is created, not attached.
   */
  async start(): Promise<void> {
    const config = this.opts.definition.configure(await loadOperatorConfig(this.opts.paths));
    const instance = this.opts.definition.create({
      config, transport: this.transport, logger: this.opts.logger, timers: this.timers,
    });
    this.instance = instance;
    this.registerBuiltins();
    await instance.init?.();
    this.attach(1);
  }

  /** Resolves once attached and activated (tests, and the CLI's "ready" line). */
  async attached(pollMs = 20): Promise<void> {
    while (this.state !== 'active') {
      if (this.stopped) throw new Error(`${this.name} stopped before it attached`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** SIGHUP: reads the files again; a bad file is logged and the running configuration kept. */
  async reload(): Promise<boolean> {
    try {
      const config = this.opts.definition.configure(await loadOperatorConfig(this.opts.paths));
      await this.instance?.reconfigure?.(config);
      this.opts.logger.info({ reason: 'reload' }, 'configuration reloaded');
      return true;
    } catch (err) {
      this.opts.logger.error({ err, reason: 'reload' }, 'configuration not reloaded, keeping the running one');
      return false;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.setState('stopping', 'stop requested');
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    try {
      await this.instance?.deactivate?.('stopping');
      await this.instance?.stop?.();
    } finally {
      await this.client?.close();
    }
  }

  private attach(attempt: number): void {
    if (this.stopped) return;
    const client = new TransportClient({
      socketPath: this.opts.socketPath, service: this.opts.definition.service, name: this.name,
      registry: this.registry, logger: this.opts.logger, reconnect: true,
      defaultTimeoutMs: this.opts.requestTimeoutMs,
    });
    this.transport.use(client);
    client.connect().then(() => {
      if (this.stopped) {
        void client.close();
        return;
      }
      this.client = client;
      client.on('disconnect', ({ reason }) => {
        this.setState('waiting', `transportd at ${this.opts.socketPath} (${reason})`);
        void this.run('deactivate', () => this.instance?.deactivate?.(`lost transportd: ${reason}`));
      });
      client.on('reconnect', () => this.activate());
      this.activate();
    }, (err: Error) => {
      if (this.stopped) return;
      const what = `transportd at ${this.opts.socketPath} (${err.message})`;
      if (this.waitingFor !== what) this.setState('waiting', what);
      const delay = Math.min(this.opts.maxRetryMs ?? 1000, 50 * 2 ** Math.min(attempt - 1, 10));
      this.retryTimer = this.timers.setTimeout(() => this.attach(attempt + 1), delay);
    });
  }

  private activate(): void {
    void this.run('activate', async () => {
      await this.instance?.activate?.();
      this.setState('active', `attached to transportd as service ${this.opts.definition.service}`);
    });
  }

  private async run(hook: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.opts.logger.error({ err, hook }, `${this.name} ${hook} failed`);
    }
  }

  private setState(state: HostState, reason: string): void {
    const waitingFor = state === 'waiting' ? reason : undefined;
    if (state === this.state && waitingFor === this.waitingFor) return;
    this.state = state;
    this.waitingFor = waitingFor;
    if (state === 'waiting') this.opts.logger.warn({ state, waitingFor: reason }, `${this.name} waiting for ${reason}`);
    else this.opts.logger.info({ state, reason }, `${this.name} ${state}`);
  }

  private registerBuiltins(): void {
    const t = this.transport;
    const id = () => ({ node: t.node, component: this.name });
    t.handle('component.ping', () => ({ ...id(), time: Date.now() }));
    t.handle('component.uptime', () => ({
      ...id(), startedAt: new Date(this.startedAt).toISOString(), uptimeSeconds: (Date.now() - this.startedAt) / 1000,
    }));
    t.handle('component.version', () => ({
      ...id(), software: `ctdb-bridge ${PACKAGE_VERSION}`, messageTypes: Object.keys(this.registry.list()),
    }));
    t.handle('component.status', () => ({
      ...id(), state: this.state, ...(this.waitingFor ? { waitingFor: this.waitingFor } : {}),
      detail: this.instance?.status() ?? null,
    }));
    t.handle('component.log-level', (body: { level?: ComponentLogLevel }) => {
      const previous = this.opts.logger.level as ComponentLogLevel;
      if (body.level !== undefined && body.level !== previous) {
        this.opts.logger.level = body.level;
        this.opts.logger.warn({ level: body.level, previous, reason: 'component.log-level request' }, 'log level changed');
      }
      return { ...id(), level: this.opts.logger.level as ComponentLogLevel, previous };
    });
    t.handle('component.memory', () => {
      const m = process.memoryUsage();
      return { ...id(), rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
    });
  }
}
