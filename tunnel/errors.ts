/** Typed failures of tunnel requests. */
export class TunnelError extends Error {
  override name = 'TunnelError';
}

export class TunnelTimeoutError extends TunnelError {
  override name = 'TunnelTimeoutError';
  constructor(readonly pnn: number, readonly timeoutMs: number) {
    super(`tunnel request to node ${pnn} timed out after ${timeoutMs} ms`);
  }
}

export class TunnelUnreachableError extends TunnelError {
  override name = 'TunnelUnreachableError';
  constructor(readonly pnn: number, reason: string) {
    super(`node ${pnn} is unreachable through the tunnel: ${reason}`);
  }
}

export class TunnelDisconnectedError extends TunnelError {
  override name = 'TunnelDisconnectedError';
  constructor() {
    super('connection to the local ctdbd was lost while the request was in flight');
  }
}

export class TunnelClosedError extends TunnelError {
  override name = 'TunnelClosedError';
  constructor() {
    super('tunnel endpoint is closed');
  }
}

export class TunnelAbortedError extends TunnelError {
  override name = 'TunnelAbortedError';
  constructor(readonly pnn: number) {
    super(`tunnel request to node ${pnn} was cancelled`);
  }
}
