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
  out.setUint32(0, MAGIC, true);
  out.setUint16(4, VERSION, true);
  out.setUint16(6, records.length, true);
  out.setUint32(8, payloadLength, true);
  out.setUint32(12, 0, true);
  let at = HEADER_BYTES;
  for (const record of records) {
    out.setUint32(at, record.kind, true);
    out.setUint32(at + 4, record.rights >>> 0, true);
    at += RECORD_BYTES;
  }
  return at;
}

/** A parsed message: its records and where its payload is. */
export interface ParsedHeader {
  records: HandleRecord[];
  payloadStart: number;
  payloadLength: number;
}

/**
 * Parses the first `length` bytes of `data` as a message carrying `fdCount` fds: a string
 * saying what is wrong, or the parsed header. Every field is checked; the byte count must be
 * exact.
 */
export function parseHeader(
  data: DataView,
  length: number,
  fdCount: number,
): ParsedHeader | string {
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
  const records: HandleRecord[] = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + RECORD_BYTES * i;
    const kind = data.getUint32(at, true);
    if (kind !== HandleKind.VMO && kind !== HandleKind.CHANNEL) {
      return `handle ${i} has unknown kind ${kind}`;
    }
    records.push({ kind, rights: data.getUint32(at + 4, true) });
  }
  return { records, payloadStart, payloadLength };
}
