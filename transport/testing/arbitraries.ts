// fast-check generators shared by the transport tests.
import fc from 'fast-check';
import { DEFAULT_MAX_PAYLOAD, Flag, PROTOCOL_VERSION, type TransportHeader } from '../header.ts';
import { BROADCAST_NODE, LOCAL_NODE, MAX_NODE } from '../endpoint.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const concreteNode = fc.integer({ min: 0, max: MAX_NODE });
/** Every header that the rules of PROTOCOL.md allow. */
export const arbHeader: fc.Arbitrary<TransportHeader> = fc
  .record({
    kind: fc.constantFrom('request', 'reply', 'error', 'message', 'broadcast'),
    payloadVersion: fc.integer({ min: 1, max: 255 }),
    destNode: fc.oneof(concreteNode, fc.constant(LOCAL_NODE)),
    destService: u32,
    srcNode: fc.oneof(concreteNode, fc.constant(LOCAL_NODE)),
    srcService: u32,
    requestId: fc.integer({ min: 1, max: 0xffffffff }),
    payloadLength: fc.integer({ min: 0, max: DEFAULT_MAX_PAYLOAD }),
  })
  .map((r) => {
    const flags = { request: Flag.REQUEST, reply: Flag.REPLY, error: Flag.REPLY | Flag.ERROR, message: Flag.NOREPLY, broadcast: Flag.NOREPLY }[r.kind];
    const oneWay = r.kind === 'message' || r.kind === 'broadcast';
    return {
      protocolVersion: PROTOCOL_VERSION,
      payloadVersion: r.payloadVersion,
      flags,
      dest: { node: r.kind === 'broadcast' ? BROADCAST_NODE : r.destNode, service: r.destService },
      src: { node: r.srcNode, service: r.srcService },
      requestId: oneWay ? 0 : r.requestId,
      payloadLength: r.payloadLength,
    };
  });

