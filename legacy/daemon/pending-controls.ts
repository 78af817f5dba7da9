import type { ClientConn } from './client-face.ts';
import type { ControlReply } from './daemon.ts';

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

/** Request id 0 is never allocated (ctdbd's id pool starts at 1). */
const PLACEHOLDER_ID = 0;
const PLACEHOLDER: PendingControl = { destnode: -1, deadline: Infinity };

/**
 * Controls awaiting a reply from another node, by the request id we sent.
 * A Map that never runs empty: V8 reallocates a Map's table whenever a
 * delete leaves it nearly empty, which with one control in flight (the
 * usual case) happened on every reply. A placeholder under id 0 keeps it.
 */
export class PendingControls {
  private readonly byReqid = new Map<number, PendingControl>([[PLACEHOLDER_ID, PLACEHOLDER]]);

  add(reqid: number, p: PendingControl): void {
    this.byReqid.set(reqid, p);
  }

  has(reqid: number): boolean {
    return reqid !== PLACEHOLDER_ID && this.byReqid.has(reqid);
  }

  /** Removes and returns the control waiting under `reqid`, if any. */
  take(reqid: number): PendingControl | undefined {
    if (reqid === PLACEHOLDER_ID) return undefined;
    const p = this.byReqid.get(reqid);
    if (p) this.byReqid.delete(reqid);
    return p;
  }

  /** Removes and returns every waiting control that `match` selects. */
  takeWhere(match: (p: PendingControl) => boolean): PendingControl[] {
    const taken: PendingControl[] = [];
    for (const [reqid, p] of this.byReqid) {
      if (reqid === PLACEHOLDER_ID || !match(p)) continue;
      this.byReqid.delete(reqid);
      taken.push(p);
    }
    return taken;
  }

  get size(): number {
    return this.byReqid.size - 1;
  }
}
