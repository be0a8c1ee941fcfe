import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CachePolicy,
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmo,
  VmoChildOptions as C,
  VmoInfoFlags,
  VmoOptions,
} from "../../mod.ts";
import {
  allZero,
  assertStatus,
  countMemfds,
  filled,
  P,
  pattern,
  withRights,
} from "../_support/mod.ts";

const SNAPSHOT_TYPES: [string, number][] = [
  ["SNAPSHOT", C.SNAPSHOT],
  ["SNAPSHOT_AT_LEAST_ON_WRITE", C.SNAPSHOT_AT_LEAST_ON_WRITE],
  ["SNAPSHOT_MODIFIED", C.SNAPSHOT_MODIFIED],
];
const R = VmoOptions.RESIZABLE;

// ---------------------------------------------------------------------------------------------
// validation order

Deno.test("§1.6 createChild validation order", async (t) => {
  await t.step("§1.6.1 roundup(size) > MAX_SIZE: OUT_OF_RANGE, for every type", () => {
    using vmo = Vmo.create(P);
    for (const options of [C.SNAPSHOT, C.SLICE, C.REFERENCE, C.SNAPSHOT_MODIFIED, 0]) {
      assertStatus(() => vmo.createChild(options, 0, Vmo.MAX_SIZE + 1), Status.OUT_OF_RANGE);
      assertStatus(() => vmo.createChild(options, 0, 2 ** 53), Status.OUT_OF_RANGE);
    }
  });
  await t.step("§1.6.1 before §1.6.2: size overflow with NO_WRITE|RESIZABLE: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(P);
    assertStatus(
      () => vmo.createChild(C.SNAPSHOT | C.NO_WRITE | C.RESIZABLE, 0, 2 ** 53),
      Status.OUT_OF_RANGE,
    );
  });
  await t.step("§1.6.1 before §1.6.3: size overflow without READ: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(P);
    using none = vmo.duplicate(Rights.NONE);
    assertStatus(() => none.createChild(C.SNAPSHOT, 0, 2 ** 53), Status.OUT_OF_RANGE);
  });
  await t.step("§1.6.2 NO_WRITE with RESIZABLE: INVALID_ARGS, for every type", () => {
    using fixed = Vmo.create(P);
    using resizable = Vmo.create(P, R);
    for (const parent of [fixed, resizable]) {
      for (const kind of [C.SNAPSHOT, C.SNAPSHOT_AT_LEAST_ON_WRITE, C.SNAPSHOT_MODIFIED]) {
        assertStatus(
          () => parent.createChild(kind | C.NO_WRITE | C.RESIZABLE, 0, P),
          Status.INVALID_ARGS,
        );
      }
      assertStatus(
        () => parent.createChild(C.SLICE | C.NO_WRITE | C.RESIZABLE, 0, P),
        Status.INVALID_ARGS,
      );
      assertStatus(
        () => parent.createChild(C.REFERENCE | C.NO_WRITE | C.RESIZABLE, 0, 0),
        Status.INVALID_ARGS,
      );
    }
  });
  await t.step("§1.6.2 before §1.6.3: NO_WRITE|RESIZABLE without READ: INVALID_ARGS", () => {
    using vmo = Vmo.create(P);
    using none = vmo.duplicate(Rights.NONE);
    assertStatus(
      () => none.createChild(C.SNAPSHOT | C.NO_WRITE | C.RESIZABLE, 0, P),
      Status.INVALID_ARGS,
    );
  });
  await t.step("§1.6.3 needs DUPLICATE and READ: ACCESS_DENIED", () => {
    using vmo = Vmo.create(2 * P);
    using noDup = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.DUPLICATE);
    using noRead = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.READ);
    for (const h of [noDup, noRead]) {
      assertStatus(() => h.createChild(C.SNAPSHOT, 0, P), Status.ACCESS_DENIED);
      assertStatus(() => h.createChild(C.SLICE, 0, P), Status.ACCESS_DENIED);
      assertStatus(() => h.createChild(C.REFERENCE, 0, 0), Status.ACCESS_DENIED);
      // rights come before every option and offset check
      assertStatus(() => h.createChild(0, 1, P), Status.ACCESS_DENIED);
      assertStatus(() => h.createChild(C.SLICE | C.SNAPSHOT, 1, 9 * P), Status.ACCESS_DENIED);
    }
  });
  await t.step("§1.6.3 before §1.6.4: discardable parent, no READ: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P, VmoOptions.DISCARDABLE);
    using noRead = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.READ);
    assertStatus(() => noRead.createChild(C.SNAPSHOT, 0, P), Status.ACCESS_DENIED);
  });
  await t.step("§1.6.4 DISCARDABLE parent: NOT_SUPPORTED for every child type", () => {
    using vmo = Vmo.create(2 * P, VmoOptions.DISCARDABLE);
    for (const [, kind] of SNAPSHOT_TYPES) {
      assertStatus(() => vmo.createChild(kind, 0, P), Status.NOT_SUPPORTED);
    }
    assertStatus(() => vmo.createChild(C.SLICE, 0, P), Status.NOT_SUPPORTED);
    assertStatus(() => vmo.createChild(C.REFERENCE, 0, 0), Status.NOT_SUPPORTED);
  });
  await t.step("§1.6.4 before §1.6.5-7: discardable parent with bad options: NOT_SUPPORTED", () => {
    using vmo = Vmo.create(2 * P, VmoOptions.DISCARDABLE);
    assertStatus(() => vmo.createChild(0, 0, P), Status.NOT_SUPPORTED);
    assertStatus(() => vmo.createChild(C.SLICE, 1, P), Status.NOT_SUPPORTED);
    assertStatus(() => vmo.createChild(C.REFERENCE, P, 1), Status.NOT_SUPPORTED);
    assertStatus(() => vmo.createChild(C.SNAPSHOT | C.SLICE, 0, P), Status.NOT_SUPPORTED);
  });
});

