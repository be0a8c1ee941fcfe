/**
 * The bytes of one channel message on the wire, documented in docs/channel.md so that other
 * languages can speak it.
 *
 * One `SOCK_SEQPACKET` message is: a 16-byte header, one 8-byte record per handle, then the
 * payload; the handles' fds travel in one `SCM_RIGHTS` control message, in record order. All
 * integers are little-endian.
 *
 * ```text
 * offset size
 *      0    4  magic 0x4d4f4d56 ("VMOM" read as bytes 56 4d 4f 4d)
 *      4    2  version: 1
 *      6    2  handle count n (0..64)
 *      8    4  payload length (0..65536)
 *     12    4  reserved: 0
 *     16  8*n  per handle: u32 kind (1 VMO, 2 channel), u32 rights (Zircon bits)
 * 16+8*n  len  payload
 * ```
 *
 * @module
 */

/** Zircon's largest channel message. */
export const MAX_MESSAGE_BYTES = 65536;
/** Zircon's most handles in one message. */
export const MAX_MESSAGE_HANDLES = 64;
export const MAGIC = 0x4d4f4d56;
export const VERSION = 1;
export const HEADER_BYTES = 16;
export const RECORD_BYTES = 8;
/** The largest message on the wire. */
export const MAX_WIRE_BYTES = HEADER_BYTES + RECORD_BYTES * MAX_MESSAGE_HANDLES +
  MAX_MESSAGE_BYTES;

/** What a handle record says a received fd is. */
export const HandleKind = { VMO: 1, CHANNEL: 2 } as const;

/** One handle record. */
export interface HandleRecord {
  kind: number;
  rights: number;
}

/** Writes the header and records into `out`, and returns where the payload starts. */
export function encodeHeader(
  out: DataView,
  records: readonly HandleRecord[],
  payloadLength: number,
): number {
  writeHeader(out, records.length, payloadLength);
  for (let i = 0; i < records.length; i++) {
    writeRecord(out, i, records[i].kind, records[i].rights);
  }
  return HEADER_BYTES + RECORD_BYTES * records.length;
}

/**
 * Checks the first `length` bytes of `data` as a message carrying `fdCount` fds: a string
 * saying what is wrong, or where the payload starts (its length is `length` less that). Every
 * field is checked; the byte count must be exact. The records are then read in place with
 * {@linkcode recordKind} and {@linkcode recordRights}: nothing is allocated for a message that
 * parses (a receive is on the hot path of every round trip).
 */
export function parseHeader(data: DataView, length: number, fdCount: number): number | string {
  if (length < HEADER_BYTES) return `a message of ${length} bytes has no header`;
  if (data.getUint32(0, true) !== MAGIC) return "the message's magic number is wrong";
  if (data.getUint16(4, true) !== VERSION) return `unknown version ${data.getUint16(4, true)}`;
  const count = data.getUint16(6, true);
  const payloadLength = data.getUint32(8, true);
  if (data.getUint32(12, true) !== 0) return "the reserved header field is not 0";
  if (count > MAX_MESSAGE_HANDLES) return `${count} handles is more than 64`;
  if (payloadLength > MAX_MESSAGE_BYTES) return `a ${payloadLength}-byte payload is too long`;
  if (count !== fdCount) return `the header names ${count} handles but ${fdCount} fds came`;
  const payloadStart = HEADER_BYTES + RECORD_BYTES * count;
  if (payloadStart + payloadLength !== length) {
    return `the header says ${payloadStart + payloadLength} bytes but ${length} came`;
  }
  for (let i = 0; i < count; i++) {
    const kind = recordKind(data, i);
    if (kind !== HandleKind.VMO && kind !== HandleKind.CHANNEL) {
      return `handle ${i} has unknown kind ${kind}`;
    }
  }
  return payloadStart;
}

/** The kind of record `i` of a message {@linkcode parseHeader} accepted. */
export function recordKind(data: DataView, i: number): number {
  return data.getUint32(HEADER_BYTES + RECORD_BYTES * i, true);
}

/** The rights of record `i` of a message {@linkcode parseHeader} accepted. */
export function recordRights(data: DataView, i: number): number {
  return data.getUint32(HEADER_BYTES + RECORD_BYTES * i + 4, true);
}

/**
 * Writes the header of a message of `count` handles and `payloadLength` bytes into `out`, and
 * then {@linkcode writeRecord} fills each record.
 */
export function writeHeader(out: DataView, count: number, payloadLength: number): void {
  out.setUint32(0, MAGIC, true);
  out.setUint16(4, VERSION, true);
  out.setUint16(6, count, true);
  out.setUint32(8, payloadLength, true);
  out.setUint32(12, 0, true);
}

/** Writes record `i` into `out`, after {@linkcode writeHeader}. */
export function writeRecord(out: DataView, i: number, kind: number, rights: number): void {
  const at = HEADER_BYTES + RECORD_BYTES * i;
  out.setUint32(at, kind, true);
  out.setUint32(at + 4, rights >>> 0, true);
}
