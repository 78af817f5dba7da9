import type { HostedAddress } from './public-ips.ts';

/**
 * What a node does on the host when an address comes or goes: ctdbd runs its
 * event scripts (`takeip IFACE ADDR BITS`, `releaseip IFACE ADDR BITS`,
 * `ipreallocated`) and answers the control once they finished; a failure
 * fails the control. The embedded daemon hands the same events to a runner
 * (failoverd's native executor adds the address, announces it, runs the
 * operator's legacy scripts); without one it only keeps the record, as
 * ctdbd in test mode does.
 */
export type IpEvent =
  | ({ event: 'takeip' } & HostedAddress)
  | ({ event: 'releaseip' } & HostedAddress)
  | { event: 'ipreallocated' };

export interface IpEventRunner {
  /** Resolves once the event is done on this host; rejects when it failed. */
  run(e: IpEvent): Promise<void>;
}

/** ctdbd's event script arguments for an event (`takeip eth0 10.0.0.1 24`). */
export function eventArgs(e: IpEvent): string[] {
  return e.event === 'ipreallocated' ? [e.event] : [e.event, e.iface, e.address, String(e.prefixLength)];
}
