import assert from "node:assert/strict";
import {
  CachePolicy,
  DEFAULT_VMAR_RIGHTS,
  DEFAULT_VMO_RIGHTS,
  ObjType,
  Rights,
  Status,
  Vmo,
  VmoChildOptions,
  VmoOp,
  VmoOptions,
} from "../mod.ts";
import { assertStatus, countMemfds, FakeHandle, P, runDeno } from "./_support/mod.ts";

/** Every `Vmo` instance method, called on an arbitrary receiver with valid arguments. */
const VMO_METHODS: [string, (self: unknown) => unknown][] = [
  ["read", (s) => Vmo.prototype.read.call(s, new Uint8Array(1), 0)],
  ["readToArray", (s) => Vmo.prototype.readToArray.call(s, 0, 1)],
  ["write", (s) => Vmo.prototype.write.call(s, new Uint8Array(1), 0)],
  ["getSize", (s) => Vmo.prototype.getSize.call(s)],
  ["setSize", (s) => Vmo.prototype.setSize.call(s, P)],
  ["getStreamSize", (s) => Vmo.prototype.getStreamSize.call(s)],
  ["setStreamSize", (s) => Vmo.prototype.setStreamSize.call(s, 1)],
  ["createChild", (s) => Vmo.prototype.createChild.call(s, VmoChildOptions.SNAPSHOT, 0, P)],
  ["opRange", (s) => Vmo.prototype.opRange.call(s, VmoOp.COMMIT, 0, P)],
  ["setCachePolicy", (s) => Vmo.prototype.setCachePolicy.call(s, CachePolicy.CACHED)],
  ["getName", (s) => Vmo.prototype.getName.call(s)],
  ["setName", (s) => Vmo.prototype.setName.call(s, "x")],
  ["info", (s) => Vmo.prototype.info.call(s)],
  ["unsafeDupFd", (s) => Vmo.prototype.unsafeDupFd.call(s)],
];

/** Methods of every handle. */
const HANDLE_METHODS: [string, (self: Vmo) => unknown][] = [
  ["basicInfo", (s) => s.basicInfo()],
  ["duplicate", (s) => s.duplicate()],
  ["duplicate(READ)", (s) => s.duplicate(Rights.READ)],
  ["replace", (s) => s.replace()],
];

Deno.test("§0 Rights bit values", async (t) => {
  const bits: [keyof typeof Rights, number][] = [
    ["DUPLICATE", 0],
    ["TRANSFER", 1],
    ["READ", 2],
    ["WRITE", 3],
    ["EXECUTE", 4],
    ["MAP", 5],
    ["GET_PROPERTY", 6],
    ["SET_PROPERTY", 7],
    ["ENUMERATE", 8],
    ["DESTROY", 9],
    ["SET_POLICY", 10],
    ["GET_POLICY", 11],
    ["SIGNAL", 12],
    ["SIGNAL_PEER", 13],
    ["WAIT", 14],
    ["INSPECT", 15],
    ["MANAGE_JOB", 16],
    ["MANAGE_PROCESS", 17],
    ["MANAGE_THREAD", 18],
    ["APPLY_PROFILE", 19],
    ["MANAGE_SOCKET", 20],
    ["OP_CHILDREN", 21],
    ["RESIZE", 22],
    ["ATTACH_VMO", 23],
    ["MANAGE_VMO", 24],
  ];
  for (const [name, bit] of bits) {
    await t.step(`Rights.${name} = 1 << ${bit}`, () => {
      assert.equal(Rights[name], 2 ** bit);
    });
  }
  await t.step("SAME_RIGHTS = 0x80000000, unsigned", () => {
    assert.equal(Rights.SAME_RIGHTS, 0x8000_0000);
    assert.ok(Rights.SAME_RIGHTS > 0);
  });
  await t.step("DEFAULT_VMO_RIGHTS = BASIC|READ|WRITE|GET_PROPERTY|SET_PROPERTY|MAP|SIGNAL", () => {
    assert.equal(DEFAULT_VMO_RIGHTS, 0xd0ef);
  });
  await t.step("DEFAULT_VMAR_RIGHTS = (BASIC minus WAIT)|OP_CHILDREN", () => {
    assert.equal(DEFAULT_VMAR_RIGHTS, 0x20_8003);
  });
});

