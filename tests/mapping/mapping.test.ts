/**
 * docs/semantics.md §4.1 (`mapped_vmo::Mapping`) and §4.2 (`ImmutableMapping`): allocate, names,
 * createFromVmo and its REQUIRE_NON_RESIZABLE, closing and disposing (the tree, the VMO's
 * mapping count and `/proc/self/maps` all agree), snapshot semantics of immutable mappings, and
 * the `FinalizationRegistry` backstop (in a child process with `--expose-gc`).
 */

import assert from "node:assert/strict";
import {
  ImmutableMapping,
  Mapping,
  Rights,
  SharedBufferSlice,
  SharedBufferSliceMut,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOptions,
  ZxError,
} from "../../mod.ts";
import {
  arr,
  assertStatus,
  childJson,
  closedDuplicate,
  countMemfdMappings,
  countMemfds,
  filled,
  mapsOverlapping,
  memfdMappedAt,
  P,
  pattern,
  runDeno,
} from "../_support/mod.ts";
import { assertNoMemfdLeak, R, RW } from "./helpers.ts";

const BAD_ARGS = Status.INVALID_ARGS;

/** Mappings of `koid` in the root VMAR's tree. */
function rootMappingsOf(koid: number) {
  return Vmar.root().infoMaps().filter((m) => m.mapping?.vmoKoid === koid);
}

Deno.test("§4.1 Mapping.allocate: len exact, VMO page-rounded, mapped read-write", async (t) => {
  for (const size of [1, 100, P - 1, P, P + 1, 3 * P + 5]) {
    await t.step(`size ${size}`, () => {
      const [m, vmo] = Mapping.allocate(size);
      try {
        assert.equal(m.len(), size);
        assert.equal(vmo.getSize(), Math.ceil(size / P) * P);
        assert.equal(m.addr % P, 0);
        assert.equal(vmo.info().numMappings, 1);
        assert.equal(vmo.info().flags & VmoOptions.RESIZABLE, 0, "not resizable");
        const maps = rootMappingsOf(vmo.koid);
        assert.equal(maps.length, 1);
        assert.equal(maps[0].base, m.addr);
        assert.equal(maps[0].size, Math.ceil(size / P) * P);
        assert.equal(maps[0].mapping!.mmuFlags, RW);
        assert.equal(maps[0].mapping!.vmoOffset, 0);
        // Fresh memory is zero; writes show in the VMO, up to len.
        const dst = filled(size, 0xee);
        assert.equal(m.read(dst), size);
        assert.ok(dst.every((b) => b === 0));
        assert.equal(m.write(filled(size + 10, 0x5a)), size);
        assert.ok(vmo.readToArray(0, size).every((b) => b === 0x5a));
        assert.ok(memfdMappedAt(m.addr, 1));
        assert.equal(m.bytes().length, size);
      } finally {
        m.close();
        vmo.close();
      }
    });
  }
  await t.step("size 0, or not a size → INVALID_ARGS, nothing leaked", () => {
    assertNoMemfdLeak(() => {
      for (const size of [0, -1, 1.5, NaN, "4096", null]) {
        assertStatus(() => Mapping.allocate(size as number), BAD_ARGS, `size ${String(size)}`);
      }
    });
  });
  await t.step("too large → an error, nothing leaked", () => {
    const fds = countMemfds();
    assert.throws(() => Mapping.allocate(2 ** 62), ZxError);
    assert.throws(() => Mapping.allocate(Number.MAX_SAFE_INTEGER), ZxError);
    assert.equal(countMemfds(), fds);
  });
});

