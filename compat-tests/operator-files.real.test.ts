import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  inetNtop4, inetNtop6, inetPton4, inetPton6, loadCtdbConf, loadPublicAddresses, OperatorFileError, parseCtdbConf, parseNodesFile,
  type CtdbConfKey,
} from '../legacy/config/index.ts';
import { CTDB_CONF_GOLDENS, INET_GOLDENS, NODES_GOLDENS, PUBLIC_ADDRESSES_GOLDENS } from '../legacy/config/testing/goldens.ts';
import { address6, spell, spelling } from '../legacy/config/testing/ipv6-spellings.ts';
import { CTDB_PORT, DEFAULT_CTDB_PATH, DEFAULT_CTDBD_PATH } from '../scripts/local-cluster/index.ts';
import { reserveFreeAddresses, type AddressReservation } from '../scripts/local-cluster/addresses.ts';
import { isAlive, killAll, processesWithBase, readPidFile, waitForExit } from '../scripts/local-cluster/processes.ts';
import { runLegacyCommand } from '../scripts/cli/legacy/run.ts';
import { runProcess, testModeEnv } from './support/test-mode-process.ts';

/**
 * Our readers of nodes, public_addresses and ctdb.conf against Debian's own
 * tools, on the golden tables and on random input: `ctdb listnodes`,
 * `ctdb-config validate|get`, a test-mode ctdbd, and glibc's
 * inet_pton/inet_ntop (through python3). Fails when ctdb is not installed.
 */

const CTDB_CONFIG_PATH = '/usr/libexec/ctdb/ctdb-config';
const DIR_PREFIX = 'ctdb-bridge-opfiles-';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await killAll(processesWithBase(dir));
    await rm(dir, { recursive: true, force: true });
  }
});

describe('nodes file: our reader and `ctdb listnodes` agree', () => {
  for (const g of NODES_GOLDENS) {
    it(g.name, async () => {
      const dir = await freshDir();
      await writeFile(join(dir, 'nodes'), g.text);
      const real = await runProcess(DEFAULT_CTDB_PATH, ['-X', 'listnodes'], testModeEnv(dir));
      let ours: ReturnType<typeof parseNodesFile> | OperatorFileError;
      try { ours = parseNodesFile(g.text, join(dir, 'nodes')); } catch (e) { ours = e as OperatorFileError; }
      if (real.code === 0) {
        expect(ours).not.toBeInstanceOf(Error);
        const listed = (ours as ReturnType<typeof parseNodesFile>).nodes.filter((n) => !n.deleted).map((n) => `|${n.pnn}|${n.address}|\n`).join('');
        expect(listed).toBe(real.stdout);
      } else {
        expect(ours).toBeInstanceOf(OperatorFileError);
        expect(real.stderr.split('\n')[0]).toBe((ours as OperatorFileError).reason);
      }
      // The table itself says the same as ctdb.
      expect('nodes' in g).toBe(real.code === 0);
      // And our `ctdb listnodes` prints what ctdb prints.
      const plain = await runProcess(DEFAULT_CTDB_PATH, ['listnodes'], testModeEnv(dir));
      let stdout = '';
      let stderr = '';
      const code = await runLegacyCommand({
        command: 'listnodes', args: [], env: { CTDB_TEST_MODE: 'yes', CTDB_BASE: dir },
        stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; },
      });
      expect({ stdout, stderr, code }).toEqual({ stdout: plain.stdout, stderr: plain.stderr, code: plain.code });
    });
  }
});

