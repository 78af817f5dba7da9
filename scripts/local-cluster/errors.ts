/** Typed errors of the local-cluster harness; `code` is stable for callers. */

export class LocalClusterError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** ctdbd or the ctdb CLI binary is not installed where we look. */
export class CtdbdNotInstalledError extends LocalClusterError {
  readonly path: string;
  constructor(program: string, path: string) {
    super('CTDB_NOT_INSTALLED',
      `${program} not found or not executable at ${path}; install Samba's CTDB with \`apt-get install ctdb\` ` +
      '(or pass its path explicitly)');
    this.path = path;
  }
}

/** A node address is already bound on port 4379, or no free subnet exists. */
export class AddressInUseError extends LocalClusterError {
  readonly address: string;
  constructor(address: string, detail = '') {
    super('ADDRESS_IN_USE', `address ${address} port 4379 is already in use${detail ? `: ${detail}` : ''}`);
    this.address = address;
  }
}

export class InvalidAddressError extends LocalClusterError {
  constructor(address: string, reason: string) {
    super('INVALID_ADDRESS', `invalid base address ${JSON.stringify(address)}: ${reason}`);
  }
}

/** A node did not come up; carries the tail of its log.ctdb. */
export class NodeStartError extends LocalClusterError {
  readonly pnn: number;
  readonly logTail: string;
  constructor(pnn: number, reason: string, logTail: string) {
    super('NODE_START_FAILED', `node ${pnn} failed to start: ${reason}\n--- tail of log.ctdb ---\n${logTail}`);
    this.pnn = pnn;
    this.logTail = logTail;
  }
}

/** The cluster (or a node) did not reach the OK state in time. */
export class ClusterTimeoutError extends LocalClusterError {
  constructor(what: string, timeoutMs: number, detail: string) {
    super('CLUSTER_TIMEOUT', `${what} not reached within ${timeoutMs} ms\n${detail}`);
  }
}

export class ClusterAlreadyRunningError extends LocalClusterError {
  constructor(dir: string, pids: number[]) {
    super('CLUSTER_RUNNING', `a cluster in ${dir} is still running (pids ${pids.join(', ')}); run "down" first`);
  }
}

export class ClusterNotFoundError extends LocalClusterError {
  constructor(dir: string) {
    super('CLUSTER_NOT_FOUND', `no cluster description at ${dir}/cluster.json`);
  }
}

export class UnknownNodeError extends LocalClusterError {
  constructor(pnn: number, count: number) {
    super('UNKNOWN_NODE', `no node ${pnn} in a ${count}-node cluster`);
  }
}

/** Placeholder until the embedded (TypeScript) daemon exists. */
export class EmbeddedDaemonUnavailableError extends LocalClusterError {
  constructor() {
    super('EMBEDDED_UNAVAILABLE', 'embedded daemon not available yet: use the real kind (--real) for now');
  }
}
