// Typed transport errors. Every error a caller can see has a stable `code`;
// the codes that travel in error replies are listed in WIRE_ERROR_CODES.

import { formatEndpoint, formatNode, type Endpoint } from './endpoint.ts';

export type TransportErrorCode =
  | 'timeout'
  | 'cancelled'
  | 'not-connected'
  | 'unreachable-node'
  | 'no-such-service'
  | 'service-in-use'
  | 'version-mismatch'
  | 'unknown-type'
  | 'invalid-payload'
  | 'too-large'
  | 'bad-request'
  | 'handler-failed'
  | 'decode';

/** Codes that may appear in a `transport.error` reply body. */
export const WIRE_ERROR_CODES = [
  'unreachable-node',
  'no-such-service',
  'service-in-use',
  'version-mismatch',
  'unknown-type',
  'invalid-payload',
  'too-large',
  'bad-request',
  'handler-failed',
] as const satisfies readonly TransportErrorCode[];
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  /** Node whose transportd or endpoint produced the error, when it came off the wire. */
  origin?: number;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}

/** A header or frame that does not follow PROTOCOL.md. `offset` is relative to the frame start. */
export class TransportDecodeError extends TransportError {
  constructor(readonly field: string, readonly offset: number, detail: string) {
    super('decode', `bad transport header field ${field} at offset ${offset}: ${detail}`);
    this.name = 'TransportDecodeError';
  }
}

export class TransportTimeoutError extends TransportError {
  constructor(readonly dest: Endpoint, readonly type: string, readonly timeoutMs: number) {
    super('timeout', `request ${type} to ${formatEndpoint(dest)} timed out after ${timeoutMs} ms`);
    this.name = 'TransportTimeoutError';
  }
}

export class TransportCancelledError extends TransportError {
  constructor(readonly dest: Endpoint, readonly type: string, reason?: unknown) {
    super('cancelled', `request ${type} to ${formatEndpoint(dest)} was cancelled`, { cause: reason });
    this.name = 'TransportCancelledError';
  }
}

export class NotConnectedError extends TransportError {
  constructor(message = 'not connected to transportd') {
    super('not-connected', message);
    this.name = 'NotConnectedError';
  }
}

export class UnreachableNodeError extends TransportError {
  constructor(readonly node: number, readonly reason: string) {
    super('unreachable-node', `node ${formatNode(node)} is unreachable: ${reason}`);
    this.name = 'UnreachableNodeError';
  }
}

export class NoSuchServiceError extends TransportError {
  constructor(readonly endpoint: Endpoint) {
    super('no-such-service', `no service at ${formatEndpoint(endpoint)}`);
    this.name = 'NoSuchServiceError';
  }
}

export class ServiceInUseError extends TransportError {
  constructor(readonly service: number) {
    super('service-in-use', `service ${service} is already claimed on this node`);
    this.name = 'ServiceInUseError';
  }
}

export class VersionMismatchError extends TransportError {
  constructor(
    readonly what: 'protocol' | 'payload',
    readonly type: string,
    readonly version: number,
    readonly supported: number[],
  ) {
    super('version-mismatch',
      `${what} version ${version}${what === 'payload' ? ` of ${type}` : ''} not supported (supported: ${supported.join(', ') || 'none'})`);
    this.name = 'VersionMismatchError';
  }
}

export class UnknownMessageTypeError extends TransportError {
  constructor(readonly type: string) {
    super('unknown-type', `unknown message type ${JSON.stringify(type)}`);
    this.name = 'UnknownMessageTypeError';
  }
}

export class InvalidPayloadError extends TransportError {
  constructor(readonly type: string, detail: string) {
    super('invalid-payload', `invalid payload${type ? ` for ${type}` : ''}: ${detail}`);
    this.name = 'InvalidPayloadError';
  }
}

export class PayloadTooLargeError extends TransportError {
  constructor(readonly size: number, readonly max: number) {
    super('too-large', `payload of ${size} bytes exceeds the limit of ${max} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

export class BadRequestError extends TransportError {
  constructor(message: string) {
    super('bad-request', message);
    this.name = 'BadRequestError';
  }
}

/** The remote handler threw something that was not a TransportError. */
export class RemoteHandlerError extends TransportError {
  constructor(message: string) {
    super('handler-failed', message);
    this.name = 'RemoteHandlerError';
  }
}

/** Body of a `transport.error` reply (schema in schemas.ts). */
export interface WireErrorBody {
  code: WireErrorCode;
  message: string;
  node: number;
  endpoint?: Endpoint;
  type?: string;
  version?: number;
  supported?: number[];
  what?: 'protocol' | 'payload';
}

export function isWireErrorCode(code: string): code is WireErrorCode {
  return (WIRE_ERROR_CODES as readonly string[]).includes(code);
}

/** Wire form of an error raised while handling a request on `node`. */
export function toWireError(err: unknown, node: number): WireErrorBody {
  if (err instanceof TransportError && isWireErrorCode(err.code)) {
    const body: WireErrorBody = { code: err.code, message: clip(err.message), node };
    if (err instanceof VersionMismatchError) {
      Object.assign(body, { what: err.what, type: err.type, version: err.version, supported: err.supported });
    } else if (err instanceof NoSuchServiceError) {
      body.endpoint = err.endpoint;
    } else if (err instanceof UnreachableNodeError) {
      body.endpoint = { node: err.node, service: 0 };
    } else if (err instanceof UnknownMessageTypeError || err instanceof InvalidPayloadError) {
      body.type = err.type;
    }
    return body;
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'handler-failed', message: clip(message), node };
}

/** Error messages are bounded on the wire (schema maxLength 4096). */
function clip(message: string): string {
  return message.length > 4000 ? `${message.slice(0, 4000)}...` : message;
}

/** Typed error for an error reply; the remote message is kept verbatim. */
export function fromWireError(body: WireErrorBody): TransportError {
  let err: TransportError;
  switch (body.code) {
    case 'unreachable-node':
      err = new UnreachableNodeError(body.endpoint?.node ?? body.node, body.message);
      break;
    case 'no-such-service':
      err = new NoSuchServiceError(body.endpoint ?? { node: body.node, service: 0 });
      break;
    case 'service-in-use':
      err = new ServiceInUseError(body.endpoint?.service ?? 0);
      break;
    case 'version-mismatch':
      err = new VersionMismatchError(body.what ?? 'payload', body.type ?? '', body.version ?? 0, body.supported ?? []);
      break;
    case 'unknown-type':
      err = new UnknownMessageTypeError(body.type ?? '');
      break;
    case 'invalid-payload':
      err = new InvalidPayloadError(body.type ?? '', body.message);
      break;
    case 'too-large':
      err = new TransportError('too-large', body.message);
      break;
    case 'bad-request':
      err = new BadRequestError(body.message);
      break;
    case 'handler-failed':
      err = new RemoteHandlerError(body.message);
      break;
  }
  err.message = body.message;
  err.origin = body.node;
  return err;
}