describe('ctdb.conf: our strict reader and `ctdb-config validate` agree', () => {
  for (const g of CTDB_CONF_GOLDENS) {
    it(g.name, async () => {
      const dir = await freshDir();
      const file = join(dir, 'ctdb.conf');
      await writeFile(file, g.text);
      const real = await runProcess(CTDB_CONFIG_PATH, ['validate'], testModeEnv(dir));
      const ours = await loadCtdbConf(file, { unknown: 'reject', etcDir: dir }).catch((e: unknown) => e as OperatorFileError);
      expect(ours instanceof OperatorFileError ? `refuse: ${ours.message}` : 'accept').toEqual(real.code === 0 ? 'accept' : expect.stringMatching(/^refuse/));
      expect(g.validate === 'accept').toBe(real.code === 0);
      if (ours instanceof OperatorFileError) return;
      const keys = new Set([...Object.keys(g.values ?? {}), 'cluster/leader timeout', 'cluster/node address', 'cluster/cluster lock']);
      for (const key of keys) {
        const [section, option] = key.split('/');
        const got = await runProcess(CTDB_CONFIG_PATH, ['get', section, option], testModeEnv(dir));
        const value = ours.values[key as CtdbConfKey];
        expect(value === undefined ? '' : String(value), key).toBe(got.stdout.replace(/\n$/, ''));
      }
    });
  }
});

describe('public_addresses and ctdb.conf: our daemon-side readers and a test-mode ctdbd agree', () => {
  let reservation: AddressReservation;
  let address: string;
  beforeAll(async () => {
    reservation = await reserveFreeAddresses({ count: 1, port: CTDB_PORT, range: [100, 250] });
    [address] = reservation.addresses;
  });
  afterAll(async () => { await reservation?.release(); });

  /** Starts ctdbd on `address` with the files; accepted = it reached runstate SETUP. */
  async function startCtdbd(files: { publicAddresses?: string; extraConf?: string }): Promise<{ accepted: boolean; ips: string; log: string; dir: string }> {
    const dir = await freshDir();
    for (const sub of ['run', 'db/volatile', 'db/persistent', 'db/state', 'events/legacy']) await mkdir(join(dir, sub), { recursive: true });
    await writeFile(join(dir, 'nodes'), `${address}\n`);
    if (files.publicAddresses !== undefined) await writeFile(join(dir, 'public_addresses'), files.publicAddresses);
    await writeFile(join(dir, 'ctdb.conf'), [
      '[logging]', `\tlocation = file:${join(dir, 'log.ctdb')}`, '\tlog level = NOTICE',
      '[cluster]', `\tnode address = ${address}`,
      '[database]', ...['volatile', 'persistent', 'state'].map((d) => `\t${d} database directory = ${join(dir, 'db', d)}`),
      '[failover]', '\tdisabled = true', '',
    ].join('\n') + (files.extraConf ?? ''));
    const env = testModeEnv(dir);
    const launcher = await runProcess(DEFAULT_CTDBD_PATH, [], env);
    const logFile = join(dir, 'log.ctdb');
    let log = '';
    let accepted = false;
    if (launcher.code === 0) {
      const deadline = Date.now() + 15_000;
      for (; Date.now() < deadline; await sleep(100)) {
        log = await readFile(logFile, 'utf8').catch(() => '');
        if (log.includes('Set runstate to SETUP')) { accepted = true; break; }
        if (log.includes('CTDB daemon shutting down')) break;
      }
    }
    let ips = '';
    const pid = await readPidFile(join(dir, 'run', 'ctdbd.pid'));
    if (accepted) {
      ips = (await runProcess(DEFAULT_CTDB_PATH, ['-X', 'ip', '-v'], env)).stdout;
      await runProcess(DEFAULT_CTDB_PATH, ['shutdown'], env);
    }
    if (pid !== null && isAlive(pid)) await waitForExit([pid], 15_000);
    // The event daemon outlives a refused ctdbd for a few seconds: end it by PID.
    await killAll(processesWithBase(dir));
    return { accepted, ips, log: `${launcher.stderr}${log}`, dir };
  }

  /** `ctdb -X ip -v` rows as "ADDRESS CONFIGURED-INTERFACES", sorted. */
  function ipRows(stdout: string): string[] {
    return stdout.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('|Public IP|'))
      .map((l) => { const c = l.split('|'); return `${c[1]} ${c[5]}`; }).sort();
  }

  for (const g of PUBLIC_ADDRESSES_GOLDENS) {
    it(`public_addresses: ${g.name}`, async () => {
      const real = await startCtdbd({ publicAddresses: g.text });
      const ours = await loadPublicAddresses(join(real.dir, 'public_addresses'), { interfaces: 'host' }).catch((e: unknown) => e as OperatorFileError);
      expect(ours instanceof OperatorFileError ? `refuse: ${ours.message}` : 'accept', real.log).toEqual(real.accepted ? 'accept' : expect.stringMatching(/^refuse/));
      expect('addresses' in g).toBe(real.accepted);
      if (ours instanceof OperatorFileError) return;
      expect(ours.addresses.map((a) => `${a.address} ${a.interfaces.join(',')}`).sort()).toEqual(ipRows(real.ips));
    });
  }

  for (const g of CTDB_CONF_GOLDENS.filter((c) => c.ctdbd !== undefined)) {
    it(`ctdb.conf (ctdbd ignores unknown settings): ${g.name}`, async () => {
      const real = await startCtdbd({ extraConf: g.text });
      const text = await readFile(join(real.dir, 'ctdb.conf'), 'utf8');
      const ours = (() => { try { return parseCtdbConf(text, { unknown: 'ignore' }); } catch (e) { return e as OperatorFileError; } })();
      expect(ours instanceof OperatorFileError ? 'refuse' : 'accept', real.log).toBe(real.accepted ? 'accept' : 'refuse');
      expect(g.ctdbd).toBe(real.accepted ? 'accept' : 'refuse');
    });
  }
});

