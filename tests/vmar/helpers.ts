/**
 * Helpers for the VMAR rule tests: a fresh sub-VMAR fixture, `infoMaps` summaries, and probes
 * of the real kernel state that do not go through the library: the protection of a range (from
 * `/proc/self/maps`), and `process_vm_readv`/`writev` on this process (which read the page
 * tables and fail with `EFAULT` instead of faulting). The libc and `/proc` readers underneath
 * are the suite's own, in `tests/_support/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type MapInfo, MapInfoType, Vmar, VmarFlags, Vmo, ZxError } from "../../mod.ts";
import {
  kernelRuns,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  P,
  pattern,
  PROT_READ,
  PROT_WRITE,
  sys,
} from "../_support/mod.ts";

export const R: number = VmarFlags.PERM_READ;
export const W: number = VmarFlags.PERM_WRITE;
export const X: number = VmarFlags.PERM_EXECUTE;
export const RW: number = R | W;
export const SPECIFIC: number = VmarFlags.SPECIFIC;
/** CAN_MAP_READ | CAN_MAP_WRITE | CAN_MAP_SPECIFIC: what the fixture region allows. */
export const CAN_RWS: number = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE |
  VmarFlags.CAN_MAP_SPECIFIC;

// ---------------------------------------------------------------------------------------------
// Fixtures

/** A sub-VMAR of the root for one test; `using` destroys it if it is still alive. */
export interface Region extends Disposable {
  vmar: Vmar;
  base: number;
  size: number;
}

/**
 * A fresh top-level sub-VMAR of `pages` pages with `flags` (CAN_MAP_READ|WRITE|SPECIFIC by
 * default). Dispose (`using`) destroys it unless the test already did.
 */
export function region(pages = 16, flags: number = CAN_RWS): Region {
  const [vmar, base] = Vmar.root().allocate(0, pages * P, flags);
  return {
    vmar,
    base,
    size: pages * P,
    [Symbol.dispose]() {
      destroyQuietly(vmar);
    },
  };
}

/**
 * `more` with the region `r` and the VMOs `vmos` attached: disposing it destroys the region and
 * closes the VMOs, so a fixture built from several objects is one `using`.
 */
export function owning<T extends object>(
  r: Region,
  vmos: Vmo[],
  more: T,
): T & { r: Region } & Disposable {
  return {
    ...more,
    r,
    [Symbol.dispose]() {
      r[Symbol.dispose]();
      for (const vmo of vmos) vmo.close();
    },
  };
}

/**
 * A 16-page region with a `pages`-page RW mapping of a fresh VMO at offset 0. The VMO holds
 * `pattern(pages * P, seed)`, or is left untouched (no page committed) when `seed` is null.
 */
export function mapped(pages = 4, seed: number | null = 1) {
  const r = region(16);
  const vmo = Vmo.create(pages * P);
  if (seed !== null) vmo.write(pattern(pages * P, seed), 0);
  const addr = r.vmar.map(0, vmo, 0, pages * P, RW | SPECIFIC);
  return owning(r, [vmo], { vmo, addr });
}

/**
 * A 16-page region: an 8-page VMO's pages [0, 2) mapped RW at [0, 2P), and a sub-VMAR at
 * [2P, 4P) filled by a mapping of its pages [4, 6). The VMO holds `pattern(8 * P, seed)`, or is
 * left untouched when `seed` is null.
 */
export function withSub(seed: number | null = null) {
  const r = region(16);
  const vmo = Vmo.create(8 * P);
  if (seed !== null) vmo.write(pattern(8 * P, seed), 0);
  r.vmar.map(0, vmo, 0, 2 * P, RW | SPECIFIC);
  const [sub, subBase] = r.vmar.allocate(2 * P, 2 * P, CAN_RWS | SPECIFIC);
  sub.map(0, vmo, 4 * P, 2 * P, RW | SPECIFIC);
  return owning(r, [vmo], { vmo, sub, subBase });
}

/** Destroys `vmar` unless it is already dead or its handle closed. */
export function destroyQuietly(vmar: Vmar): void {
  if (!vmar.isValid) return;
  try {
    vmar.destroy();
  } catch (error) {
    if (!(error instanceof ZxError)) throw error;
  }
}

/** A duplicate of `vmar` without the rights in `drop`. */
export function without(vmar: Vmar, drop: number): Vmar {
  return vmar.duplicate(vmar.rights & ~drop);
}

// ---------------------------------------------------------------------------------------------
// infoMaps summaries

/** A mapping record of `infoMaps`, reduced to what tests compare. Offsets are from `base`. */
export interface MapRow {
  type: "vmar" | "map";
  off: number;
  size: number;
  depth: number;
  perms?: number;
  vmoOffset?: number;
  koid?: number;
}

/** `infoMaps()` records as rows, with addresses relative to `base`. */
export function rows(maps: MapInfo[], base: number): MapRow[] {
  return maps.map((m) => {
    if (m.type === MapInfoType.MAPPING) {
      return {
        type: "map",
        off: m.base - base,
        size: m.size,
        depth: m.depth,
        perms: m.mapping!.mmuFlags,
        vmoOffset: m.mapping!.vmoOffset,
        koid: m.mapping!.vmoKoid,
      };
    }
    return { type: "vmar", off: m.base - base, size: m.size, depth: m.depth };
  });
}

/** The mapping records of `vmar.infoMaps()` as `[offsetFromBase, size, perms, vmoOffset]`. */
export function mappingRows(vmar: Vmar, base: number): [number, number, number, number][] {
  return vmar.infoMaps().filter((m) => m.type === MapInfoType.MAPPING).map((m) => [
    m.base - base,
    m.size,
    m.mapping!.mmuFlags,
    m.mapping!.vmoOffset,
  ]);
}

