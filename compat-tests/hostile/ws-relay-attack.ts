import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../legacy/common/log.ts';
import {
  BUILTIN_SERVICE, CONTROL_SERVICE, Flag, Transportd, WebSocketUplink, createRegistry, encodePacket, type TransportClient,
} from '../../transport/index.ts';
import { buildPacket } from '../../transport/message.ts';
import { EVENT_SERVICE, suiteMessages } from '../suites/transport-nodes.ts';
import { byePacket } from './transport-attacks.ts';
import { OPCODE_BINARY, WsRelay, type RelayedConnection, type WsFrame } from './ws-relay.ts';

/**
 * Two transportds (nodes 0 and 1) on the WebSocket uplink, node 0 dialling
 * node 1 through an on-path relay that does not know the cluster secret.
 * Once the link is up the relay injects forged packets and replays a
 * recorded one in both directions. Nothing of it may be accepted: the event
 * services see exactly the events really sent, and neither transportd
 * changes its view of the other.
 */

const SECRET = Buffer.from('hostile suite ws secret 0123456789abcdef');
/** Numbers of forged events; real ones count from 1. */
const FORGED_UP = 999;
const FORGED_DOWN = 998;

interface WsNode {
  daemon: Transportd;
  events: number[];
  sender: TransportClient;
  eventsClient: TransportClient;
}

export interface WsRelayResult {
  /** Events node 1 received (only 1 and 2 were really sent, once each). */
  eventsAtB: number[];
  /** Events node 0 received (none were really sent). */
  eventsAtA: number[];
  /** States node 0 showed for node 1 while the attack ran. */
  aSawB: string[];
  injected: number;
  replayed: number;
  /** Relayed connections (a rejected injection may cost the link; it must come back). */
  links: number;
  /** After the attack: ping 0 -> 1 answered, and a new event delivered once. */
  pingAfter: boolean;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function startNode(node: number, host: string, port: number, peerOf: (n: number) => { host: string; port: number }): Promise<WsNode> {
  const uplink = new WebSocketUplink({
    node, listen: { host, port }, secret: SECRET, reconnectMaxMs: 300, logger: silentLogger('ws-uplink'),
    peers: [0, 1].filter((n) => n !== node).map((n) => ({ node: n, ...peerOf(n) })),
  });
  const daemon = new Transportd({ node, uplink, helloTimeoutMs: 1000, livenessIntervalMs: 1000, logger: silentLogger('transportd') });
  await daemon.start();
  const registry = createRegistry(suiteMessages);
  const events: number[] = [];
  const eventsClient = await daemon.connectClient({ service: EVENT_SERVICE, name: 'events', registry }, (c) =>
    c.subscribe('suite.event', (b: { n: number }) => events.push(b.n)));
  const sender = await daemon.connectClient({ name: 'sender', registry });
  return { daemon, events, sender, eventsClient };
}

async function stopNode(n: WsNode | undefined): Promise<void> {
  if (!n) return;
  await n.sender.close().catch(() => undefined);
  await n.eventsClient.close().catch(() => undefined);
  await n.daemon.stop();
}

/**
 * `a`, `b`: the two node addresses; `relay`: the relay's address (all on
 * loopback, one port). Node 0 is told node 1 lives at the relay.
 */
export async function wsRelayAttack(opts: { a: string; b: string; relay: string; port: number }): Promise<WsRelayResult> {
  const relay = new WsRelay({ host: opts.relay, port: opts.port }, { host: opts.b, port: opts.port, localAddress: opts.a });
  let A: WsNode | undefined;
  let B: WsNode | undefined;
  await relay.start();
  try {
    B = await startNode(1, opts.b, opts.port, () => ({ host: opts.a, port: opts.port }));
    A = await startNode(0, opts.a, opts.port, () => ({ host: opts.relay, port: opts.port }));
    const state = (on: WsNode, of: number) => on.daemon.status().nodes.find((n) => n.node === of)?.state;
    await until(() => state(A!, 1) === 'transport' && state(B!, 0) === 'transport', 10_000, 'nodes 0 and 1 to see each other via the relay');
    const conn = relay.current();
    if (!conn) throw new Error('no authenticated link through the relay');

    const aSawB = new Set<string>();
    const watch = setInterval(() => aSawB.add(state(A!, 1) ?? 'none'), 10);
    try {
      // A real event, recorded by the relay on its way up.
      A.sender.send({ node: 1, service: EVENT_SERVICE }, 'suite.event', { n: 1 });
      await until(() => B!.events.includes(1), 5000, 'event 1 at node 1');
      const recorded = conn.frames.up.find((f) => f.opcode === OPCODE_BINARY && f.payload.includes('suite.event'));
      if (!recorded) throw new Error('the relay did not see the event frame');

      const { injected, replayed } = attack(conn, recorded, B.daemon.status().nodes.find((n) => n.node === 1)?.bootId ?? 'unknown');
      await sleep(1000);

      // Afterwards: the link (the same or a new one through the relay) carries real traffic again.
      await until(() => state(A!, 1) === 'transport', 10_000, 'node 0 to see node 1 again');
      const pingAfter = await A.sender.request({ node: 1, service: BUILTIN_SERVICE }, 'transport.ping', {}, { timeoutMs: 5000 })
        .then(() => true, () => false);
      A.sender.send({ node: 1, service: EVENT_SERVICE }, 'suite.event', { n: 2 });
      await until(() => B!.events.includes(2), 5000, 'event 2 at node 1').catch(() => undefined);
      await sleep(200);
      return {
        eventsAtB: [...B.events], eventsAtA: [...A.events], aSawB: [...aSawB], injected, replayed,
        links: relay.connections.length, pingAfter,
      };
    } finally {
      clearInterval(watch);
    }
  } finally {
    await stopNode(A);
    await stopNode(B);
    await relay.stop();
  }
}

/** The forged and replayed frames, both directions. */
function attack(conn: RelayedConnection, recorded: WsFrame, bootIdOfB: string): { injected: number; replayed: number } {
  const up = encodePacket(buildPacket({
    src: { node: 0, service: EVENT_SERVICE }, dest: { node: 1, service: EVENT_SERVICE }, type: 'suite.event', version: 1,
    body: { n: FORGED_UP }, requestId: 0, flags: Flag.NOREPLY,
  }));
  const down = encodePacket(buildPacket({
    src: { node: 1, service: EVENT_SERVICE }, dest: { node: 0, service: EVENT_SERVICE }, type: 'suite.event', version: 1,
    body: { n: FORGED_DOWN }, requestId: 0, flags: Flag.NOREPLY,
  }));
  const bye = encodePacket(byePacket(1, bootIdOfB, { node: 1, service: CONTROL_SERVICE }, { node: 0, service: CONTROL_SERVICE }));
  let injected = 0;
  let replayed = 0;
  for (let i = 0; i < 3; i++) {
    conn.replay('up', recorded);
    replayed++;
    conn.inject('up', OPCODE_BINARY, up);
    conn.inject('down', OPCODE_BINARY, down);
    injected += 2;
  }
  conn.inject('down', OPCODE_BINARY, bye);
  injected++;
  return { injected, replayed };
}

export { FORGED_DOWN, FORGED_UP };