describe('addresses: our inet_pton/inet_ntop and glibc agree', () => {
  /** [text, family] -> glibc's inet_ntop(inet_pton(text)) or null, in one python3 run. */
  async function glibc(cases: Array<[string, 4 | 6]>): Promise<Array<string | null>> {
    const py = [
      'import sys, json, socket',
      'out = []',
      'for t, f in json.load(sys.stdin):',
      '    fam = socket.AF_INET if f == 4 else socket.AF_INET6',
      '    try: out.append(socket.inet_ntop(fam, socket.inet_pton(fam, t)))',
      '    except (OSError, ValueError): out.append(None)',
      'print(json.dumps(out))',
    ].join('\n');
    const r = await runProcess('python3', ['-c', py], process.env, { input: JSON.stringify(cases) });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Array<string | null>;
  }

  function ours(text: string, family: 4 | 6): string | null {
    const b = family === 4 ? inetPton4(text) : inetPton6(text);
    return b === undefined ? null : family === 4 ? inetNtop4(b) : inetNtop6(b);
  }

  it('on the golden table, on many spellings of random addresses, and on random strings', async () => {
    const cases: Array<[string, 4 | 6]> = INET_GOLDENS.map((g) => [g.text, g.family]);
    for (const [b, s] of fc.sample(fc.tuple(address6, spelling), { numRuns: 2000, seed: 4170 })) cases.push([spell(b, s), 6]);
    const randomFrom = cases.length;
    const chars6 = fc.constantFrom(...'0123456789abcdefABCDEF:.:::'.split(''));
    for (const s of fc.sample(fc.string({ unit: chars6, maxLength: 24 }), { numRuns: 3000, seed: 4171 })) cases.push([s, 6]);
    const chars4 = fc.constantFrom(...'0123456789...'.split(''));
    for (const s of fc.sample(fc.string({ unit: chars4, maxLength: 16 }), { numRuns: 2000, seed: 4172 })) cases.push([s, 4]);
    const expected = await glibc(cases);
    const mismatches = cases.map(([t, f], i) => ({ t, f, glibc: expected[i], ours: ours(t, f) })).filter((m) => m.glibc !== m.ours);
    expect(mismatches).toEqual([]);
    // Every spelling is an address; the random strings must exercise both outcomes, or they prove little.
    expect(expected.slice(INET_GOLDENS.length, randomFrom).every((e) => e !== null)).toBe(true);
    const random = expected.slice(randomFrom);
    expect(random.filter((e) => e !== null).length).toBeGreaterThan(50);
    expect(random.filter((e) => e === null).length).toBeGreaterThan(1000);
  });
});
