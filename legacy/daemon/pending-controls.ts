import type { ClientConn } from './client-face.ts';
import type { ControlReply } from './daemon.ts';
import { RequestMap } from '../common/request-map.ts';

/** What a control sent to another node awaits: where its reply goes. */
export interface PendingControl {
  destnode: number;
  deadline: number;
  /** Forwarded for a unix client: answer goes back to it with its reqid. */
  client?: ClientConn;
  clientReqid?: number;
  /** Issued by the daemon itself. */
  resolve?: (r: ControlReply) => void;
}

/** Controls awaiting a reply from another node, by the request id we sent (a RequestMap: one in flight is the usual case). */
export class PendingControls {
  private readonly byReqid = new RequestMap<number, PendingControl>();

  add(reqid: number, p: PendingControl): void {
    this.byReqid.set(reqid, p);
  }

  has(reqid: number): boolean {
    return this.byReqid.has(reqid);
  }

  /** Removes and returns the control waiting under `reqid`, if any. */
  take(reqid: number): PendingControl | undefined {
    const p = this.byReqid.get(reqid);
    if (p) this.byReqid.delete(reqid);
    return p;
  }

  /** Removes and returns every waiting control that `match` selects. */
  takeWhere(match: (p: PendingControl) => boolean): PendingControl[] {
    const taken: PendingControl[] = [];
    for (const [reqid, p] of this.byReqid) {
      if (!match(p)) continue;
      this.byReqid.delete(reqid);
      taken.push(p);
    }
    return taken;
  }

  get size(): number {
    return this.byReqid.size;
  }
}
