import { readFile } from 'node:fs/promises';
import { formatIpv6, parseIpv4, parseIpv6 } from '../../../legacy/protocol/types/sock-addr.ts';

export interface NodesFileEntry {
  pnn: number;
  address: string;
  deleted: boolean;
}

export class NodesFileError extends Error {
  override name = 'NodesFileError';
  constructor(readonly path: string, readonly detail: string) {
    super(`${path}: ${detail}`);
  }
}

/**
 * Parse a nodes list the way ctdb does: trailing blank lines dropped,
 * leading/trailing blanks stripped, empty lines skipped (no PNN), `#` lines
 * kept as DELETED placeholders (0.0.0.0) so later PNNs stay stable.
 * Addresses are normalised as inet_ntop would print them.
 */
export function parseNodesList(text: string, path = 'nodes'): NodesFileEntry[] {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop(); // the final newline is not a line
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const out: NodesFileEntry[] = [];
  for (const raw of lines) {
    const line = raw.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
    if (line.length === 0) continue;
    if (line.startsWith('#')) {
      out.push({ pnn: out.length, address: '0.0.0.0', deleted: true });
      continue;
    }
    const address = normaliseAddress(line);
    if (address === undefined) throw new NodesFileError(path, `Invalid IP address ${line}`);
    out.push({ pnn: out.length, address, deleted: false });
  }
  return out;
}

export async function readNodesFile(path: string): Promise<NodesFileEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new NodesFileError(path, (err as NodeJS.ErrnoException).code ?? String(err));
  }
  return parseNodesList(text, path);
}

function normaliseAddress(s: string): string | undefined {
  const v4 = parseIpv4(s);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}`;
  const v6 = parseIpv6(s);
  return v6 ? formatIpv6(v6, 0) : undefined;
}
