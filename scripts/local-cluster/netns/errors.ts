import { LocalClusterError } from '../errors.ts';

/** Network namespaces cannot be used here: not root, a tool is missing, or the directory is unsuitable. */
export class NetnsUnavailableError extends LocalClusterError {
  constructor(reason: string) {
    super('NETNS_UNAVAILABLE', `a netns cluster cannot run here: ${reason}`);
  }
}

/** A command that builds or inspects the namespaces failed. */
export class NetnsCommandError extends LocalClusterError {
  readonly argv: string[];
  readonly stderr: string;
  constructor(argv: string[], stderr: string, exitCode: number | null) {
    super('NETNS_COMMAND_FAILED', `${argv.join(' ')} failed (exit ${exitCode}): ${stderr.trim()}`);
    this.argv = argv;
    this.stderr = stderr;
  }
}

/** The client namespace's probe agent gave no usable answer. */
export class NetnsProbeError extends LocalClusterError {
  constructor(reason: string) {
    super('NETNS_PROBE_FAILED', `client probe failed: ${reason}`);
  }
}
