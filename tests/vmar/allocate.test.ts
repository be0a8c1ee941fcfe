/**
 * docs/semantics.md §2.2 and §2.3: `Vmar.allocate`, its checks in Zircon's order and its result in the
 * tree (`infoMaps`) and in the kernel (`/proc/self/maps`).
 */

import assert from "node:assert/strict";
import {
  DEFAULT_VMAR_RIGHTS,
  MapInfoType,
  Rights,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
} from "../../mod.ts";
import { assertStatus, closedDuplicate, P, withRights } from "../_support/mod.ts";
import {
  alignFlag,
  assertKernelProt,
  callAsVmar,
  CAN_RWS,
  destroyQuietly,
  mappingRows,
  region,
  rows,
  RW,
  SPECIFIC,
  without,
} from "./helpers.ts";

const CAN_R = VmarFlags.CAN_MAP_READ;
const CAN_W = VmarFlags.CAN_MAP_WRITE;
const CAN_X = VmarFlags.CAN_MAP_EXECUTE;
const CAN_S = VmarFlags.CAN_MAP_SPECIFIC;
const UPPER = VmarFlags.OFFSET_IS_UPPER_LIMIT;

/** A region whose only child is destroyed: `dead` is a handle to a destroyed VMAR. */
function deadChild(parent: Vmar, flags = CAN_RWS): Vmar {
  const [dead] = parent.allocate(0, 4 * P, flags);
  dead.destroy();
  return dead;
}

Deno.test("§2.3 allocate step 1: handle lookup", async (t) => {
  await t.step("closed handle → BAD_HANDLE (before argument shape)", () => {
    using r = region();
    const dup = closedDuplicate(r.vmar);
    assertStatus(() => dup.allocate(0, P, 0), Status.BAD_HANDLE);
    assertStatus(() => dup.allocate(-1, NaN, 1.5), Status.BAD_HANDLE);
  });
  await t.step("a Vmo as the VMAR → WRONG_TYPE", () => {
    using vmo = Vmo.create(P);
    assertStatus(() => callAsVmar(vmo, "allocate", 0, P, 0), Status.WRONG_TYPE);
  });
});

Deno.test("§2.3 allocate: argument shape errors → INVALID_ARGS right after the handle", async (t) => {
  using r = region();
  const bad: unknown[] = [-1, -P, 0.5, P + 0.5, NaN, Infinity, "4096", null, undefined, 4096n];
  await t.step("offset", () => {
    for (const v of bad) {
      assertStatus(() => r.vmar.allocate(v as number, P, CAN_S), Status.INVALID_ARGS, String(v));
    }
  });
  await t.step("size", () => {
    for (const v of bad) {
      assertStatus(() => r.vmar.allocate(0, v as number, 0), Status.INVALID_ARGS, String(v));
    }
  });
  await t.step("flags (also negative or above 32 bits)", () => {
    for (const v of [...bad, 2 ** 32, 2 ** 40]) {
      assertStatus(() => r.vmar.allocate(0, P, v as number), Status.INVALID_ARGS, String(v));
    }
  });
  await t.step("shape comes before the rights check", () => {
    using noRead = without(r.vmar, Rights.READ);
    assertStatus(() => noRead.allocate(-1, P, CAN_R), Status.INVALID_ARGS);
  });
  await t.step("nothing was allocated", () => {
    assert.equal(r.vmar.infoMaps().length, 1);
  });
});