Deno.test("§1.6.5 SLICE validation", async (t) => {
  await t.step("any other type or flag bit: INVALID_ARGS", () => {
    using vmo = Vmo.create(2 * P);
    for (
      const extra of [
        C.RESIZABLE,
        C.SNAPSHOT,
        C.SNAPSHOT_AT_LEAST_ON_WRITE,
        C.SNAPSHOT_MODIFIED,
        C.REFERENCE,
        1 << 1,
        1 << 9,
      ]
    ) {
      assertStatus(() => vmo.createChild(C.SLICE | extra, 0, P), Status.INVALID_ARGS);
    }
  });
  await t.step("NO_WRITE is allowed with SLICE", () => {
    using vmo = Vmo.create(2 * P);
    using slice = vmo.createChild(C.SLICE | C.NO_WRITE, 0, P);
    assert.equal(slice.rights & Rights.WRITE, 0);
  });
  await t.step("offset not page aligned: INVALID_ARGS", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.createChild(C.SLICE, 1, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE, P / 2, 0), Status.INVALID_ARGS);
  });
  await t.step("[offset, offset + roundup(size)) not inside the parent: INVALID_ARGS", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.createChild(C.SLICE, 0, 2 * P + 1), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE, P, P + 1), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE, 2 * P, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE, 3 * P, 0), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE, Vmo.MAX_SIZE, P), Status.INVALID_ARGS);
  });
  await t.step("a size that rounds to fit is allowed: child size rounded, stream unrounded", () => {
    using vmo = Vmo.create(2 * P);
    using slice = vmo.createChild(C.SLICE, P, P - 7);
    assert.equal(slice.getSize(), P);
    assert.equal(slice.getStreamSize(), P - 7);
  });
  await t.step("size 0 at offset == parent size is legal", () => {
    using vmo = Vmo.create(2 * P);
    using slice = vmo.createChild(C.SLICE, 2 * P, 0);
    assert.equal(slice.getSize(), 0);
  });
  await t.step("parent resizable: NOT_SUPPORTED", () => {
    using vmo = Vmo.create(2 * P, R);
    assertStatus(() => vmo.createChild(C.SLICE, 0, P), Status.NOT_SUPPORTED);
    using ref = vmo.createChild(C.REFERENCE, 0, 0);
    assertStatus(() => ref.createChild(C.SLICE, 0, P), Status.NOT_SUPPORTED);
  });
  await t.step("containment and alignment are checked before resizability", () => {
    using vmo = Vmo.create(2 * P, R);
    assertStatus(() => vmo.createChild(C.SLICE, 0, 3 * P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE, 1, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE | C.RESIZABLE, 0, P), Status.INVALID_ARGS);
  });
  await t.step("parent not CACHED: BAD_STATE, after containment and resizability", () => {
    using vmo = Vmo.create(2 * P);
    vmo.setCachePolicy(CachePolicy.UNCACHED);
    assertStatus(() => vmo.createChild(C.SLICE, 0, P), Status.BAD_STATE);
    assertStatus(() => vmo.createChild(C.SLICE, 0, 3 * P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SLICE, 1, P), Status.INVALID_ARGS);
    using r = Vmo.create(2 * P, R);
    r.setCachePolicy(CachePolicy.UNCACHED);
    assertStatus(() => r.createChild(C.SLICE, 0, P), Status.NOT_SUPPORTED);
  });
});

