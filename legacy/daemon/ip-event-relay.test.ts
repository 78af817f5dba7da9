import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../common/log.ts';
import { LOG_BURST } from '../common/log-limiter.ts';
import { Control } from '../protocol/controls.ts';
import { BridgeSrvid } from '../protocol/srvid.ts';
import { publicIpDef } from '../protocol/types/public-ip.ts';
import { IpEventError, IpEventRelay, type RelayHost } from './ip-event-relay.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

function fakeHost(listening: boolean) {
  const sent: Array<{ dest: number; srvid: bigint; json: Record<string, unknown> }> = [];
  let answer: ((data: Buffer) => void) | undefined;
  const host: RelayHost = {
    pnn: 3,
    log: silentLogger('test'),
    hasListener: () => listening,
    sendMessage: (dest, srvid, data) => sent.push({ dest, srvid, json: JSON.parse(data.toString()) }),
    onMessage: (_srvid, handle) => { answer = handle; },
  };
  return { host, sent, answer: (v: unknown) => answer!(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))) };
}

const takeip = { event: 'takeip', iface: 'eth0', address: '10.0.0.1', prefixLength: 24 } as const;

describe('IpEventRelay', () => {
  it('without an executor on this node the event is done at once (record only)', async () => {
    const h = fakeHost(false);
    await new IpEventRelay(h.host).run(takeip);
    expect(h.sent).toEqual([]);
  });

  it('hands the event to the executor on this node and resolves on its answer', async () => {
    const h = fakeHost(true);
    const relay = new IpEventRelay(h.host);
    const done = relay.run(takeip);
    expect(h.sent).toEqual([{ dest: 3, srvid: BridgeSrvid.IP_EVENT, json: { id: 1, ...takeip } }]);
    h.answer('not json');
    h.answer({ id: 99, ok: true });
    h.answer({ id: 1, ok: true });
    await expect(done).resolves.toBeUndefined();
  });

  it('a flood of stray answers is logged LOG_BURST times per window, not once each', async () => {
    const h = fakeHost(true);
    const warn = vi.spyOn(h.host.log, 'warn');
    const relay = new IpEventRelay(h.host);
    for (let i = 0; i < 500; i++) h.answer({ id: 1000 + i, ok: true });
    h.answer('not json');
    expect(warn).toHaveBeenCalledTimes(LOG_BURST);
    // A real answer still goes through.
    const done = relay.run(takeip);
    h.answer({ id: 1, ok: true });
    await expect(done).resolves.toBeUndefined();
  });

  it('a failed answer or no answer in time fails the event with a typed error', async () => {
    vi.useFakeTimers();
    try {
      const h = fakeHost(true);
      const relay = new IpEventRelay(h.host, 1000);
      const failed = relay.run(takeip);
      h.answer({ id: 1, ok: false, error: 'ip: RTNETLINK answers: File exists' });
      await expect(failed).rejects.toThrow(/File exists/);
      const silent = relay.run({ event: 'ipreallocated' });
      const check = expect(silent).rejects.toBeInstanceOf(IpEventError);
      vi.advanceTimersByTime(1000);
      await check;
      const stopped = relay.run({ event: 'ipreallocated' });
      relay.stop();
      await expect(stopped).rejects.toThrow(/stopping/);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('embedded daemon: a local executor on BridgeSrvid.IP_EVENT runs the events', () => {
  let cluster: TestCluster;
  let executor: RawClient;
  let admin: RawClient;
  beforeAll(async () => {
    cluster = await TestCluster.create({ nodes: 1, publicAddresses: '10.78.1.1/24 lo\n' });
    const d = await cluster.startNode(0);
    await vi.waitFor(() => expect(d.state.runState).toBe(5), { timeout: 10_000 });
    executor = await RawClient.open(cluster.socketPath(0));
    admin = await RawClient.open(cluster.socketPath(0));
    expect((await executor.control(Control.REGISTER_SRVID, { srvid: BridgeSrvid.IP_EVENT })).status).toBe(0);
  });
  afterAll(async () => {
    await executor?.close();
    await admin?.close();
    await cluster?.destroy();
  });

  it('TAKEOVER_IP is answered only after the executor reports the event done; its failure fails the control', async () => {
    const data = publicIpDef.encode({ pnn: 0, addr: { family: 'inet', address: '10.78.1.1', port: 0 } });
    const event = executor.nextMessage(BridgeSrvid.IP_EVENT, 2000);
    const reply = admin.control(Control.TAKEOVER_IP, { data });
    const request = JSON.parse((await event).data.toString());
    expect(request).toMatchObject({ event: 'takeip', iface: 'lo', address: '10.78.1.1', prefixLength: 24 });
    executor.message(0, BridgeSrvid.IP_EVENT_DONE, Buffer.from(JSON.stringify({ id: request.id, ok: false, error: 'no' })));
    expect((await reply).status).toBe(-1);

    const again = executor.nextMessage(BridgeSrvid.IP_EVENT, 2000);
    const reply2 = admin.control(Control.TAKEOVER_IP, { data });
    const request2 = JSON.parse((await again).data.toString());
    executor.message(0, BridgeSrvid.IP_EVENT_DONE, Buffer.from(JSON.stringify({ id: request2.id, ok: true })));
    expect((await reply2).status).toBe(0);
  });
});