Deno.test("§2.3 allocate step 1: CAN_MAP_* needs the matching handle right → ACCESS_DENIED", async (t) => {
  using r = region();
  await t.step("CAN_MAP_READ without READ", () => {
    using h = without(r.vmar, Rights.READ);
    assertStatus(() => h.allocate(0, P, CAN_R), Status.ACCESS_DENIED);
    // With the flag absent the same handle is fine.
    const [child] = h.allocate(0, P, CAN_W);
    child.destroy();
  });
  await t.step("CAN_MAP_WRITE without WRITE", () => {
    using h = without(r.vmar, Rights.WRITE);
    assertStatus(() => h.allocate(0, P, CAN_W), Status.ACCESS_DENIED);
  });
  await t.step("CAN_MAP_EXECUTE without EXECUTE", () => {
    assert.equal(r.vmar.rights & Rights.EXECUTE, 0);
    assertStatus(() => r.vmar.allocate(0, P, CAN_X), Status.ACCESS_DENIED);
  });
  await t.step("rights come before flag parsing, size, and liveness", () => {
    using h = without(r.vmar, Rights.WRITE);
    assertStatus(() => h.allocate(0, P, CAN_W | (1 << 16)), Status.ACCESS_DENIED);
    assertStatus(() => h.allocate(0, P, CAN_W | VmarFlags.PERM_READ), Status.ACCESS_DENIED);
    assertStatus(() => h.allocate(0, P + 1, CAN_W), Status.ACCESS_DENIED);
    const dead = deadChild(r.vmar, CAN_R);
    using deadNoWrite = without(dead, Rights.WRITE);
    assertStatus(() => deadNoWrite.allocate(0, P, CAN_W), Status.ACCESS_DENIED);
  });
  await t.step("nothing was allocated", () => {
    assert.equal(r.vmar.infoMaps().length, 1);
  });
});

Deno.test("§2.2 allocate: split flags → INVALID_ARGS", async (t) => {
  using r = region();
  await t.step("unknown option bits below bit 24", () => {
    for (const bit of [16, 17, 20, 23]) {
      assertStatus(() => r.vmar.allocate(0, P, 1 << bit), Status.INVALID_ARGS, `bit ${bit}`);
    }
  });
  await t.step("alignment field 1..9 or above 32 (bit 31 is in the field)", () => {
    for (const n of [1, 5, 9, 33, 0x40, 0x80]) {
      const flags = (n << 24) >>> 0;
      assertStatus(() => r.vmar.allocate(0, P, flags), Status.INVALID_ARGS, `align ${n}`);
    }
  });
  await t.step("ALIGN_1KB and ALIGN_2KB mean page alignment", () => {
    for (const a of [VmarFlags.ALIGN_1KB, VmarFlags.ALIGN_2KB]) {
      const [child, addr] = r.vmar.allocate(0, P, a);
      assert.equal(addr % P, 0);
      child.destroy();
    }
  });
  await t.step("any PERM_* bit → INVALID_ARGS", () => {
    for (const perm of [VmarFlags.PERM_READ, VmarFlags.PERM_WRITE, VmarFlags.PERM_EXECUTE]) {
      assertStatus(() => r.vmar.allocate(0, P, perm), Status.INVALID_ARGS);
    }
  });
  assert.equal(r.vmar.infoMaps().length, 1);
});

Deno.test("§2.3 allocate step 3: unaligned size and flags not for allocate → INVALID_ARGS", () => {
  using r = region();
  for (const size of [1, P - 1, P + 1, 3 * P / 2]) {
    assertStatus(() => r.vmar.allocate(0, size, 0), Status.INVALID_ARGS, `size ${size}`);
  }
  for (
    const f of [
      VmarFlags.SPECIFIC_OVERWRITE,
      VmarFlags.MAP_RANGE,
      VmarFlags.REQUIRE_NON_RESIZABLE,
      VmarFlags.ALLOW_FAULTS,
      VmarFlags.FAULT_BEYOND_STREAM_SIZE,
    ]
  ) {
    assertStatus(() => r.vmar.allocate(0, P, f), Status.INVALID_ARGS, `flag ${f}`);
  }
  // PERM_READ_IF_XOM_UNSUPPORTED is stripped before these checks, as Zircon does (issue 8 §5).
  const [xom] = r.vmar.allocate(0, P, VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED);
  xom.destroy();
  xom.close();
  assert.equal(r.vmar.infoMaps().length, 1);
});

