// Endpoints: a node number (ctdb PNN) plus a service id. Both are u32 on the wire.

export interface Endpoint {
  node: number;
  service: number;
}

/** Highest concrete node number; values above are special (same range ctdb reserves). */
export const MAX_NODE = 0xefffffff;
/** "The transportd I am connected to": only on the local socket, rewritten by transportd. */
export const LOCAL_NODE = 0xf0000001;
/** Every node running a transportd, the local one included. Only for no-reply messages. */
export const BROADCAST_NODE = 0xf0000002;

/** Service 0: the transportd itself (local attach, hello/bye between transportds). */
export const CONTROL_SERVICE = 0;
/** Service 1: the built-in service on every transportd (ping, uptime, version, status). */
export const BUILTIN_SERVICE = 1;
/** Services from here up are handed out by transportd to clients that claim none. */
export const EPHEMERAL_SERVICE_BASE = 0x80000000;
export const MAX_SERVICE = 0xffffffff;

export function isConcreteNode(node: number): boolean {
  return Number.isInteger(node) && node >= 0 && node <= MAX_NODE;
}

export function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

export function formatNode(node: number): string {
  if (node === LOCAL_NODE) return 'local';
  if (node === BROADCAST_NODE) return 'broadcast';
  return String(node);
}

export function formatEndpoint(ep: Endpoint): string {
  return `${formatNode(ep.node)}:${ep.service}`;
}
