/**
 * Access to memory the library did not map (`MmapRegion.unsafeBuildRaw`): the same calls a
 * `SharedBufferSliceMut` answers, over a view the caller vouched for. Nothing here can tell
 * whether the memory is still there: that is the promise the caller made by calling an
 * `unsafe...` function.
 *
 * @module
 */

import { byteLength, bytesWindow, checkBytes, checkU64, copyBytes } from "../args.ts";
import { fail, Status } from "../status.ts";

/** The subset of `SharedBufferSliceMut` that guest memory uses, over any memory. */
export interface BufferLike {
  len(): number;
  readAt(offset: number, dst: Uint8Array): number;
  writeAt(offset: number, src: Uint8Array): number;
  readU8(offset: number): number;
  readU16(offset: number): number;
  readU32(offset: number): number;
  readI32(offset: number): number;
  readU64(offset: number): bigint;
  readF32(offset: number): number;
  readF64(offset: number): number;
  writeU8(offset: number, value: number): void;
  writeU16(offset: number, value: number): void;
  writeU32(offset: number, value: number): void;
  writeI32(offset: number, value: number): void;
  writeU64(offset: number, value: bigint): void;
  writeF32(offset: number, value: number): void;
  writeF64(offset: number, value: number): void;
  sliceMut(start?: number, end?: number): BufferLike;
  bytes(): Uint8Array<ArrayBuffer>;
  int32View(byteOffset?: number, length?: number): Int32Array<ArrayBuffer>;
  bigInt64View(byteOffset?: number, length?: number): BigInt64Array<ArrayBuffer>;
  acquireWrites(): void;
  releaseWrites(): void;
}

const FENCE = new Int32Array(new SharedArrayBuffer(4));

function at(len: number, offset: number, size: number): number {
  checkU64(offset, "offset");
  if (offset + size > len) {
    fail(Status.OUT_OF_RANGE, `${size} bytes at ${offset} out of range for length ${len}`);
  }
  return offset;
}

function checkValue(value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(Status.INVALID_ARGS, `value must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function checkFloat(value: unknown): number {
  if (typeof value !== "number") fail(Status.INVALID_ARGS, "value must be a number");
  return value;
}

/** A `BufferLike` over raw memory at `addr` (not owned, not watched). */
export class RawBuffer implements BufferLike {
  readonly #addr: number;
  readonly #u8: Uint8Array<ArrayBuffer>;
  readonly #data: DataView<ArrayBuffer>;

  /** The caller promises `[addr, addr + len)` is mapped read-write (as far as it accesses). */
  constructor(addr: number, len: number, view?: Uint8Array<ArrayBuffer>) {
    this.#addr = addr;
    this.#u8 = view ?? (len === 0 ? new Uint8Array(0) : new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(addr))!, len),
    ));
    this.#data = new DataView(this.#u8.buffer, this.#u8.byteOffset, this.#u8.length);
  }
  len(): number {
    return this.#u8.length;
  }
  readAt(offset: number, dst: Uint8Array): number {
    checkBytes(dst, "dst");
    checkU64(offset, "offset");
    if (offset > this.#u8.length) fail(Status.OUT_OF_RANGE, `offset ${offset} past the end`);
    const n = Math.min(byteLength(dst), this.#u8.length - offset);
    copyBytes(dst, this.#u8.subarray(offset, offset + n));
    return n;
  }
  writeAt(offset: number, src: Uint8Array): number {
    checkBytes(src, "src");
    checkU64(offset, "offset");
    if (offset > this.#u8.length) fail(Status.OUT_OF_RANGE, `offset ${offset} past the end`);
    const n = Math.min(byteLength(src), this.#u8.length - offset);
    copyBytes(this.#u8, bytesWindow(src, 0, n), offset);
    return n;
  }
  readU8(o: number): number {
    return this.#data.getUint8(at(this.#u8.length, o, 1));
  }
  readU16(o: number): number {
    return this.#data.getUint16(at(this.#u8.length, o, 2), true);
  }
  readU32(o: number): number {
    return this.#data.getUint32(at(this.#u8.length, o, 4), true);
  }
  readI32(o: number): number {
    return this.#data.getInt32(at(this.#u8.length, o, 4), true);
  }
  readU64(o: number): bigint {
    return this.#data.getBigUint64(at(this.#u8.length, o, 8), true);
  }
  readF32(o: number): number {
    return this.#data.getFloat32(at(this.#u8.length, o, 4), true);
  }
  readF64(o: number): number {
    return this.#data.getFloat64(at(this.#u8.length, o, 8), true);
  }
  writeU8(o: number, v: number): void {
    this.#data.setUint8(at(this.#u8.length, o, 1), checkValue(v, 0, 0xff));
  }
  writeU16(o: number, v: number): void {
    this.#data.setUint16(at(this.#u8.length, o, 2), checkValue(v, 0, 0xffff), true);
  }
  writeU32(o: number, v: number): void {
    this.#data.setUint32(at(this.#u8.length, o, 4), checkValue(v, 0, 0xffff_ffff), true);
  }
  writeI32(o: number, v: number): void {
    this.#data.setInt32(at(this.#u8.length, o, 4), checkValue(v, -0x8000_0000, 0x7fff_ffff), true);
  }
  writeU64(o: number, v: bigint): void {
    if (typeof v !== "bigint" || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      fail(Status.INVALID_ARGS, "value must be a bigint in [0, 2^64)");
    }
    this.#data.setBigUint64(at(this.#u8.length, o, 8), v, true);
  }
  writeF32(o: number, v: number): void {
    this.#data.setFloat32(at(this.#u8.length, o, 4), checkFloat(v), true);
  }
  writeF64(o: number, v: number): void {
    this.#data.setFloat64(at(this.#u8.length, o, 8), checkFloat(v), true);
  }
  sliceMut(start = 0, end = this.#u8.length): RawBuffer {
    checkU64(start, "start");
    checkU64(end, "end");
    if (end > this.#u8.length || start > end) fail(Status.OUT_OF_RANGE, "bad slice range");
    return new RawBuffer(this.#addr + start, end - start, this.#u8.subarray(start, end));
  }
  bytes(): Uint8Array<ArrayBuffer> {
    return this.#u8;
  }
  int32View(byteOffset = 0, length?: number): Int32Array<ArrayBuffer> {
    return this.#typed(byteOffset, length, 4) as Int32Array<ArrayBuffer>;
  }
  bigInt64View(byteOffset = 0, length?: number): BigInt64Array<ArrayBuffer> {
    return this.#typed(byteOffset, length, 8) as BigInt64Array<ArrayBuffer>;
  }
  #typed(byteOffset: number, length: number | undefined, size: number) {
    checkU64(byteOffset, "byteOffset");
    if (byteOffset > this.#u8.length) fail(Status.OUT_OF_RANGE, "byteOffset past the end");
    const count = length ?? Math.floor((this.#u8.length - byteOffset) / size);
    checkU64(count, "length");
    if (byteOffset + count * size > this.#u8.length) fail(Status.OUT_OF_RANGE, "does not fit");
    if ((this.#addr + byteOffset) % size !== 0) {
      fail(Status.INVALID_ARGS, `the address is not ${size}-byte aligned`);
    }
    const start = this.#u8.byteOffset + byteOffset;
    return size === 4
      ? new Int32Array(this.#u8.buffer, start, count)
      : new BigInt64Array(this.#u8.buffer, start, count);
  }
  acquireWrites(): void {
    Atomics.add(FENCE, 0, 0);
  }
  releaseWrites(): void {
    Atomics.add(FENCE, 0, 0);
  }
}