Deno.test("§1.6.6 REFERENCE validation", async (t) => {
  await t.step("only RESIZABLE (and NO_WRITE) may accompany it: INVALID_ARGS", () => {
    using vmo = Vmo.create(P, R);
    for (const extra of [C.SNAPSHOT, C.SNAPSHOT_MODIFIED, C.SNAPSHOT_AT_LEAST_ON_WRITE, 1 << 9]) {
      assertStatus(() => vmo.createChild(C.REFERENCE | extra, 0, 0), Status.INVALID_ARGS);
    }
    using a = vmo.createChild(C.REFERENCE | C.RESIZABLE, 0, 0);
    using b = vmo.createChild(C.REFERENCE | C.NO_WRITE, 0, 0);
    assert.ok(a.isValid && b.isValid);
  });
  await t.step("offset and size must both be 0: INVALID_ARGS", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.createChild(C.REFERENCE, P, 0), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.REFERENCE, 0, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.REFERENCE, 0, 1), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.REFERENCE, 0, 2 * P), Status.INVALID_ARGS);
  });
  await t.step("parent is a slice: NOT_SUPPORTED (after the offset/size check)", () => {
    using vmo = Vmo.create(2 * P);
    using slice = vmo.createChild(C.SLICE, 0, P);
    assertStatus(() => slice.createChild(C.REFERENCE, 0, 0), Status.NOT_SUPPORTED);
    assertStatus(() => slice.createChild(C.REFERENCE, 0, P), Status.INVALID_ARGS);
  });
  await t.step("RESIZABLE requested, parent not resizable: NOT_SUPPORTED", () => {
    using vmo = Vmo.create(P);
    assertStatus(() => vmo.createChild(C.REFERENCE | C.RESIZABLE, 0, 0), Status.NOT_SUPPORTED);
  });
  await t.step("parent uncached: BAD_STATE, after NOT_SUPPORTED", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.UNCACHED_DEVICE);
    assertStatus(() => vmo.createChild(C.REFERENCE, 0, 0), Status.BAD_STATE);
    assertStatus(() => vmo.createChild(C.REFERENCE | C.RESIZABLE, 0, 0), Status.NOT_SUPPORTED);
    assertStatus(() => vmo.createChild(C.REFERENCE, 0, P), Status.INVALID_ARGS);
  });
});

