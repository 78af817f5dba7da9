import { controlLabel } from './control-label.ts';

/**
 * Every failure the legacy client reports is one of these. `code` is stable
 * for callers that switch on it; the message is for humans and logs.
 */
export class LegacyClientError extends Error {
  override name = 'LegacyClientError';
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The socket could not be opened (no daemon, wrong path, permissions). */
export class LegacyConnectError extends LegacyClientError {
  override name = 'LegacyConnectError';
  constructor(readonly socketPath: string, readonly errno: string | undefined, cause?: unknown) {
    super('CONNECT_FAILED', `cannot connect to ctdbd socket ${socketPath}${errno ? ` (${errno})` : ''}`, { cause });
  }
}

/**
 * The connection to ctdbd went away while the request was in flight, or the
 * request was made while no connection existed. Requests are never retried
 * silently: the caller decides.
 */
export class LegacyDisconnectedError extends LegacyClientError {
  override name = 'LegacyDisconnectedError';
  constructor(readonly what: string, readonly reason: string) {
    super('DISCONNECTED', `${what}: connection to ctdbd lost (${reason})`);
  }
}

/** Request made while the client is not connected (before connect, during reconnect). */
export class LegacyNotConnectedError extends LegacyClientError {
  override name = 'LegacyNotConnectedError';
  constructor(readonly what: string, readonly state: string) {
    super('NOT_CONNECTED', `${what}: client is not connected to ctdbd (state ${state})`);
  }
}

/** The client was closed by its owner; pending and new requests fail with this. */
export class LegacyClientClosedError extends LegacyClientError {
  override name = 'LegacyClientClosedError';
  constructor(readonly what: string) {
    super('CLIENT_CLOSED', `${what}: client closed`);
  }
}

/** No reply within the per-call timeout. */
export class LegacyControlTimeoutError extends LegacyClientError {
  override name = 'LegacyControlTimeoutError';
  constructor(readonly opcode: number, readonly destnode: number, readonly timeoutMs: number) {
    super('TIMEOUT', `control ${controlLabel(opcode)} to node ${nodeLabel(destnode)} timed out after ${timeoutMs} ms`);
  }
}

/**
 * The daemon answered with a failure status. `status` is the i32 from
 * REPLY_CONTROL; `errorText` the daemon's error message (may be empty, e.g.
 * for unknown opcodes or wrong payload sizes).
 */
export class LegacyControlError extends LegacyClientError {
  override name = 'LegacyControlError';
  constructor(
    readonly opcode: number,
    readonly destnode: number,
    readonly status: number,
    readonly errorText: string,
  ) {
    super('CONTROL_FAILED', `control ${controlLabel(opcode)} to node ${nodeLabel(destnode)} failed: status ${status}` +
      (errorText ? ` (${errorText})` : ''));
  }
}

/** The reply arrived but its payload could not be decoded. */
export class LegacyReplyDecodeError extends LegacyClientError {
  override name = 'LegacyReplyDecodeError';
  constructor(readonly opcode: number, readonly destnode: number, cause: unknown) {
    super('BAD_REPLY', `control ${controlLabel(opcode)} to node ${nodeLabel(destnode)}: cannot decode reply: ` +
      (cause instanceof Error ? cause.message : String(cause)), { cause });
  }
}

/** A caller passed something that cannot be sent (bad node number, bad SRVID, ...). */
export class LegacyInvalidArgumentError extends LegacyClientError {
  override name = 'LegacyInvalidArgumentError';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export function nodeLabel(pnn: number): string {
  switch (pnn) {
    case 0xf0000001: return 'CURRENT';
    case 0xf0000002: return 'BROADCAST_ALL';
    case 0xf0000003: return 'BROADCAST_ACTIVE';
    case 0xf0000004: return 'BROADCAST_CONNECTED';
    default: return String(pnn);
  }
}