// ---------------------------------------------------------------------------------------------
// The kernel's view of protections

/**
 * The kernel protection of `[addr, addr + len)` as runs relative to `base`, e.g.
 * `[[0, 4096, "rw-s"], [4096, 65536, "---p"]]`: what tests compare with `assert.deepEqual`.
 */
export function kernelLayout(
  base: number,
  addr: number,
  len: number,
): [number, number, string | null][] {
  return kernelRuns(addr, len).map(([s, e, p]) => [s - base, e - base, p]);
}

/** Asserts that every page of `[addr, addr + len)` has protection `perms` in the kernel. */
export function assertKernelProt(addr: number, len: number, perms: string | null, what = ""): void {
  assert.deepEqual(
    kernelRuns(addr, len),
    [[addr, addr + len, perms]],
    `${what ? what + ": " : ""}kernel protection of [0x${addr.toString(16)}, +${len})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Probes through the kernel's page tables (independent of the library's tree)

const pid = sys.getpid();
const localIov = new BigUint64Array(2);
const remoteIov = new BigUint64Array(2);
const probeByte = new Uint8Array(1);

function vmCopy(addr: number, buf: Uint8Array<ArrayBuffer>, write: boolean): number {
  localIov[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  localIov[1] = BigInt(buf.length);
  remoteIov[0] = BigInt(addr);
  remoteIov[1] = BigInt(buf.length);
  const l = new Uint8Array(localIov.buffer);
  const r = new Uint8Array(remoteIov.buffer);
  return Number(
    write
      ? sys.process_vm_writev(pid, l, 1n, r, 1n, 0n)
      : sys.process_vm_readv(pid, l, 1n, r, 1n, 0n),
  );
}

/** Whether the kernel lets this process read the byte at `addr` (no fault possible). */
export function kernelCanRead(addr: number): boolean {
  return vmCopy(addr, probeByte, false) === 1;
}

/**
 * Whether the kernel lets this process write the byte at `addr`: reads it and writes the same
 * value back, so the memory is unchanged.
 */
export function kernelCanWrite(addr: number): boolean {
  if (vmCopy(addr, probeByte, false) !== 1) return false;
  return vmCopy(addr, probeByte, true) === 1;
}

/** `[kernelCanRead, kernelCanWrite]` of one address, as a compact assertion target. */
export function kernelAccess(addr: number): "rw" | "r" | "-" {
  if (!kernelCanRead(addr)) return "-";
  return kernelCanWrite(addr) ? "rw" : "r";
}

/** Bytes at `addr` read through the kernel (throws if any of them cannot be read). */
export function kernelRead(addr: number, len: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(len);
  const n = vmCopy(addr, buf, false);
  if (n !== len) throw new Error(`kernelRead at 0x${addr.toString(16)}: ${n} of ${len}`);
  return buf;
}

/** What `vmar.readMemory(addr, 1 byte)` gives: the byte count (1) or the thrown status. */
export function readProbe(vmar: Vmar, addr: number, len = 1): number {
  try {
    return vmar.readMemory(addr, new Uint8Array(len));
  } catch (error) {
    if (error instanceof ZxError) return error.status;
    throw error;
  }
}

/** What `vmar.writeMemory(addr, bytes)` gives: the count or the thrown status. */
export function writeProbe(vmar: Vmar, addr: number, src: Uint8Array = new Uint8Array(1)): number {
  try {
    return vmar.writeMemory(addr, src);
  } catch (error) {
    if (error instanceof ZxError) return error.status;
    throw error;
  }
}

/** `len` bytes read with `vmar.readMemory` (asserting the full count). */
export function readBytes(vmar: Vmar, addr: number, len: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(len);
  assert.equal(vmar.readMemory(addr, out), len, `readMemory(0x${addr.toString(16)}, ${len})`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Memory the library does not own

/** An anonymous private RW mapping made with the tests' own mmap, outside the library. */
export function foreignMmap(size: number): number {
  const p = sys.mmap(
    null,
    BigInt(size),
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
    -1,
    0n,
  );
  const value = BigInt(Deno.UnsafePointer.value(p));
  if (value === 0n || value === 0xffff_ffff_ffff_ffffn) throw new Error("mmap failed");
  return Number(value);
}

/** `munmap` of the tests' own. */
export function foreignMunmap(addr: number, size: number): void {
  if (sys.munmap(Deno.UnsafePointer.create(BigInt(addr)), BigInt(size)) !== 0) {
    throw new Error("munmap failed");
  }
}

/** A zero-copy view of foreign memory at `addr` (only for memory the test itself mapped RW). */
export function foreignView(addr: number, len: number): Uint8Array<ArrayBuffer> {
  const ptr = Deno.UnsafePointer.create(BigInt(addr))!;
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, len));
}

/** The alignment field of a VMAR option for `bytes` (a power of two from 2^10 to 2^32). */
export function alignFlag(bytes: number): number {
  const log = Math.log2(bytes);
  if (!Number.isInteger(log) || log < 10 || log > 32) throw new Error(`bad alignment ${bytes}`);
  return log << 24;
}

/** `Vmar.prototype[method]` called with `self` (a VMO, say) as `this`, to check `WRONG_TYPE`. */
export function callAsVmar(self: unknown, method: keyof Vmar, ...args: unknown[]): unknown {
  const fn = Vmar.prototype[method] as (this: unknown, ...a: unknown[]) => unknown;
  return fn.call(self, ...args);
}
