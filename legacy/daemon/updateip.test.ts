import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Control } from '../protocol/controls.ts';
import { decodeControlReply } from '../protocol/control-payloads.ts';
import { connectionDef, ifaceDef, publicIpDef, type PublicIpInfo } from '../protocol/types/public-ip.ts';
import { sockAddrDef } from '../protocol/types/sock-addr.ts';
import { PublicIpTable } from './public-ips.ts';
import type { RawClient } from './testing/raw-client.ts';
import { startIpEventNode, type IpEventNode } from './testing/ip-event-node.ts';

/**
 * ctdbd's updateip: a TAKEOVER_IP for an address the node already hosts
 * moves it to another of its interfaces when the current one's link is down
 * (SET_IFACE_LINK_STATE, as 10.interface's monitor sets it) or carries 2+
 * more addresses than the best one; the event is `updateip OLD NEW ADDR BITS`
 * and carries the connections to tickle on the new interface.
 */

const v4 = (address: string, port: number) => ({ family: 'inet' as const, address, port });

describe('PublicIpTable: updateip', () => {
  const addr = (address: string) => ({ address, prefixLength: 24, interfaces: ['ethA', 'ethB'] });

  it('moves a hosted address off a link that went down; back on a failure; never for a link that is up and balanced', () => {
    const t = new PublicIpTable(0, [addr('10.79.1.1')]);
    expect(t.takeover(0, '10.79.1.1')).toEqual({ kind: 'take', hosted: { address: '10.79.1.1', prefixLength: 24, iface: 'ethA' } });
    expect(t.takeover(0, '10.79.1.1')).toEqual({ kind: 'redundant' });
    t.setLink('ethA', false);
    expect(t.takeover(0, '10.79.1.1')).toEqual({ kind: 'update', oldIface: 'ethA', hosted: { address: '10.79.1.1', prefixLength: 24, iface: 'ethB' } });
    expect(t.interfaces().map((i) => [i.name, i.references])).toEqual([['ethA', 0], ['ethB', 1]]);
    t.moveBack('10.79.1.1', 'ethA');
    expect(t.interfaces().map((i) => [i.name, i.references])).toEqual([['ethA', 1], ['ethB', 0]]);
    expect(t.hosted()[0]!.iface).toBe('ethA');
  });

  it('rebalances only when the best interface has two addresses fewer (ctdbd)', () => {
    const t = new PublicIpTable(0, [addr('10.79.1.1'), addr('10.79.1.2'), addr('10.79.1.3')]);
    t.setLink('ethB', false);
    for (const a of ['10.79.1.1', '10.79.1.2', '10.79.1.3']) t.takeover(0, a);
    t.setLink('ethB', true);
    // ethA carries 3, ethB 0: 3 > 0 + 1, one moves; then 2 vs 1: stays.
    expect(t.takeover(0, '10.79.1.1').kind).toBe('update');
    expect(t.takeover(0, '10.79.1.2').kind).toBe('redundant');
  });
});

describe('embedded daemon: SET_IFACE_LINK_STATE then TAKEOVER_IP runs updateip', () => {
  // The daemon takes only interfaces this host has (as ctdbd): lo and any other one.
  const other = readdirSync('/sys/class/net').filter((n) => n !== 'lo').sort()[0]!;
  let node: IpEventNode;
  let c: RawClient;
  const ip = (address: string) => publicIpDef.encode({ pnn: 0, addr: v4(address, 0) });
  const link = (name: string, up: boolean) => ifaceDef.encode({ name, linkState: up ? 1 : 0, references: 0 });
  async function activeIface(address: string): Promise<string | undefined> {
    const r = await c.control(Control.GET_PUBLIC_IP_INFO, { data: sockAddrDef.encode({ addr: v4(address, 0) }) });
    const info = decodeControlReply(Control.GET_PUBLIC_IP_INFO, r.data) as PublicIpInfo;
    return info.ifaces[info.activeIdx]?.name;
  }

  beforeAll(async () => {
    node = await startIpEventNode(`10.79.1.1/24 lo,${other}\n`);
    c = node.client;
  });

  afterAll(async () => {
    await c?.close();
    await node?.cluster.destroy();
  });

  it('the address moves to the other interface with updateip, carrying the connections; a failed updateip leaves it where it was', async () => {
    expect((await c.control(Control.TAKEOVER_IP, { data: ip('10.79.1.1') })).status).toBe(0);
    expect(await activeIface('10.79.1.1')).toBe('lo');
    const conn = { src: v4('10.9.0.1', 40000), dst: v4('10.79.1.1', 445) };
    expect((await c.control(Control.TCP_CLIENT, { data: connectionDef.encode(conn) })).status).toBe(0);

    expect((await c.control(Control.SET_IFACE_LINK_STATE, { data: link('lo', false) })).status).toBe(0);
    node.failNextEvent();
    expect((await c.control(Control.TAKEOVER_IP, { data: ip('10.79.1.1') })).status).toBe(-1);
    expect(await activeIface('10.79.1.1')).toBe('lo');

    node.events.length = 0;
    expect((await c.control(Control.TAKEOVER_IP, { data: ip('10.79.1.1') })).status).toBe(0);
    expect(node.events).toEqual([{
      event: 'updateip', oldIface: 'lo', iface: other, address: '10.79.1.1', prefixLength: 24,
      connections: [{ client: { address: '10.9.0.1', port: 40000 }, server: { address: '10.79.1.1', port: 445 } }],
    }]);
    expect(await activeIface('10.79.1.1')).toBe(other);
  });
});
