import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { smbclient, type SmbclientTarget } from '../support/smbclient.ts';

/**
 * A continuous file workload through smbclient against every public
 * address of a clustered Samba (one worker per address, one smbclient
 * process per operation), as file clients would keep a site busy while it
 * is upgraded. Each round on an address: create+write a file of known
 * random content (put), read it back and compare the bytes (get), rename
 * it, list it under its new name only (ls), and delete it on even rounds;
 * files of odd rounds stay, with their hash, for verify() at the end.
 * An operation that fails is retried until it succeeds or `giveUpMs`
 * passes; every operation is recorded as ok (first attempt), retried (with
 * how long the client waited) or failed.
 */

export type SmbOpKind = 'put' | 'get' | 'rename' | 'ls' | 'del';

export interface SmbOpRecord {
  address: string;
  op: SmbOpKind;
  file: string;
  startedAt: number;
  endedAt: number;
  attempts: number;
  outcome: 'ok' | 'retried' | 'failed';
  /** Retried: from the end of the first failed attempt to the end of the one that succeeded. */
  retryMs?: number;
  /** The first line or two of each failed attempt. */
  errors: string[];
}

export interface SmbWorkloadOptions {
  addresses: readonly string[];
  target: (address: string) => SmbclientTarget;
  /** Local files (what is put, what is got). */
  workDir: string;
  /** The share's directory on this host, for the on-disk check. */
  shareDir: string;
  /** Limit of one smbclient run. */
  opTimeoutMs?: number;
  /** An operation still failing this long after its first attempt counts as failed. */
  giveUpMs?: number;
  /** Pause between operations of one worker (the machine is shared). */
  pauseMs?: number;
}

export interface SmbOpSummary {
  ops: number;
  ok: number;
  retried: number;
  failed: number;
  /** Longest wait of a retried operation, 0 without retries. */
  maxRetryMs: number;
  /** Addresses with a retried or failed operation. */
  addresses: string[];
}

export interface SmbVerifyResult {
  /** Files kept: read back through smbclient and on disk, each compared with its hash. */
  checked: number;
  mismatched: string[];
  /** In the share but never kept (a leftover temporary or a deleted file), or kept but absent. */
  unexpected: string[];
  missing: string[];
}

type Attempt = () => Promise<string | null>;

export class SmbWorkload {
  readonly records: SmbOpRecord[] = [];
  private readonly kept = new Map<string, string>();
  private stopping = false;
  private workers: Promise<void>[] = [];
  /** Start time of each operation still running (by address). */
  private readonly running = new Map<string, number>();

  constructor(private readonly opts: SmbWorkloadOptions) {}

  start(): void {
    this.stopping = false;
    this.workers = this.opts.addresses.map((address, i) => this.worker(address, i));
  }

  /** Lets every worker finish its round (so no round is left half done), then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  /** Operations started in [from, to). */
  between(from: number, to = Infinity): SmbOpRecord[] {
    return this.records.filter((r) => r.startedAt >= from && r.startedAt < to);
  }

  /** Resolves once no operation that started before `t` is still running (so between(.., t) is complete). */
  async recordedUntil(t: number): Promise<void> {
    while ([...this.running.values()].some((started) => started < t)) await sleep(50);
  }

  /** Every kept file read back through `address` and on disk, and the share's listing against what was kept. */
  async verify(address: string): Promise<SmbVerifyResult> {
    const out: SmbVerifyResult = { checked: 0, mismatched: [], unexpected: [], missing: [] };
    // One smbclient per batch of files (a get each): a process per file would take a second per ten files.
    const files = [...this.kept];
    for (let i = 0; i < files.length; i += 40) {
      const batch = files.slice(i, i + 40);
      const local = (n: number) => join(this.opts.workDir, `verify-${i + n}.tmp`);
      const r = await smbclient(this.opts.target(address), batch.map(([file], n) => `get ${file} ${local(n)}`).join('; '), this.opts.opTimeoutMs ?? 10_000);
      for (const [n, [file, hash]] of batch.entries()) {
        out.checked++;
        const disk = await readFile(join(this.opts.shareDir, file)).then(sha256, () => 'absent');
        const got = await readFile(local(n)).then(sha256, () => `not got (${firstLines(r.output)})`);
        if (disk !== hash || got !== hash) out.mismatched.push(`${file}: kept ${hash}, on disk ${disk}, through ${address} ${got}`);
        await rm(local(n), { force: true });
      }
    }
    const listing = await smbclient(this.opts.target(address), 'ls w-*', this.opts.opTimeoutMs ?? 10_000);
    const listed = new Set([...listedNames(listing.output)].filter((f) => f.startsWith('w-')));
    out.unexpected = [...listed].filter((f) => !this.kept.has(f)).sort();
    out.missing = [...this.kept.keys()].filter((f) => !listed.has(f)).sort();
    return out;
  }

