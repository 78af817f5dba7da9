// Where WebSocket peers come from: the operator's ctdb nodes file (PNN =
// position among non-blank lines; "#" lines are deleted nodes that keep
// their PNN) or an explicit "PNN=HOST:PORT,..." list.

import type { WsPeer } from './websocket.ts';

export const DEFAULT_WS_PORT = 4380;

export interface NodesFileEntry {
  node: number;
  /** undefined for a deleted node. */
  address: string | undefined;
}

export function parseNodesFile(text: string): NodesFileEntry[] {
  const entries: NodesFileEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const address = line.startsWith('#') ? undefined : line.split(/\s+/)[0];
    entries.push({ node: entries.length, address });
  }
  return entries;
}

export function peersFromNodesFile(text: string, port = DEFAULT_WS_PORT): WsPeer[] {
  return parseNodesFile(text)
    .filter((e): e is { node: number; address: string } => e.address !== undefined)
    .map((e) => ({ node: e.node, host: e.address, port }));
}

/** "1=127.0.0.2:4380,2=[::1]:4381" -> peers. Throws on malformed entries. */
export function parsePeerList(spec: string): WsPeer[] {
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const m = /^(\d+)=(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(item);
    if (!m) throw new Error(`bad peer ${JSON.stringify(item)}; expected PNN=HOST:PORT`);
    const port = Number(m[4]);
    if (port < 1 || port > 65535) throw new Error(`bad port in ${item}`);
    return { node: Number(m[1]), host: m[2] ?? m[3], port };
  });
}

/** "HOST:PORT" or "[V6]:PORT". */
export function parseHostPort(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(spec.trim());
  if (!m) throw new Error(`bad address ${JSON.stringify(spec)}; expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`bad port in ${spec}`);
  return { host: m[1] ?? m[2], port };
}