Deno.test("§2.3 allocate step 4: destroyed parent → BAD_STATE, after steps 1-3, before size 0", () => {
  using r = region();
  const dead = deadChild(r.vmar);
  assertStatus(() => dead.allocate(0, P, 0), Status.BAD_STATE);
  assertStatus(() => dead.allocate(0, P, CAN_RWS | SPECIFIC), Status.BAD_STATE);
  // size 0 is checked after liveness.
  assertStatus(() => dead.allocate(0, 0, 0), Status.BAD_STATE);
  // Steps 2 and 3 come first.
  assertStatus(() => dead.allocate(0, P, VmarFlags.PERM_READ), Status.INVALID_ARGS);
  assertStatus(() => dead.allocate(0, P + 1, 0), Status.INVALID_ARGS);
  assertStatus(() => dead.allocate(0, P, VmarFlags.MAP_RANGE), Status.INVALID_ARGS);
  assertStatus(() => dead.allocate(0, P, 5 << 24), Status.INVALID_ARGS);
});

Deno.test("§2.3 allocate step 4: size 0 → INVALID_ARGS", () => {
  using r = region();
  assertStatus(() => r.vmar.allocate(0, 0, 0), Status.INVALID_ARGS);
  assertStatus(() => r.vmar.allocate(0, 0, CAN_RWS | SPECIFIC), Status.INVALID_ARGS);
  assert.equal(r.vmar.infoMaps().length, 1);
});

Deno.test("§2.3 allocate step 5: child CAN_MAP_* beyond the parent's → ACCESS_DENIED", async (t) => {
  await t.step("region without CAN_MAP_WRITE, handle that has WRITE", () => {
    using r = region(16, CAN_R | CAN_S);
    using h = withRights(r.vmar, r.vmar.rights | Rights.WRITE | Rights.EXECUTE);
    assertStatus(() => h.allocate(0, P, CAN_W), Status.ACCESS_DENIED);
    assertStatus(() => h.allocate(0, P, CAN_R | CAN_X), Status.ACCESS_DENIED);
    // Step 5 comes before the offset rules (step 7) and the range (step 9).
    assertStatus(() => h.allocate(P, P, CAN_W), Status.ACCESS_DENIED);
    assertStatus(() => h.allocate(0, 64 * P, CAN_W), Status.ACCESS_DENIED);
    // ... and after liveness (step 4).
    const [child] = r.vmar.allocate(0, P, CAN_R);
    using deadH = withRights(child, child.rights | Rights.WRITE);
    child.destroy();
    assertStatus(() => deadH.allocate(0, P, CAN_W), Status.BAD_STATE);
    assert.equal(r.vmar.infoMaps().length, 1);
  });
  await t.step("CAN_MAP_SPECIFIC is independent of the parent's", () => {
    using r = region(16, CAN_R);
    const [child, addr] = r.vmar.allocate(0, 8 * P, CAN_R | CAN_S);
    const [grand, gaddr] = child.allocate(2 * P, P, SPECIFIC);
    assert.equal(gaddr, addr + 2 * P);
    grand.destroy();
    child.destroy();
  });
});

Deno.test("§2.3 allocate step 6: SPECIFIC with OFFSET_IS_UPPER_LIMIT → INVALID_ARGS", () => {
  using r = region();
  assertStatus(() => r.vmar.allocate(4 * P, P, SPECIFIC | UPPER), Status.INVALID_ARGS);
  // Before step 8: also on a region without CAN_MAP_SPECIFIC.
  using plain = region(16, CAN_R);
  assertStatus(() => plain.vmar.allocate(4 * P, P, SPECIFIC | UPPER), Status.INVALID_ARGS);
  assert.equal(r.vmar.infoMaps().length, 1);
});

