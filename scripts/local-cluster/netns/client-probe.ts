import { createConnection } from 'node:net';
import { NetnsProbeError } from './errors.ts';

/** Asks the client agent (helper-scripts.ts) to open a TCP connection from inside the client namespace. */

export interface ProbeResult {
  /** What the server sent before closing (a responder: "node <pnn>\n"). */
  answer?: string;
  /** Why there was no answer: ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, ... */
  error?: string;
}

export function probeTcp(agentSocket: string, ip: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const c = createConnection(agentSocket);
    let buf = '';
    // The agent answers within timeoutMs; allow it a margin of its own.
    const timer = setTimeout(() => fail('the agent did not answer'), timeoutMs + 2_000);
    function fail(reason: string): void {
      clearTimeout(timer);
      c.destroy();
      reject(new NetnsProbeError(`${ip}:${port}: ${reason}`));
    }
    c.setEncoding('utf8');
    c.on('connect', () => c.write(JSON.stringify({ ip, port, timeoutMs }) + '\n'));
    c.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      c.end();
      try {
        resolve(JSON.parse(buf.slice(0, i)) as ProbeResult);
      } catch {
        reject(new NetnsProbeError(`${ip}:${port}: unreadable reply ${JSON.stringify(buf.slice(0, i))}`));
      }
    });
    c.on('error', (err) => fail(`agent socket ${agentSocket}: ${err.message}`));
  });
}

/** The PNN in a responder's answer, undefined for anything else. */
export function responderPnn(result: ProbeResult): number | undefined {
  const m = /^node (\d+)\n?$/.exec(result.answer ?? '');
  return m ? Number(m[1]) : undefined;
}
