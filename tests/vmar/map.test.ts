/**
 * docs/semantics.md §2.4: `Vmar.map`, its checks in Zircon's order, and its result in the tree
 * (`infoMaps`, `numMappings`), in the kernel (`/proc/self/maps`, page-table probes) and
 * through `readMemory`/`writeMemory`.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoChildOptions,
  VmoOptions,
} from "../../mod.ts";
import { assertStatus, closedDuplicate, P, pattern, withRights } from "../_support/mod.ts";
import {
  alignFlag,
  assertKernelProt,
  callAsVmar,
  CAN_RWS,
  kernelAccess,
  kernelLayout,
  kernelRead,
  mappingRows,
  R,
  readBytes,
  readProbe,
  region,
  rows,
  RW,
  SPECIFIC,
  W,
  without,
  writeProbe,
  X,
} from "./helpers.ts";

const OVERWRITE = VmarFlags.SPECIFIC_OVERWRITE;
const UPPER = VmarFlags.OFFSET_IS_UPPER_LIMIT;
const FBSS = VmarFlags.FAULT_BEYOND_STREAM_SIZE;
const ALLOW_FAULTS = VmarFlags.ALLOW_FAULTS;

Deno.test("§2.4 map step 1: handle lookups", async (t) => {
  using r = region();
  using vmo = Vmo.create(P);
  await t.step("closed VMAR handle → BAD_HANDLE", () => {
    const dup = closedDuplicate(r.vmar);
    assertStatus(() => dup.map(0, vmo, 0, P, R), Status.BAD_HANDLE);
    assertStatus(() => dup.map(-1, vmo, 0.5, NaN, R), Status.BAD_HANDLE);
  });
  await t.step("closed VMO handle → BAD_HANDLE (before argument shape)", () => {
    const dup = closedDuplicate(vmo);
    assertStatus(() => r.vmar.map(0, dup, 0, P, R), Status.BAD_HANDLE);
    assertStatus(() => r.vmar.map(-1, dup, 0, P, R), Status.BAD_HANDLE);
    assertStatus(() => r.vmar.map(0, null as unknown as Vmo, 0, P, R), Status.BAD_HANDLE);
  });
  await t.step("a VMAR in the VMO slot, a VMO as the VMAR → WRONG_TYPE", () => {
    assertStatus(() => r.vmar.map(0, r.vmar as unknown as Vmo, 0, P, R), Status.WRONG_TYPE);
    assertStatus(() => callAsVmar(vmo, "map", 0, vmo, 0, P, R), Status.WRONG_TYPE);
  });
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
});

Deno.test("§2.4 map: argument shape errors → INVALID_ARGS right after the handles", () => {
  using r = region();
  using vmo = Vmo.create(P);
  using noMap = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.MAP);
  const bad: unknown[] = [-1, 0.5, NaN, Infinity, "0", null, undefined, 0n];
  for (const v of bad) {
    const n = v as number;
    assertStatus(() => r.vmar.map(n, vmo, 0, P, R), Status.INVALID_ARGS, `vmarOffset ${v}`);
    assertStatus(() => r.vmar.map(0, vmo, n, P, R), Status.INVALID_ARGS, `vmoOffset ${v}`);
    assertStatus(() => r.vmar.map(0, vmo, 0, n, R), Status.INVALID_ARGS, `len ${v}`);
    assertStatus(() => r.vmar.map(0, vmo, 0, P, n), Status.INVALID_ARGS, `flags ${v}`);
    // Shape comes before the MAP right.
    assertStatus(() => r.vmar.map(0, noMap, 0, n, R), Status.INVALID_ARGS, `noMap len ${v}`);
  }
  assertStatus(() => r.vmar.map(0, vmo, 0, P, 2 ** 32), Status.INVALID_ARGS);
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
});

Deno.test("§2.4 map step 2: VMO handle without MAP → ACCESS_DENIED, even with options 0", () => {
  using r = region();
  using vmo = Vmo.create(P);
  using noMap = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.MAP);
  assertStatus(() => r.vmar.map(0, noMap, 0, P, 0), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.map(0, noMap, 0, P, R), Status.ACCESS_DENIED);
  // Before every later step: W without R (4), bad flags (5, 8, 9), unaligned offset, len 0.
  assertStatus(() => r.vmar.map(0, noMap, 0, P, W), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.map(0, noMap, 0, P, VmarFlags.CAN_MAP_READ), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.map(0, noMap, 0, P, 5 << 24), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.map(0, noMap, 1, P, R), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.map(0, noMap, 0, 0, R), Status.ACCESS_DENIED);
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
  assert.equal(vmo.info().numMappings, 0);
});

Deno.test("§2.4 map step 3: PERM_READ_IF_XOM_UNSUPPORTED adds PERM_READ (x86)", () => {
  using r = region();
  using vmo = Vmo.create(P);
  const addr = r.vmar.map(0, vmo, 0, P, VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, P, R, 0]]);
  assertKernelProt(addr, P, "r--s");
  assert.equal(readProbe(r.vmar, addr), 1);
  assert.equal(writeProbe(r.vmar, addr), Status.ACCESS_DENIED);
});

Deno.test("§2.4 map step 4: PERM_WRITE or PERM_EXECUTE without PERM_READ → INVALID_ARGS", () => {
  using r = region();
  using vmo = Vmo.create(P);
  using ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
  for (const f of [W, X, W | X]) {
    assertStatus(() => r.vmar.map(0, vmo, 0, P, f), Status.INVALID_ARGS, `flags ${f}`);
  }
  // Before the rights of step 6: a VMO without WRITE still gets INVALID_ARGS.
  assertStatus(() => r.vmar.map(0, ro, 0, P, W), Status.INVALID_ARGS);
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
});

Deno.test("§2.4 map step 4: no permissions at all is legal: every access is denied", () => {
  using r = region();
  using vmo = Vmo.create(2 * P);
  vmo.write(pattern(2 * P), 0);
  const addr = r.vmar.map(0, vmo, 0, 2 * P, 0);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, 0, 0]]);
  assertKernelProt(addr, 2 * P, "---s");
  assert.equal(kernelAccess(addr), "-");
  assert.equal(readProbe(r.vmar, addr), Status.ACCESS_DENIED);
  assert.equal(writeProbe(r.vmar, addr + P), Status.ACCESS_DENIED);
  assert.equal(vmo.info().numMappings, 1);
  // It can be opened up later: max perms came from both handles (RW).
  r.vmar.protect(addr, 2 * P, RW);
  assert.deepEqual(readBytes(r.vmar, addr, 2 * P), pattern(2 * P));
});

Deno.test("§2.4 map step 5: MAP_RANGE with SPECIFIC_OVERWRITE, or a CAN_MAP_READ/WRITE/EXECUTE bit → INVALID_ARGS", () => {
  using r = region();
  using vmo = Vmo.create(P);
  using ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
  assertStatus(
    () => r.vmar.map(0, vmo, 0, P, R | VmarFlags.MAP_RANGE | OVERWRITE),
    Status.INVALID_ARGS,
  );
  for (const f of [VmarFlags.CAN_MAP_READ, VmarFlags.CAN_MAP_WRITE, VmarFlags.CAN_MAP_EXECUTE]) {
    assertStatus(() => r.vmar.map(0, vmo, 0, P, R | f), Status.INVALID_ARGS, `flag ${f}`);
    // Before step 6's ACCESS_DENIED.
    assertStatus(() => r.vmar.map(0, ro, 0, P, RW | f), Status.INVALID_ARGS, `ro flag ${f}`);
  }
  // CAN_MAP_SPECIFIC is refused at step 9, with the other options map does not take: after the
  // permission checks of step 6.
  const f = VmarFlags.CAN_MAP_SPECIFIC;
  assertStatus(() => r.vmar.map(0, vmo, 0, P, R | f), Status.INVALID_ARGS, "CAN_MAP_SPECIFIC");
  assertStatus(() => r.vmar.map(0, ro, 0, P, RW | f), Status.ACCESS_DENIED, "ro CAN_MAP_SPECIFIC");
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
});

Deno.test("§2.4 map step 6: a requested permission either handle lacks → ACCESS_DENIED", async (t) => {
  using r = region();
  using vmo = Vmo.create(P);
  await t.step("VMO handle without WRITE, without READ", () => {
    using noWrite = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
    using noRead = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.READ);
    assertStatus(() => r.vmar.map(0, noWrite, 0, P, RW), Status.ACCESS_DENIED);
    assertStatus(() => r.vmar.map(0, noRead, 0, P, R), Status.ACCESS_DENIED);
  });
  await t.step("VMAR handle without WRITE, without READ", () => {
    using noWrite = without(r.vmar, Rights.WRITE);
    using noRead = without(r.vmar, Rights.READ);
    assertStatus(() => noWrite.map(0, vmo, 0, P, RW), Status.ACCESS_DENIED);
    assertStatus(() => noRead.map(0, vmo, 0, P, R), Status.ACCESS_DENIED);
  });
  await t.step("EXECUTE: neither handle has it", () => {
    assertStatus(() => r.vmar.map(0, vmo, 0, P, R | X), Status.ACCESS_DENIED);
  });
  await t.step("before step 7 (stream flag), 8 (alignment), 9 (offset, overflow), 10", () => {
    using noWrite = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
    assertStatus(() => r.vmar.map(0, noWrite, 0, P, RW | FBSS), Status.ACCESS_DENIED);
    assertStatus(() => r.vmar.map(0, noWrite, 0, P, RW | (5 << 24)), Status.ACCESS_DENIED);
    assertStatus(() => r.vmar.map(0, noWrite, 1, P, RW), Status.ACCESS_DENIED);
    assertStatus(() => r.vmar.map(0, noWrite, 0, 0, RW), Status.ACCESS_DENIED);
    assertStatus(() => r.vmar.map(P, noWrite, 0, P, RW), Status.ACCESS_DENIED);
  });
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
  assert.equal(vmo.info().numMappings, 0);
});

Deno.test("§2.4 map step 6: max perms are what both handles allow, whatever was requested", () => {
  using r = region();
  using vmo = Vmo.create(P);
  using noWrite = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
  const a = r.vmar.map(0, noWrite, 0, P, R);
  assertStatus(() => r.vmar.protect(a, P, RW), Status.ACCESS_DENIED);
  const b = r.vmar.map(0, vmo, 0, P, 0);
  r.vmar.protect(b, P, RW); // max perms RW although mapped with none
  assert.equal(kernelAccess(b), "rw");
  assert.equal(kernelAccess(a), "r");
});

Deno.test("§2.4 map step 7: FAULT_BEYOND_STREAM_SIZE without ALLOW_FAULTS → INVALID_ARGS", () => {
  using r = region();
  using vmo = Vmo.create(P);
  assertStatus(() => r.vmar.map(0, vmo, 0, P, R | FBSS), Status.INVALID_ARGS);
  // Documented difference: with ALLOW_FAULTS it is not implemented on Linux.
  assertStatus(() => r.vmar.map(0, vmo, 0, P, R | FBSS | ALLOW_FAULTS), Status.NOT_SUPPORTED);
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
});

Deno.test("§2.4 map step 8: split flags, REQUIRE_NON_RESIZABLE, DISCARDABLE", async (t) => {
  using r = region();
  await t.step("bad alignment field → INVALID_ARGS", () => {
    using vmo = Vmo.create(P);
    for (const n of [1, 9, 33, 0x80]) {
      assertStatus(
        () => r.vmar.map(0, vmo, 0, P, (R | (n << 24)) >>> 0),
        Status.INVALID_ARGS,
        `align ${n}`,
      );
    }
    assertStatus(() => r.vmar.map(0, vmo, 0, P, R | (1 << 16)), Status.INVALID_ARGS);
  });
  await t.step("REQUIRE_NON_RESIZABLE with a resizable VMO → NOT_SUPPORTED", () => {
    using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
    const f = R | VmarFlags.REQUIRE_NON_RESIZABLE;
    assertStatus(() => r.vmar.map(0, vmo, 0, P, f), Status.NOT_SUPPORTED);
    // Before step 9 (unaligned vmoOffset) and step 10 (len 0, dead VMAR).
    assertStatus(() => r.vmar.map(0, vmo, 1, P, f), Status.NOT_SUPPORTED);
    assertStatus(() => r.vmar.map(0, vmo, 0, 0, f), Status.NOT_SUPPORTED);
    // Without the flag a resizable VMO maps fine (§5.5).
    const addr = r.vmar.map(0, vmo, 0, P, R);
    assert.equal(readProbe(r.vmar, addr), 1);
    r.vmar.unmap(addr, P);
  });
  await t.step("REQUIRE_NON_RESIZABLE with a non-resizable VMO is fine", () => {
    using vmo = Vmo.create(P);
    const addr = r.vmar.map(0, vmo, 0, P, R | VmarFlags.REQUIRE_NON_RESIZABLE);
    r.vmar.unmap(addr, P);
  });
  await t.step("DISCARDABLE VMO without ALLOW_FAULTS → NOT_SUPPORTED; with it, fine", () => {
    using vmo = Vmo.create(P, VmoOptions.DISCARDABLE);
    assertStatus(() => r.vmar.map(0, vmo, 0, P, RW), Status.NOT_SUPPORTED);
    assertStatus(() => r.vmar.map(0, vmo, 1, P, RW), Status.NOT_SUPPORTED);
    const addr = r.vmar.map(0, vmo, 0, P, RW | ALLOW_FAULTS);
    assert.equal(writeProbe(r.vmar, addr, new Uint8Array([9])), 1);
    assert.equal(vmo.readToArray(0, 1)[0], 9);
    r.vmar.unmap(addr, P);
  });
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
});

Deno.test("§2.4 map step 9: flags not for map, perms beyond CAN_MAP_*, offsets, overflow", async (t) => {
  using vmo = Vmo.create(P);
  await t.step("COMPACT → INVALID_ARGS", () => {
    using r = region();
    assertStatus(() => r.vmar.map(0, vmo, 0, P, R | VmarFlags.COMPACT), Status.INVALID_ARGS);
  });
  await t.step("perms beyond the VMAR's CAN_MAP_* → ACCESS_DENIED", () => {
    using r = region(16, VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_SPECIFIC);
    // A handle with WRITE to a region without CAN_MAP_WRITE (reached through internals).
    using h = withRights(r.vmar, r.vmar.rights | Rights.WRITE);
    assertStatus(() => h.map(0, vmo, 0, P, RW), Status.ACCESS_DENIED);
    // Before the vmoOffset and length checks.
    assertStatus(() => h.map(0, vmo, 1, P, RW), Status.ACCESS_DENIED);
    assertStatus(() => h.map(0, vmo, 0, 0, RW), Status.ACCESS_DENIED);
    // Read-only is within the region's ceiling.
    const addr = h.map(0, vmo, 0, P, R);
    assert.equal(kernelAccess(addr), "r");
  });
  await t.step("unaligned vmoOffset → INVALID_ARGS", () => {
    using r = region();
    for (const off of [1, P - 1, P + 1]) {
      assertStatus(() => r.vmar.map(0, vmo, off, P, R), Status.INVALID_ARGS, `off ${off}`);
    }
  });
  await t.step("roundup(len) or vmoOffset + len above 2^53 - 1 → OUT_OF_RANGE", () => {
    using r = region();
    const top = Math.floor(Number.MAX_SAFE_INTEGER / P) * P;
    assertStatus(() => r.vmar.map(0, vmo, 0, Number.MAX_SAFE_INTEGER, R), Status.OUT_OF_RANGE);
    assertStatus(() => r.vmar.map(0, vmo, top, 2 * P, R), Status.OUT_OF_RANGE);
    assertStatus(() => r.vmar.map(0, vmo, top - P, top, R), Status.OUT_OF_RANGE);
  });
  await t.step("step 9 comes before step 10 (dead VMAR, len 0)", () => {
    using r = region();
    const [dead] = r.vmar.allocate(0, 4 * P, CAN_RWS);
    dead.destroy();
    assertStatus(() => dead.map(0, vmo, 1, P, R), Status.INVALID_ARGS);
    assertStatus(() => dead.map(0, vmo, 0, Number.MAX_SAFE_INTEGER, R), Status.OUT_OF_RANGE);
    assertStatus(() => dead.map(0, vmo, 0, P, R | VmarFlags.COMPACT), Status.INVALID_ARGS);
  });
});

Deno.test("§2.4 map step 10: the allocate rules with size = roundup(len)", async (t) => {
  using vmo = Vmo.create(4 * P);
  await t.step("dead VMAR → BAD_STATE, before len 0", () => {
    using r = region();
    const [dead] = r.vmar.allocate(0, 4 * P, CAN_RWS);
    dead.destroy();
    assertStatus(() => dead.map(0, vmo, 0, P, R), Status.BAD_STATE);
    assertStatus(() => dead.map(0, vmo, 0, 0, R), Status.BAD_STATE);
    assertStatus(() => dead.map(0, vmo, 0, P, R | SPECIFIC), Status.BAD_STATE);
  });
  await t.step("len 0 → INVALID_ARGS", () => {
    using r = region();
    assertStatus(() => r.vmar.map(0, vmo, 0, 0, R), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.map(0, vmo, 0, 0, R | SPECIFIC), Status.INVALID_ARGS);
  });
  await t.step("non-zero vmarOffset without SPECIFIC → INVALID_ARGS", () => {
    using r = region();
    assertStatus(() => r.vmar.map(P, vmo, 0, P, R), Status.INVALID_ARGS);
  });
  await t.step("unaligned vmarOffset → INVALID_ARGS", () => {
    using r = region();
    assertStatus(() => r.vmar.map(1, vmo, 0, P, R | SPECIFIC), Status.INVALID_ARGS);
  });
  await t.step(
    "SPECIFIC / OVERWRITE / UPPER_LIMIT without CAN_MAP_SPECIFIC → ACCESS_DENIED",
    () => {
      using r = region(16, VmarFlags.CAN_MAP_READ);
      assertStatus(() => r.vmar.map(0, vmo, 0, P, R | SPECIFIC), Status.ACCESS_DENIED);
      assertStatus(() => r.vmar.map(0, vmo, 0, P, R | OVERWRITE), Status.ACCESS_DENIED);
      assertStatus(() => r.vmar.map(4 * P, vmo, 0, P, R | UPPER), Status.ACCESS_DENIED);
      assertStatus(() => r.vmar.map(64 * P, vmo, 0, P, R | SPECIFIC), Status.ACCESS_DENIED);
    },
  );
  await t.step("out of the VMAR's bounds → INVALID_ARGS", () => {
    using r = region(16);
    assertStatus(() => r.vmar.map(16 * P, vmo, 0, P, R | SPECIFIC), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.map(15 * P, vmo, 0, P + 1, R | SPECIFIC), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.map(2 ** 47, vmo, 0, P, R | SPECIFIC), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.map(0, vmo, 0, 17 * P, R), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.map(14 * P, vmo, 0, 3 * P, R | OVERWRITE), Status.INVALID_ARGS);
  });
  await t.step("SPECIFIC and UPPER_LIMIT together → INVALID_ARGS", () => {
    using r = region(16);
    assertStatus(() => r.vmar.map(4 * P, vmo, 0, P, R | SPECIFIC | UPPER), Status.INVALID_ARGS);
  });
  await t.step("misaligned for ALIGN_* → INVALID_ARGS", () => {
    const align = 4 * P;
    using r = region(32);
    const off = (Math.ceil(r.base / align) * align - r.base) + P;
    assertStatus(
      () => r.vmar.map(off, vmo, 0, P, R | SPECIFIC | alignFlag(align)),
      Status.INVALID_ARGS,
    );
  });
  await t.step("overlap with SPECIFIC → ALREADY_EXISTS, nothing changed", () => {
    using r = region(16);
    const [sub] = r.vmar.allocate(8 * P, 4 * P, SPECIFIC);
    r.vmar.map(2 * P, vmo, 0, 2 * P, RW | SPECIFIC);
    const before = rows(r.vmar.infoMaps(), r.base);
    for (const [off, len] of [[3 * P, P], [P, 2 * P], [7 * P, 2 * P], [11 * P, 1], [0, 16 * P]]) {
      assertStatus(
        () => r.vmar.map(off, vmo, 0, len, R | SPECIFIC),
        Status.ALREADY_EXISTS,
        `${off / P}`,
      );
    }
    assert.deepEqual(rows(r.vmar.infoMaps(), r.base), before);
    assert.equal(vmo.info().numMappings, 1);
    assert.ok(sub.isValid);
    assert.deepEqual(kernelLayout(r.base, r.base, r.size), [
      [0, 2 * P, "---p"],
      [2 * P, 4 * P, "rw-s"],
      [4 * P, 16 * P, "---p"],
    ]);
  });
  await t.step("no room → NO_RESOURCES; alignment larger than the VMAR → NO_RESOURCES", () => {
    using r = region(4);
    r.vmar.map(P, vmo, 0, 2 * P, R | SPECIFIC);
    assertStatus(() => r.vmar.map(0, vmo, 0, 2 * P, R), Status.NO_RESOURCES);
    const align = 64 * P;
    using outer = region(128);
    const first = Math.ceil(outer.base / align) * align - outer.base;
    const [inner] = outer.vmar.allocate(first + P, 32 * P, CAN_RWS | SPECIFIC);
    assertStatus(() => inner.map(0, vmo, 0, P, R | alignFlag(align)), Status.NO_RESOURCES);
    assert.deepEqual(mappingRows(inner, inner.info().base), []);
  });
  await t.step(
    "OFFSET_IS_UPPER_LIMIT: the mapping ends at or below the offset and honours vmoOffset",
    () => {
      using r = region(16);
      vmo.write(pattern(4 * P, 3), 0);
      const addr = r.vmar.map(8 * P, vmo, 2 * P, 2 * P, R | UPPER);
      assert.ok(addr >= r.base && addr + 2 * P <= r.base + 8 * P);
      assert.deepEqual(readBytes(r.vmar, addr, 2 * P), pattern(4 * P, 3).subarray(2 * P));
      assert.deepEqual(mappingRows(r.vmar, r.base), [[addr - r.base, 2 * P, R, 2 * P]]);
    },
  );
});

Deno.test("§2.4 map step 11: SPECIFIC_OVERWRITE", async (t) => {
  await t.step("over free space it behaves like SPECIFIC", () => {
    using r = region(16);
    using vmo = Vmo.create(2 * P);
    const addr = r.vmar.map(4 * P, vmo, 0, 2 * P, RW | OVERWRITE);
    assert.equal(addr, r.base + 4 * P);
    assert.deepEqual(mappingRows(r.vmar, r.base), [[4 * P, 2 * P, RW, 0]]);
    assertKernelProt(addr, 2 * P, "rw-s");
  });
  await t.step("over the middle of a mapping: the outer parts stay mapped", () => {
    using r = region(16);
    using a = Vmo.create(4 * P);
    using b = Vmo.create(2 * P);
    a.write(pattern(4 * P, 1), 0);
    b.write(pattern(2 * P, 2), 0);
    const addr = r.vmar.map(0, a, 0, 4 * P, RW | SPECIFIC);
    assert.equal(r.vmar.map(P, b, 0, 2 * P, R | OVERWRITE), r.base + P);
    assert.deepEqual(mappingRows(r.vmar, r.base), [
      [0, P, RW, 0],
      [P, 2 * P, R, 0],
      [3 * P, P, RW, 3 * P],
    ]);
    assert.equal(a.info().numMappings, 2);
    assert.equal(b.info().numMappings, 1);
    assert.deepEqual(kernelLayout(r.base, addr, 4 * P), [
      [0, P, "rw-s"],
      [P, 3 * P, "r--s"],
      [3 * P, 4 * P, "rw-s"],
    ]);
    const pa = pattern(4 * P, 1);
    const pb = pattern(2 * P, 2);
    assert.deepEqual(readBytes(r.vmar, addr, P), pa.subarray(0, P));
    assert.deepEqual(readBytes(r.vmar, addr + P, 2 * P), pb);
    assert.deepEqual(readBytes(r.vmar, addr + 3 * P, P), pa.subarray(3 * P));
    assert.deepEqual(kernelRead(addr + P, 8), pb.subarray(0, 8));
    assert.equal(writeProbe(r.vmar, addr + P), Status.ACCESS_DENIED);
  });
  await t.step("over several mappings and holes at once", () => {
    using r = region(16);
    using a = Vmo.create(P);
    using b = Vmo.create(8 * P);
    r.vmar.map(P, a, 0, P, RW | SPECIFIC);
    r.vmar.map(4 * P, a, 0, P, RW | SPECIFIC);
    r.vmar.map(0, b, 0, 8 * P, R | OVERWRITE);
    assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 8 * P, R, 0]]);
    assert.equal(a.info().numMappings, 0);
    assert.equal(b.info().numMappings, 1);
    assertKernelProt(r.base, 8 * P, "r--s");
    assertKernelProt(r.base + 8 * P, 8 * P, "---p");
  });
  await t.step("a sub-VMAR partly or wholly in the range → INVALID_ARGS, nothing changed", () => {
    using r = region(16);
    using a = Vmo.create(16 * P);
    r.vmar.map(0, a, 0, 4 * P, RW | SPECIFIC);
    const [sub] = r.vmar.allocate(6 * P, 4 * P, CAN_RWS | SPECIFIC);
    sub.map(0, a, 8 * P, P, R);
    const before = rows(r.vmar.infoMaps(), r.base);
    const kernelBefore = kernelLayout(r.base, r.base, r.size);
    for (const [off, len] of [[2 * P, 6 * P], [8 * P, 4 * P], [4 * P, 8 * P], [0, 16 * P]]) {
      assertStatus(
        () => r.vmar.map(off, a, 0, len, R | OVERWRITE),
        Status.INVALID_ARGS,
        `${off / P}+${len / P}`,
      );
    }
    assert.deepEqual(rows(r.vmar.infoMaps(), r.base), before);
    assert.deepEqual(kernelLayout(r.base, r.base, r.size), kernelBefore);
    assert.equal(sub.info().base, r.base + 6 * P);
    assert.equal(readProbe(r.vmar, r.base + 2 * P), 1);
    assert.equal(writeProbe(r.vmar, r.base + 2 * P), 1);
  });
});

Deno.test("§2.4 map step 12: MAP_RANGE commits nothing new", () => {
  using r = region(16);
  using vmo = Vmo.create(4 * P);
  vmo.write(new Uint8Array([1]), P);
  assert.equal(vmo.info().committedBytes, P);
  const addr = r.vmar.map(0, vmo, 0, 4 * P, RW | VmarFlags.MAP_RANGE);
  assert.equal(vmo.info().committedBytes, P);
  assert.equal(readBytes(r.vmar, addr + P, 1)[0], 1);
  assertKernelProt(addr, 4 * P, "rw-s");
});

Deno.test("§2.4 map result: len is rounded up to pages", () => {
  using r = region(16);
  using vmo = Vmo.create(4 * P);
  const addr = r.vmar.map(0, vmo, 0, P + 1, RW);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, RW, 0]]);
  assert.deepEqual(kernelLayout(r.base, r.base, 4 * P), [[0, 2 * P, "rw-s"], [
    2 * P,
    4 * P,
    "---p",
  ]]);
  assert.equal(readProbe(r.vmar, addr + 2 * P - 1), 1);
  assert.equal(readProbe(r.vmar, addr + 2 * P), Status.NOT_FOUND);
  // The next mapping goes right after (first-fit).
  assert.equal(r.vmar.map(0, vmo, 0, 1, R), addr + 2 * P);
});

Deno.test("§2.4 map result: beyond the VMO's end is accepted; those pages are OUT_OF_RANGE", async (t) => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  vmo.write(pattern(2 * P), 0);
  await t.step("offset + len > size", () => {
    const addr = r.vmar.map(0, vmo, 0, 4 * P, RW);
    assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 4 * P, RW, 0]]);
    assert.equal(readProbe(r.vmar, addr + P), 1);
    assert.equal(readProbe(r.vmar, addr + 2 * P), Status.OUT_OF_RANGE);
    assert.equal(writeProbe(r.vmar, addr + 3 * P), Status.OUT_OF_RANGE);
    // A copy that starts inside stops short at the end.
    assert.equal(r.vmar.readMemory(addr + P, new Uint8Array(3 * P)), P);
    assert.equal(kernelAccess(addr + P), "rw");
    assert.equal(kernelAccess(addr + 2 * P), "-");
    r.vmar.unmap(addr, 4 * P);
  });
  await t.step("vmoOffset at or past the end", () => {
    const a = r.vmar.map(0, vmo, 2 * P, P, R);
    const b = r.vmar.map(0, vmo, 8 * P, P, R);
    assert.equal(readProbe(r.vmar, a), Status.OUT_OF_RANGE);
    assert.equal(readProbe(r.vmar, b), Status.OUT_OF_RANGE);
    assert.equal(kernelAccess(a), "-");
    assert.deepEqual(mappingRows(r.vmar, r.base), [[a - r.base, P, R, 2 * P], [
      b - r.base,
      P,
      R,
      8 * P,
    ]]);
  });
});

Deno.test("§2.1 mapping merge: contiguous window of the same VMO → one record, one mapping", async (t) => {
  await t.step("left then right", () => {
    using r = region(16);
    using vmo = Vmo.create(8 * P);
    vmo.write(pattern(8 * P), 0);
    const a = r.vmar.map(2 * P, vmo, 0, 2 * P, RW | SPECIFIC);
    const b = r.vmar.map(4 * P, vmo, 2 * P, 2 * P, RW | SPECIFIC);
    assert.equal(b, a + 2 * P);
    assert.deepEqual(mappingRows(r.vmar, r.base), [[2 * P, 4 * P, RW, 0]]);
    assert.equal(vmo.info().numMappings, 1);
    assert.deepEqual(readBytes(r.vmar, a, 4 * P), pattern(8 * P).subarray(0, 4 * P));
    assertKernelProt(a, 4 * P, "rw-s");
  });
  await t.step("right then left, then a middle piece joins both sides", () => {
    using r = region(16);
    using vmo = Vmo.create(8 * P);
    r.vmar.map(4 * P, vmo, 4 * P, 2 * P, RW | SPECIFIC);
    r.vmar.map(0, vmo, 0, 2 * P, RW | SPECIFIC);
    assert.equal(vmo.info().numMappings, 2);
    r.vmar.map(2 * P, vmo, 2 * P, 2 * P, RW | SPECIFIC);
    assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 6 * P, RW, 0]]);
    assert.equal(vmo.info().numMappings, 1);
  });
  await t.step(
    "different current perms, same max perms: one mapping, two protection records",
    () => {
      using r = region(16);
      using vmo = Vmo.create(8 * P);
      r.vmar.map(0, vmo, 0, 2 * P, R | SPECIFIC);
      r.vmar.map(2 * P, vmo, 2 * P, 2 * P, RW | SPECIFIC);
      assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, R, 0], [2 * P, 2 * P, RW, 2 * P]]);
      assert.equal(vmo.info().numMappings, 1);
    },
  );
  await t.step("no merge: other VMO, non-contiguous offsets, other max perms, gap", () => {
    using r = region(16);
    using vmo = Vmo.create(8 * P);
    using other = Vmo.create(8 * P);
    using ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
    r.vmar.map(0, vmo, 0, P, R | SPECIFIC);
    r.vmar.map(P, other, P, P, R | SPECIFIC); // other VMO
    r.vmar.map(2 * P, vmo, 4 * P, P, R | SPECIFIC); // offset not contiguous with anything
    r.vmar.map(3 * P, ro, 5 * P, P, R | SPECIFIC); // contiguous offset, max perms R only
    r.vmar.map(5 * P, vmo, 6 * P, P, R | SPECIFIC); // gap at 4P
    assert.deepEqual(mappingRows(r.vmar, r.base), [
      [0, P, R, 0],
      [P, P, R, P],
      [2 * P, P, R, 4 * P],
      [3 * P, P, R, 5 * P],
      [5 * P, P, R, 6 * P],
    ]);
    assert.equal(vmo.info().numMappings, 4);
    assert.equal(other.info().numMappings, 1);
  });
});

Deno.test("§2.1 a mapping keeps its VMO: closing the last handle keeps the data", () => {
  using r = region(16);
  const vmo = Vmo.create(2 * P);
  vmo.write(pattern(2 * P, 7), 0);
  const addr = r.vmar.map(0, vmo, 0, 2 * P, RW);
  vmo.close();
  assert.deepEqual(readBytes(r.vmar, addr, 2 * P), pattern(2 * P, 7));
  assert.equal(r.vmar.writeMemory(addr, new Uint8Array([42])), 1);
  assert.equal(kernelRead(addr, 1)[0], 42);
  assert.equal(r.vmar.infoMaps()[1].mapping!.vmoOffset, 0);
});

Deno.test("§2.4 map into the root VMAR: kernel-chosen address, real shared mapping", () => {
  const root = Vmar.root();
  using vmo = Vmo.create(2 * P);
  const addr = root.map(0, vmo, 0, 2 * P, RW);
  try {
    assert.equal(addr % P, 0);
    assertKernelProt(addr, 2 * P, "rw-s");
    assert.equal(root.writeMemory(addr + P, new Uint8Array([5])), 1);
    assert.equal(vmo.readToArray(P, 1)[0], 5);
    const rec = root.infoMaps().find((m) => m.base === addr);
    assert.equal(rec?.mapping?.vmoKoid, vmo.koid);
    assert.equal(rec?.depth, 1);
  } finally {
    root.unmap(addr, 2 * P);
  }
  assertKernelProt(addr, 2 * P, null);
});

Deno.test("§2.4 map past a slice's end: those pages are OUT_OF_RANGE, never the parent's data", () => {
  using r = region(16);
  using parent = Vmo.create(8 * P);
  parent.write(pattern(8 * P, 6), 0);
  using slice = parent.createChild(VmoChildOptions.SLICE, 2 * P, 2 * P);
  const addr = r.vmar.map(0, slice, 0, 4 * P, RW);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 4 * P, RW, 0]]);
  assert.deepEqual(readBytes(r.vmar, addr, 2 * P), pattern(8 * P, 6).subarray(2 * P, 4 * P));
  assert.equal(readProbe(r.vmar, addr + 2 * P), Status.OUT_OF_RANGE);
  assert.equal(writeProbe(r.vmar, addr + 3 * P), Status.OUT_OF_RANGE);
  assert.equal(r.vmar.readMemory(addr + P, new Uint8Array(3 * P)), P);
  // In the kernel the tail is not the parent's next pages: nothing is reachable there.
  assert.equal(kernelAccess(addr + 2 * P), "-");
  assertKernelProt(addr, 2 * P, "rw-s");
  // Writes through the slice mapping land in the parent.
  r.vmar.writeMemory(addr + P, new Uint8Array([0x77]));
  assert.equal(parent.readToArray(3 * P, 1)[0], 0x77);
});

Deno.test("§2.1 merge needs identical flags: a SPECIFIC_OVERWRITE piece stays a mapping of its own", () => {
  // Zircon keeps SPECIFIC, SPECIFIC_OVERWRITE and OFFSET_IS_UPPER_LIMIT in a mapping's flags
  // and merges only mappings whose flags are equal.
  using r = region(16);
  using vmo = Vmo.create(4 * P);
  r.vmar.map(0, vmo, 0, 4 * P, RW | SPECIFIC);
  r.vmar.map(P, vmo, P, P, RW | OVERWRITE);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, P, RW, 0], [P, P, RW, P], [
    2 * P,
    2 * P,
    RW,
    2 * P,
  ]]);
  assert.equal(vmo.info().numMappings, 3);
  // Another offset: still three mappings, the middle one now showing page 3.
  r.vmar.map(P, vmo, 3 * P, P, RW | OVERWRITE);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, P, RW, 0], [P, P, RW, 3 * P], [
    2 * P,
    2 * P,
    RW,
    2 * P,
  ]]);
  assert.equal(vmo.info().numMappings, 3);
  assertKernelProt(r.base, 4 * P, "rw-s");
  // Two SPECIFIC_OVERWRITE mappings of the next window do merge with each other.
  r.vmar.map(3 * P, vmo, 3 * P, P, RW | OVERWRITE);
  r.vmar.map(4 * P, vmo, 4 * P, P, RW | OVERWRITE);
  assert.deepEqual(mappingRows(r.vmar, r.base).slice(3), [[3 * P, 2 * P, RW, 3 * P]]);
});
