/**
 * `Vmo.read`/`write` and `SNAPSHOT` against the fastest honest raw equivalents.
 *
 * Groups `write <size>` and `read <size>` (64 B, 4 KiB, 1 MiB, at offset 0 of a 2 MiB VMO whose
 * pages are written before the bench) compare:
 * - `Vmo.write`/`Vmo.read`;
 * - a raw FFI `pwrite`/`pread` on a memfd: bigint arguments hoisted out of the loop, result
 *   checked (the baseline for 64 B and 4 KiB);
 * - `Uint8Array.set` into or out of a `MAP_SHARED` mapping of a memfd (memcpy speed; the
 *   baseline for 1 MiB, where it is the faster one).
 *
 * Every buffer starts 16 bytes into a page, as a fresh large `Uint8Array` does; the read groups
 * also show `Vmo.read` and `pread` into a page-aligned buffer (see {@linkcode placed}).
 *
 * The goals: 1 MiB at no less than 0.8x the faster baseline, 64 B within 2x of the raw
 * call.
 *
 * Group `SNAPSHOT 16 MiB of 64 GiB` compares `createChild(SNAPSHOT)` (then `close`) of a 64 GiB
 * sparse VMO holding 16 MiB with copying 16 MiB: `Uint8Array.set` between two buffers, and a raw
 * `copy_file_range` between two memfds (the baseline); a raw snapshot (new memfd, `ftruncate`,
 * `copy_file_range`, `close`) shows what the library adds.
 *
 * Everything is released when the bench process unloads (VMOs closed, mappings unmapped, fds
 * closed).
 *
 * Run with `deno task bench`.
 *
 * @module
 */