Deno.test("§2.3 allocate step 7: offset rules → INVALID_ARGS", async (t) => {
  using r = region();
  using plain = region(16, CAN_R);
  await t.step("non-zero offset without SPECIFIC or UPPER_LIMIT", () => {
    assertStatus(() => r.vmar.allocate(P, P, 0), Status.INVALID_ARGS);
    assertStatus(() => plain.vmar.allocate(P, P, 0), Status.INVALID_ARGS);
  });
  await t.step("unaligned offset, before the CAN_MAP_SPECIFIC check", () => {
    assertStatus(() => r.vmar.allocate(1, P, SPECIFIC), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.allocate(P + 1, P, UPPER), Status.INVALID_ARGS);
    assertStatus(() => plain.vmar.allocate(P + 1, P, SPECIFIC), Status.INVALID_ARGS);
  });
  assert.equal(r.vmar.infoMaps().length, 1);
});

Deno.test("§2.3 allocate step 8: SPECIFIC / UPPER_LIMIT without CAN_MAP_SPECIFIC → ACCESS_DENIED", () => {
  using plain = region(16, CAN_R);
  assertStatus(() => plain.vmar.allocate(0, P, SPECIFIC), Status.ACCESS_DENIED);
  assertStatus(() => plain.vmar.allocate(4 * P, P, SPECIFIC), Status.ACCESS_DENIED);
  assertStatus(() => plain.vmar.allocate(4 * P, P, UPPER), Status.ACCESS_DENIED);
  // Before the range check (step 9).
  assertStatus(() => plain.vmar.allocate(64 * P, P, SPECIFIC), Status.ACCESS_DENIED);
  assert.equal(plain.vmar.infoMaps().length, 1);
});

Deno.test("§2.3 allocate step 9: range outside the parent → INVALID_ARGS", async (t) => {
  using r = region(16);
  await t.step("offset >= parent size", () => {
    assertStatus(() => r.vmar.allocate(16 * P, P, SPECIFIC), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.allocate(1024 * P, P, SPECIFIC), Status.INVALID_ARGS);
  });
  await t.step("size > parent size - offset", () => {
    assertStatus(() => r.vmar.allocate(15 * P, 2 * P, SPECIFIC), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.allocate(0, 17 * P, SPECIFIC), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.allocate(0, 17 * P, 0), Status.INVALID_ARGS);
  });
  await t.step("upper limit: offset > size, size > parent size, size > offset", () => {
    assertStatus(() => r.vmar.allocate(17 * P, P, UPPER), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.allocate(16 * P, 17 * P, UPPER), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.allocate(2 * P, 3 * P, UPPER), Status.INVALID_ARGS);
  });
  await t.step("the whole parent fits exactly", () => {
    const [child, addr] = r.vmar.allocate(0, 16 * P, SPECIFIC);
    assert.equal(addr, r.base);
    child.destroy();
    const [c2, a2] = r.vmar.allocate(16 * P, 16 * P, UPPER);
    assert.equal(a2, r.base);
    c2.destroy();
  });
  assert.equal(r.vmar.infoMaps().length, 1);
});

Deno.test("§2.3 allocate step 10: SPECIFIC misaligned for ALIGN_* → INVALID_ARGS", () => {
  const align = 16 * P;
  using outer = region(64);
  // An inner region whose base is P past an `align` boundary.
  const first = Math.ceil(outer.base / align) * align - outer.base;
  const [inner, ibase] = outer.vmar.allocate(first + P, 32 * P, CAN_RWS | SPECIFIC);
  assert.equal((ibase - P) % align, 0);
  assertStatus(() => inner.allocate(0, P, SPECIFIC | alignFlag(align)), Status.INVALID_ARGS);
  assertStatus(() => inner.allocate(2 * P, P, SPECIFIC | alignFlag(2 * P)), Status.INVALID_ARGS);
  // The aligned offset works.
  const [child, addr] = inner.allocate(align - P, P, SPECIFIC | alignFlag(align));
  assert.equal(addr % align, 0);
  child.destroy();
  inner.destroy();
});

