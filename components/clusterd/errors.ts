// Typed refusals of clusterd messages; they travel as bad-request error replies.
import { BadRequestError } from '../../transport/errors.ts';

export class UnknownNodeError extends BadRequestError {
  constructor(readonly claimed: number, detail: string) {
    super(`node ${claimed} ${detail}`);
    this.name = 'UnknownNodeError';
  }
}

export class NotFromClusterdError extends BadRequestError {
  constructor(readonly node: number, readonly service: number) {
    super(`service ${service} on node ${node} is not a clusterd`);
    this.name = 'NotFromClusterdError';
  }
}

/** The core refused the message (stale epoch, unknown node, ...); its state is unchanged. */
export class RefusedInputError extends BadRequestError {
  constructor(readonly node: number, readonly reason: string) {
    super(`refused from node ${node}: ${reason}`);
    this.name = 'RefusedInputError';
  }
}