Deno.test("§1.6.7 snapshot-type validation", async (t) => {
  await t.step("no type (options 0, NO_WRITE alone, RESIZABLE alone): INVALID_ARGS", () => {
    using vmo = Vmo.create(P, R);
    assertStatus(() => vmo.createChild(0, 0, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.NO_WRITE, 0, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.RESIZABLE, 0, P), Status.INVALID_ARGS);
  });
  await t.step("two type flags: INVALID_ARGS", () => {
    using vmo = Vmo.create(P);
    const types = SNAPSHOT_TYPES.map(([, v]) => v);
    for (const a of types) {
      for (const b of types) {
        if (a !== b) assertStatus(() => vmo.createChild(a | b, 0, P), Status.INVALID_ARGS);
      }
    }
    assertStatus(
      () => vmo.createChild(C.SNAPSHOT | C.SNAPSHOT_AT_LEAST_ON_WRITE | C.SNAPSHOT_MODIFIED, 0, P),
      Status.INVALID_ARGS,
    );
  });
  await t.step("an unknown bit: INVALID_ARGS", () => {
    using vmo = Vmo.create(P);
    for (const bit of [1, 8, 9, 16, 31]) {
      assertStatus(() => vmo.createChild(C.SNAPSHOT | 2 ** bit, 0, P), Status.INVALID_ARGS);
    }
  });
  await t.step("offset not page aligned: INVALID_ARGS", () => {
    using vmo = Vmo.create(2 * P);
    for (const [, kind] of SNAPSHOT_TYPES) {
      assertStatus(() => vmo.createChild(kind, 1, P), Status.INVALID_ARGS);
      assertStatus(() => vmo.createChild(kind, P + 8, 0), Status.INVALID_ARGS);
    }
  });
  await t.step("offset + size overflow: OUT_OF_RANGE (after alignment)", () => {
    using vmo = Vmo.create(P);
    const offset = Vmo.MAX_SIZE; // page aligned
    assertStatus(() => vmo.createChild(C.SNAPSHOT, offset, 2 * P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.createChild(C.SNAPSHOT, offset, P + 1), Status.OUT_OF_RANGE);
    assertStatus(
      () => vmo.createChild(C.SNAPSHOT, Number.MAX_SAFE_INTEGER, P),
      Status.INVALID_ARGS,
    );
  });
  await t.step("parent not CACHED: BAD_STATE, after alignment and overflow", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.UNCACHED);
    for (const [, kind] of SNAPSHOT_TYPES) {
      assertStatus(() => vmo.createChild(kind, 0, P), Status.BAD_STATE);
    }
    assertStatus(() => vmo.createChild(C.SNAPSHOT, 1, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.createChild(C.SNAPSHOT, Vmo.MAX_SIZE, 2 * P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.createChild(0, 0, P), Status.INVALID_ARGS);
  });
  await t.step("an offset past the parent's end is fine: the child reads zeros", () => {
    using vmo = Vmo.create(P);
    vmo.write(filled(P, 1), 0);
    using child = vmo.createChild(C.SNAPSHOT, 10 * P, 2 * P);
    assert.equal(child.getSize(), 2 * P);
    assert.ok(allZero(child.readToArray(0, 2 * P)));
    child.write(new Uint8Array([5]), P);
    assert.equal(child.readToArray(P, 1)[0], 5);
  });
});

// ---------------------------------------------------------------------------------------------
// rights, names

function expectedRights(parentRights: number, options: number): number {
  let r = (parentRights & ~Rights.RESIZE) | (options & C.RESIZABLE ? Rights.RESIZE : 0) |
    Rights.GET_PROPERTY | Rights.SET_PROPERTY;
  const snapshot = (options & (C.SNAPSHOT | C.SNAPSHOT_AT_LEAST_ON_WRITE | C.SNAPSHOT_MODIFIED)) !==
    0;
  if (options & C.NO_WRITE) r &= ~Rights.WRITE;
  else if (snapshot) r = (r & ~Rights.EXECUTE) | Rights.WRITE;
  return r >>> 0;
}

Deno.test("§1.6 rights of a child: R = (parent - RESIZE) | RESIZE? | GET/SET_PROPERTY ...", async (t) => {
  const base = Rights.DUPLICATE | Rights.READ;
  const rightSets: [string, number][] = [
    ["DEFAULT", DEFAULT_VMO_RIGHTS],
    ["DEFAULT|RESIZE", DEFAULT_VMO_RIGHTS | Rights.RESIZE],
    ["DUPLICATE|READ", base],
    ["DUPLICATE|READ|EXECUTE", base | Rights.EXECUTE],
    ["DEFAULT|EXECUTE", DEFAULT_VMO_RIGHTS | Rights.EXECUTE],
    ["DUPLICATE|READ|WRITE|MAP|TRANSFER", base | Rights.WRITE | Rights.MAP | Rights.TRANSFER],
  ];
  for (const resizableParent of [false, true]) {
    const childOptions: [string, number, number, number][] = [];
    for (const [name, kind] of SNAPSHOT_TYPES) {
      childOptions.push([name, kind, 0, P]);
      childOptions.push([`${name}|NO_WRITE`, kind | C.NO_WRITE, 0, P]);
      childOptions.push([`${name}|RESIZABLE`, kind | C.RESIZABLE, 0, P]);
    }
    if (!resizableParent) {
      childOptions.push(["SLICE", C.SLICE, 0, P]);
      childOptions.push(["SLICE|NO_WRITE", C.SLICE | C.NO_WRITE, 0, P]);
    } else {
      childOptions.push(["REFERENCE|RESIZABLE", C.REFERENCE | C.RESIZABLE, 0, 0]);
    }
    childOptions.push(["REFERENCE", C.REFERENCE, 0, 0]);
    childOptions.push(["REFERENCE|NO_WRITE", C.REFERENCE | C.NO_WRITE, 0, 0]);
    for (const [rname, rights] of rightSets) {
      await t.step(`${resizableParent ? "resizable" : "fixed"} parent, handle ${rname}`, () => {
        using parent = Vmo.create(2 * P, resizableParent ? R : 0);
        using handle = withRights(parent, rights);
        for (const [cname, options, offset, size] of childOptions) {
          using child = handle.createChild(options, offset, size);
          assert.equal(
            child.rights,
            expectedRights(rights, options),
            `${cname}: got ${child.rights.toString(16)}, want ${
              expectedRights(rights, options).toString(16)
            }`,
          );
          assert.equal(child.info().handleRights, child.rights);
        }
      });
    }
  }
  await t.step("a writable snapshot can come from a read-only handle", () => {
    using parent = Vmo.create(P);
    parent.write(new Uint8Array([8]), 0);
    using ro = parent.duplicate(Rights.DUPLICATE | Rights.READ);
    using child = ro.createChild(C.SNAPSHOT, 0, P);
    assert.ok(child.rights & Rights.WRITE);
    child.write(new Uint8Array([9]), 0);
    assert.equal(child.readToArray(0, 1)[0], 9);
    assert.equal(parent.readToArray(0, 1)[0], 8);
  });
  await t.step("a slice of a read-only handle gets no WRITE", () => {
    using parent = Vmo.create(P);
    using ro = parent.duplicate(Rights.DUPLICATE | Rights.READ);
    using slice = ro.createChild(C.SLICE, 0, P);
    assertStatus(() => slice.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
  });
});

Deno.test("§1.6/§1.10 the name is copied iff the creating handle had GET_PROPERTY", async (t) => {
  const kinds: [string, number, number, number][] = [
    ["SNAPSHOT", C.SNAPSHOT, 0, P],
    ["SNAPSHOT_AT_LEAST_ON_WRITE", C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, P],
    ["SNAPSHOT_MODIFIED", C.SNAPSHOT_MODIFIED, 0, P],
    ["SLICE", C.SLICE, 0, P],
    ["REFERENCE", C.REFERENCE, 0, 0],
  ];
  for (const [name, options, offset, size] of kinds) {
    await t.step(name, () => {
      using parent = Vmo.create(2 * P);
      parent.setName("parent name");
      using withGet = parent.createChild(options, offset, size);
      assert.equal(withGet.getName(), "parent name");
      assert.equal(withGet.info().name, "parent name");
      using noGet = parent.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.GET_PROPERTY);
      using unnamed = noGet.createChild(options, offset, size);
      assert.equal(unnamed.getName(), "");
      // the child's name is its own
      withGet.setName("child");
      assert.equal(parent.getName(), "parent name");
    });
  }
});

// ---------------------------------------------------------------------------------------------
// the family: counts, parents, re-parenting

Deno.test("§1.6 children counting and parent koids", async (t) => {
  await t.step("every kind of child counts; closing one uncounts it", () => {
    using parent = Vmo.create(2 * P);
    assert.equal(parent.info().numChildren, 0);
    assert.equal(parent.info().parentKoid, 0);
    const a = parent.createChild(C.SNAPSHOT, 0, P);
    const b = parent.createChild(C.SLICE, 0, P);
    const c = parent.createChild(C.REFERENCE, 0, 0);
    const d = parent.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, P);
    const e = parent.createChild(C.SNAPSHOT_MODIFIED, 0, P);
    assert.equal(parent.info().numChildren, 5);
    for (const child of [a, b, c, d, e]) assert.equal(child.info().parentKoid, parent.koid);
    a.close();
    assert.equal(parent.info().numChildren, 4);
    b.close();
    c.close();
    d.close();
    e.close();
    assert.equal(parent.info().numChildren, 0);
  });
  await t.step("a duplicate handle to a child does not count twice", () => {
    using parent = Vmo.create(P);
    using child = parent.createChild(C.SNAPSHOT, 0, P);
    const dup = child.duplicate();
    assert.equal(parent.info().numChildren, 1);
    child.close();
    assert.equal(parent.info().numChildren, 1, "the object lives while dup does");
    dup.close();
    assert.equal(parent.info().numChildren, 0);
  });
  await t.step("grandchildren count on their own parent", () => {
    using root = Vmo.create(4 * P);
    using slice = root.createChild(C.SLICE, P, 2 * P);
    using grand = slice.createChild(C.SLICE, P, P);
    using snap = slice.createChild(C.SNAPSHOT, 0, P);
    assert.equal(root.info().numChildren, 1);
    assert.equal(slice.info().numChildren, 2);
    assert.equal(grand.info().parentKoid, slice.koid);
    assert.equal(snap.info().parentKoid, slice.koid);
  });
  await t.step(
    "a snapshot closed while its child lives: the grandchild moves to the parent",
    () => {
      using root = Vmo.create(P);
      root.write(new Uint8Array([1]), 0);
      const child = root.createChild(C.SNAPSHOT, 0, P);
      using grand = child.createChild(C.SNAPSHOT, 0, P);
      assert.equal(grand.info().parentKoid, child.koid);
      child.close();
      assert.equal(grand.info().parentKoid, root.koid);
      assert.equal(root.info().numChildren, 1, "the grandchild still counts");
      assert.equal(grand.readToArray(0, 1)[0], 1);
      grand.close();
      assert.equal(root.info().numChildren, 0);
    },
  );
  await t.step("a slice closed while its own slice lives: the root keeps one child", () => {
    using root = Vmo.create(4 * P);
    const slice = root.createChild(C.SLICE, P, 2 * P);
    using grand = slice.createChild(C.SLICE, P, P);
    slice.close();
    assert.equal(root.info().numChildren, 1);
    grand.write(new Uint8Array([6]), 0);
    assert.equal(root.readToArray(2 * P, 1)[0], 6);
    grand.close();
    assert.equal(root.info().numChildren, 0);
  });
  await t.step("a child closed before its parent leaves the parent unchanged", () => {
    using root = Vmo.create(P);
    root.write(new Uint8Array([3]), 0);
    const child = root.createChild(C.SNAPSHOT, 0, P);
    child.write(new Uint8Array([4]), 0);
    child.close();
    assert.equal(root.readToArray(0, 1)[0], 3);
  });
});

