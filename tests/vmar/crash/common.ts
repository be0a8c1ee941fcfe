/**
 * Shared by the crash-test children in this folder (run by `tests/vmar/crash.test.ts` with
 * `deno run --allow-ffi`): a checker that probes memory through `Vmar.readMemory` /
 * `writeMemory`, compares each answer with what the scenario expects, and then touches every
 * byte the library said was readable (or writable) **directly**, through
 * `Deno.UnsafePointerView`. If the library's region tree ever disagreed with the page tables
 * (calling a `PROT_NONE`, read-only or past-the-end page accessible), that direct access would
 * kill the child with SIGSEGV/SIGBUS (exit status 139), and the parent test fails.
 *
 * Each child ends with one line `RESULT {...}`: the number of probes, the statuses seen, the
 * mismatches against the scenario's expectations and a checksum of every byte read, which the
 * parent compares with known values so that a child that skipped its work cannot pass.
 *
 * @module
 */

import { PAGE_SIZE, Status, statusName, type Vmar, VmarFlags, ZxError } from "../../../mod.ts";
import { ramp } from "../../_support/bytes.ts";

/** The page size, shorter. */
export const P: number = PAGE_SIZE;
export const R: number = VmarFlags.PERM_READ;
export const RW: number = R | VmarFlags.PERM_WRITE;
/** CAN_MAP_READ | CAN_MAP_WRITE | CAN_MAP_SPECIFIC: what the children's regions allow. */
export const CAN: number = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE |
  VmarFlags.CAN_MAP_SPECIFIC;

/** `{ status }`: the call must throw a `ZxError` with that status. */
export interface Throws {
  status: number;
}

/** A deterministic PRNG (mulberry32), so that every run probes the same addresses. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` bytes of a pattern that depends on `seed` (the checksums in crash.test.ts assume it). */
export function pattern(seed: number, n: number): Uint8Array {
  return ramp(n, seed * 31 + 1, 7);
}

/** Bytes of memory at `addr`, straight through a pointer: faults if the memory is not there. */
function direct(addr: number, n: number): Uint8Array {
  const pointer = Deno.UnsafePointer.create(BigInt(addr));
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer!, n));
}

/** Runs probes, checks them against expectations, and prints the `RESULT` line. */
export class Checker {
  probes = 0;
  mismatches = 0;
  checksum = 0x811c9dc5;
  /** Bytes touched directly after the library said they were accessible. */
  touched = 0;
  readonly statuses: Record<string, number> = {};
  readonly problems: string[] = [];

  constructor(readonly scenario: string) {}

  /** Folds `x` into the checksum (FNV-1a over 32-bit words). */
  mix(x: number): void {
    this.checksum = Math.imul(this.checksum ^ (x >>> 0), 0x01000193) >>> 0;
  }