Deno.test("§4.1 Mapping.allocateWithName: the name is checked before anything is created", async (t) => {
  await t.step("a valid name is set on the VMO (31 bytes is the limit)", () => {
    for (const name of ["ring", "", "x".repeat(31), "é".repeat(15) + "a"]) {
      const [m, vmo] = Mapping.allocateWithName(P, name);
      try {
        assert.equal(vmo.getName(), name);
        assert.equal(vmo.info().name, name);
        assert.equal(m.len(), P);
        assert.equal(rootMappingsOf(vmo.koid)[0].name, name);
      } finally {
        m.close();
        vmo.close();
      }
    }
  });
  await t.step("32 bytes, a NUL, not a string → INVALID_ARGS, no fd, VMO or mapping leaked", () => {
    assertNoMemfdLeak(() => {
      const bad = ["x".repeat(32), "é".repeat(16), "a\0b", "\0", 42, null, undefined];
      for (const name of bad) {
        assertStatus(
          () => Mapping.allocateWithName(P, name as string),
          BAD_ARGS,
          `name ${JSON.stringify(name)}`,
        );
        // Even with a size that would fail later, or a huge one that would be slow.
        assertStatus(() => Mapping.allocateWithName(0, name as string), BAD_ARGS);
        assertStatus(() => Mapping.allocateWithName(2 ** 40, name as string), BAD_ARGS);
      }
    });
  });
  await t.step("a good name with size 0 → INVALID_ARGS, nothing leaked", () => {
    const fds = countMemfds();
    assertStatus(() => Mapping.allocateWithName(0, "ok"), BAD_ARGS);
    assert.equal(countMemfds(), fds);
  });
});

Deno.test("§4.1 Mapping.createFromVmo", async (t) => {
  await t.step("a resizable VMO → NOT_SUPPORTED (REQUIRE_NON_RESIZABLE is always added)", () => {
    using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
    const maps = countMemfdMappings();
    assertStatus(() => Mapping.createFromVmo(vmo, P, RW), Status.NOT_SUPPORTED);
    assertStatus(() => Mapping.createFromVmo(vmo, P, R), Status.NOT_SUPPORTED);
    assert.equal(vmo.info().numMappings, 0);
    assert.equal(countMemfdMappings(), maps);
  });
  await t.step("PERM_READ only: reads work, every write → ACCESS_DENIED, memory unchanged", () => {
    using vmo = Vmo.create(P);
    vmo.write(pattern(P, 4), 0);
    using m = Mapping.createFromVmo(vmo, P, R);
    assert.equal(m.readU8(10), pattern(P, 4)[10]);
    assertStatus(() => m.writeAt(0, filled(4, 0)), Status.ACCESS_DENIED);
    assertStatus(() => m.write(filled(4, 0)), Status.ACCESS_DENIED);
    assertStatus(() => m.writeU32(0, 0), Status.ACCESS_DENIED);
    assertStatus(() => m.bytes(), Status.ACCESS_DENIED);
    assertStatus(() => m.int32View(), Status.ACCESS_DENIED);
    assert.deepEqual(arr(vmo.readToArray(0, P)), arr(pattern(P, 4)));
    assert.equal(rootMappingsOf(vmo.koid)[0].mapping!.mmuFlags, R);
  });
  await t.step("size decides len and the mapping's size; vmo offset 0", () => {
    using vmo = Vmo.create(4 * P);
    vmo.write(new Uint8Array([1, 2, 3]), 0);
    using m = Mapping.createFromVmo(vmo, 100, RW | VmarFlags.MAP_RANGE);
    assert.equal(m.len(), 100);
    assert.equal(m.readU8(2), 3);
    const maps = rootMappingsOf(vmo.koid);
    assert.equal(maps.length, 1);
    assert.equal(maps[0].size, P);
    assert.equal(maps[0].mapping!.vmoOffset, 0);
  });
  await t.step("rights: no MAP → ACCESS_DENIED; PERM_WRITE without WRITE → ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    using noMap = vmo.duplicate(vmo.rights & ~Rights.MAP);
    using noWrite = vmo.duplicate(vmo.rights & ~Rights.WRITE);
    assertStatus(() => Mapping.createFromVmo(noMap, P, R), Status.ACCESS_DENIED);
    assertStatus(() => Mapping.createFromVmo(noWrite, P, RW), Status.ACCESS_DENIED);
    using ro = Mapping.createFromVmo(noWrite, P, R);
    assert.equal(ro.len(), P);
    assert.equal(vmo.info().numMappings, 1);
  });
  await t.step("bad arguments → INVALID_ARGS; closed handle → BAD_HANDLE", () => {
    using vmo = Vmo.create(P);
    for (const size of [0, -1, 0.5, NaN]) {
      assertStatus(() => Mapping.createFromVmo(vmo, size, RW), BAD_ARGS, `size ${size}`);
    }
    assertStatus(() => Mapping.createFromVmo(vmo, P, VmarFlags.PERM_WRITE), BAD_ARGS);
    const dup = closedDuplicate(vmo);
    assertStatus(() => Mapping.createFromVmo(dup, P, R), Status.BAD_HANDLE);
    assertStatus(
      () => Mapping.createFromVmo(Vmar.root() as unknown as Vmo, P, R),
      Status.WRONG_TYPE,
    );
    assert.equal(vmo.info().numMappings, 0);
  });
  await t.step(
    "flags that are not a 32-bit unsigned integer → INVALID_ARGS, nothing mapped",
    () => {
      using vmo = Vmo.create(P);
      const bad = [NaN, 3.5, "3", -1, 2 ** 32, 3n, null, undefined, {}];
      for (const flags of bad) {
        let mapping: Mapping | null = null;
        try {
          assertStatus(
            () => {
              mapping = Mapping.createFromVmo(vmo, P, flags as number);
            },
            BAD_ARGS,
            `flags ${String(flags)}`,
          );
        } finally {
          (mapping as Mapping | null)?.close();
        }
      }
      assert.equal(vmo.info().numMappings, 0);
    },
  );
  await t.step("Mapping is a SharedBuffer", () => {
    using vmo = Vmo.create(P);
    using m = Mapping.createFromVmo(vmo, P, RW);
    assert.ok(m instanceof SharedBufferSliceMut);
    assert.equal(typeof m.asPtrLen, "function");
  });
});

