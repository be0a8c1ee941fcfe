/**
 * The address-space system calls behind VMARs: reservations, file mappings, protection.
 *
 * A child VMAR is a `PROT_NONE`, `MAP_NORESERVE` anonymous reservation; mappings are placed in
 * it with `MAP_FIXED`, and unmapping puts the reservation back rather than leaving a hole that
 * any other code could take. In the root VMAR (the whole process) the library only touches
 * what it placed: `MAP_FIXED_NOREPLACE` for specific addresses, the kernel's choice otherwise;
 * and it never places anything in the main thread's stack growth area (`stack_area.ts`).
 *
 * @module
 */

import {
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../../ffi/constants.ts";
import { EEXIST, ENOMEM } from "../../ffi/errno.ts";
import { BigIntMemo } from "../../ffi/bigint.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { PAGE_SIZE } from "../args.ts";
import { fail, Status, syscallError, ZxError } from "../status.ts";
import { procSelfMaps } from "./proc.ts";
import { stackGrowthArea, touchesStackArea } from "./stack_area.ts";

/** The bounds of the root VMAR: what Linux lets a 47-bit x86_64 process map. */
export const USER_BASE: number = Math.max(0x10000, PAGE_SIZE);
export const USER_END: number = 2 ** 47 - PAGE_SIZE;

const RESERVE_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

// One memo per argument role, shared by the calls below: a map and the unmap after it pass the
// same address and size, so most calls convert nothing (see ffi/bigint.ts).
const ADDR = new BigIntMemo();
const SIZE = new BigIntMemo();
const OFFSET = new BigIntMemo();

/** The address mmap returned as a number, or -1 for `MAP_FAILED`. */
function address(result: number | bigint): number {
  return typeof result === "bigint" ? (result === MAP_FAILED ? -1 : Number(result)) : result;
}

/** Puts a `PROT_NONE` reservation over `[addr, addr + size)`, replacing what is there. */
export function reserveFixed(addr: number, size: number): void {
  const at = ADDR.of(addr);
  const result = libc.mmap_at(at, SIZE.of(size), PROT_NONE, RESERVE_FLAGS | MAP_FIXED, -1, 0n);
  if (result !== at) {
    throw syscallError("mmap", `cannot reserve ${size} bytes at 0x${addr.toString(16)}`);
  }
}

/**
 * Puts private anonymous zero pages, readable and writable, over `[addr, addr + size)`,
 * replacing what is there: memory that a runtime operation may still hold a pointer into
 * (a view it took before vmo detached it) reads zeros and takes writes that land nowhere.
 */
export function zeroFixed(addr: number, size: number): void {
  const result = libc.mmap_at(
    BigInt(addr),
    BigInt(size),
    PROT_READ | PROT_WRITE,
    RESERVE_FLAGS | MAP_FIXED,
    -1,
    0n,
  );
  if (address(result) !== addr) {
    throw syscallError("mmap", `cannot put zero pages at 0x${addr.toString(16)}`);
  }
}

/** Gives `[addr, addr + size)` back to the process. */
export function release(addr: number, size: number): void {
  if (libc.munmap_at(ADDR.of(addr), SIZE.of(size)) !== 0) {
    throw syscallError("munmap", `cannot unmap ${size} bytes at 0x${addr.toString(16)}`);
  }
}

/** Maps `size` bytes of `fd` at `offset` over `[addr, addr + size)`, replacing what is there. */
export function mapFileFixed(
  addr: number,
  size: number,
  prot: number,
  fd: number,
  offset: number,
): void {
  const at = ADDR.of(addr);
  const result = libc.mmap_at(
    at,
    SIZE.of(size),
    prot,
    MAP_SHARED | MAP_FIXED,
    fd,
    OFFSET.of(offset),
  );
  if (result !== at) {
    throw syscallError("mmap", `cannot map ${size} bytes at 0x${addr.toString(16)}`);
  }
}

/**
 * Whether the kernel can map `fd` at `offset` at all, tried with a one-page `PROT_NONE`
 * mapping wherever the kernel likes, before anything in a VMAR changes: a file whose mmap the
 * kernel refuses (sysfs: ENODEV; some procfs files: EIO) would otherwise fail a `MAP_FIXED`
 * that has already removed the pages under it. `NOT_SUPPORTED` when it cannot; `NO_MEMORY`
 * when the process is out of mappings.
 */
export function checkMappable(fd: number, offset: number): void {
  const result = libc.mmap_at(0n, BigInt(PAGE_SIZE), PROT_NONE, MAP_SHARED, fd, BigInt(offset));
  const at = address(result);
  if (at >= 0) {
    libc.munmap_at(BigInt(at), BigInt(PAGE_SIZE));
    return;
  }
  const errno = lastErrno();
  if (errno === ENOMEM) throw syscallError("mmap", "cannot try mapping the VMO's file", errno);
  fail(Status.NOT_SUPPORTED, `the kernel cannot map the VMO's file (errno ${errno})`);
}

/** Changes the protection of `[addr, addr + size)`. */
export function protect(addr: number, size: number, prot: number): void {
  if (libc.mprotect_at(ADDR.of(addr), SIZE.of(size), prot) !== 0) {
    throw syscallError("mprotect", `cannot protect ${size} bytes at 0x${addr.toString(16)}`);
  }
}

/**
 * Pre-faults the page-table entries of `[addr, addr + size)` (`MADV_POPULATE_*`). A hint: a
 * kernel without it (before 5.14) changes nothing observable.
 */
export function populate(addr: number, size: number, write: boolean): void {
  libc.madvise_at(BigInt(addr), BigInt(size), write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

/**
 * Maps `size` bytes of `fd` at `offset` wherever the kernel chooses (one `mmap(NULL, ...)`,
 * where reserving and then mapping over the reservation takes two): the address, or -1 when
 * the call failed or landed in the main thread's stack area (then nothing is left mapped), for
 * the caller to take the general path, which reports the error or searches elsewhere.
 */
export function mapFileAnywhere(size: number, prot: number, fd: number, offset: number): number {
  const result = libc.mmap_at(0n, SIZE.of(size), prot, MAP_SHARED, fd, OFFSET.of(offset));
  if (result === MAP_FAILED) return -1;
  const start = Number(result);
  if (touchesStackArea(start, start + size)) {
    release(start, size);
    return -1;
  }
  return start;
}

/**
 * Reserves `size` bytes in the process address space with `PROT_NONE`: at `addr` exactly when
 * given (`ALREADY_EXISTS` if anything is mapped there), else where the kernel chooses, aligned
 * to `align`, and below `limit` when given. Returns the address.
 */
export function reserveInProcess(
  addr: number | null,
  size: number,
  align: number,
  limit: number | null,
): number {
  if (addr !== null) return reserveExactly(addr, size);
  if (limit !== null) return reserveBelow(limit, size, align);
  const slack = align > PAGE_SIZE ? align - PAGE_SIZE : 0;
  const result = libc.mmap_at(0n, BigInt(size + slack), PROT_NONE, RESERVE_FLAGS, -1, 0n);
  const start = address(result);
  if (start < 0) throw syscallError("mmap", `cannot reserve ${size} bytes`);
  if (touchesStackArea(start, start + size + slack)) {
    // The kernel's top-down search keeps below the stack's area; only its bottom-up fallback,
    // with the address space nearly full, can land here: search below the area instead.
    release(start, size + slack);
    return reserveBelow(stackGrowthArea()[0], size, align);
  }
  if (slack === 0) return start;
  const aligned = Math.ceil(start / align) * align;
  if (aligned > start) release(start, aligned - start);
  const tail = start + size + slack - (aligned + size);
  if (tail > 0) release(aligned + size, tail);
  return aligned;
}

function reserveExactly(addr: number, size: number): number {
  if (touchesStackArea(addr, addr + size)) {
    fail(Status.ALREADY_EXISTS, `0x${addr.toString(16)} is in the main thread's stack area`);
  }
  const flags = RESERVE_FLAGS | MAP_FIXED_NOREPLACE;
  const result = libc.mmap_at(BigInt(addr), BigInt(size), PROT_NONE, flags, -1, 0n);
  const got = address(result);
  if (got === addr) return addr;
  if (got < 0) {
    const errno = lastErrno();
    if (errno === EEXIST) {
      fail(Status.ALREADY_EXISTS, `0x${addr.toString(16)} overlaps memory vmo does not own`);
    }
    throw syscallError("mmap", `cannot reserve ${size} bytes at 0x${addr.toString(16)}`, errno);
  }
  // A kernel older than 4.17 takes MAP_FIXED_NOREPLACE as a hint and maps elsewhere.
  release(got, size);
  fail(Status.ALREADY_EXISTS, `0x${addr.toString(16)} overlaps memory vmo does not own`);
}

function reserveBelow(limit: number, size: number, align: number): number {
  for (let attempt = 0; attempt < 4; attempt++) {
    const at = highestFreeBelow(limit, size, align);
    if (at < 0) break;
    try {
      return reserveExactly(at, size);
    } catch (error) {
      // Another thread took the gap between reading the map and reserving it: look again.
      if (!(error instanceof ZxError) || error.status !== Status.ALREADY_EXISTS) throw error;
    }
  }
  fail(Status.NO_RESOURCES, `no room for ${size} bytes below 0x${limit.toString(16)}`);
}

/** The highest aligned address where `size` bytes fit below `limit`, from `/proc/self/maps`. */
function highestFreeBelow(limit: number, size: number, align: number): number {
  const taken = procSelfMaps();
  const [stackStart, stackEnd] = stackGrowthArea();
  if (stackEnd > stackStart) {
    taken.push([stackStart, stackEnd]);
    taken.sort((a, b) => a[0] - b[0]);
  }
  let best = -1;
  let gapStart = USER_BASE;
  for (const [start, end] of [...taken, [USER_END, USER_END]]) {
    const gapEnd = Math.min(start, limit);
    const at = Math.floor((gapEnd - size) / align) * align;
    if (at >= gapStart && at + size <= gapEnd) best = Math.max(best, at);
    gapStart = Math.max(gapStart, end);
    if (gapStart >= limit) break;
  }
  return best;
}

export { mappingsLeft, procSelfMaps, readProcFile } from "./proc.ts";