Deno.test("koids", async (t) => {
  await t.step("unique, increasing, and at least 1024", () => {
    const vmos = Array.from({ length: 20 }, () => Vmo.create(P));
    try {
      for (let i = 0; i < vmos.length; i++) {
        assert.ok(vmos[i].koid >= 1024);
        assert.ok(Number.isSafeInteger(vmos[i].koid));
        if (i > 0) assert.ok(vmos[i].koid > vmos[i - 1].koid, "koids increase");
      }
    } finally {
      for (const v of vmos) v.close();
    }
  });

  await t.step("never reused after close", () => {
    const a = Vmo.create(P);
    const koid = a.koid;
    a.close();
    using b = Vmo.create(P);
    assert.ok(b.koid > koid);
  });

  await t.step("a child has its own koid, a duplicate shares the object's", () => {
    using parent = Vmo.create(P);
    using dup = parent.duplicate();
    using child = parent.createChild(VmoChildOptions.SNAPSHOT, 0, P);
    assert.equal(dup.koid, parent.koid);
    assert.ok(child.koid > parent.koid);
    assert.equal(child.info().koid, child.koid);
    assert.equal(parent.info().koid, parent.koid);
  });

  await t.step("koid stays readable after close", () => {
    const vmo = Vmo.create(P);
    const koid = vmo.koid;
    vmo.close();
    assert.equal(vmo.koid, koid);
  });
});

Deno.test("§1.2 a new VMO's handle rights", async (t) => {
  await t.step("DEFAULT_VMO_RIGHTS", () => {
    using vmo = Vmo.create(P);
    assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS);
    assert.equal(vmo.basicInfo().rights, DEFAULT_VMO_RIGHTS);
  });
  await t.step("RESIZABLE adds RESIZE", () => {
    using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
    assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS | Rights.RESIZE);
  });
});

Deno.test("§3 duplicate", async (t) => {
  await t.step("SAME_RIGHTS (the default) copies the rights; both handles stay valid", () => {
    using vmo = Vmo.create(P);
    using a = vmo.duplicate(Rights.SAME_RIGHTS);
    using b = vmo.duplicate();
    assert.equal(a.rights, vmo.rights);
    assert.equal(b.rights, vmo.rights);
    assert.ok(vmo.isValid && a.isValid && b.isValid);
    a.write(new Uint8Array([7]), 0);
    assert.equal(b.readToArray(0, 1)[0], 7);
  });

  await t.step("a subset of the rights", () => {
    using vmo = Vmo.create(P);
    using ro = vmo.duplicate(Rights.READ | Rights.DUPLICATE);
    assert.equal(ro.rights, Rights.READ | Rights.DUPLICATE);
    assert.equal(ro.basicInfo().rights, Rights.READ | Rights.DUPLICATE);
    assert.equal(ro.koid, vmo.koid);
  });

  await t.step("rights 0 (NONE) is legal", () => {
    using vmo = Vmo.create(P);
    using none = vmo.duplicate(Rights.NONE);
    assert.equal(none.rights, 0);
    assert.ok(none.isValid);
  });

  await t.step("rights not a subset: INVALID_ARGS", () => {
    using vmo = Vmo.create(P);
    using ro = vmo.duplicate(Rights.READ | Rights.DUPLICATE);
    assertStatus(() => ro.duplicate(Rights.READ | Rights.WRITE), Status.INVALID_ARGS);
    assertStatus(() => vmo.duplicate(Rights.RESIZE), Status.INVALID_ARGS);
    assertStatus(() => vmo.duplicate(Rights.EXECUTE), Status.INVALID_ARGS);
    assert.ok(ro.isValid, "a failed duplicate leaves the handle valid");
  });

  await t.step("SAME_RIGHTS combined with other bits is not SAME_RIGHTS: INVALID_ARGS", () => {
    using vmo = Vmo.create(P);
    assertStatus(() => vmo.duplicate(Rights.SAME_RIGHTS | Rights.READ), Status.INVALID_ARGS);
  });

  await t.step("without DUPLICATE: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    using noDup = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.DUPLICATE);
    assertStatus(() => noDup.duplicate(), Status.ACCESS_DENIED);
    assertStatus(() => noDup.duplicate(Rights.READ), Status.ACCESS_DENIED);
  });

  await t.step("ACCESS_DENIED (no DUPLICATE) comes before INVALID_ARGS (not a subset)", () => {
    using vmo = Vmo.create(P);
    using readOnly = vmo.duplicate(Rights.READ);
    assertStatus(() => readOnly.duplicate(Rights.WRITE), Status.ACCESS_DENIED);
  });

  await t.step("a closed handle: BAD_HANDLE", () => {
    const vmo = Vmo.create(P);
    vmo.close();
    assertStatus(() => vmo.duplicate(), Status.BAD_HANDLE);
  });
});

