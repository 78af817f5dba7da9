// Takeover-run requests from ctdb's CLI (`ctdb ipreallocate`, and the end of
// `ctdb disable`, `enable`, `moveip`, ...): the CLI broadcasts
// CTDB_SRVID_TAKEOVER_RUN carrying {pnn, srvid} to every connected node and
// waits, re-sending every timeout, for one int32 on its srvid. In ctdbd only
// the recovery master's recovery daemon answers, after a takeover run; while
// failoverd holds ctdbd's runs off it never does and the CLI would wait
// forever. failoverd's deciding node answers instead: it keeps the requests
// pending, runs its own takeover run, then replies the way ctdbd's
// process_ipreallocate_requests does (its PNN on success, -1 on failure).
// Requests arriving during a run wait for the next one (they may follow a
// flag change the running one did not see).

import type { LegacyMessage } from '../../legacy/client/events.ts';
import { decodeMessagePayload, encodeMessagePayload } from '../../legacy/protocol/message-payloads.ts';
import { Srvid } from '../../legacy/protocol/srvid.ts';

export interface RequestLink {
  registerSrvid(srvid: bigint, handler: (m: LegacyMessage) => void): Promise<{ close(): Promise<void> }>;
  sendMessage(destnode: number, srvid: bigint, data: Buffer): void;
}

export interface TakeoverRunRequest {
  pnn: number;
  srvid: bigint;
}

export class TakeoverRunRequests {
  private pending: TakeoverRunRequest[] = [];
  private registeredOn: object | undefined;
  private registering: Promise<unknown> | undefined;
  /** Runs for every request (failoverd schedules a check). */
  onRequest: (r: TakeoverRunRequest) => void = () => undefined;
  /** Runs for a message that is not a ctdb_srvid_message. */
  onBadMessage: (bytes: number) => void = () => undefined;

  constructor(private readonly link: RequestLink) {}

  /** Listens on the local ctdbd once per connection `on` (a reconnect loses the registration). */
  listen(on: object): Promise<unknown> {
    if (this.registeredOn === on && this.registering) return this.registering;
    this.registeredOn = on;
    this.registering = this.link.registerSrvid(Srvid.TAKEOVER_RUN, (m) => this.onMessage(m)).catch((err) => {
      this.registeredOn = undefined;
      this.registering = undefined;
      throw err;
    });
    return this.registering;
  }

  get count(): number {
    return this.pending.length;
  }

  /** The requests a run starting now answers; later ones stay for the next run. */
  take(): TakeoverRunRequest[] {
    return this.pending.splice(0);
  }

  /** Requests a deferred run did not answer: first in line again. */
  putBack(requests: readonly TakeoverRunRequest[]): void {
    this.pending.unshift(...requests);
  }

  /** Answers `requests`: the answering node's PNN on success, -1 on failure (ctdbd's reply). */
  reply(requests: readonly TakeoverRunRequest[], result: number): void {
    const data = encodeMessagePayload(Srvid.TAKEOVER_RUN, { result }, 'result');
    for (const r of requests) {
      // srvid 0: the sender wants no reply (ctdbd's srvid_request_reply).
      if (r.srvid !== 0n) this.link.sendMessage(r.pnn, r.srvid, data);
    }
  }

  /** Drops every pending request unanswered (this node does not decide; the deciding one answers). */
  drop(): number {
    return this.pending.splice(0).length;
  }

  private onMessage(m: LegacyMessage): void {
    let r: { pnn: number; srvid: bigint };
    try {
      r = decodeMessagePayload(Srvid.TAKEOVER_RUN, m.data, 'srvidMessage') as { pnn: number; srvid: bigint };
    } catch {
      this.onBadMessage(m.data.length);
      return;
    }
    const request = { pnn: r.pnn, srvid: BigInt(r.srvid) };
    this.pending.push(request);
    this.onRequest(request);
  }
}
