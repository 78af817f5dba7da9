import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Control } from '../protocol/controls.ts';
import { ControlFlag } from '../protocol/constants.ts';
import { decodeControlReply } from '../protocol/control-payloads.ts';
import { Srvid } from '../protocol/srvid.ts';
import { connectionDef, publicIpDef } from '../protocol/types/public-ip.ts';
import type { RawClient } from './testing/raw-client.ts';
import { startIpEventNode, type IpEventNode } from './testing/ip-event-node.ts';

/**
 * The public IP controls of one embedded node, driven as a takeover run
 * drives ctdbd's: TAKEOVER_IP / RELEASE_IP / IPREALLOCATED run the events and
 * tell local clients (smbd's RELEASE_IP / TAKE_IP messages); GET_PUBLIC_IPS
 * reports what the node was told; TCP_CLIENT fails for a public address the
 * node does not host.
 */

let node: IpEventNode;
let c: RawClient;

const ip = (pnn: number, address: string) =>
  publicIpDef.encode({ pnn: pnn >>> 0, addr: { family: 'inet', address, port: 0 } });

async function publicIps(flags = 0): Promise<Array<{ pnn: number; address: string }>> {
  const r = await c.control(Control.GET_PUBLIC_IPS, { flags });
  expect(r.status).toBe(0);
  const list = decodeControlReply(Control.GET_PUBLIC_IPS, r.data) as { ips: Array<{ pnn: number; addr: { address: string } }> };
  return list.ips.map((i) => ({ pnn: i.pnn, address: i.addr.address }));
}

beforeAll(async () => {
  node = await startIpEventNode('10.77.1.1/24 lo\n10.77.1.2/24 lo\n');
  c = node.client;
  expect((await c.control(Control.REGISTER_SRVID, { srvid: Srvid.TAKE_IP })).status).toBe(0);
  expect((await c.control(Control.REGISTER_SRVID, { srvid: Srvid.RELEASE_IP })).status).toBe(0);
});

afterAll(async () => {
  await c?.close();
  await node?.cluster.destroy();
});

describe('embedded daemon: public IP controls', () => {
  it('nobody holds anything at first; both addresses are available', async () => {
    expect(await publicIps()).toEqual([{ pnn: 0xffffffff, address: '10.77.1.1' }, { pnn: 0xffffffff, address: '10.77.1.2' }]);
    expect(await publicIps(ControlFlag.PUBLIC_IP_ONLY_AVAILABLE)).toHaveLength(2);
  });

  it('a disabled node has no available address (ctdbd\'s rule: a takeover run sees it at once), enabled again both', async () => {
    expect((await c.control(Control.DISABLE_NODE)).status).toBe(0);
    expect(await publicIps(ControlFlag.PUBLIC_IP_ONLY_AVAILABLE)).toEqual([]);
    expect(await publicIps(), 'every address still known').toHaveLength(2);
    expect((await c.control(Control.ENABLE_NODE)).status).toBe(0);
    expect(await publicIps(ControlFlag.PUBLIC_IP_ONLY_AVAILABLE)).toHaveLength(2);
  });

  it('TAKEOVER_IP runs takeip, tells local clients on TAKE_IP, and the owner shows', async () => {
    const message = c.nextMessage(Srvid.TAKE_IP, 2000);
    const r = await c.control(Control.TAKEOVER_IP, { data: ip(0, '10.77.1.1') });
    expect(r.status).toBe(0);
    expect(node.events.at(-1)).toEqual({ event: 'takeip', iface: 'lo', address: '10.77.1.1', prefixLength: 24 });
    expect((await message).data.toString('latin1')).toBe('10.77.1.1\0');
    expect((await publicIps())[0]).toEqual({ pnn: 0, address: '10.77.1.1' });
    const again = node.events.length;
    expect((await c.control(Control.TAKEOVER_IP, { data: ip(0, '10.77.1.1') })).status).toBe(0);
    expect(node.events.length, 'a redundant takeover runs nothing').toBe(again);
  });

  it('TAKEOVER_IP for another node is refused; an unknown address is ignored', async () => {
    expect((await c.control(Control.TAKEOVER_IP, { data: ip(1, '10.77.1.2') })).status).toBe(-1);
    expect((await c.control(Control.TAKEOVER_IP, { data: ip(0, '10.99.0.1') })).status).toBe(0);
    expect((await c.control(Control.TAKEOVER_IP, { data: Buffer.alloc(7) })).status).toBe(-1);
  });

  it('TCP_CLIENT: fails for a public address this node does not host, succeeds for one it hosts', async () => {
    const conn = (dst: string) => connectionDef.encode({
      src: { family: 'inet', address: '10.77.1.254', port: 40000 }, dst: { family: 'inet', address: dst, port: 445 },
    });
    expect((await c.control(Control.TCP_CLIENT, { data: conn('10.77.1.2') })).status).toBe(-1);
    expect((await c.control(Control.TCP_CLIENT, { data: conn('10.77.1.1') })).status).toBe(0);
    expect((await c.control(Control.TCP_CLIENT, { data: conn('127.0.0.1') })).status).toBe(0);
  });

  it('RELEASE_IP runs releaseip, tells local clients on RELEASE_IP, and records the new owner', async () => {
    const message = c.nextMessage(Srvid.RELEASE_IP, 2000);
    expect((await c.control(Control.RELEASE_IP, { data: ip(1, '10.77.1.1') })).status).toBe(0);
    expect(node.events.at(-1)).toEqual({ event: 'releaseip', iface: 'lo', address: '10.77.1.1', prefixLength: 24 });
    expect((await message).data.toString('latin1')).toBe('10.77.1.1\0');
    expect((await publicIps())[0]).toEqual({ pnn: 1, address: '10.77.1.1' });
  });

  it('a failing takeip event fails the control and leaves the address unhosted', async () => {
    node.failNextEvent();
    expect((await c.control(Control.TAKEOVER_IP, { data: ip(0, '10.77.1.2') })).status).toBe(-1);
    expect((await publicIps())[1]!.pnn).toBe(0xffffffff);
  });

  it('IPREALLOCATED runs the ipreallocated event', async () => {
    expect((await c.control(Control.IPREALLOCATED)).status).toBe(0);
    expect(node.events.at(-1)).toEqual({ event: 'ipreallocated' });
  });

  it('shutdown releases what the node hosts, with its event', async () => {
    expect((await c.control(Control.TAKEOVER_IP, { data: ip(0, '10.77.1.2') })).status).toBe(0);
    await node.cluster.stopNode(0);
    expect(node.events.at(-1)).toEqual({ event: 'releaseip', iface: 'lo', address: '10.77.1.2', prefixLength: 24 });
  });
});