Deno.test("§2.3 allocate step 10: SPECIFIC over an existing child → ALREADY_EXISTS, nothing changed", () => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  const [sub] = r.vmar.allocate(4 * P, 4 * P, SPECIFIC);
  r.vmar.map(10 * P, vmo, 0, 2 * P, RW | SPECIFIC);
  const before = rows(r.vmar.infoMaps(), r.base);
  for (
    const [off, size] of [
      [4 * P, P],
      [3 * P, 2 * P],
      [7 * P, 2 * P],
      [2 * P, 8 * P],
      [10 * P, P],
      [11 * P, 2 * P],
      [9 * P, 2 * P],
      [0, 16 * P],
    ]
  ) {
    assertStatus(() => r.vmar.allocate(off, size, SPECIFIC), Status.ALREADY_EXISTS, `${off / P}`);
  }
  assert.deepEqual(rows(r.vmar.infoMaps(), r.base), before);
  assert.equal(sub.info().base, r.base + 4 * P);
  // The free neighbours are fine.
  const [a] = r.vmar.allocate(8 * P, 2 * P, SPECIFIC);
  const [b] = r.vmar.allocate(3 * P, P, SPECIFIC);
  a.destroy();
  b.destroy();
  sub.destroy();
});

Deno.test("§2.3 allocate step 11: no free aligned gap → NO_RESOURCES", async (t) => {
  await t.step("gaps too small", () => {
    using r = region(4);
    const [mid] = r.vmar.allocate(P, 2 * P, SPECIFIC);
    assertStatus(() => r.vmar.allocate(0, 2 * P, 0), Status.NO_RESOURCES);
    const [a, aAddr] = r.vmar.allocate(0, P, 0);
    const [b, bAddr] = r.vmar.allocate(0, P, 0);
    assert.deepEqual([aAddr - r.base, bAddr - r.base], [0, 3 * P]);
    assertStatus(() => r.vmar.allocate(0, P, 0), Status.NO_RESOURCES);
    a.destroy();
    b.destroy();
    mid.destroy();
  });
  await t.step("alignment larger than any aligned address inside the region", () => {
    const align = 64 * P;
    using outer = region(128);
    const first = Math.ceil(outer.base / align) * align - outer.base;
    const [inner] = outer.vmar.allocate(first + P, 32 * P, CAN_RWS | SPECIFIC);
    assertStatus(() => inner.allocate(0, P, alignFlag(align)), Status.NO_RESOURCES);
    assertStatus(() => inner.allocate(0, P, VmarFlags.ALIGN_4GB), Status.NO_RESOURCES);
    inner.destroy();
  });
  await t.step("upper limit below every free gap", () => {
    using r = region(16);
    const [low] = r.vmar.allocate(0, 8 * P, SPECIFIC);
    assertStatus(() => r.vmar.allocate(8 * P, P, UPPER), Status.NO_RESOURCES);
    const [hi, hiAddr] = r.vmar.allocate(10 * P, 2 * P, UPPER);
    assert.equal(hiAddr, r.base + 8 * P);
    hi.destroy();
    low.destroy();
  });
});

