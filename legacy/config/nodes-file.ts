import { OperatorFileError, type OperatorFileWarning } from './errors.ts';
import { parseCtdbAddress } from './inet.ts';
import { fileLines, stripLeadingBlanks } from './lines.ts';

/**
 * The nodes file, read with ctdb 4.17's rules (ctdb_read_nodes_file, the
 * same in ctdbd and in `ctdb listnodes`):
 * - spaces and tabs around the text are ignored; an empty line is skipped
 *   and takes no PNN;
 * - a line starting with '#' is a DELETED node: it keeps its PNN (so later
 *   nodes keep theirs) and has the address 0.0.0.0;
 * - anything else is one address, the whole line (no trailing comment),
 *   read as parseCtdbAddress reads it; one bad line refuses the file;
 * - duplicates and an empty list are not refused here (ctdb listnodes shows
 *   them; ctdbd binds to the first match).
 */

export interface NodeEntry {
  pnn: number;
  /** inet_ntop spelling; "0.0.0.0" for a deleted node. */
  address: string;
  deleted: boolean;
}

export interface NodesFile {
  nodes: NodeEntry[];
  warnings: OperatorFileWarning[];
}

/** The address ctdb gives a deleted node. */
export const DELETED_NODE_ADDRESS = '0.0.0.0';

export function parseNodesFile(text: string, file = 'nodes'): NodesFile {
  const nodes: NodeEntry[] = [];
  const warnings: OperatorFileWarning[] = [];
  const firstLine = new Map<string, number>();
  for (const { line, text: raw } of fileLines(text)) {
    const entry = stripLeadingBlanks(raw).replace(/[ \t]+$/, '');
    if (entry === '') continue;
    if (entry.startsWith('#')) {
      nodes.push({ pnn: nodes.length, address: DELETED_NODE_ADDRESS, deleted: true });
      continue;
    }
    const addr = parseCtdbAddress(entry);
    // ctdb's own words, so `ctdb listnodes` output can be reproduced exactly.
    if (!addr) throw new OperatorFileError(file, line, `Invalid IP address ${entry}`);
    const earlier = firstLine.get(addr.text);
    if (earlier !== undefined) {
      warnings.push({ file, line, reason: `${addr.text} is already node ${nodes.find((n) => !n.deleted && n.address === addr.text)!.pnn} (line ${earlier}); ctdbd 4.17 accepts this and binds to the first` });
    } else {
      firstLine.set(addr.text, line);
    }
    nodes.push({ pnn: nodes.length, address: addr.text, deleted: false });
  }
  return { nodes, warnings };
}

/** One line per node; deleted nodes as "#". parseNodesFile(formatNodesFile(n)).nodes equals n. */
export function formatNodesFile(nodes: ReadonlyArray<Pick<NodeEntry, 'address' | 'deleted'>>): string {
  return nodes.map((n) => (n.deleted ? '#' : n.address) + '\n').join('');
}

/** The node a (normalised) address belongs to, as ctdbd picks it: the first live entry. */
export function nodeByAddress(nodes: readonly NodeEntry[], address: string): NodeEntry | undefined {
  const addr = parseCtdbAddress(address);
  return addr && nodes.find((n) => !n.deleted && n.address === addr.text);
}