import { Vmo, VmoChildOptions } from "../mod.ts";
import { MAP_FAILED, MAP_SHARED, MFD_CLOEXEC, PROT_READ, PROT_WRITE } from "../ffi/constants.ts";
import { libc } from "../ffi/libc.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const cleanups: (() => void)[] = [];
globalThis.addEventListener("unload", () => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

function memfd(size: number): number {
  const fd = libc.memfd_create(new TextEncoder().encode("vmo-bench\0"), MFD_CLOEXEC);
  if (fd < 0) throw new Error("memfd_create failed");
  if (libc.ftruncate(fd, BigInt(size)) !== 0) throw new Error("ftruncate failed");
  cleanups.push(() => libc.close(fd));
  return fd;
}

/** Writes `len` bytes of `byte` at `pos` with `pwrite`, so the pages are committed and data. */
function fill(fd: number, pos: number, len: number, byte: number): void {
  const chunk = new Uint8Array(Math.min(len, MiB)).fill(byte);
  for (let done = 0; done < len; done += chunk.length) {
    const n = libc.pwrite(fd, chunk, BigInt(chunk.length), BigInt(pos + done));
    if (n !== BigInt(chunk.length)) throw new Error("pwrite failed");
  }
}

function mapShared(fd: number, size: number): Uint8Array<ArrayBuffer> {
  const ptr = libc.mmap(null, BigInt(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
  if (ptr === null || Deno.UnsafePointer.value(ptr) === MAP_FAILED) {
    throw new Error("mmap failed");
  }
  const buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, size);
  cleanups.push(() => {
    buffer.transfer(0); // detach every view before the memory goes away
    libc.munmap(ptr, BigInt(size));
  });
  return new Uint8Array(buffer);
}

// ---- read and write ------------------------------------------------------------------------

const VMO_SIZE = 2 * MiB;

const vmo = Vmo.create(VMO_SIZE);
cleanups.push(() => vmo.close());
vmo.write(new Uint8Array(VMO_SIZE).fill(0x5a), 0); // commit every page, as data

const rawFd = memfd(VMO_SIZE);
fill(rawFd, 0, VMO_SIZE, 0x5a);

const mapFd = memfd(VMO_SIZE);
fill(mapFd, 0, VMO_SIZE, 0x5a);
const mapped = mapShared(mapFd, VMO_SIZE);
mapped.fill(0x5a); // fault every page in, so the bench measures the copy only

const PAGE = 4096;
/** Where `new Uint8Array(1 MiB)` starts within a page (glibc's chunk header). */
const USUAL_OFFSET = 16;

/**
 * A `size`-byte view whose first byte sits `pageOffset` bytes into a page. The copies in the
 * kernel (`rep movsb` in `copy_to_user`) run up to 5x slower on some AMD CPUs when the
 * destination is 1 to 31 bytes past the source modulo 4096, and a fresh large `Uint8Array`
 * (a glibc `mmap` chunk) starts 16 bytes into a page: so where a buffer lands decides how fast
 * `pread` is. Placing every buffer makes runs comparable.
 */
function placed(size: number, pageOffset: number): Uint8Array<ArrayBuffer> {
  const buffer = new Uint8Array(size + 2 * PAGE);
  const address = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
  const start = (PAGE - (address % PAGE)) % PAGE + pageOffset;
  return buffer.subarray(start, start + size);
}

const SIZES = [
  { label: "64 B", size: 64 },
  { label: "4 KiB", size: 4 * KiB },
  { label: "1 MiB", size: MiB },
];

for (const { label, size } of SIZES) {
  const src = placed(size, USUAL_OFFSET).fill(0xa5);
  const dst = placed(size, USUAL_OFFSET);
  const alignedDst = placed(size, 0);
  const len = BigInt(size);
  const mappedPart = mapped.subarray(0, size);
  // pread/pwrite is the baseline for small copies; at 1 MiB the mapping is the faster one.
  const setIsBaseline = size >= MiB;
  const writeGroup = `write ${label}`;
  const readGroup = `read ${label}`;

  Deno.bench({
    name: "Vmo.write",
    group: writeGroup,
    fn: () => {
      vmo.write(src, 0);
    },
  });
  Deno.bench({
    name: "raw pwrite (memfd)",
    group: writeGroup,
    baseline: !setIsBaseline,
    fn: () => {
      if (libc.pwrite(rawFd, src, len, 0n) !== len) throw new Error("short pwrite");
    },
  });
  Deno.bench({
    name: "Uint8Array.set into mmap",
    group: writeGroup,
    baseline: setIsBaseline,
    fn: () => {
      mapped.set(src, 0);
    },
  });

  Deno.bench({
    name: "Vmo.read",
    group: readGroup,
    fn: () => {
      vmo.read(dst, 0);
    },
  });
  Deno.bench({
    name: "raw pread (memfd)",
    group: readGroup,
    baseline: !setIsBaseline,
    fn: () => {
      if (libc.pread(rawFd, dst, len, 0n) !== len) throw new Error("short pread");
    },
  });
  Deno.bench({
    name: "Uint8Array.set out of mmap",
    group: readGroup,
    baseline: setIsBaseline,
    fn: () => {
      dst.set(mappedPart, 0);
    },
  });
  Deno.bench({
    name: "Vmo.read, page-aligned dst",
    group: readGroup,
    fn: () => {
      vmo.read(alignedDst, 0);
    },
  });
  Deno.bench({
    name: "raw pread (memfd), page-aligned dst",
    group: readGroup,
    fn: () => {
      if (libc.pread(rawFd, alignedDst, len, 0n) !== len) throw new Error("short pread");
    },
  });
}

// ---- SNAPSHOT --------------------------------------------------------------------------------

const SPARSE_SIZE = 64 * GiB;
const DATA = 16 * MiB;
const DATA_N = BigInt(DATA);
const SPARSE_SIZE_N = BigInt(SPARSE_SIZE);

/** 64 GiB, 16 MiB of data at offset 0. */
const sparse = Vmo.create(SPARSE_SIZE);
cleanups.push(() => sparse.close());
sparse.write(new Uint8Array(DATA).fill(0x3c), 0);

/** 64 GiB, 16 MiB of data as 16 extents of 1 MiB, one every 4 GiB. */
const scattered = Vmo.create(SPARSE_SIZE);
cleanups.push(() => scattered.close());
{
  const extent = new Uint8Array(MiB).fill(0x3c);
  for (let i = 0; i < 16; i++) scattered.write(extent, i * 4 * GiB);
}

const copySrc = new Uint8Array(DATA).fill(0x3c);
const copyDst = new Uint8Array(DATA);

const cfrSrcFd = memfd(DATA);
fill(cfrSrcFd, 0, DATA, 0x3c);
const cfrDstFd = memfd(DATA);
fill(cfrDstFd, 0, DATA, 0);
const offIn = new BigInt64Array(1);
const offOut = new BigInt64Array(1);
const snapName = new TextEncoder().encode("vmo-bench-snap\0");

/** `copy_file_range` of `DATA` bytes from the start of `from` to the start of `to`. */
function copyRange(from: number, to: number): void {
  offIn[0] = 0n;
  offOut[0] = 0n;
  let left = DATA_N;
  while (left > 0n) {
    const n = libc.copy_file_range(from, offIn, to, offOut, left, 0);
    if (n <= 0n) throw new Error("copy_file_range failed");
    left -= n;
  }
}

const SNAPSHOT_GROUP = "SNAPSHOT 16 MiB of 64 GiB";

Deno.bench({
  name: "Vmo SNAPSHOT + close (16 MiB at 0)",
  group: SNAPSHOT_GROUP,
  fn: () => {
    sparse.createChild(VmoChildOptions.SNAPSHOT, 0, SPARSE_SIZE).close();
  },
});
Deno.bench({
  name: "Vmo SNAPSHOT + close (16 x 1 MiB)",
  group: SNAPSHOT_GROUP,
  fn: () => {
    scattered.createChild(VmoChildOptions.SNAPSHOT, 0, SPARSE_SIZE).close();
  },
});
Deno.bench({
  name: "raw copy_file_range 16 MiB (memfds)",
  group: SNAPSHOT_GROUP,
  baseline: true,
  fn: () => {
    copyRange(cfrSrcFd, cfrDstFd);
  },
});
Deno.bench({
  name: "Uint8Array.set 16 MiB",
  group: SNAPSHOT_GROUP,
  fn: () => {
    copyDst.set(copySrc, 0);
  },
});
Deno.bench({
  name: "raw snapshot: memfd + ftruncate + copy_file_range + close",
  group: SNAPSHOT_GROUP,
  fn: () => {
    const fd = libc.memfd_create(snapName, MFD_CLOEXEC);
    if (fd < 0) throw new Error("memfd_create failed");
    try {
      if (libc.ftruncate(fd, SPARSE_SIZE_N) !== 0) throw new Error("ftruncate failed");
      copyRange(cfrSrcFd, fd);
    } finally {
      libc.close(fd);
    }
  },
});
