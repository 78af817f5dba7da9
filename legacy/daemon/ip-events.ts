import type { HostedAddress } from './public-ips.ts';

/**
 * What a node does on the host when an address comes or goes: ctdbd runs its
 * event scripts (`takeip IFACE ADDR BITS`, `releaseip IFACE ADDR BITS`,
 * `updateip OLDIFACE NEWIFACE ADDR BITS`, `ipreallocated`) and answers the
 * control once they finished; a failure fails the control. After a takeip it
 * announces the address and sends a tickle ACK to every client connection it
 * knows for the address (`connections`). The embedded daemon hands the same
 * events to a runner (failoverd's native executor adds the address,
 * announces it, tickles, runs the operator's legacy scripts); without one it
 * only keeps the record, as ctdbd in test mode does.
 */

/** One end of a TCP connection. */
export interface Endpoint {
  address: string;
  port: number;
}

/** A connection to a public address: `client` gets a tickle ACK that seems to come from `server` (the public address). */
export interface TickleConnection {
  client: Endpoint;
  server: Endpoint;
}

export type IpEvent =
  | ({ event: 'takeip'; connections?: TickleConnection[] } & HostedAddress)
  | ({ event: 'releaseip' } & HostedAddress)
  /** The address moves from `oldIface` to `iface` on this node (the old one's link went down). */
  | ({ event: 'updateip'; oldIface: string; connections?: TickleConnection[] } & HostedAddress)
  | { event: 'ipreallocated' };

export interface IpEventRunner {
  /** Resolves once the event is done on this host; rejects when it failed. */
  run(e: IpEvent): Promise<void>;
}

/** ctdbd's event script arguments for an event (`takeip eth0 10.0.0.1 24`). */
export function eventArgs(e: IpEvent): string[] {
  switch (e.event) {
    case 'ipreallocated': return [e.event];
    case 'updateip': return [e.event, e.oldIface, e.iface, e.address, String(e.prefixLength)];
    default: return [e.event, e.iface, e.address, String(e.prefixLength)];
  }
}
