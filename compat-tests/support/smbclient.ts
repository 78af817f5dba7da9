import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Debian's smbclient run from inside a network namespace (the netns
 * cluster's client), one process per command string, as a user would.
 * `nsenter --net` rather than `ip netns exec`: no mount namespace and no
 * /sys remount per call, which matters at several calls a second.
 */

export interface SmbclientTarget {
  /** Network namespace to run in (a name under /run/netns). */
  namespace: string;
  address: string;
  share: string;
  /** smb.conf for the client (clientConf() writes one). */
  confFile: string;
  port?: number;
}

export interface SmbclientResult {
  ok: boolean;
  exitCode: number | null;
  /** stdout and stderr together: smbclient prints NT_STATUS errors on either. */
  output: string;
  ms: number;
}

/**
 * A client smb.conf whose state stays in `dir` (nothing under the host's
 * /var/lib/samba or /var/cache/samba) and that speaks SMB2 or newer.
 */
export async function clientConf(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'smbclient.conf');
  await writeFile(file, [
    '[global]',
    '\tclient min protocol = SMB2_02',
    `\tlock directory = ${dir}`,
    `\tstate directory = ${dir}`,
    `\tcache directory = ${dir}`,
    `\tprivate dir = ${dir}`,
    `\tncalrpc dir = ${dir}`,
    '\tlog level = 0',
    '',
  ].join('\n'));
  return file;
}

/** `smbclient -N //address/share -c COMMANDS`; ok when it exits 0 and printed no NT_STATUS error. */
export function smbclient(target: SmbclientTarget, commands: string, timeoutMs: number): Promise<SmbclientResult> {
  const started = Date.now();
  const args = [
    `--net=/run/netns/${target.namespace}`, '--', 'smbclient', '-N', '-s', target.confFile,
    '-p', String(target.port ?? 445), `//${target.address}/${target.share}`, '-c', commands,
  ];
  return new Promise((resolve) => {
    execFile('nsenter', args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
      const exitCode = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      const output = `${stdout}${stderr}${e?.killed ? `\n(killed after ${timeoutMs} ms)` : ''}`;
      resolve({ ok: exitCode === 0 && !/NT_STATUS_\w+/.test(output), exitCode, output, ms: Date.now() - started });
    });
  });
}
