/** Tunnel endpoints over a legacy client: datagrams and requests through ctdbd's REQ_TUNNEL. */
export * from './tunnel-ids.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './legacy-port.ts';
export * from './endpoint.ts';
export * from './legacy-client-port.ts';
