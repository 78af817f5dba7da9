/**
 * Typed errors of the embedded daemon. `code` is stable for callers and
 * tests; the message names the file, line or setting at fault.
 */
export class DaemonError extends Error {
  override name = 'DaemonError';
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A configuration file is missing, unreadable or has a bad value. */
export class DaemonConfigError extends DaemonError {
  override name = 'DaemonConfigError';
  constructor(
    /** The file at fault (ctdb.conf, nodes, public_addresses, ctdb.tunables). */
    readonly file: string,
    /** 1-based line number when known. */
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super('BAD_CONFIG', `${file}${line !== undefined ? `:${line}` : ''}: ${reason}`);
  }
}

/** The daemon could not bind its unix socket or its node address. */
export class DaemonStartError extends DaemonError {
  override name = 'DaemonStartError';
  constructor(reason: string, cause?: unknown) {
    super('START_FAILED', reason, { cause });
  }
}

/** A control the daemon sent (recovery daemon, forwarding) failed. */
export class DaemonControlError extends DaemonError {
  override name = 'DaemonControlError';
  constructor(readonly opcode: number, readonly destnode: number, readonly status: number, readonly errorText: string) {
    super('CONTROL_FAILED', `control ${opcode} to node ${destnode} failed: status ${status}${errorText ? ` (${errorText})` : ''}`);
  }
}

/** The lookup of client pids (`ss`) failed or timed out. */
export class PeerPidLookupError extends DaemonError {
  override name = 'PeerPidLookupError';
  constructor(reason: string, cause?: unknown) {
    super('PEER_PID_LOOKUP_FAILED', `cannot learn client pids: ${reason}`, { cause });
  }
}

/**
 * A packet copy was asked for more bytes than the source packet holds: the
 * copy would carry bytes never written for it (freed heap). Callers check
 * declared sizes first (sizeLie); this is the last line of defence.
 */
export class PacketBoundsError extends DaemonError {
  override name = 'PacketBoundsError';
  constructor(readonly wanted: number, readonly available: number) {
    super('PACKET_BOUNDS', `packet copy of ${wanted} bytes from a packet of ${available} bytes refused`);
  }
}
