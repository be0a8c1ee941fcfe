/**
 * `Vmar.map`/`unmap`, `protect` and `infoMaps` against the raw system calls they stand on.
 *
 * Group `map + unmap 64 KiB` compares, in an empty sub-VMAR of 1 GiB (`CAN_MAP_READ|WRITE`, and
 * `CAN_MAP_SPECIFIC` for the SPECIFIC cases; allocated once from `Vmar.root()`):
 * - `Vmar.map` of a 64 KiB VMO (first-fit placement) then `Vmar.unmap` of it;
 * - the raw FFI pair it stands on, in a 1 GiB `PROT_NONE` reservation made here (the baseline):
 *   `mmap(addr, 64 KiB, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, fd, 0)` of a memfd made and
 *   sealed like a VMO's, then `mmap(addr, 64 KiB, PROT_NONE,
 *   MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_FIXED, -1, 0)` to put the reservation back;
 *   pointer and bigint arguments hoisted, results checked;
 * - `Vmar.map` with `SPECIFIC` at offset 0, which skips the free-gap search.
 * The goal: within 1.5x of the raw pair.
 *
 * Groups `protect 1 page` and `protect 1 page of 16` toggle one page to `PERM_READ` and back
 * to `PERM_READ|PERM_WRITE` (two calls per iteration) with `Vmar.protect` and with a raw
 * `mprotect` pair (the baseline): first on a mapping of exactly one page (the kernel changes a
 * whole VMA's flags), then on the middle page of a 16-page mapping (the kernel splits the VMA
 * in three and merges it back, the library splits and coalesces its permission ranges). The
 * goal: within 1.5x.
 *
 * Group `map + unmap 64 KiB, 10 vs 10,000 mappings` is the same `map` + `unmap` in a sub-VMAR
 * that already holds 10 one-page mappings (the baseline) and in one that holds 10,000 (packed
 * from the base, none mergeable: each maps page 0 of a one-page VMO), for the default
 * first-fit placement and for `SPECIFIC` placement right after the resident mappings; the raw
 * pair at that same address in each (putting the reservation back as the library does) shows
 * how much of a difference is the kernel's. The goal: within 1.2x.
 *
 * Group `infoMaps` times `Vmar.infoMaps()` of those two sub-VMARs (the 10-mapping one is the
 * baseline). Each record of a mapping asks the kernel where the VMO's data is (`lseek`
 * `SEEK_DATA`/`SEEK_HOLE`); the resident VMO's page is committed, so both calls run. The goal:
 * under 20 ms for 10,000 mappings.
 *
 * Before any bench is timed, every case runs for about 20 ms: after setting up 10,000 mappings,
 * whichever bench ran first was up to 1.5x slower than when it ran later.
 *
 * Everything is released when the bench process unloads (VMARs destroyed, VMOs closed, the
 * reservation unmapped, the memfd closed).
 *
 * Run with `deno task bench`.
 *
 * @module
 */

