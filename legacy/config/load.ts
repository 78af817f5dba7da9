import { readdir, readFile, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { parseCtdbConf, type CtdbConf, type ParseCtdbConfOptions } from './ctdb-conf.ts';
import { OperatorFileError } from './errors.ts';
import { parseNodesFile, type NodesFile } from './nodes-file.ts';
import { parsePublicAddresses, type PublicAddressesFile } from './public-addresses.ts';

/**
 * The thin I/O layer over the pure readers: read the file, hand the text to
 * the parser, and run the checks that need the machine (directories,
 * scripts, network interfaces) the way ctdbd runs them.
 */

/** The file's text, or undefined when it does not exist. */
export async function readOperatorFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OperatorFileError(path, undefined, `cannot read: ${(err as Error).message}`, 'UNREADABLE', { cause: err });
  }
}

/** ctdbd and `ctdb listnodes` both need the nodes file. */
export async function loadNodesFile(path: string): Promise<NodesFile> {
  const text = await readOperatorFile(path);
  if (text === undefined) throw new OperatorFileError(path, undefined, 'nodes file not found', 'NOT_FOUND');
  return parseNodesFile(text, path);
}

export interface LoadPublicAddressesOptions {
  /**
   * 'host' (default): an interface must exist on this machine, as ctdbd
   * checks; 'any': take every name (tests, or addresses meant for another
   * host); or a predicate.
   */
  interfaces?: 'host' | 'any' | ((name: string) => boolean);
}

/** A missing public_addresses file means no public addresses (ctdbd only warns). */
export async function loadPublicAddresses(path: string, opts: LoadPublicAddressesOptions = {}): Promise<PublicAddressesFile> {
  const text = await readOperatorFile(path);
  if (text === undefined) return { addresses: [], warnings: [] };
  const mode = opts.interfaces ?? 'host';
  let interfaceExists: ((name: string) => boolean) | undefined;
  if (mode === 'host') {
    const names = await hostInterfaceNames();
    interfaceExists = (name) => names.has(name);
  } else if (typeof mode === 'function') {
    interfaceExists = mode;
  }
  return parsePublicAddresses(text, { file: path, interfaceExists });
}

/** Interface names as if_nameindex() lists them (down ones and ones without an address too). */
export async function hostInterfaceNames(): Promise<Set<string>> {
  try {
    return new Set(await readdir('/sys/class/net'));
  } catch {
    return new Set(Object.keys(networkInterfaces()));
  }
}

export interface LoadCtdbConfOptions extends Pick<ParseCtdbConfOptions, 'unknown'> {
  /** ctdb's etc directory, where debug scripts must live; default: the file's directory. */
  etcDir?: string;
}

/** A missing ctdb.conf means every default (as in ctdbd). */
export async function loadCtdbConf(path: string, opts: LoadCtdbConfOptions = {}): Promise<CtdbConf> {
  const text = await readOperatorFile(path);
  const conf = parseCtdbConf(text ?? '', { file: path, unknown: opts.unknown });
  await runPathChecks(conf, path, opts.etcDir ?? dirname(path));
  return conf;
}

export async function runPathChecks(conf: CtdbConf, file: string, etcDir: string): Promise<void> {
  for (const check of conf.pathChecks) {
    const [section, key] = check.key.split('/');
    const fail = (reason: string): never => {
      throw new OperatorFileError(file, check.line, `[${section}] ${key} = "${check.value}": ${reason}`);
    };
    if (check.kind === 'directory') {
      const st = await stat(check.path).catch(() => undefined);
      if (!st?.isDirectory()) fail(`directory ${check.path} does not exist`);
    } else {
      const path = join(etcDir, check.name);
      const st = await stat(path).catch(() => undefined);
      if (!st) fail(`${path} does not exist`);
      if (!st!.isFile()) fail(`${path} is not a file`);
      if (!(st!.mode & 0o100)) fail(`${path} is not executable`);
    }
  }
}
