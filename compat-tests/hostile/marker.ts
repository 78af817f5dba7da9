import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Node } from '../../legacy/protocol/constants.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import { LegacyWire, messagePacket } from './legacy-wire.ts';

/**
 * The marker test's traffic: while an attack runs, one client sends
 * messages carrying MARKER through the attacked daemon to another client
 * that registered for them. Nobody else is ever sent those bytes, so the
 * marker in any other client's replies means the daemon handed out memory
 * that was not theirs (LegacyWire counts it when given MARKER_NEEDLE).
 */

export const MARKER = 'SECRETMARKER';
export const MARKER_NEEDLE = Buffer.from(MARKER);

/** SRVID the marker listener registers (inside the test range, 0xAE...). */
const MARKER_SRVID = 0xae00_0000_5ec2_e700n;

export interface MarkerTraffic {
  /** Stops sending; returns how many marker messages went out. */
  stop(): Promise<number>;
}

/**
 * `burst` messages every `everyMs`, of assorted exact (unpadded) lengths up
 * to ~3 KB: the daemon copies such packets into buffers of its own. With
 * `otherPnn`, every fourth is also sent to that node (other copy paths).
 */
export async function startMarkerTraffic(socketPath: string, opts: { burst?: number; everyMs?: number; otherPnn?: number } = {}): Promise<MarkerTraffic> {
  const listener = await LegacyWire.open(socketPath, { backlog: 0 });
  const sender = await LegacyWire.open(socketPath, { backlog: 0 });
  await listener.control(Control.REGISTER_SRVID, { srvid: MARKER_SRVID, timeoutMs: 5000 });
  let running = true;
  let sent = 0;
  const loop = (async () => {
    while (running && !sender.closed) {
      for (let k = 0; k < (opts.burst ?? 20); k++, sent++) {
        const body = Buffer.alloc(61 + ((sent * 397) % 3000), `${MARKER}-${sent}-${randomBytes(4).toString('hex')}-`);
        sender.write(messagePacket(Node.CURRENT, MARKER_SRVID, body, false));
        if (opts.otherPnn !== undefined && k % 4 === 0) sender.write(messagePacket(opts.otherPnn, MARKER_SRVID, body, false));
      }
      await sleep(opts.everyMs ?? 2);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all([listener.close(), sender.close()]);
      return sent;
    },
  };
}