Deno.test("§2.3 allocate result: rights, address, info, infoMaps, kernel reservation", async (t) => {
  using r = region(32);
  await t.step("rights: DEFAULT_VMAR_RIGHTS plus READ/WRITE per CAN_MAP flag", () => {
    const cases: [number, number][] = [
      [0, DEFAULT_VMAR_RIGHTS],
      [CAN_R, DEFAULT_VMAR_RIGHTS | Rights.READ],
      [CAN_W, DEFAULT_VMAR_RIGHTS | Rights.WRITE],
      [CAN_R | CAN_W | CAN_S, DEFAULT_VMAR_RIGHTS | Rights.READ | Rights.WRITE],
      [VmarFlags.COMPACT, DEFAULT_VMAR_RIGHTS],
    ];
    for (const [flags, rights] of cases) {
      const [child] = r.vmar.allocate(0, P, flags);
      assert.equal(child.rights, rights, `flags ${flags}`);
      assert.ok(child.rights & Rights.OP_CHILDREN);
      assert.ok(child.rights & Rights.INSPECT);
      assert.equal(child.rights & Rights.WAIT, 0);
      child.destroy();
    }
  });
  await t.step("SPECIFIC: absolute address base + offset; info and infoMaps agree", () => {
    const [child, addr] = r.vmar.allocate(8 * P, 4 * P, CAN_RWS | SPECIFIC);
    assert.equal(addr, r.base + 8 * P);
    assert.deepEqual(child.info(), { base: addr, len: 4 * P });
    const maps = r.vmar.infoMaps();
    assert.deepEqual(rows(maps, r.base), [
      { type: "vmar", off: 0, size: 32 * P, depth: 0 },
      { type: "vmar", off: 8 * P, size: 4 * P, depth: 1 },
    ]);
    assert.equal(maps[1].name, "useralloc");
    assert.equal(maps[1].type, MapInfoType.VMAR);
    // In the kernel the whole parent is still one PROT_NONE reservation: no hole, no mapping.
    assertKernelProt(r.base, r.size, "---p");
    child.destroy();
    assertKernelProt(r.base, r.size, "---p");
  });
  await t.step("non-specific placement is first-fit (documented difference)", () => {
    const [a, aAddr] = r.vmar.allocate(0, 2 * P, 0);
    const [b, bAddr] = r.vmar.allocate(0, 2 * P, 0);
    assert.equal(aAddr, r.base);
    assert.equal(bAddr, r.base + 2 * P);
    a.destroy();
    const [c, cAddr] = r.vmar.allocate(0, P, 0);
    assert.equal(cAddr, r.base);
    const [d, dAddr] = r.vmar.allocate(0, 2 * P, 0);
    assert.equal(dAddr, r.base + 4 * P);
    for (const v of [b, c, d]) v.destroy();
  });
  await t.step("ALIGN_*: the address is aligned", () => {
    for (const align of [2 * P, 4 * P, 8 * P]) {
      const [pad] = r.vmar.allocate(0, P, 0);
      const [child, addr] = r.vmar.allocate(0, P, alignFlag(align));
      assert.equal(addr % align, 0, `align ${align}`);
      child.destroy();
      pad.destroy();
    }
  });
  await t.step("UPPER_LIMIT: the region ends at or below base + offset", () => {
    const [child, addr] = r.vmar.allocate(12 * P, 4 * P, UPPER);
    assert.ok(addr >= r.base && addr + 4 * P <= r.base + 12 * P);
    assert.equal(addr % P, 0);
    child.destroy();
  });
  await t.step("a child of a child: nested ranges, depths, kernel still one reservation", () => {
    const [mid, midAddr] = r.vmar.allocate(4 * P, 16 * P, CAN_RWS | SPECIFIC);
    const [leaf, leafAddr] = mid.allocate(2 * P, 4 * P, SPECIFIC);
    assert.equal(leafAddr, midAddr + 2 * P);
    assert.deepEqual(rows(r.vmar.infoMaps(), r.base).map((x) => [x.off / P, x.size / P, x.depth]), [
      [0, 32, 0],
      [4, 16, 1],
      [6, 4, 2],
    ]);
    assertKernelProt(r.base, r.size, "---p");
    leaf.destroy();
    mid.destroy();
  });
  await t.step("a top-level region appears in /proc/self/maps as ---p", () => {
    const [top, addr] = Vmar.root().allocate(0, 8 * P, CAN_RWS);
    try {
      assertKernelProt(addr, 8 * P, "---p");
      assert.deepEqual(mappingRows(top, addr), []);
    } finally {
      destroyQuietly(top);
    }
  });
  assert.equal(r.vmar.infoMaps().length, 1);
});