// ---------------------------------------------------------------------------------------------
// snapshots

Deno.test("§1.6 SNAPSHOT: an eager copy, isolated both ways", async (t) => {
  for (const [name, kind] of [SNAPSHOT_TYPES[0], SNAPSHOT_TYPES[2]]) {
    await t.step(`${name}: later parent writes are not seen by the child`, () => {
      using parent = Vmo.create(3 * P);
      const before = pattern(3 * P, 1);
      parent.write(before, 0);
      using child = parent.createChild(kind, 0, 3 * P);
      parent.write(filled(3 * P, 0xee), 0);
      assert.deepEqual(child.readToArray(0, 3 * P), before);
    });
    await t.step(`${name}: child writes are not seen by the parent`, () => {
      using parent = Vmo.create(2 * P);
      parent.write(filled(2 * P, 1), 0);
      using child = parent.createChild(kind, 0, 2 * P);
      child.write(filled(2 * P, 2), 0);
      assert.deepEqual(parent.readToArray(0, 2 * P), filled(2 * P, 1));
      assert.deepEqual(child.readToArray(0, 2 * P), filled(2 * P, 2));
    });
  }
  await t.step("SNAPSHOT_AT_LEAST_ON_WRITE: pages the child wrote are private", () => {
    using parent = Vmo.create(2 * P);
    parent.write(filled(2 * P, 1), 0);
    using child = parent.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, 2 * P);
    child.write(filled(P, 2), 0);
    assert.deepEqual(parent.readToArray(0, P), filled(P, 1));
    parent.write(filled(P, 3), 0);
    assert.deepEqual(child.readToArray(0, P), filled(P, 2));
    const other = child.readToArray(P, P);
    assert.ok(other.every((b) => b === 1), "an unwritten page shows the parent's data");
  });
  await t.step("copies [offset, offset + size) of the parent", () => {
    using parent = Vmo.create(4 * P);
    const data = pattern(4 * P, 9);
    parent.write(data, 0);
    using child = parent.createChild(C.SNAPSHOT, P, 2 * P);
    assert.equal(child.getSize(), 2 * P);
    assert.deepEqual(child.readToArray(0, 2 * P), data.slice(P, 3 * P));
  });
  await t.step("size rounded up; stream size is the unrounded argument", () => {
    using parent = Vmo.create(4 * P);
    using child = parent.createChild(C.SNAPSHOT, 0, P + 1);
    assert.equal(child.getSize(), 2 * P);
    assert.equal(child.getStreamSize(), P + 1);
    using empty = parent.createChild(C.SNAPSHOT, 0, 0);
    assert.equal(empty.getSize(), 0);
  });
  await t.step("parts beyond the parent's size read as zero and are writable", () => {
    using parent = Vmo.create(2 * P);
    parent.write(filled(2 * P, 7), 0);
    using child = parent.createChild(C.SNAPSHOT, P, 4 * P);
    assert.deepEqual(child.readToArray(0, P), filled(P, 7));
    assert.ok(allZero(child.readToArray(P, 3 * P)));
    child.write(filled(P, 8), 3 * P);
    assert.deepEqual(child.readToArray(3 * P, P), filled(P, 8));
    assert.equal(parent.getSize(), 2 * P);
  });
  await t.step("closing the parent does not change the child, and vice versa", () => {
    const parent = Vmo.create(P);
    parent.write(filled(P, 5), 0);
    using child = parent.createChild(C.SNAPSHOT, 0, P);
    using other = parent.createChild(C.SNAPSHOT, 0, P);
    using keep = parent.duplicate();
    other.write(filled(P, 6), 0);
    other.close();
    assert.deepEqual(keep.readToArray(0, P), filled(P, 5));
    parent.close();
    keep.close();
    assert.deepEqual(child.readToArray(0, P), filled(P, 5));
    child.write(new Uint8Array([1]), 0);
    assert.equal(child.readToArray(0, 1)[0], 1);
  });
  await t.step("closing the parent frees its memory even while a snapshot lives", () => {
    const before = countMemfds();
    const parent = Vmo.create(P);
    using child = parent.createChild(C.SNAPSHOT, 0, P);
    assert.equal(countMemfds(), before + 2);
    parent.close();
    assert.equal(countMemfds(), before + 1);
    assert.equal(child.info().numChildren, 0);
  });
  await t.step(
    "resizing the parent never leaks into the child, nor the child into the parent",
    () => {
      using parent = Vmo.create(2 * P, R);
      parent.write(filled(2 * P, 1), 0);
      using child = parent.createChild(C.SNAPSHOT | C.RESIZABLE, 0, 2 * P);
      parent.setSize(P);
      parent.setSize(2 * P);
      assert.deepEqual(child.readToArray(0, 2 * P), filled(2 * P, 1));
      assert.ok(allZero(parent.readToArray(P, P)));
      parent.write(filled(2 * P, 3), 0);
      child.setSize(P);
      child.setSize(3 * P);
      assert.deepEqual(child.readToArray(0, P), filled(P, 1));
      assert.ok(allZero(child.readToArray(P, 2 * P)), "growing a shrunk clone exposes zeros");
      assert.deepEqual(parent.readToArray(0, 2 * P), filled(2 * P, 3));
    },
  );
  await t.step("info: IS_COW_CLONE for every snapshot type, not RESIZABLE by default", () => {
    using parent = Vmo.create(P, R);
    for (const [, kind] of SNAPSHOT_TYPES) {
      using child = parent.createChild(kind, 0, P);
      const flags = child.info().flags;
      assert.ok(flags & VmoInfoFlags.IS_COW_CLONE);
      assert.equal(flags & VmoInfoFlags.RESIZABLE, 0);
      assert.equal(flags & VmoInfoFlags.IMMUTABLE, 0);
    }
  });
  await t.step("snapshots of snapshots, slices and references copy what they show", () => {
    using root = Vmo.create(4 * P);
    const data = pattern(4 * P, 3);
    root.write(data, 0);
    using slice = root.createChild(C.SLICE, P, 2 * P);
    using ref = root.createChild(C.REFERENCE, 0, 0);
    using s1 = root.createChild(C.SNAPSHOT, 0, 4 * P);
    using s2 = s1.createChild(C.SNAPSHOT, P, P);
    using s3 = slice.createChild(C.SNAPSHOT, P, P);
    using s4 = ref.createChild(C.SNAPSHOT, 3 * P, P);
    root.write(filled(4 * P, 0), 0);
    assert.deepEqual(s2.readToArray(0, P), data.slice(P, 2 * P));
    assert.deepEqual(s3.readToArray(0, P), data.slice(2 * P, 3 * P));
    assert.deepEqual(s4.readToArray(0, P), data.slice(3 * P, 4 * P));
  });
});