Deno.test("§4.1 close / dispose unmaps: numMappings, the tree and /proc/self/maps agree", async (t) => {
  await t.step("close()", () => {
    const [m, vmo] = Mapping.allocate(2 * P);
    const addr = m.addr;
    assert.equal(vmo.info().numMappings, 1);
    assert.ok(memfdMappedAt(addr, 2 * P));
    assert.ok(mapsOverlapping(addr, 2 * P).every((l) => l.perms === "rw-s"));
    const view = m.bytes();
    m.close();
    assert.equal(view.length, 0);
    assert.equal(vmo.info().numMappings, 0);
    assert.equal(rootMappingsOf(vmo.koid).length, 0);
    assert.ok(!memfdMappedAt(addr, 2 * P), "the range is no longer mapped from the memfd");
    assertStatus(() => m.readU8(0), Status.BAD_STATE);
    assertStatus(() => m.len(), Status.BAD_STATE);
    assert.equal(m.addr, addr);
    vmo.close();
  });
  await t.step("close twice, dispose after close: no error, nothing else unmapped", () => {
    using other = Vmo.create(P);
    const [m, vmo] = Mapping.allocate(P);
    m.close();
    // Something new may be mapped where the mapping was: a second close must not unmap it.
    using neighbour = Mapping.createFromVmo(other, P, RW);
    m.close();
    m[Symbol.dispose]();
    assert.equal(neighbour.readU8(0), 0);
    assert.equal(other.info().numMappings, 1);
    vmo.close();
  });
  await t.step("using: disposed at the end of the block", () => {
    using vmo = Vmo.create(P);
    let addr = 0;
    {
      using m = Mapping.createFromVmo(vmo, P, RW);
      addr = m.addr;
      m.writeU8(0, 1);
      assert.equal(vmo.info().numMappings, 1);
    }
    assert.equal(vmo.info().numMappings, 0);
    assert.ok(!memfdMappedAt(addr, P));
    assert.equal(vmo.readToArray(0, 1)[0], 1);
  });
  await t.step("close after the memory was unmapped through the root VMAR is fine", () => {
    const [m, vmo] = Mapping.allocate(P);
    Vmar.root().unmap(m.addr, P);
    assertStatus(() => m.readU8(0), Status.BAD_STATE);
    m.close();
    assert.equal(vmo.info().numMappings, 0);
    vmo.close();
  });
  await t.step(
    "closing the Vmo handle first keeps the data; the memfd goes with the mapping",
    () => {
      const fds = countMemfds();
      const [m, vmo] = Mapping.allocate(P);
      m.write(pattern(64, 8));
      assert.equal(countMemfds(), fds + 1);
      vmo.close();
      assertStatus(() => vmo.getSize(), Status.BAD_HANDLE);
      const dst = new Uint8Array(64);
      assert.equal(m.read(dst), 64);
      assert.deepEqual(arr(dst), arr(pattern(64, 8)));
      m.writeU32(100, 0xabcdef01);
      assert.equal(m.readU32(100), 0xabcdef01);
      assert.equal(m.bytes()[0], pattern(64, 8)[0]);
      assert.equal(countMemfds(), fds + 1, "the mapping keeps the VMO");
      m.close();
      assert.equal(countMemfds(), fds, "closing the mapping frees the VMO");
    },
  );
  await t.step("many allocate/close cycles return fds and maps lines to where they were", () => {
    assertNoMemfdLeak(() => {
      for (let i = 0; i < 200; i++) {
        const [m, vmo] = Mapping.allocate((i % 5 + 1) * P);
        m.writeU8(0, i & 0xff);
        if (i % 2) vmo.close();
        m.close();
        if (!(i % 2)) vmo.close();
      }
    });
  });
});

