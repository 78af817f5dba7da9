import { afterEach, describe, expect, test } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../legacy/common/log.ts';
import { OperatorFileError } from '../../legacy/config/errors.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { InProcessHub } from '../../transport/uplinks/inproc.ts';
import { Transportd } from '../../transport/transportd.ts';
import { TransportClient, createRegistry } from '../../transport/index.ts';
import { waitFor } from '../../transport/testing/inproc-cluster.ts';
import { BUILTIN_COMPONENT_MESSAGES } from './builtin-messages.ts';
import { configPaths } from './config-files.ts';
import type { ComponentDefinition, ComponentInstance } from './component.ts';
import { ComponentHost } from './host.ts';

/** A component that adds numbers and records its lifecycle. */
interface DemoConfig { mode: string }
const DEMO_SERVICE = 99;
const demoMessages = [{ type: 'demo.add', versions: { 1: { body: { type: 'array', items: { type: 'number' } }, reply: { type: 'number' } } } }];

function demo(events: string[]): ComponentDefinition<DemoConfig> {
  return {
    name: 'demo', service: DEMO_SERVICE, messages: demoMessages,
    configure: (files) => ({ mode: files.bridge.values['clusterd/mode'] }),
    create: (ctx): ComponentInstance<DemoConfig> => ({
      init: () => { ctx.transport.handle('demo.add', (xs: number[]) => xs.reduce((a, b) => a + b, 0)); events.push('init'); },
      activate: () => { events.push(`activate node ${ctx.transport.node}`); },
      deactivate: (reason) => { events.push(`deactivate ${reason.split(':')[0]}`); },
      reconfigure: (c) => { events.push(`reconfigure ${c.mode}`); },
      stop: () => { events.push('stop'); },
      status: () => ({ mode: ctx.config.mode }),
    }),
  };
}

describe('ComponentHost', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const dir = await mkdtemp(join(tmpdir(), 'host-test-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'nodes'), '127.0.0.1\n127.0.0.2\n');
    await writeFile(join(dir, 'ctdb.conf'), '');
    const socketPath = join(dir, 'transportd.sock');
    const hub = new InProcessHub([0, 1]);
    const startTransportd = async () => {
      const d = new Transportd({ node: 1, uplink: hub.createUplink(1), socketPath, logger: silentLogger('transportd') });
      await d.start();
      return d;
    };
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(chunk.toString())); cb(); } });
    const logger = createLogger({ component: 'demo', level: 'info', destination });
    return { dir, socketPath, startTransportd, lines, logger, paths: configPaths(dir) };
  }

  async function client(socketPath: string) {
    const c = new TransportClient({ socketPath, name: 't', registry: createRegistry([...BUILTIN_COMPONENT_MESSAGES, ...demoMessages]) });
    await c.connect();
    cleanups.push(() => c.close());
    return c;
  }

  test('waits for transportd (and says so), attaches, answers its own and the built-in requests', async () => {
    const s = await setup();
    const events: string[] = [];
    const host = new ComponentHost({ definition: demo(events), socketPath: s.socketPath, paths: s.paths, logger: s.logger, maxRetryMs: 50 });
    cleanups.push(() => host.stop());
    await host.start();
    await waitFor(() => host.hostState === 'waiting', 2000);
    expect(s.lines.find((l) => l.state === 'waiting')).toMatchObject({
      msg: expect.stringMatching(/^demo waiting for transportd at .*transportd\.sock \(.*ENOENT/), waitingFor: expect.any(String),
    });
    const d = await s.startTransportd();
    cleanups.push(() => d.stop());
    await host.attached();
    expect(events).toEqual(['init', 'activate node 1']);
    const c = await client(s.socketPath);
    const to = { node: 1, service: DEMO_SERVICE };
    expect(await c.request(to, 'demo.add', [1, 2, 3])).toBe(6);
    expect(await c.request(to, 'component.ping', {})).toMatchObject({ node: 1, component: 'demo' });
    expect((await c.request(to, 'component.uptime', {})).uptimeSeconds).toBeGreaterThan(0);
    expect((await c.request(to, 'component.version', {})).messageTypes).toContain('demo.add');
    expect(await c.request(to, 'component.status', {})).toEqual({ node: 1, component: 'demo', state: 'active', detail: { mode: 'shadow' } });
    expect((await c.request(to, 'component.memory', {})).rss).toBeGreaterThan(1e6);
    expect(await c.request(to, 'component.log-level', { level: 'debug' })).toEqual({ node: 1, component: 'demo', level: 'debug', previous: 'info' });
    expect(s.logger.level).toBe('debug');
    expect(await c.request(to, 'component.log-level', {})).toMatchObject({ level: 'debug' });
  });

  test('survives a transportd restart: deactivated, reattached with its handlers, activated again', async () => {
    const s = await setup();
    const events: string[] = [];
    let d = await s.startTransportd();
    const host = new ComponentHost({ definition: demo(events), socketPath: s.socketPath, paths: s.paths, logger: s.logger });
    cleanups.push(() => host.stop());
    await host.start();
    await host.attached();
    await d.stop();
    await waitFor(() => host.hostState === 'waiting', 2000);
    d = await s.startTransportd();
    cleanups.push(() => d.stop());
    await waitFor(() => events.filter((e) => e.startsWith('activate')).length === 2, 10_000);
    expect(events).toEqual(['init', 'activate node 1', 'deactivate lost transportd', 'activate node 1']);
    const c = await client(s.socketPath);
    expect(await c.request({ node: 1, service: DEMO_SERVICE }, 'demo.add', [2, 2])).toBe(4);
  });

  test('bad configuration: start refuses with file and line and nothing attaches; a bad reload keeps the running configuration', async () => {
    const s = await setup();
    const d = await s.startTransportd();
    cleanups.push(() => d.stop());
    await writeFile(s.paths.bridgeConf, '[clusterd]\nmode = sideways\n');
    const events: string[] = [];
    const refused = new ComponentHost({ definition: demo(events), socketPath: s.socketPath, paths: s.paths, logger: s.logger });
    const err = await refused.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OperatorFileError);
    expect((err as OperatorFileError).message).toBe(`${s.paths.bridgeConf}:2: [clusterd] mode = "sideways": must be one of shadow, active`);
    expect(events).toEqual([]);
    expect(d.status().services.map((x) => x.service)).not.toContain(DEMO_SERVICE);

    await writeFile(s.paths.bridgeConf, '[clusterd]\nmode = active\n');
    const host = new ComponentHost({ definition: demo(events), socketPath: s.socketPath, paths: s.paths, logger: s.logger });
    cleanups.push(() => host.stop());
    await host.start();
    await host.attached();
    await writeFile(s.paths.bridgeConf, '[clusterd]\nmode = shadow\nbogus = 1\n');
    expect(await host.reload()).toBe(false);
    expect(s.lines.some((l) => l.msg === 'configuration not reloaded, keeping the running one')).toBe(true);
    await writeFile(s.paths.bridgeConf, '[clusterd]\nmode = shadow\n');
    expect(await host.reload()).toBe(true);
    expect(events).toEqual(['init', 'activate node 1', 'reconfigure shadow']);
    await host.stop();
    expect(events.slice(-2)).toEqual(['deactivate stopping', 'stop']);
  });
});