Deno.test("§1.6 SNAPSHOT|NO_WRITE is IMMUTABLE", async (t) => {
  await t.step("flags IMMUTABLE and IS_COW_CLONE; no WRITE; the data is the parent's", () => {
    using parent = Vmo.create(P);
    parent.write(filled(P, 4), 0);
    using child = parent.createChild(C.SNAPSHOT | C.NO_WRITE, 0, P);
    const flags = child.info().flags;
    assert.ok(flags & VmoInfoFlags.IMMUTABLE);
    assert.ok(flags & VmoInfoFlags.IS_COW_CLONE);
    assert.equal(child.rights & Rights.WRITE, 0);
    assertStatus(() => child.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
    parent.write(filled(P, 5), 0);
    assert.deepEqual(child.readToArray(0, P), filled(P, 4));
  });
  await t.step("a NO_WRITE slice or reference is not IMMUTABLE", () => {
    using parent = Vmo.create(P);
    using slice = parent.createChild(C.SLICE | C.NO_WRITE, 0, P);
    using ref = parent.createChild(C.REFERENCE | C.NO_WRITE, 0, 0);
    assert.equal(slice.info().flags & VmoInfoFlags.IMMUTABLE, 0);
    assert.equal(ref.info().flags & VmoInfoFlags.IMMUTABLE, 0);
    parent.write(new Uint8Array([1]), 0);
    assert.equal(slice.readToArray(0, 1)[0], 1);
    assert.equal(ref.readToArray(0, 1)[0], 1);
  });
  await t.step("a plain snapshot is not IMMUTABLE", () => {
    using parent = Vmo.create(P);
    using child = parent.createChild(C.SNAPSHOT, 0, P);
    assert.equal(child.info().flags & VmoInfoFlags.IMMUTABLE, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// slices

Deno.test("§1.6 SLICE: a window on the parent's pages", async (t) => {
  await t.step("writes go through both ways", () => {
    using parent = Vmo.create(4 * P);
    using slice = parent.createChild(C.SLICE, P, 2 * P);
    slice.write(filled(10, 1), 5);
    assert.deepEqual(parent.readToArray(P + 5, 10), filled(10, 1));
    parent.write(filled(10, 2), 2 * P + 100);
    assert.deepEqual(slice.readToArray(P + 100, 10), filled(10, 2));
    assertStatus(() => slice.readToArray(2 * P, 1), Status.OUT_OF_RANGE);
    assertStatus(() => slice.write(new Uint8Array(1), 2 * P), Status.OUT_OF_RANGE);
  });
  await t.step("nested slices compose offsets", () => {
    using parent = Vmo.create(8 * P);
    using s1 = parent.createChild(C.SLICE, 2 * P, 5 * P);
    using s2 = s1.createChild(C.SLICE, P, 3 * P);
    using s3 = s2.createChild(C.SLICE, 2 * P, P);
    s3.write(new Uint8Array([42]), 7);
    assert.equal(parent.readToArray(5 * P + 7, 1)[0], 42);
    assert.equal(s1.readToArray(3 * P + 7, 1)[0], 42);
    assert.equal(s2.readToArray(2 * P + 7, 1)[0], 42);
    parent.write(new Uint8Array([43]), 3 * P);
    assert.equal(s2.readToArray(0, 1)[0], 43);
    assertStatus(() => s2.createChild(C.SLICE, 0, 4 * P), Status.INVALID_ARGS);
  });
  await t.step("property: random nested slices agree with the parent", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(7), fc.nat(7)), { minLength: 1, maxLength: 4 }),
        fc.nat(1000),
        (chain, seed) => {
          using parent = Vmo.create(8 * P);
          const handles: Vmo[] = [];
          try {
            let current: Vmo = parent;
            let base = 0;
            for (const [off, len] of chain) {
              const pages = current.getSize() / P;
              const offset = Math.min(off, pages);
              const size = Math.min(len, pages - offset);
              current = current.createChild(C.SLICE, offset * P, size * P);
              handles.push(current);
              base += offset * P;
            }
            if (current.getSize() === 0) {
              assertStatus(() => current.write(new Uint8Array(1), 0), Status.OUT_OF_RANGE);
              return;
            }
            const data = pattern(current.getSize(), seed + 1);
            current.write(data, 0);
            assert.deepEqual(parent.readToArray(base, data.length), data);
          } finally {
            for (const h of handles) h.close();
          }
        },
      ),
      { numRuns: 50 },
    );
  });
  await t.step("not a COW clone; reports 0 committed bytes, even after the parent closes", () => {
    const parent = Vmo.create(2 * P);
    using slice = parent.createChild(C.SLICE, 0, 2 * P);
    slice.write(filled(2 * P, 1), 0);
    assert.equal(slice.info().flags & VmoInfoFlags.IS_COW_CLONE, 0);
    assert.equal(slice.info().committedBytes, 0);
    assert.equal(slice.info().populatedBytes, 0);
    assert.equal(parent.info().committedBytes, 2 * P);
    parent.close();
    assert.equal(slice.info().committedBytes, 0);
  });
  await t.step("keeps the parent's pages alive after the parent handle closes", () => {
    const before = countMemfds();
    const parent = Vmo.create(2 * P);
    parent.write(filled(P, 3), P);
    const slice = parent.createChild(C.SLICE, P, P);
    parent.close();
    assert.equal(countMemfds(), before + 1);
    assert.deepEqual(slice.readToArray(0, P), filled(P, 3));
    slice.write(filled(P, 4), 0);
    assert.deepEqual(slice.readToArray(0, P), filled(P, 4));
    slice.close();
    assert.equal(countMemfds(), before);
  });
  await t.step("a zero-sized slice: any 1-byte access is OUT_OF_RANGE", () => {
    using parent = Vmo.create(2 * P);
    using slice = parent.createChild(C.SLICE, P, 0);
    assert.equal(slice.getSize(), 0);
    assertStatus(() => slice.readToArray(0, 1), Status.OUT_OF_RANGE);
    assertStatus(() => slice.write(new Uint8Array(1), 0), Status.OUT_OF_RANGE);
    assert.equal(slice.readToArray(0, 0).length, 0);
  });
  await t.step("stream size of a slice is its own", () => {
    using parent = Vmo.create(2 * P);
    using slice = parent.createChild(C.SLICE, 0, 100);
    assert.equal(slice.getStreamSize(), 100);
    assert.equal(parent.getStreamSize(), 2 * P);
  });
  await t.step("a slice of a snapshot and of a fixed-size reference", () => {
    using parent = Vmo.create(2 * P);
    using snap = parent.createChild(C.SNAPSHOT, 0, 2 * P);
    using s1 = snap.createChild(C.SLICE, P, P);
    s1.write(new Uint8Array([1]), 0);
    assert.equal(snap.readToArray(P, 1)[0], 1);
    assert.equal(parent.readToArray(P, 1)[0], 0);
    using ref = parent.createChild(C.REFERENCE, 0, 0);
    using s2 = ref.createChild(C.SLICE, P, P);
    s2.write(new Uint8Array([2]), 0);
    assert.equal(parent.readToArray(P, 1)[0], 2);
  });
});

// ---------------------------------------------------------------------------------------------
// references

Deno.test("§1.6 REFERENCE: the same pages, size and stream size", async (t) => {
  await t.step("same pages both ways, same size", () => {
    using parent = Vmo.create(2 * P);
    using ref = parent.createChild(C.REFERENCE, 0, 0);
    assert.equal(ref.getSize(), 2 * P);
    ref.write(new Uint8Array([1]), P);
    assert.equal(parent.readToArray(P, 1)[0], 1);
    parent.write(new Uint8Array([2]), 3);
    assert.equal(ref.readToArray(3, 1)[0], 2);
    assert.equal(ref.info().flags & VmoInfoFlags.IS_COW_CLONE, 0);
    assert.equal(ref.info().committedBytes, 0);
  });
  await t.step("shares the stream size both ways", () => {
    using parent = Vmo.create(100);
    using ref = parent.createChild(C.REFERENCE, 0, 0);
    assert.equal(ref.getStreamSize(), 100);
    ref.setStreamSize(50);
    assert.equal(parent.getStreamSize(), 50);
    parent.setStreamSize(70);
    assert.equal(ref.getStreamSize(), 70);
  });
  await t.step("inherits resizability; RESIZE only with RESIZABLE", () => {
    using parent = Vmo.create(P, R);
    using plain = parent.createChild(C.REFERENCE, 0, 0);
    assert.ok(plain.info().flags & VmoInfoFlags.RESIZABLE);
    assert.equal(plain.rights & Rights.RESIZE, 0);
    assertStatus(() => plain.setSize(2 * P), Status.ACCESS_DENIED);
    using resizable = parent.createChild(C.REFERENCE | C.RESIZABLE, 0, 0);
    assert.ok(resizable.rights & Rights.RESIZE);
    using fixed = Vmo.create(P);
    using fixedRef = fixed.createChild(C.REFERENCE, 0, 0);
    assert.equal(fixedRef.info().flags & VmoInfoFlags.RESIZABLE, 0);
    assertStatus(() => fixedRef.setSize(2 * P), Status.UNAVAILABLE);
  });
  await t.step("a resize through either is seen by both, size and stream size", () => {
    using parent = Vmo.create(P, R);
    using ref = parent.createChild(C.REFERENCE | C.RESIZABLE, 0, 0);
    ref.setSize(3 * P + 1);
    assert.equal(parent.getSize(), 4 * P);
    assert.equal(parent.getStreamSize(), 3 * P + 1);
    parent.setSize(2 * P);
    assert.equal(ref.getSize(), 2 * P);
    assert.equal(ref.getStreamSize(), 2 * P);
    parent.write(new Uint8Array([5]), 2 * P - 1);
    assert.equal(ref.readToArray(2 * P - 1, 1)[0], 5);
  });
  await t.step("a reference of a reference, and of a snapshot", () => {
    using parent = Vmo.create(P);
    using r1 = parent.createChild(C.REFERENCE, 0, 0);
    using r2 = r1.createChild(C.REFERENCE, 0, 0);
    r2.write(new Uint8Array([7]), 0);
    assert.equal(parent.readToArray(0, 1)[0], 7);
    assert.equal(r2.info().parentKoid, r1.koid);
    using snap = parent.createChild(C.SNAPSHOT, 0, P);
    using r3 = snap.createChild(C.REFERENCE, 0, 0);
    r3.write(new Uint8Array([8]), 0);
    assert.equal(snap.readToArray(0, 1)[0], 8);
    assert.equal(parent.readToArray(0, 1)[0], 7);
  });
  await t.step("keeps the pages after the parent handle closes", () => {
    const parent = Vmo.create(P);
    parent.write(new Uint8Array([9]), 0);
    using ref = parent.createChild(C.REFERENCE, 0, 0);
    parent.close();
    assert.equal(ref.readToArray(0, 1)[0], 9);
  });
});
