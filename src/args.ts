/**
 * Page size and the argument checks shared by every object kind.
 *
 * @module
 */

import { SC_PAGESIZE } from "../ffi/constants.ts";
import { libc } from "../ffi/libc.ts";
import { fail, Status, ZxError } from "./status.ts";

/**
 * The system page size in bytes, read with `sysconf(_SC_PAGESIZE)` at start-up. VMO sizes are
 * multiples of it and mappings are placed at multiples of it.
 *
 * @example
 * ```ts
 * import { PAGE_SIZE, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(1);
 * assert.equal(vmo.getSize(), PAGE_SIZE);
 * ```
 */
export const PAGE_SIZE: number = Number(libc.sysconf(SC_PAGESIZE));

/** `PAGE_SIZE` as a bigint, for FFI parameters. */
export const PAGE_SIZE_N: bigint = BigInt(PAGE_SIZE);

/** The largest value a size, offset or end may take: larger ones are `OUT_OF_RANGE`. */
export const MAX_U64: number = Number.MAX_SAFE_INTEGER;

/** `x` rounded up to a multiple of the page size (may exceed `MAX_U64`: callers check). */
export function roundUpPage(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

/** `x` rounded down to a multiple of the page size. */
export function roundDownPage(x: number): number {
  return Math.floor(x / PAGE_SIZE) * PAGE_SIZE;
}

/** Whether `x` is a multiple of the page size. */
export function isPageAligned(x: number): boolean {
  // Not `x % PAGE_SIZE`: on addresses above 2^31 that is a floating-point remainder, several
  // times slower; a division by a power of two and a floor are exact up to 2^53.
  return Math.floor(x / PAGE_SIZE) * PAGE_SIZE === x && x - x === 0;
}

/**
 * Checks that `value` is a non-negative integer (a size, offset or address) and returns it.
 * A negative, fractional, infinite or non-number value is `INVALID_ARGS`. Values above
 * `MAX_U64` pass here: each call reports them as `OUT_OF_RANGE` where Zircon checks overflow.
 */
export function checkU64(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    fail(Status.INVALID_ARGS, `${what} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Checks that `value` is an integer that fits in 32 unsigned bits (options, flags, rights). */
export function checkU32(value: unknown, what: string): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff
  ) {
    fail(Status.INVALID_ARGS, `${what} must be a 32-bit unsigned integer, got ${describe(value)}`);
  }
  return value;
}

// A caller's Uint8Array is only ever used through the built-in typed-array functions: an
// array can carry its own `set`, `subarray` or `length`, and a `set` that got one of vmo's
// views over read-only memory could write to it and kill the process. The built-ins are taken
// at load and called through bound `call`s, so a later change to `Function.prototype.call`
// cannot stand in either.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const uncurry = <A extends unknown[], R>(f: (...args: A) => R) =>
  Function.prototype.call.bind(f) as unknown as (self: unknown, ...args: A) => R;
function builtinGetter(name: string | symbol): (self: unknown) => unknown {
  return uncurry(Object.getOwnPropertyDescriptor(typedArrayPrototype, name)!.get!);
}
const tagOf = builtinGetter(Symbol.toStringTag);
const lengthOf = builtinGetter("length") as (self: Uint8Array) => number;
const bufferOf = builtinGetter("buffer") as (self: Uint8Array) => ArrayBufferLike;
const byteOffsetOf = builtinGetter("byteOffset") as (self: Uint8Array) => number;
const builtinSet = uncurry(
  typedArrayPrototype.set as (src: Uint8Array, at?: number) => void,
) as (self: Uint8Array, src: Uint8Array, at?: number) => void;
const builtinFill = uncurry(typedArrayPrototype.fill as (value: number) => void) as (
  self: Uint8Array,
  value: number,
) => void;
const U8 = Uint8Array;

/**
 * Checks that `value` is a genuine `Uint8Array` (what every copy in and out takes; not a Proxy
 * or look-alike), `INVALID_ARGS` otherwise.
 */
export function checkBytes(value: unknown, what: string): Uint8Array {
  if (tagOf(value) !== "Uint8Array") {
    fail(Status.INVALID_ARGS, `${what} must be a Uint8Array, got ${describe(value)}`);
  }
  return value as Uint8Array;
}

/** The real length of a `Uint8Array`, whatever `length` property it may carry. */
export function byteLength(array: Uint8Array): number {
  return lengthOf(array);
}

/** Copies `src` into `dst` at `at` with the built-in `set`, never one `dst` may carry. */
export function copyBytes(dst: Uint8Array, src: Uint8Array, at = 0): void {
  builtinSet(dst, src, at);
}

/** Fills a caller's array with zeros with the built-in `fill`. */
export function zeroBytes(array: Uint8Array): void {
  builtinFill(array, 0);
}

/**
 * `[start, start + length)` of a caller's array, made without calling anything the array
 * carries (its `subarray` could return another range): the array itself when that is all of
 * it, which vmo then only hands to built-ins and FFI.
 */
export function bytesWindow(array: Uint8Array, start: number, length: number): Uint8Array {
  if (start === 0 && length === lengthOf(array)) return array;
  return new U8(bufferOf(array), byteOffsetOf(array) + start, length);
}

/** `a + b`, or `OUT_OF_RANGE` when the sum is larger than `MAX_U64` (Zircon's overflow). */
export function checkedEnd(a: number, b: number, what: string): number {
  const end = a + b;
  if (end > MAX_U64) fail(Status.OUT_OF_RANGE, `${what}: ${a} + ${b} overflows`);
  return end;
}

/**
 * A short rendering of a bad argument for an error message. It runs no code of the
 * argument's (no getter, no Proxy trap): the error must be the `ZxError` being built.
 */
export function describe(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "symbol") return "a symbol";
  if (typeof value === "function") return "a function";
  const tag = tagOf(value);
  return typeof tag === "string" ? `a ${tag}` : "an object";
}

/** `OUT_OF_RANGE` when a value is above `MAX_U64`, for calls where Zircon checks no range. */
export function checkSafe(value: number, what: string): void {
  if (value > MAX_U64) {
    fail(Status.OUT_OF_RANGE, `${what} ${value} is above Number.MAX_SAFE_INTEGER`);
  }
}

/** Whether any bit of `bits` is set in `value` (an option, flag or permission test). */
export function has(value: number, bits: number): boolean {
  return (value & bits) !== 0;
}

/**
 * Reads an options object once, for a call of the public API: `undefined` is no options;
 * anything else must be an object whose own string keys are all in `known` (a misspelt key,
 * `{ writeable: true }`, would otherwise be silently ignored). Returns a null-prototype copy of
 * the known values that are not `undefined`, read once each, so a getter cannot answer twice.
 * All `INVALID_ARGS`: not an object, an unknown key, or a Proxy trap or getter that throws (its
 * error never escapes: the API promises a `ZxError`).
 */
export function readOptions<K extends string>(
  opts: unknown,
  known: readonly K[],
  what: string,
): { [key in K]?: unknown } {
  const out: { [key in K]?: unknown } = Object.create(null);
  if (opts === undefined) return out;
  if (typeof opts !== "object" || opts === null) {
    fail(Status.INVALID_ARGS, `${what} must be an object, got ${describe(opts)}`);
  }
  try {
    for (const key of Reflect.ownKeys(opts)) {
      if (typeof key === "string" && !(known as readonly string[]).includes(key)) {
        fail(
          Status.INVALID_ARGS,
          `${what} has an unknown key ${JSON.stringify(key.slice(0, 40))} (known: ${
            known.join(", ")
          })`,
        );
      }
    }
    for (const key of known) {
      const value = Reflect.get(opts, key);
      if (value !== undefined) out[key] = value;
    }
  } catch (error) {
    if (error instanceof ZxError) throw error;
    fail(Status.INVALID_ARGS, `${what} cannot be read (a getter or Proxy trap threw)`);
  }
  return out;
}

/** `INVALID_ARGS` unless `value` is `undefined` or a boolean; `undefined` is `false`. */
export function optionalBool(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    fail(Status.INVALID_ARGS, `${what} must be a boolean, got ${describe(value)}`);
  }
  return value;
}
