/**
 * Byte patterns and byte checks for the tests: deterministic contents that differ per seed,
 * so that a read that returns the wrong bytes (or none) cannot pass; and temporary files (and
 * directories) to hold them, removed again after use.
 *
 * @module
 */

/** `length` bytes of `value`. */
export function filled(length: number, value: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(length).fill(value);
}

/**
 * A deterministic pseudo-random pattern of `length` bytes (xorshift32), distinct per `seed`,
 * never all zero.
 */
export function pattern(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * `length` bytes counting up from `start` by `step` (mod 256): byte `i` is
 * `(start + i * step) & 0xff`. Cheap to predict, for children whose checksums are fixed.
 */
export function ramp(length: number, start: number, step: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (start + i * step) & 0xff;
  return out;
}

/** Whether every byte of `bytes` is 0. */
export function allZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/** The bytes as a plain array, for `assert.deepEqual` messages that are readable. */
export function arr(bytes: Uint8Array): number[] {
  return [...bytes];
}

/** A temporary file holding `content`; remove it with `Deno.removeSync`. */
export function tempFile(content: Uint8Array<ArrayBuffer> | string): string {
  const path = Deno.makeTempFileSync({ prefix: "vmo-test-" });
  if (typeof content === "string") Deno.writeTextFileSync(path, content);
  else Deno.writeFileSync(path, content);
  return path;
}

/** Runs `fn` with the path of a new temporary file holding `content`, then removes the file. */
export function withTempFile<T>(
  content: Uint8Array<ArrayBuffer> | string,
  fn: (path: string) => T,
): T {
  const path = tempFile(content);
  try {
    return fn(path);
  } finally {
    Deno.removeSync(path);
  }
}

/** Runs `fn` with a new temporary directory, then removes the directory and all it holds. */
export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = Deno.makeTempDirSync({ prefix: "vmo-test-" });
  try {
    return fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