  #count(key: string): void {
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
  }

  #mismatch(message: string): void {
    this.mismatches++;
    if (this.problems.length < 40 && !this.problems.includes(message)) this.problems.push(message);
  }

  /** Runs `fn`, returning its value or the `ZxError` status it threw (anything else counts). */
  outcome<T>(fn: () => T): { ok: true; value: T } | { ok: false; status: number } {
    this.probes++;
    try {
      const value = fn();
      this.#count("OK");
      return { ok: true, value };
    } catch (error) {
      if (error instanceof ZxError) {
        this.#count(statusName(error.status));
        return { ok: false, status: error.status };
      }
      this.#count("not a ZxError");
      this.#mismatch(`not a ZxError: ${error}`);
      return { ok: false, status: Status.INTERNAL };
    }
  }

  /** Expects `fn` to throw one of `statuses` (a single status, or a list of acceptable ones). */
  expectStatus(what: string, fn: () => unknown, statuses: number | number[]): void {
    this.judge(what, this.outcome(fn), statuses);
  }

  /** Checks an outcome already counted by {@linkcode Checker.outcome} against `statuses`. */
  judge(
    what: string,
    got: { ok: true } | { ok: false; status: number },
    statuses: number | number[],
  ): void {
    const accepted = Array.isArray(statuses) ? statuses : [statuses];
    if (got.ok) this.#mismatch(`${what}: succeeded, expected ${accepted.map(statusName)}`);
    else if (!accepted.includes(got.status)) {
      this.#mismatch(`${what}: ${statusName(got.status)}, expected ${accepted.map(statusName)}`);
    }
  }

  /** Expects `fn` to succeed; returns its value (or undefined). */
  expectOk<T>(what: string, fn: () => T): T | undefined {
    const got = this.outcome(fn);
    if (!got.ok) this.#mismatch(`${what}: ${statusName(got.status)}, expected success`);
    return got.ok ? got.value : undefined;
  }

  /**
   * `readMemory(addr, len)` through `vmar`, expecting a byte count or a thrown status (or
   * `undefined`: anything that does not crash). Bytes it returns are compared with a direct
   * read of the same addresses, and with `bytes` when given. Returns the bytes read.
   */
  read(
    vmar: Vmar,
    addr: number,
    len: number,
    want?: number | Throws,
    bytes?: Uint8Array,
  ): Uint8Array {
    const buf = new Uint8Array(len);
    const got = this.outcome(() => vmar.readMemory(addr, buf));
    this.#check(`readMemory(0x${addr.toString(16)}, ${len})`, got, want);
    if (!got.ok) return new Uint8Array(0);
    const n = got.value;
    const seen = direct(addr, n);
    this.touched += n;
    for (let i = 0; i < n; i++) {
      if (seen[i] !== buf[i]) {
        this.#mismatch(`readMemory(0x${addr.toString(16)}): byte ${i} differs from memory`);
        break;
      }
      if (bytes !== undefined && buf[i] !== bytes[i]) {
        this.#mismatch(
          `readMemory(0x${addr.toString(16)}): byte ${i} is ${buf[i]}, not ${bytes[i]}`,
        );
        break;
      }
    }
    this.mix(n);
    for (let i = 0; i < n; i++) this.mix(buf[i]);
    return buf.subarray(0, n);
  }

  /**
   * `writeMemory(addr, src)` through `vmar`, expecting a count or a status. The bytes it says
   * it wrote are read back and written again directly (a write to read-only memory faults).
   */
  write(vmar: Vmar, addr: number, src: Uint8Array, want?: number | Throws): number {
    const got = this.outcome(() => vmar.writeMemory(addr, src));
    this.#check(`writeMemory(0x${addr.toString(16)}, ${src.length})`, got, want);
    if (!got.ok) return 0;
    const n = got.value;
    const seen = direct(addr, n);
    this.touched += n;
    for (let i = 0; i < n; i++) {
      if (seen[i] !== src[i]) {
        this.#mismatch(`writeMemory(0x${addr.toString(16)}): byte ${i} not in memory`);
        break;
      }
      seen[i] = src[i];
    }
    this.mix(n);
    return n;
  }

  #check(
    what: string,
    got: { ok: true; value: number } | { ok: false; status: number },
    want: number | Throws | undefined,
  ): void {
    if (want === undefined) return;
    if (typeof want === "number") {
      if (!got.ok) this.#mismatch(`${what}: ${statusName(got.status)}, expected ${want} bytes`);
      else if (got.value !== want) this.#mismatch(`${what}: ${got.value} bytes, expected ${want}`);
    } else if (got.ok) {
      this.#mismatch(`${what}: ${got.value} bytes, expected ${statusName(want.status)}`);
    } else if (got.status !== want.status) {
      this.#mismatch(`${what}: ${statusName(got.status)}, expected ${statusName(want.status)}`);
    }
  }

  /** Prints the summary line the parent test parses, and the first problems on stderr. */
  finish(): void {
    for (const problem of this.problems) console.error(`${this.scenario}: ${problem}`);
    console.log(
      "RESULT " + JSON.stringify({
        scenario: this.scenario,
        probes: this.probes,
        statuses: this.statuses,
        mismatches: this.mismatches,
        touched: this.touched,
        checksum: this.checksum,
      }),
    );
  }
}

/** `{ status }` for `Status.X`, shorter at call sites. */
export const throws = (status: number): Throws => ({ status });
export const NOT_FOUND: Throws = throws(Status.NOT_FOUND);
export const ACCESS_DENIED: Throws = throws(Status.ACCESS_DENIED);
export const OUT_OF_RANGE: Throws = throws(Status.OUT_OF_RANGE);
export const BAD_STATE: Throws = throws(Status.BAD_STATE);