  get keptFiles(): number {
    return this.kept.size;
  }

  private async worker(address: string, index: number): Promise<void> {
    const dir = join(this.opts.workDir, `a${index}`);
    await mkdir(dir, { recursive: true });
    for (let round = 0; !this.stopping; round++) await this.round(address, dir, `w-a${index}-r${round}`, round % 2 === 1);
    await rm(dir, { recursive: true, force: true });
  }

  private async round(address: string, dir: string, base: string, keep: boolean): Promise<void> {
    const content = randomBytes(randomInt(1, 64 * 1024));
    const hash = sha256(content);
    const src = join(dir, `${base}.src`);
    const back = join(dir, `${base}.back`);
    await writeFile(src, content);
    const tmp = `${base}.tmp`;
    const final = `${base}.dat`;
    const run = (commands: string) => smbclient(this.opts.target(address), commands, this.opts.opTimeoutMs ?? 10_000);

    await this.op(address, 'put', tmp, async () => {
      const r = await run(`put ${src} ${tmp}`);
      return r.ok ? null : r.output;
    });
    await this.op(address, 'get', tmp, async () => {
      await rm(back, { force: true });
      const r = await run(`get ${tmp} ${back}`);
      if (!r.ok) return r.output;
      const got = sha256(await readFile(back));
      return got === hash ? null : `read back ${got}, wrote ${hash}`;
    });
    let renamedOnce = false;
    await this.op(address, 'rename', final, async () => {
      const r = await run(`rename ${tmp} ${final}`);
      if (r.ok) return null;
      // A retry after an attempt whose answer was lost: the rename may have happened already.
      if (renamedOnce || /NT_STATUS_OBJECT_NAME_NOT_FOUND/.test(r.output)) {
        const names = listedNames((await run(`ls ${base}.*`)).output);
        if (names.has(final) && !names.has(tmp)) return null;
      }
      renamedOnce = true;
      return r.output;
    });
    await this.op(address, 'ls', final, async () => {
      const r = await run(`ls ${base}.*`);
      if (!r.ok) return r.output;
      const names = listedNames(r.output);
      return names.has(final) && !names.has(tmp) ? null : `ls ${base}.* shows ${[...names].join(', ') || 'nothing'}`;
    });
    if (keep) {
      this.kept.set(final, hash);
    } else {
      let tried = false;
      await this.op(address, 'del', final, async () => {
        const r = await run(`del ${final}`);
        if (r.ok || (tried && /NT_STATUS_(OBJECT_NAME_NOT_FOUND|NO_SUCH_FILE)/.test(r.output))) return null;
        tried = true;
        return r.output;
      });
    }
    await rm(src, { force: true });
    await rm(back, { force: true });
  }

  private async op(address: string, op: SmbOpKind, file: string, attempt: Attempt): Promise<void> {
    const giveUpMs = this.opts.giveUpMs ?? 20_000;
    const startedAt = Date.now();
    this.running.set(address, startedAt);
    const errors: string[] = [];
    let firstFailedAt: number | undefined;
    for (let attempts = 1; ; attempts++) {
      const error = await attempt().catch((err: Error) => err.message);
      const now = Date.now();
      if (error === null) {
        this.records.push({
          address, op, file, startedAt, endedAt: now, attempts, errors,
          ...(attempts === 1 ? { outcome: 'ok' } : { outcome: 'retried', retryMs: now - firstFailedAt! }),
        });
        break;
      }
      firstFailedAt ??= now;
      errors.push(`+${now - startedAt} ms: ${firstLines(error)}`);
      if (now - startedAt >= giveUpMs) {
        this.records.push({ address, op, file, startedAt, endedAt: now, attempts, outcome: 'failed', errors });
        break;
      }
      await sleep(100);
    }
    this.running.delete(address);
    await sleep(this.opts.pauseMs ?? 100);
  }
}

export function summarise(records: readonly SmbOpRecord[]): SmbOpSummary {
  const retried = records.filter((r) => r.outcome === 'retried');
  const failed = records.filter((r) => r.outcome === 'failed');
  return {
    ops: records.length,
    ok: records.filter((r) => r.outcome === 'ok').length,
    retried: retried.length,
    failed: failed.length,
    maxRetryMs: Math.max(0, ...retried.map((r) => r.retryMs ?? 0)),
    addresses: [...new Set([...retried, ...failed].map((r) => r.address))].sort(),
  };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function firstLines(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 2).join(' | ');
}

/** File names in smbclient's `ls` output ("  name   A   1234  Sat Dec  5 ..."). */
export function listedNames(output: string): Set<string> {
  return new Set([...output.matchAll(/^\s+(\S+)\s+[A-Z]*\s+\d+\s+\w{3} /gm)].map((m) => m[1]));
}