Deno.test("§4.2 ImmutableMapping", async (t) => {
  await t.step("snapshot semantics: later writes to the VMO are invisible", () => {
    using vmo = Vmo.create(2 * P);
    vmo.write(pattern(2 * P, 21), 0);
    using im = ImmutableMapping.createFromVmo(vmo);
    vmo.write(filled(2 * P, 0), 0);
    const dst = new Uint8Array(2 * P);
    assert.equal(im.read(dst), 2 * P);
    assert.deepEqual(arr(dst), arr(pattern(2 * P, 21)));
    assert.equal(im.len(), 2 * P);
    assert.equal(im.readU8(P + 1), pattern(2 * P, 21)[P + 1]);
  });
  await t.step("read-only: a SharedBufferSlice without write methods or views", () => {
    using vmo = Vmo.create(P);
    using im = ImmutableMapping.createFromVmo(vmo, true);
    assert.ok(im instanceof SharedBufferSlice);
    assert.ok(!(im instanceof SharedBufferSliceMut));
    for (const name of ["write", "writeAt", "bytes", "int32View", "writeU8", "sliceMut"]) {
      assert.equal((im as unknown as Record<string, unknown>)[name], undefined, name);
    }
    assert.equal(im.slice(10, 20).len(), 10);
    assertStatus(() => im.readAt(P + 1, new Uint8Array(1)), Status.OUT_OF_RANGE);
    assert.equal(rootMappingsOf(vmo.koid).length, 0, "the parent itself is not mapped");
  });
  await t.step("size 1 → a page-sized view", () => {
    using vmo = Vmo.create(1);
    vmo.write(new Uint8Array([0x7e]), 0);
    using im = ImmutableMapping.createFromVmo(vmo);
    assert.equal(im.len(), P);
    assert.equal(im.readU8(0), 0x7e);
    assert.equal(im.readU8(P - 1), 0);
  });
  await t.step("size 0 → an empty view, nothing created or mapped", () => {
    using vmo = Vmo.create(0);
    const maps = countMemfdMappings();
    const fds = countMemfds();
    const im = ImmutableMapping.createFromVmo(vmo);
    assert.equal(im.len(), 0);
    assert.equal(im.addr, 0);
    assert.equal(im.readAt(0, new Uint8Array(4)), 0);
    assertStatus(() => im.readAt(1, new Uint8Array(4)), Status.OUT_OF_RANGE);
    assertStatus(() => im.readU8(0), Status.OUT_OF_RANGE);
    assert.equal(vmo.info().numChildren, 0);
    assert.equal(countMemfdMappings(), maps);
    assert.equal(countMemfds(), fds);
    im.close();
    im.close();
  });
  await t.step("the parent's numChildren goes back to 0 after close; memory released", () => {
    using vmo = Vmo.create(P);
    const fds = countMemfds();
    const im = ImmutableMapping.createFromVmo(vmo, true);
    const addr = im.addr;
    assert.equal(vmo.info().numChildren, 1);
    assert.ok(memfdMappedAt(addr, P));
    assert.ok(mapsOverlapping(addr, P).every((l) => l.perms === "r--s"));
    im.close();
    assert.equal(vmo.info().numChildren, 0);
    assert.ok(!memfdMappedAt(addr, P));
    assert.equal(countMemfds(), fds);
    assertStatus(() => im.readU8(0), Status.BAD_STATE);
    im.close();
    im[Symbol.dispose]();
  });
  await t.step("the parent handle needs DUPLICATE and READ → ACCESS_DENIED, nothing leaked", () => {
    using vmo = Vmo.create(P);
    using noDup = vmo.duplicate(vmo.rights & ~Rights.DUPLICATE);
    using noRead = vmo.duplicate(vmo.rights & ~Rights.READ);
    const fds = countMemfds();
    assertStatus(() => ImmutableMapping.createFromVmo(noDup), Status.ACCESS_DENIED);
    assertStatus(() => ImmutableMapping.createFromVmo(noRead), Status.ACCESS_DENIED);
    assert.equal(vmo.info().numChildren, 0);
    assert.equal(countMemfds(), fds);
  });
  await t.step("a resizable parent is fine; shrinking it later does not touch the view", () => {
    using vmo = Vmo.create(2 * P, VmoOptions.RESIZABLE);
    vmo.write(filled(2 * P, 0x33), 0);
    using im = ImmutableMapping.createFromVmo(vmo);
    vmo.setSize(0);
    assert.equal(im.readU8(2 * P - 1), 0x33);
  });
  await t.step("a closed handle or no handle → BAD_HANDLE; a VMAR → WRONG_TYPE", () => {
    const vmo = Vmo.create(P);
    vmo.close();
    assertStatus(() => ImmutableMapping.createFromVmo(vmo), Status.BAD_HANDLE);
    assertStatus(() => ImmutableMapping.createFromVmo(null as unknown as Vmo), Status.BAD_HANDLE);
    assertStatus(() => ImmutableMapping.createFromVmo({} as Vmo), Status.BAD_HANDLE);
    assertStatus(
      () => ImmutableMapping.createFromVmo(Vmar.root() as unknown as Vmo),
      Status.WRONG_TYPE,
    );
    // As Mapping.createFromVmo does.
    assertStatus(() => Mapping.createFromVmo(null as unknown as Vmo, P, R), Status.BAD_HANDLE);
  });
});

