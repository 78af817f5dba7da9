import type { Logger } from '../common/log.ts';
import { LimitedLog } from '../common/log-limiter.ts';
import { BridgeSrvid } from '../protocol/srvid.ts';
import type { IpEvent, IpEventRunner } from './ip-events.ts';

/**
 * The embedded daemon's default event runner: hands each public IP event to
 * the local client that executes them on this host (failoverd in native
 * mode, registered on BridgeSrvid.IP_EVENT) and waits for its answer on
 * BridgeSrvid.IP_EVENT_DONE, as ctdbd waits for its event scripts. Without
 * such a client the node keeps the record only (as ctdbd in test mode).
 *
 *   request (to IP_EVENT):     {"id":7,"event":"takeip","iface":"eth0","address":"10.0.0.1","prefixLength":24}
 *   answer  (to IP_EVENT_DONE): {"id":7,"ok":true} | {"id":7,"ok":false,"error":"..."}
 */

/** ctdbd's default event script timeout. */
export const IP_EVENT_TIMEOUT_MS = 30_000;

export class IpEventError extends Error {
  override name = 'IpEventError';
}

/** What the relay needs of the daemon. */
export interface RelayHost {
  readonly pnn: number;
  readonly log: Logger;
  /** Is some local client listening on this SRVID? */
  hasListener(srvid: bigint): boolean;
  sendMessage(destnode: number, srvid: bigint, data: Buffer): void;
  onMessage(srvid: bigint, handle: (data: Buffer) => void): void;
}

interface Waiting {
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class IpEventRelay implements IpEventRunner {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Any local client can send to IP_EVENT_DONE: its stray answers must not flood the log. */
  private readonly complaints: LimitedLog;

  constructor(private readonly host: RelayHost, private readonly timeoutMs = IP_EVENT_TIMEOUT_MS) {
    this.complaints = new LimitedLog(host.log);
    host.onMessage(BridgeSrvid.IP_EVENT_DONE, (data) => this.onAnswer(data));
  }

  run(e: IpEvent): Promise<void> {
    if (!this.host.hasListener(BridgeSrvid.IP_EVENT)) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new IpEventError(`${e.event} got no answer from the host executor within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.host.sendMessage(this.host.pnn, BridgeSrvid.IP_EVENT, Buffer.from(JSON.stringify({ id, ...e })));
    });
  }

  /** Fails what still waits (daemon stopping). */
  stop(): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new IpEventError('daemon stopping'));
      this.waiting.delete(id);
    }
  }

  private onAnswer(data: Buffer): void {
    const answer = parseAnswer(data);
    const w = answer && this.waiting.get(answer.id);
    if (!answer || !w) {
      this.complaints.warn('stray-answer', { bytes: data.length, answer }, 'ip event answer that nobody waits for: ignored');
      return;
    }
    this.waiting.delete(answer.id);
    clearTimeout(w.timer);
    if (answer.ok) w.resolve();
    else w.reject(new IpEventError(answer.error ?? 'the host executor failed the event'));
  }
}

function parseAnswer(data: Buffer): { id: number; ok: boolean; error?: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { id, ok, error } = v as Record<string, unknown>;
  if (!Number.isSafeInteger(id) || typeof ok !== 'boolean' || (error !== undefined && typeof error !== 'string')) return undefined;
  return { id: id as number, ok, error: error as string | undefined };
}
