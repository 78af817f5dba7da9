/**
 * Every failure to decode or frame legacy CTDB bytes is one of these typed
 * errors. They name the structure, the field and the byte offset so that an
 * operator can find the bad byte in a capture.
 */
export class CtdbProtocolError extends Error {
  override name = 'CtdbProtocolError';
}

/** A field could not be decoded: too short, inconsistent length, bad value. */
export class CtdbDecodeError extends CtdbProtocolError {
  override name = 'CtdbDecodeError';
  constructor(
    /** The structure being decoded, e.g. "REQ_CONTROL" or "ctdb_node_map". */
    readonly structure: string,
    /** Dotted path of the field, e.g. "nodes[2].addr". */
    readonly field: string,
    /** Byte offset of the field from the start of the decoded buffer. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${structure}: field ${field} at offset ${offset}: ${reason}`);
  }
}

/** The byte stream violates the framing rules (length, magic, version). */
export class CtdbFramingError extends CtdbProtocolError {
  override name = 'CtdbFramingError';
  constructor(
    readonly field: 'length' | 'ctdb_magic' | 'ctdb_version',
    /** Offset of the offending packet within the stream (bytes consumed so far). */
    readonly streamOffset: number,
    readonly reason: string,
  ) {
    super(`framing: field ${field} of packet at stream offset ${streamOffset}: ${reason}`);
  }
}

/** A value cannot be encoded (out of range, wrong type, too long). */
export class CtdbEncodeError extends CtdbProtocolError {
  override name = 'CtdbEncodeError';
  constructor(readonly structure: string, readonly field: string, reason: string) {
    super(`${structure}: cannot encode field ${field}: ${reason}`);
  }
}