Deno.test("§3 replace", async (t) => {
  await t.step("SAME_RIGHTS: same rights, same object; the old handle is invalid", () => {
    const vmo = Vmo.create(P);
    vmo.write(new Uint8Array([3]), 5);
    const rights = vmo.rights;
    using next = vmo.replace();
    assert.equal(vmo.isValid, false);
    assert.equal(next.rights, rights);
    assert.equal(next.koid, vmo.koid);
    assert.equal(next.readToArray(5, 1)[0], 3);
    assertStatus(() => vmo.read(new Uint8Array(1), 0), Status.BAD_HANDLE);
  });

  await t.step("a subset of the rights", () => {
    const vmo = Vmo.create(P);
    using ro = vmo.replace(Rights.READ);
    assert.equal(ro.rights, Rights.READ);
    assert.equal(vmo.isValid, false);
    assertStatus(() => ro.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
  });

  await t.step("needs no right: a 0-rights handle can be replaced", () => {
    using vmo = Vmo.create(P);
    const none = vmo.duplicate(Rights.NONE);
    using again = none.replace(Rights.NONE);
    assert.equal(again.rights, 0);
    assert.equal(none.isValid, false);
    assert.equal(again.koid, vmo.koid);
  });

  await t.step("not a subset: INVALID_ARGS, and the handle is invalidated anyway", () => {
    using vmo = Vmo.create(P);
    const ro = vmo.duplicate(Rights.READ | Rights.DUPLICATE);
    assertStatus(() => ro.replace(Rights.WRITE), Status.INVALID_ARGS);
    assert.equal(ro.isValid, false);
    assertStatus(() => ro.readToArray(0, 1), Status.BAD_HANDLE);
    assert.ok(vmo.isValid, "other handles are untouched");
  });

  await t.step("malformed rights: INVALID_ARGS, and the handle is invalidated anyway", () => {
    using vmo = Vmo.create(P);
    const dup = vmo.duplicate();
    assertStatus(() => dup.replace(-1), Status.INVALID_ARGS);
    assert.equal(dup.isValid, false);
  });

  await t.step("replacing the only handle with bad rights releases the object", () => {
    const before = countMemfds();
    const vmo = Vmo.create(P);
    assert.equal(countMemfds(), before + 1);
    assertStatus(() => vmo.replace(Rights.RESIZE), Status.INVALID_ARGS);
    assert.equal(vmo.isValid, false);
    assert.equal(countMemfds(), before);
  });

  await t.step("a closed handle: BAD_HANDLE", () => {
    const vmo = Vmo.create(P);
    vmo.close();
    assertStatus(() => vmo.replace(), Status.BAD_HANDLE);
  });
});

Deno.test("close", async (t) => {
  await t.step("is idempotent", () => {
    const vmo = Vmo.create(P);
    assert.equal(vmo.isValid, true);
    vmo.close();
    assert.equal(vmo.isValid, false);
    vmo.close();
    vmo[Symbol.dispose]();
    assert.equal(vmo.isValid, false);
  });

  await t.step("closing one handle keeps the object; closing the last frees its memfd", () => {
    const before = countMemfds();
    const a = Vmo.create(P);
    const b = a.duplicate();
    a.write(new Uint8Array([9]), 0);
    assert.equal(countMemfds(), before + 1);
    a.close();
    assert.equal(countMemfds(), before + 1);
    assert.equal(b.readToArray(0, 1)[0], 9);
    b.close();
    assert.equal(countMemfds(), before);
  });

  await t.step("`using` closes at the end of the block", () => {
    const before = countMemfds();
    let kept: Vmo;
    {
      using vmo = Vmo.create(P);
      kept = vmo;
      assert.equal(vmo.isValid, true);
      assert.equal(countMemfds(), before + 1);
    }
    assert.equal(kept.isValid, false);
    assert.equal(countMemfds(), before);
    assertStatus(() => kept.getSize(), Status.BAD_HANDLE);
  });

  await t.step("`using` closes when the block throws", () => {
    const before = countMemfds();
    let kept: Vmo | undefined;
    assert.throws(() => {
      using vmo = Vmo.create(P);
      kept = vmo;
      throw new Error("boom");
    }, /boom/);
    assert.equal(kept?.isValid, false);
    assert.equal(countMemfds(), before);
  });
});

Deno.test("BAD_HANDLE after close, for every method", async (t) => {
  for (const [name, call] of VMO_METHODS) {
    await t.step(name, () => {
      const vmo = Vmo.create(P, VmoOptions.RESIZABLE);
      vmo.close();
      assertStatus(() => call(vmo), Status.BAD_HANDLE, name);
    });
  }
  for (const [name, call] of HANDLE_METHODS) {
    await t.step(name, () => {
      const vmo = Vmo.create(P);
      vmo.close();
      assertStatus(() => call(vmo), Status.BAD_HANDLE, name);
    });
  }
  await t.step("after replace, the old handle is BAD_HANDLE for every method", () => {
    const vmo = Vmo.create(P);
    using next = vmo.replace();
    for (const [name, call] of VMO_METHODS) assertStatus(() => call(vmo), Status.BAD_HANDLE, name);
    assert.ok(next.isValid);
  });
  await t.step("a receiver that is no handle at all: BAD_HANDLE", () => {
    for (const [name, call] of VMO_METHODS) {
      assertStatus(() => call({}), Status.BAD_HANDLE, name);
      assertStatus(() => call(null), Status.BAD_HANDLE, name);
    }
  });
});

Deno.test("§1.3/§3 WRONG_TYPE for a handle that is not a VMO, before any rights check", async (t) => {
  for (const rights of [0, 0xffff_ffff & ~Rights.SAME_RIGHTS]) {
    for (const [name, call] of VMO_METHODS) {
      await t.step(`${name} with rights ${rights.toString(16)}`, () => {
        using fake = new FakeHandle(rights);
        assertStatus(() => call(fake), Status.WRONG_TYPE, name);
      });
    }
  }
  await t.step("Handle methods still work on any handle type", () => {
    using fake = new FakeHandle(Rights.DUPLICATE | Rights.READ);
    const info = fake.basicInfo();
    assert.equal(info.type, ObjType.VMAR);
    assert.equal(info.koid, fake.koid);
    using dup = fake.duplicate(Rights.READ);
    assert.equal(dup.koid, fake.koid);
  });
});

Deno.test("basicInfo", async (t) => {
  await t.step("koid, rights, type VMO, relatedKoid 0", () => {
    using vmo = Vmo.create(P);
    const info = vmo.basicInfo();
    assert.deepEqual(info, {
      koid: vmo.koid,
      rights: DEFAULT_VMO_RIGHTS,
      type: ObjType.VMO,
      relatedKoid: 0,
    });
    assert.equal(ObjType.VMO, 3);
    assert.equal(ObjType.VMAR, 18);
  });
  await t.step("reports the rights of the asking handle; needs no right", () => {
    using vmo = Vmo.create(P);
    using none = vmo.duplicate(Rights.NONE);
    assert.deepEqual(none.basicInfo(), {
      koid: vmo.koid,
      rights: 0,
      type: ObjType.VMO,
      relatedKoid: 0,
    });
  });
});

Deno.test("§3 required rights per operation", async (t) => {
  const all = DEFAULT_VMO_RIGHTS | Rights.RESIZE;
  const cases: [string, number, (v: Vmo) => unknown][] = [
    ["read needs READ", Rights.READ, (v) => v.read(new Uint8Array(1), 0)],
    ["readToArray needs READ", Rights.READ, (v) => v.readToArray(0, 1)],
    ["write needs WRITE", Rights.WRITE, (v) => v.write(new Uint8Array(1), 0)],
    ["setSize needs WRITE", Rights.WRITE, (v) => v.setSize(2 * P)],
    ["setSize of a resizable VMO needs RESIZE", Rights.RESIZE, (v) => v.setSize(2 * P)],
    ["setStreamSize needs WRITE", Rights.WRITE, (v) => v.setStreamSize(5)],
    [
      "createChild needs DUPLICATE",
      Rights.DUPLICATE,
      (v) => v.createChild(VmoChildOptions.SNAPSHOT, 0, P),
    ],
    ["createChild needs READ", Rights.READ, (v) => v.createChild(VmoChildOptions.SNAPSHOT, 0, P)],
    ["setCachePolicy needs MAP", Rights.MAP, (v) => v.setCachePolicy(CachePolicy.CACHED)],
    ["getName needs GET_PROPERTY", Rights.GET_PROPERTY, (v) => v.getName()],
    ["setName needs SET_PROPERTY", Rights.SET_PROPERTY, (v) => v.setName("n")],
  ];
  for (const [name, right, call] of cases) {
    await t.step(`${name}: ACCESS_DENIED without it`, () => {
      using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
      using lacking = vmo.duplicate(all & ~right);
      assertStatus(() => call(lacking), Status.ACCESS_DENIED, name);
    });
  }
  await t.step("getSize, getStreamSize, info, basicInfo need no right", () => {
    using vmo = Vmo.create(100);
    using none = vmo.duplicate(Rights.NONE);
    assert.equal(none.getSize(), P);
    assert.equal(none.getStreamSize(), 100);
    assert.equal(none.info().sizeBytes, P);
    assert.equal(none.info().handleRights, 0);
    assert.equal(none.basicInfo().rights, 0);
  });
  await t.step("each operation works with exactly the rights it needs", () => {
    using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
    using r = vmo.duplicate(Rights.READ);
    assert.equal(r.readToArray(0, 1).length, 1);
    using w = vmo.duplicate(Rights.WRITE);
    w.write(new Uint8Array([1]), 0);
    w.setStreamSize(7);
    using rw = vmo.duplicate(Rights.WRITE | Rights.RESIZE);
    rw.setSize(2 * P);
    assert.equal(vmo.getSize(), 2 * P);
    using m = vmo.duplicate(Rights.MAP);
    m.setCachePolicy(CachePolicy.CACHED);
    using sp = vmo.duplicate(Rights.SET_PROPERTY);
    sp.setName("named");
    using gp = vmo.duplicate(Rights.GET_PROPERTY);
    assert.equal(gp.getName(), "named");
  });
});

Deno.test("FinalizationRegistry backstop: a dropped handle's memfd is closed after GC", async () => {
  const child = new URL("./fixtures/backstop_child.ts", import.meta.url);
  const out = await runDeno(["--v8-flags=--expose-gc", "--allow-ffi"], child);
  assert.equal(out.code, 0, out.stderr);
  const { before, during, after, mapsBefore, mapsAfter } = JSON.parse(out.stdout.trim());
  assert.equal(during - before, 100, "50 roots and 50 snapshots hold one memfd each");
  assert.equal(after, before, "every memfd was closed by the backstop");
  assert.equal(mapsAfter, mapsBefore, "every internal mapping was unmapped");
});
