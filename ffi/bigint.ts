/**
 * Bigint arguments for 64-bit FFI parameters, without a `BigInt(number)` (40 to 100 ns) each
 * call when the value repeats: a {@linkcode BigIntMemo} remembers its last conversion.
 *
 * A 64-bit parameter given a JS number costs 55 to 150 ns more than one given a bigint, and
 * making the bigint costs about as much; but the sizes, offsets and often the addresses of a
 * program's mappings repeat from call to call, so one memo per argument (per call site) turns
 * most conversions into one comparison.
 *
 * @module
 */

/** The last number converted and its bigint. */
export class BigIntMemo {
  #number = 0;
  #bigint = 0n;

  /** `BigInt(n)` for a safe integer `n`, reusing the last result when `n` is the same. */
  of(n: number): bigint {
    if (n !== this.#number) {
      this.#bigint = BigInt(n);
      this.#number = n;
    }
    return this.#bigint;
  }
}