Deno.test("the FinalizationRegistry backstop unmaps a dropped Mapping once no view of it is left (child with --expose-gc)", async () => {
  const result = await runDeno(
    ["--v8-flags=--expose-gc", "--allow-ffi"],
    new URL("./fixtures/backstop_child.ts", import.meta.url),
  );
  const out = childJson<{
    addrs: number[];
    mappedBefore: boolean[];
    mappedWhileViewHeld: boolean[];
    mappedAfter: boolean[];
    numMappingsBefore: number;
    numMappingsWhileViewHeld: number;
    numMappingsAfter: number;
    keptViewLengthBefore: number;
    heldViewLength: number;
    heldViewFirstByte: number;
    rounds: number;
    rounds2: number;
  }>(result, "backstop child");
  assert.deepEqual(out.mappedBefore, out.addrs.map(() => true));
  assert.equal(out.numMappingsBefore, out.addrs.length);
  assert.equal(out.keptViewLengthBefore, P);
  // A view keeps its Mapping alive: that one stays mapped and readable, the others go.
  assert.deepEqual(
    out.mappedWhileViewHeld,
    out.addrs.map((_, i) => i === 0),
    `after ${out.rounds} gc rounds`,
  );
  assert.equal(out.numMappingsWhileViewHeld, 1);
  assert.equal(out.heldViewLength, P);
  assert.equal(out.heldViewFirstByte, 1);
  // Once the view is dropped too, its Mapping goes.
  assert.deepEqual(out.mappedAfter, out.addrs.map(() => false), `after ${out.rounds2} more`);
  assert.equal(out.numMappingsAfter, 0);
});