import { PAGE_SIZE, Vmar, VmarFlags, Vmo } from "../mod.ts";
import {
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../ffi/constants.ts";
import { libc } from "../ffi/libc.ts";

const KiB = 1024;
const GiB = 1024 * 1024 * KiB;

const cleanups: (() => void)[] = [];
/** Every bench's function, run once more before any bench is timed (see the end). */
const warmups: (() => void)[] = [];
globalThis.addEventListener("unload", () => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const R = VmarFlags.PERM_READ;
const REGION_SIZE = GiB;
const REGION_FLAGS = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE |
  VmarFlags.CAN_MAP_SPECIFIC;

/** `Deno.bench`, remembering the function for the warm-up. */
function bench(definition: Deno.BenchDefinition & { fn: () => void }): void {
  warmups.push(definition.fn);
  Deno.bench(definition);
}

/** A 1 GiB sub-VMAR of the root, destroyed on unload. */
function region(): [Vmar, number] {
  const [vmar, base] = Vmar.root().allocate(0, REGION_SIZE, REGION_FLAGS);
  cleanups.push(() => vmar.destroy());
  return [vmar, base];
}

function vmoOf(size: number): Vmo {
  const vmo = Vmo.create(size);
  cleanups.push(() => vmo.close());
  return vmo;
}

/** A memfd made as a VMO's is: `MFD_ALLOW_SEALING`, sealed against shrinking and growing. */
function memfd(size: number): number {
  const fd = libc.memfd_create(
    new TextEncoder().encode("vmar-bench\0"),
    MFD_CLOEXEC | MFD_ALLOW_SEALING,
  );
  if (fd < 0) throw new Error("memfd_create failed");
  cleanups.push(() => libc.close(fd));
  if (libc.ftruncate(fd, BigInt(size)) !== 0) throw new Error("ftruncate failed");
  if (libc.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) !== 0) {
    throw new Error("F_ADD_SEALS failed");
  }
  return fd;
}

// ---- The raw side: a reservation of our own ------------------------------------------------

const RESERVE_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
const RESERVE_FIXED = RESERVE_FLAGS | MAP_FIXED;
const FILE_FIXED = MAP_SHARED | MAP_FIXED;
const PROT_RW = PROT_READ | PROT_WRITE;

const rawBase = libc.mmap(null, BigInt(REGION_SIZE), PROT_NONE, RESERVE_FLAGS, -1, 0n);
if (rawBase === null || Deno.UnsafePointer.value(rawBase) === MAP_FAILED) {
  throw new Error("cannot reserve the raw region");
}
cleanups.push(() => libc.munmap(rawBase, BigInt(REGION_SIZE)));
const rawBaseValue = Deno.UnsafePointer.value(rawBase);

/** A pointer `offset` bytes into the raw reservation. */
function rawAt(offset: number): Deno.PointerObject {
  return Deno.UnsafePointer.create(rawBaseValue + BigInt(offset))!;
}

/** `mmap` `len` bytes of `fd` over `ptr` and put the reservation back, checking both. */
function rawMapUnmap(ptr: Deno.PointerObject, ptrValue: bigint, len: bigint, fd: number): void {
  const mapped = libc.mmap(ptr, len, PROT_RW, FILE_FIXED, fd, 0n);
  if (Deno.UnsafePointer.value(mapped) !== ptrValue) throw new Error("mmap failed");
  const back = libc.mmap(ptr, len, PROT_NONE, RESERVE_FIXED, -1, 0n);
  if (Deno.UnsafePointer.value(back) !== ptrValue) throw new Error("reserve failed");
}

// ---- map + unmap 64 KiB ----------------------------------------------------------------------

const MAP_SIZE = 64 * KiB;
const MAP_SIZE_N = BigInt(MAP_SIZE);

/** The VMO every timed `map` maps; a memfd made like its backing for the raw pair. */
const mapee = vmoOf(MAP_SIZE);
const rawFd = memfd(MAP_SIZE);

const [emptyRegion] = region();
const rawMapPtr = rawAt(0);
const rawMapValue = Deno.UnsafePointer.value(rawMapPtr);

const MAP_GROUP = "map + unmap 64 KiB";

bench({
  name: "Vmar.map + Vmar.unmap",
  group: MAP_GROUP,
  fn: () => {
    emptyRegion.unmap(emptyRegion.map(0, mapee, 0, MAP_SIZE, RW), MAP_SIZE);
  },
});
bench({
  name: "Vmar.map SPECIFIC + Vmar.unmap",
  group: MAP_GROUP,
  fn: () => {
    emptyRegion.unmap(emptyRegion.map(0, mapee, 0, MAP_SIZE, RW | VmarFlags.SPECIFIC), MAP_SIZE);
  },
});
bench({
  name: "raw mmap MAP_FIXED + mmap PROT_NONE back",
  group: MAP_GROUP,
  baseline: true,
  fn: () => {
    rawMapUnmap(rawMapPtr, rawMapValue, MAP_SIZE_N, rawFd);
  },
});

// ---- protect ---------------------------------------------------------------------------------

const PROTECT_PAGES = 16;
const protectVmo = vmoOf(PROTECT_PAGES * PAGE_SIZE);
const [protectRegion] = region();
// A one-page mapping, a reservation page, then a 16-page mapping: neither touches the other.
const onePage = protectRegion.map(0, protectVmo, 0, PAGE_SIZE, RW);
const sixteen = protectRegion.map(
  2 * PAGE_SIZE,
  protectVmo,
  0,
  PROTECT_PAGES * PAGE_SIZE,
  RW | VmarFlags.SPECIFIC,
);
const middle = sixteen + (PROTECT_PAGES / 2) * PAGE_SIZE;

const protectFd = memfd(PROTECT_PAGES * PAGE_SIZE);
const PAGE_N = BigInt(PAGE_SIZE);
const PROTECT_LEN_N = BigInt(PROTECT_PAGES * PAGE_SIZE);
// The raw layout 1 GiB - 1 MiB into the raw reservation, far from the map + unmap place.
const RAW_PROTECT_AT = REGION_SIZE - 1024 * KiB;
const rawOnePage = rawAt(RAW_PROTECT_AT);
const rawSixteen = rawAt(RAW_PROTECT_AT + 2 * PAGE_SIZE);
const rawMiddle = rawAt(RAW_PROTECT_AT + 2 * PAGE_SIZE + (PROTECT_PAGES / 2) * PAGE_SIZE);
for (const [ptr, len] of [[rawOnePage, PAGE_N], [rawSixteen, PROTECT_LEN_N]] as const) {
  const got = libc.mmap(ptr, len, PROT_RW, FILE_FIXED, protectFd, 0n);
  if (Deno.UnsafePointer.value(got) !== Deno.UnsafePointer.value(ptr)) {
    throw new Error("mmap failed");
  }
}

function rawToggle(ptr: Deno.PointerObject): void {
  if (libc.mprotect(ptr, PAGE_N, PROT_READ) !== 0) throw new Error("mprotect failed");
  if (libc.mprotect(ptr, PAGE_N, PROT_RW) !== 0) throw new Error("mprotect failed");
}

for (
  const [group, addr, ptr] of [
    ["protect 1 page (R, then RW)", onePage, rawOnePage],
    ["protect 1 page of 16 (R, then RW)", middle, rawMiddle],
  ] as const
) {
  bench({
    name: "Vmar.protect x2",
    group,
    fn: () => {
      protectRegion.protect(addr, PAGE_SIZE, R);
      protectRegion.protect(addr, PAGE_SIZE, RW);
    },
  });
  bench({
    name: "raw mprotect x2",
    group,
    baseline: true,
    fn: () => {
      rawToggle(ptr);
    },
  });
}

// ---- 10 vs 10,000 mappings -------------------------------------------------------------------

/** One committed page, mapped again and again at offset 0: neighbours never merge. */
const filler = vmoOf(PAGE_SIZE);
filler.write(new Uint8Array(PAGE_SIZE).fill(0x5a), 0);

/** A sub-VMAR holding `count` one-page mappings packed from its base. */
function populated(count: number): Vmar {
  const [vmar] = region();
  for (let i = 0; i < count; i++) {
    vmar.map(i * PAGE_SIZE, filler, 0, PAGE_SIZE, R | VmarFlags.SPECIFIC);
  }
  return vmar;
}

const FEW = 10;
const MANY = 10_000;
const few = populated(FEW);
const many = populated(MANY);

const SCALE_GROUP = "map + unmap 64 KiB, 10 vs 10,000 mappings";

for (const [label, vmar, count] of [["10", few, FEW], ["10,000", many, MANY]] as const) {
  const after = count * PAGE_SIZE;
  bench({
    name: `${label} mappings: Vmar.map + Vmar.unmap`,
    group: SCALE_GROUP,
    baseline: count === FEW,
    fn: () => {
      vmar.unmap(vmar.map(0, mapee, 0, MAP_SIZE, RW), MAP_SIZE);
    },
  });
  bench({
    name: `${label} mappings: Vmar.map SPECIFIC + Vmar.unmap`,
    group: SCALE_GROUP,
    fn: () => {
      vmar.unmap(vmar.map(after, mapee, 0, MAP_SIZE, RW | VmarFlags.SPECIFIC), MAP_SIZE);
    },
  });
  // The kernel's share: the raw pair at the very address `map` picks, which it gives back.
  const at = Deno.UnsafePointer.create(BigInt(vmar.info().base + after))!;
  const atValue = Deno.UnsafePointer.value(at);
  bench({
    name: `${label} mappings: raw pair at the same address`,
    group: SCALE_GROUP,
    fn: () => {
      rawMapUnmap(at, atValue, MAP_SIZE_N, rawFd);
    },
  });
}

// ---- infoMaps --------------------------------------------------------------------------------

const INFO_GROUP = "infoMaps";

for (const [label, vmar, count] of [["10", few, FEW], ["10,000", many, MANY]] as const) {
  const records = vmar.infoMaps().length;
  if (records !== count + 1) throw new Error(`${records} records for ${count} mappings`);
  bench({
    name: `infoMaps, ${label} mappings`,
    group: INFO_GROUP,
    baseline: count === FEW,
    fn: () => {
      vmar.infoMaps();
    },
  });
}

// ---- Warm-up -----------------------------------------------------------------------------------

// After the 10,000 mappings are set up, the first bench to run is penalised (up to 1.5x): run
// every case for about 20 ms first.
for (const fn of warmups) {
  const until = performance.now() + 20;
  for (let i = 0; i < 2000 && performance.now() < until; i++) fn();
}
