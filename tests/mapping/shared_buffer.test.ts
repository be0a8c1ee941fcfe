/**
 * docs/semantics.md §4.3: every bound of `SharedBuffer` and its
 * slices with exact counts and statuses (Rust's panics are `OUT_OF_RANGE` here), typed
 * little-endian accesses, `Atomics` views, zero-copy `bytes()`, `fromRange`, and the memory
 * statuses: `ACCESS_DENIED` (nothing touched), `BAD_STATE` after unmap, `OUT_OF_RANGE` past the
 * end of the VMO.
 */

import assert from "node:assert/strict";
import {
  Mapping,
  SharedBuffer,
  SharedBufferSlice,
  SharedBufferSliceMut,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOptions,
} from "../../mod.ts";
import {
  arr,
  assertStatus,
  closedDuplicate,
  filled,
  P,
  pattern,
  statusOf,
} from "../_support/mod.ts";
import { ONES, R, RW } from "./helpers.ts";

const OOR = Status.OUT_OF_RANGE;
const BAD_ARGS = Status.INVALID_ARGS;
const SPECIFIC = VmarFlags.SPECIFIC;
const CAN_RWS = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;

/** A Mapping of `len` bytes filled with a known pattern, and its VMO; `using` closes both. */
function filledMapping(len: number, seed = 1) {
  const [mapping, vmo] = Mapping.allocate(len);
  const data = pattern(len, seed);
  vmo.write(data, 0);
  return {
    mapping,
    vmo,
    data,
    [Symbol.dispose]() {
      mapping.close();
      vmo.close();
    },
  };
}

/** A sub-VMAR of `pages` pages (read, write, specific); `using` destroys it. */
function region(pages: number) {
  const [vmar, base] = Vmar.root().allocate(0, pages * P, CAN_RWS);
  return {
    vmar,
    base,
    [Symbol.dispose]() {
      if (statusOf(() => vmar.info()) === 0) vmar.destroy();
      vmar.close();
    },
  };
}

Deno.test("§4.3 readAt: off < len copies min(dst.length, len - off); off == len → 0; off > len → OUT_OF_RANGE", async (t) => {
  using f = filledMapping(100);
  const m = f.mapping;
  await t.step("dst shorter than the rest: dst.length bytes", () => {
    const dst = filled(10, 0xee);
    assert.equal(m.readAt(0, dst), 10);
    assert.deepEqual(arr(dst), arr(f.data.subarray(0, 10)));
    assert.equal(m.readAt(37, dst), 10);
    assert.deepEqual(arr(dst), arr(f.data.subarray(37, 47)));
  });
  await t.step("dst exactly the rest", () => {
    const dst = new Uint8Array(10);
    assert.equal(m.readAt(90, dst), 10);
    assert.deepEqual(arr(dst), arr(f.data.subarray(90)));
  });
  await t.step("dst longer than the rest: short count, dst's tail untouched", () => {
    const dst = filled(20, 0xee);
    assert.equal(m.readAt(95, dst), 5);
    assert.deepEqual(arr(dst.subarray(0, 5)), arr(f.data.subarray(95)));
    assert.deepEqual(arr(dst.subarray(5)), arr(filled(15, 0xee)));
    const big = filled(1000, 0xee);
    assert.equal(m.readAt(0, big), 100);
    assert.deepEqual(arr(big.subarray(0, 100)), arr(f.data));
    assert.equal(big[100], 0xee);
    assert.equal(m.readAt(99, big), 1);
    assert.equal(big[0], f.data[99]);
  });
  await t.step("off == len returns 0 (any dst, even empty) and copies nothing", () => {
    const dst = filled(8, 0xee);
    assert.equal(m.readAt(100, dst), 0);
    assert.deepEqual(arr(dst), arr(filled(8, 0xee)));
    assert.equal(m.readAt(100, new Uint8Array(0)), 0);
  });
  await t.step("off > len → OUT_OF_RANGE (also with an empty dst), dst untouched", () => {
    const dst = filled(8, 0xee);
    assertStatus(() => m.readAt(101, dst), OOR);
    assertStatus(() => m.readAt(101, new Uint8Array(0)), OOR);
    assertStatus(() => m.readAt(P, dst), OOR);
    assertStatus(() => m.readAt(2 ** 40, dst), OOR);
    assertStatus(() => m.readAt(Number.MAX_SAFE_INTEGER, dst), OOR);
    assert.deepEqual(arr(dst), arr(filled(8, 0xee)));
  });
  await t.step("empty dst at off < len → 0", () => {
    assert.equal(m.readAt(50, new Uint8Array(0)), 0);
  });
  await t.step("a dst that is a subarray of a larger buffer gets exactly its bytes", () => {
    const backing = filled(32, 0xee);
    assert.equal(m.readAt(0, backing.subarray(8, 12)), 4);
    assert.deepEqual(arr(backing.subarray(0, 8)), arr(filled(8, 0xee)));
    assert.deepEqual(arr(backing.subarray(8, 12)), arr(f.data.subarray(0, 4)));
    assert.deepEqual(arr(backing.subarray(12)), arr(filled(20, 0xee)));
  });
  await t.step("bad offsets and dst → INVALID_ARGS", () => {
    const dst = new Uint8Array(4);
    for (const off of [-1, 0.5, NaN, Infinity, -Infinity, "0", null, undefined, 0n, {}]) {
      assertStatus(() => m.readAt(off as number, dst), BAD_ARGS, `offset ${String(off)}`);
    }
    for (const d of [null, undefined, [1, 2], new Int8Array(4), new Uint8ClampedArray(4), {}]) {
      assertStatus(() => m.readAt(0, d as Uint8Array), BAD_ARGS, `dst ${String(d)}`);
    }
  });
  await t.step("read(dst) is readAt(0, dst)", () => {
    const small = new Uint8Array(7);
    assert.equal(m.read(small), 7);
    assert.deepEqual(arr(small), arr(f.data.subarray(0, 7)));
    const large = filled(150, 0xee);
    assert.equal(m.read(large), 100);
    assert.equal(large[100], 0xee);
    assert.equal(m.read(new Uint8Array(0)), 0);
  });
});

Deno.test("§4.3 writeAt: the same count rule; off == len → 0; off > len → OUT_OF_RANGE, nothing written", async (t) => {
  using f = filledMapping(100);
  const m = f.mapping;
  const vmoBytes = () => f.vmo.readToArray(0, P);
  await t.step("src shorter than the rest: src.length bytes", () => {
    assert.equal(m.writeAt(10, filled(5, 0xa1)), 5);
    assert.deepEqual(arr(f.vmo.readToArray(9, 7)), [
      f.data[9],
      0xa1,
      0xa1,
      0xa1,
      0xa1,
      0xa1,
      f.data[15],
    ]);
  });
  await t.step("src longer than the rest: len - off bytes, nothing past len", () => {
    assert.equal(m.writeAt(97, filled(10, 0xb2)), 3);
    assert.deepEqual(arr(f.vmo.readToArray(96, 8)), [f.data[96], 0xb2, 0xb2, 0xb2, 0, 0, 0, 0]);
    assert.equal(m.writeAt(0, filled(1000, 0xc3)), 100);
    const after = vmoBytes();
    assert.deepEqual(arr(after.subarray(0, 100)), arr(filled(100, 0xc3)));
    assert.deepEqual(arr(after.subarray(100)), arr(new Uint8Array(P - 100)));
  });
  await t.step("src exactly the rest", () => {
    assert.equal(m.writeAt(99, new Uint8Array([7])), 1);
    assert.equal(f.vmo.readToArray(99, 1)[0], 7);
  });
  await t.step("off == len → 0, nothing written", () => {
    const before = vmoBytes();
    assert.equal(m.writeAt(100, filled(8, 0xd4)), 0);
    assert.equal(m.writeAt(100, new Uint8Array(0)), 0);
    assert.deepEqual(arr(vmoBytes()), arr(before));
  });
  await t.step("off > len → OUT_OF_RANGE, nothing written", () => {
    const before = vmoBytes();
    assertStatus(() => m.writeAt(101, filled(8, 0xd4)), OOR);
    assertStatus(() => m.writeAt(101, new Uint8Array(0)), OOR);
    assertStatus(() => m.writeAt(P, filled(1, 1)), OOR);
    assertStatus(() => m.writeAt(Number.MAX_SAFE_INTEGER, filled(1, 1)), OOR);
    assert.deepEqual(arr(vmoBytes()), arr(before));
  });
  await t.step("bad offsets and src → INVALID_ARGS, nothing written", () => {
    const before = vmoBytes();
    for (const off of [-1, 1.5, NaN, Infinity, "1", null, 1n]) {
      assertStatus(() => m.writeAt(off as number, filled(4, 9)), BAD_ARGS, `offset ${String(off)}`);
    }
    for (const s of [null, "abcd", [1, 2], new Uint16Array(2), new DataView(new ArrayBuffer(4))]) {
      assertStatus(() => m.writeAt(0, s as unknown as Uint8Array), BAD_ARGS, `src ${String(s)}`);
    }
    assert.deepEqual(arr(vmoBytes()), arr(before));
  });
  await t.step("write(src) is writeAt(0, src)", () => {
    assert.equal(m.write(new Uint8Array([1, 2, 3])), 3);
    assert.deepEqual(arr(f.vmo.readToArray(0, 3)), [1, 2, 3]);
    assert.equal(m.write(filled(200, 4)), 100);
    assert.equal(m.write(new Uint8Array(0)), 0);
  });
  await t.step("a src that is a subarray writes exactly its bytes", () => {
    const src = pattern(64, 9);
    assert.equal(m.writeAt(3, src.subarray(10, 14)), 4);
    assert.deepEqual(arr(f.vmo.readToArray(3, 4)), arr(src.subarray(10, 14)));
  });
  await t.step("acquireWrites/releaseWrites are fences that return nothing", () => {
    assert.equal(m.acquireWrites(), undefined);
    assert.equal(m.releaseWrites(), undefined);
  });
});

Deno.test("§4.3 slice: defaults, end > len and start > end → OUT_OF_RANGE, start == end == len is empty", async (t) => {
  using f = filledMapping(64);
  const m = f.mapping;
  const content = (s: SharedBufferSlice) => {
    const out = new Uint8Array(s.len());
    assert.equal(s.read(out), s.len());
    return arr(out);
  };
  await t.step(
    "defaults: slice() is [0, len), slice(start) is [start, len), slice(undefined, end) is [0, end)",
    () => {
      assert.equal(m.slice().len(), 64);
      assert.deepEqual(content(m.slice()), arr(f.data));
      assert.equal(m.slice(10).len(), 54);
      assert.deepEqual(content(m.slice(10)), arr(f.data.subarray(10)));
      assert.equal(m.slice(undefined, 7).len(), 7);
      assert.deepEqual(content(m.slice(undefined, 7)), arr(f.data.subarray(0, 7)));
      assert.equal(m.slice(3, 9).len(), 6);
      assert.deepEqual(content(m.slice(3, 9)), arr(f.data.subarray(3, 9)));
    },
  );
  await t.step("end == len is fine; end > len → OUT_OF_RANGE", () => {
    assert.equal(m.slice(0, 64).len(), 64);
    assertStatus(() => m.slice(0, 65), OOR);
    assertStatus(() => m.slice(undefined, 65), OOR);
    assertStatus(() => m.slice(64, 65), OOR);
    assertStatus(() => m.slice(65, 65), OOR);
    assertStatus(() => m.slice(0, 2 ** 50), OOR);
  });
  await t.step("start > end → OUT_OF_RANGE (also start > len with the default end)", () => {
    assertStatus(() => m.slice(5, 4), OOR);
    assertStatus(() => m.slice(64, 0), OOR);
    assertStatus(() => m.slice(65), OOR);
    assertStatus(() => m.slice(2 ** 50), OOR);
  });
  await t.step("start == end is an empty slice; start == end == len too", () => {
    const mid = m.slice(5, 5);
    assert.equal(mid.len(), 0);
    const end = m.slice(64, 64);
    assert.equal(end.len(), 0);
    assert.equal(m.slice(64).len(), 0);
    assert.equal(end.readAt(0, new Uint8Array(4)), 0);
    assertStatus(() => end.readAt(1, new Uint8Array(4)), OOR);
    assertStatus(() => end.readU8(0), OOR);
    assert.equal(end.slice().len(), 0);
    const [a, b] = end.splitAt(0);
    assert.deepEqual([a.len(), b.len()], [0, 0]);
  });
  await t.step("bad bounds → INVALID_ARGS", () => {
    for (const v of [-1, 0.5, NaN, Infinity, "1", null, 1n]) {
      assertStatus(() => m.slice(v as number), BAD_ARGS, `start ${String(v)}`);
      assertStatus(() => m.slice(0, v as number), BAD_ARGS, `end ${String(v)}`);
      assertStatus(() => m.sliceMut(v as number), BAD_ARGS, `start ${String(v)}`);
    }
  });
  await t.step("a slice reads its own range: readAt bounds are relative to the slice", () => {
    const s = m.slice(10, 20);
    const dst = filled(16, 0xee);
    assert.equal(s.readAt(0, dst), 10);
    assert.deepEqual(arr(dst.subarray(0, 10)), arr(f.data.subarray(10, 20)));
    assert.equal(dst[10], 0xee);
    assert.equal(s.readAt(8, dst), 2);
    assert.deepEqual(arr(dst.subarray(0, 2)), arr(f.data.subarray(18, 20)));
    assert.equal(s.readAt(10, dst), 0);
    assertStatus(() => s.readAt(11, dst), OOR);
  });
  await t.step("slice() is read-only: a SharedBufferSlice without write methods", () => {
    const s = m.slice(1, 3);
    assert.ok(s instanceof SharedBufferSlice);
    assert.ok(!(s instanceof SharedBufferSliceMut));
    for (
      const name of [
        "write",
        "writeAt",
        "releaseWrites",
        "sliceMut",
        "splitAtMut",
        "bytes",
        "asPtrLen",
        "writeU8",
        "int32View",
      ]
    ) {
      assert.equal((s as unknown as Record<string, unknown>)[name], undefined, name);
    }
    assert.equal(typeof s.acquireWrites, "function");
  });
});

Deno.test("§4.3 splitAt: 0 and len allowed, len + 1 → OUT_OF_RANGE", async (t) => {
  using f = filledMapping(32);
  const m = f.mapping;
  await t.step("splitAt(idx) = [0, idx), [idx, len)", () => {
    const [a, b] = m.splitAt(12);
    assert.deepEqual([a.len(), b.len()], [12, 20]);
    assert.equal(a.readU8(11), f.data[11]);
    assert.equal(b.readU8(0), f.data[12]);
    assert.ok(a instanceof SharedBufferSlice && !(a instanceof SharedBufferSliceMut));
  });
  await t.step("splitAt(0) and splitAt(len)", () => {
    const [a, b] = m.splitAt(0);
    assert.deepEqual([a.len(), b.len()], [0, 32]);
    assert.equal(b.readU8(0), f.data[0]);
    const [c, d] = m.splitAt(32);
    assert.deepEqual([c.len(), d.len()], [32, 0]);
    assert.equal(d.readAt(0, new Uint8Array(1)), 0);
  });
  await t.step("splitAt(len + 1) and beyond → OUT_OF_RANGE", () => {
    assertStatus(() => m.splitAt(33), OOR);
    assertStatus(() => m.splitAtMut(33), OOR);
    assertStatus(() => m.splitAt(2 ** 52), OOR);
    assertStatus(() => m.slice(4, 8).splitAt(5), OOR);
    assert.equal(m.slice(4, 8).splitAt(4)[0].len(), 4);
  });
  await t.step("bad index → INVALID_ARGS", () => {
    for (const v of [-1, 0.5, NaN, "1", undefined, null]) {
      assertStatus(() => m.splitAt(v as number), BAD_ARGS, String(v));
      assertStatus(() => m.splitAtMut(v as number), BAD_ARGS, String(v));
    }
  });
});

Deno.test("§4.3 sliceMut / splitAtMut: writable slices at the right offsets", async (t) => {
  using f = filledMapping(64);
  const m = f.mapping;
  await t.step("sliceMut writes land at start + offset, bounded by the slice", () => {
    const s = m.sliceMut(10, 20);
    assert.ok(s instanceof SharedBufferSliceMut);
    assert.ok(!(s instanceof SharedBuffer));
    assert.equal((s as unknown as Record<string, unknown>).asPtrLen, undefined);
    assert.equal(s.writeAt(8, filled(5, 0xaa)), 2);
    assert.deepEqual(arr(f.vmo.readToArray(17, 4)), [f.data[17], 0xaa, 0xaa, f.data[20]]);
    assert.equal(s.writeAt(10, filled(1, 1)), 0);
    assertStatus(() => s.writeAt(11, filled(1, 1)), OOR);
    assert.equal(s.write(filled(3, 0xbb)), 3);
    assert.deepEqual(arr(f.vmo.readToArray(9, 5)), [f.data[9], 0xbb, 0xbb, 0xbb, f.data[13]]);
  });
  await t.step("sliceMut bounds follow slice's", () => {
    assert.equal(m.sliceMut().len(), 64);
    assert.equal(m.sliceMut(60).len(), 4);
    assert.equal(m.sliceMut(64, 64).len(), 0);
    assertStatus(() => m.sliceMut(0, 65), OOR);
    assertStatus(() => m.sliceMut(3, 2), OOR);
    assertStatus(() => m.sliceMut(65), OOR);
  });
  await t.step("splitAtMut halves write to their own ranges", () => {
    const [a, b] = m.splitAtMut(30);
    assert.deepEqual([a.len(), b.len()], [30, 34]);
    assert.ok(a instanceof SharedBufferSliceMut && b instanceof SharedBufferSliceMut);
    assert.equal(a.writeAt(29, filled(4, 0xcc)), 1);
    assert.equal(b.writeAt(0, filled(1, 0xdd)), 1);
    assert.deepEqual(arr(f.vmo.readToArray(29, 2)), [0xcc, 0xdd]);
    const [c, d] = m.splitAtMut(0);
    assert.deepEqual([c.len(), d.len()], [0, 64]);
    const [e, g] = m.splitAtMut(64);
    assert.deepEqual([e.len(), g.len()], [64, 0]);
    assert.equal(g.write(filled(1, 1)), 0);
  });
  await t.step("slice/splitAt of a mutable slice are read-only", () => {
    const s = m.sliceMut(4, 40);
    assert.ok(!(s.slice(1, 2) instanceof SharedBufferSliceMut));
    const [a, b] = s.splitAt(3);
    assert.ok(!(a instanceof SharedBufferSliceMut) && !(b instanceof SharedBufferSliceMut));
    assert.ok(s.sliceMut(1, 2) instanceof SharedBufferSliceMut);
  });
});

Deno.test("§4.3 slices of slices compose their offsets", async (t) => {
  using f = filledMapping(256);
  const m = f.mapping;
  await t.step("slice(10, 200).slice(5, 100).slice(20) starts at byte 35", () => {
    const s = m.slice(10, 200).slice(5, 100).slice(20);
    assert.equal(s.len(), 75);
    const dst = new Uint8Array(75);
    assert.equal(s.read(dst), 75);
    assert.deepEqual(arr(dst), arr(f.data.subarray(35, 110)));
    assertStatus(() => m.slice(10, 200).slice(5, 100).slice(0, 96), OOR);
  });
  await t.step("sliceMut(16).sliceMut(8, 40).splitAtMut(4)[1] writes at byte 28", () => {
    const [, tail] = m.sliceMut(16).sliceMut(8, 40).splitAtMut(4);
    assert.equal(tail.len(), 28);
    tail.writeU32(0, 0x11223344);
    assert.deepEqual(arr(f.vmo.readToArray(28, 4)), [0x44, 0x33, 0x22, 0x11]);
    assert.equal(m.readU32(28), 0x11223344);
    assert.equal(tail.bytes()[0], 0x44);
    assert.equal(tail.bytes().length, 28);
  });
  await t.step("splitAt of a split composes", () => {
    const [, right] = m.splitAt(100);
    const [mid, end] = right.splitAt(50);
    assert.deepEqual([mid.len(), end.len()], [50, 106]);
    assert.equal(end.readU8(0), f.data[150]);
    assert.equal(mid.readU8(49), f.data[149]);
  });
});

type TypedCase = {
  name: string;
  size: number;
  values: (number | bigint)[];
  get: (d: DataView, i: number) => number | bigint;
  read: (s: SharedBufferSlice, off: number) => number | bigint;
  write: (s: SharedBufferSliceMut, off: number, v: never) => void;
};

const TYPED: TypedCase[] = [
  {
    name: "u8",
    size: 1,
    values: [0, 1, 0x7f, 0x80, 0xff],
    get: (d, i) => d.getUint8(i),
    read: (s, o) => s.readU8(o),
    write: (s, o, v) => s.writeU8(o, v),
  },
  {
    name: "u16",
    size: 2,
    values: [0, 0x1234, 0x8001, 0xffff],
    get: (d, i) => d.getUint16(i, true),
    read: (s, o) => s.readU16(o),
    write: (s, o, v) => s.writeU16(o, v),
  },
  {
    name: "u32",
    size: 4,
    values: [0, 0x12345678, 0x80000001, 0xffffffff],
    get: (d, i) => d.getUint32(i, true),
    read: (s, o) => s.readU32(o),
    write: (s, o, v) => s.writeU32(o, v),
  },
  {
    name: "i32",
    size: 4,
    values: [0, -1, -0x80000000, 0x7fffffff, 12345],
    get: (d, i) => d.getInt32(i, true),
    read: (s, o) => s.readI32(o),
    write: (s, o, v) => s.writeI32(o, v),
  },
  {
    name: "u64",
    size: 8,
    values: [0n, 1n, 0x0123456789abcdefn, 0x8000000000000000n, ONES],
    get: (d, i) => d.getBigUint64(i, true),
    read: (s, o) => s.readU64(o),
    write: (s, o, v) => s.writeU64(o, v),
  },
  {
    name: "f32",
    size: 4,
    values: [0, 1.5, -0.25, Math.fround(Math.PI), Infinity, -Infinity],
    get: (d, i) => d.getFloat32(i, true),
    read: (s, o) => s.readF32(o),
    write: (s, o, v) => s.writeF32(o, v),
  },
  {
    name: "f64",
    size: 8,
    values: [0, Math.PI, -1e300, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, -Infinity],
    get: (d, i) => d.getFloat64(i, true),
    read: (s, o) => s.readF64(o),
    write: (s, o, v) => s.writeF64(o, v),
  },
];

Deno.test("typed reads and writes: little-endian at every alignment, checked against the VMO", async (t) => {
  using f = filledMapping(64);
  const m = f.mapping;
  for (const c of TYPED) {
    await t.step(`${c.name} at offsets 0..15 of the mapping and of a slice at +3`, () => {
      for (const target of [{ buf: m, base: 0 }, { buf: m.sliceMut(3), base: 3 }]) {
        for (let off = 0; off < 16; off++) {
          for (const v of c.values) {
            const at = target.base + off;
            const before = f.vmo.readToArray(0, 64);
            c.write(target.buf, off, v as never);
            const after = f.vmo.readToArray(0, 64);
            const d = new DataView(after.buffer);
            assert.ok(
              Object.is(c.get(d, at), v),
              `${c.name} ${v} at ${at}: VMO has ${c.get(d, at)}`,
            );
            assert.ok(Object.is(c.read(target.buf, off), v), `${c.name} read back at ${at}`);
            // Nothing outside the value's bytes changed.
            assert.deepEqual(arr(after.subarray(0, at)), arr(before.subarray(0, at)));
            assert.deepEqual(arr(after.subarray(at + c.size)), arr(before.subarray(at + c.size)));
          }
          // And a value written through the VMO is read little-endian.
          const bytes = pattern(c.size, off + 7);
          f.vmo.write(bytes, target.base + off);
          const expect = c.get(new DataView(bytes.buffer), 0);
          assert.ok(Object.is(c.read(target.buf, off), expect), `${c.name} LE read at ${off}`);
        }
      }
    });
  }
  await t.step("f32 rounds to single precision, NaN stays NaN", () => {
    m.writeF32(0, 0.1);
    assert.equal(m.readF32(0), Math.fround(0.1));
    m.writeF32(1, NaN);
    assert.ok(Number.isNaN(m.readF32(1)));
    m.writeF64(8, NaN);
    assert.ok(Number.isNaN(m.readF64(8)));
    m.writeF64(16, -0);
    assert.ok(Object.is(m.readF64(16), -0));
  });
  await t.step("byte order, spelled out", () => {
    m.writeU16(0, 0x0102);
    m.writeU32(2, 0x03040506);
    m.writeU64(6, 0x0708090a0b0c0d0en);
    assert.deepEqual(arr(f.vmo.readToArray(0, 14)), [
      2,
      1,
      6,
      5,
      4,
      3,
      14,
      13,
      12,
      11,
      10,
      9,
      8,
      7,
    ]);
    m.writeI32(20, -2);
    assert.deepEqual(arr(f.vmo.readToArray(20, 4)), [0xfe, 0xff, 0xff, 0xff]);
  });
});

Deno.test("typed accesses: bounds (OUT_OF_RANGE, nothing written) at len - size + 1", async (t) => {
  using f = filledMapping(64);
  for (
    const target of [{ name: "mapping", buf: f.mapping, len: 64 }, {
      name: "slice [5, 29)",
      buf: f.mapping.sliceMut(5, 29),
      len: 24,
    }]
  ) {
    for (const c of TYPED) {
      await t.step(`${target.name}: ${c.name}`, () => {
        const { buf, len } = target;
        const last = len - c.size;
        const v = c.values[1];
        c.write(buf, last, v as never);
        assert.ok(Object.is(c.read(buf, last), v));
        const before = f.vmo.readToArray(0, P);
        for (
          const off of [last + 1, len - 1, len, len + 1, P, 2 ** 53 - 8, Number.MAX_SAFE_INTEGER]
        ) {
          if (off < last + 1) continue;
          assertStatus(() => c.read(buf, off), OOR, `read ${c.name} at ${off}`);
          assertStatus(() => c.write(buf, off, v as never), OOR, `write ${c.name} at ${off}`);
        }
        for (const off of [-1, 0.5, NaN, "0", null]) {
          assertStatus(() => c.read(buf, off as number), BAD_ARGS, `read at ${String(off)}`);
          assertStatus(() => c.write(buf, off as number, v as never), BAD_ARGS);
        }
        assert.deepEqual(arr(f.vmo.readToArray(0, P)), arr(before));
      });
    }
  }
  await t.step("read-only slices have the typed reads with the same bounds", () => {
    const s = f.mapping.slice(60);
    assert.equal(s.readU32(0), f.mapping.readU32(60));
    assertStatus(() => s.readU16(3), OOR);
    assertStatus(() => s.readU64(0), OOR);
    assert.equal(s.readU8(3), f.mapping.readU8(63));
    assertStatus(() => s.readU8(4), OOR);
  });
});

Deno.test("typed writes: out-of-range values → INVALID_ARGS, nothing written", () => {
  using f = filledMapping(16);
  const m = f.mapping;
  const before = f.vmo.readToArray(0, 16);
  const bad: [string, () => void][] = [
    ["u8 256", () => m.writeU8(0, 256)],
    ["u8 -1", () => m.writeU8(0, -1)],
    ["u8 1.5", () => m.writeU8(0, 1.5)],
    ["u8 NaN", () => m.writeU8(0, NaN)],
    ["u8 '1'", () => m.writeU8(0, "1" as unknown as number)],
    ["u8 1n", () => m.writeU8(0, 1n as unknown as number)],
    ["u16 65536", () => m.writeU16(0, 65536)],
    ["u16 -1", () => m.writeU16(0, -1)],
    ["u32 -1", () => m.writeU32(0, -1)],
    ["u32 2^32", () => m.writeU32(0, 2 ** 32)],
    ["u32 Infinity", () => m.writeU32(0, Infinity)],
    ["i32 2^31", () => m.writeI32(0, 2 ** 31)],
    ["i32 -2^31-1", () => m.writeI32(0, -(2 ** 31) - 1)],
    ["i32 0.5", () => m.writeI32(0, 0.5)],
    ["u64 a number", () => m.writeU64(0, 1 as unknown as bigint)],
    ["u64 -1n", () => m.writeU64(0, -1n)],
    ["u64 2^64", () => m.writeU64(0, 2n ** 64n)],
    ["u64 '1'", () => m.writeU64(0, "1" as unknown as bigint)],
    ["f32 '1'", () => m.writeF32(0, "1" as unknown as number)],
    ["f32 1n", () => m.writeF32(0, 1n as unknown as number)],
    ["f64 undefined", () => m.writeF64(0, undefined as unknown as number)],
    ["f64 {valueOf}", () => m.writeF64(0, { valueOf: () => 1 } as unknown as number)],
  ];
  for (const [what, fn] of bad) assertStatus(fn, BAD_ARGS, what);
  assert.deepEqual(arr(f.vmo.readToArray(0, 16)), arr(before));
  // The limits themselves are fine.
  m.writeU8(0, 255);
  m.writeU16(1, 65535);
  m.writeU32(3, 2 ** 32 - 1);
  m.writeI32(7, -(2 ** 31));
  assert.equal(m.readI32(7), -(2 ** 31));
  m.writeU64(8, 2n ** 64n - 1n);
  assert.equal(m.readU64(8), 2n ** 64n - 1n);
});

Deno.test("int32View / bigInt64View: alignment (INVALID_ARGS), bounds (OUT_OF_RANGE), Atomics", async (t) => {
  using f = filledMapping(64);
  const m = f.mapping;
  await t.step("lengths: default is as many elements as fit", () => {
    assert.equal(m.int32View().length, 16);
    assert.equal(m.int32View(4).length, 15);
    assert.equal(m.int32View(4, 2).length, 2);
    assert.equal(m.int32View(64).length, 0);
    assert.equal(m.int32View(0, 0).length, 0);
    assert.equal(m.bigInt64View().length, 8);
    assert.equal(m.bigInt64View(8, 7).length, 7);
    assert.equal(m.bigInt64View(56).length, 1);
    using g = filledMapping(10);
    assert.equal(g.mapping.int32View().length, 2);
    assert.equal(g.mapping.bigInt64View().length, 1);
  });
  await t.step("the views show the buffer's bytes, little-endian", () => {
    const i32 = m.int32View(8, 2);
    assert.equal(i32[0], m.readI32(8));
    assert.equal(i32[1], m.readI32(12));
    const i64 = m.bigInt64View(16, 1);
    assert.equal(BigInt.asUintN(64, i64[0]), m.readU64(16));
  });
  await t.step("misaligned address → INVALID_ARGS", () => {
    for (const off of [1, 2, 3, 5, 6, 7, 61]) {
      assertStatus(() => m.int32View(off, 0), BAD_ARGS, `int32View(${off})`);
    }
    for (const off of [1, 2, 4, 7, 12, 20]) {
      assertStatus(() => m.bigInt64View(off, 1), BAD_ARGS, `bigInt64View(${off})`);
    }
    // Alignment is of the address, not of the offset in the slice.
    const s4 = m.sliceMut(4);
    assert.equal(s4.int32View(0, 1).length, 1);
    assertStatus(() => s4.bigInt64View(0, 1), BAD_ARGS);
    assert.equal(s4.bigInt64View(4, 1).length, 1);
    assertStatus(() => m.sliceMut(2).int32View(), BAD_ARGS);
    assert.equal(m.sliceMut(2).int32View(2, 1).length, 1);
  });
  await t.step("bounds → OUT_OF_RANGE", () => {
    assertStatus(() => m.int32View(0, 17), OOR);
    assertStatus(() => m.int32View(60, 2), OOR);
    assertStatus(() => m.int32View(68), OOR);
    assertStatus(() => m.int32View(68, 0), OOR);
    assertStatus(() => m.bigInt64View(0, 9), OOR);
    assertStatus(() => m.bigInt64View(56, 2), OOR);
    assertStatus(() => m.bigInt64View(72), OOR);
    assertStatus(() => m.sliceMut(8, 20).int32View(0, 4), OOR);
    assert.equal(m.sliceMut(8, 20).int32View().length, 3);
    assertStatus(() => m.int32View(0, 2 ** 52), OOR);
  });
  await t.step("bad arguments → INVALID_ARGS", () => {
    for (const v of [-4, 0.5, NaN, "0", null]) {
      assertStatus(() => m.int32View(v as number), BAD_ARGS, `byteOffset ${String(v)}`);
      assertStatus(() => m.int32View(0, v as number), BAD_ARGS, `length ${String(v)}`);
      assertStatus(() => m.bigInt64View(v as number), BAD_ARGS, `byteOffset ${String(v)}`);
    }
  });
  await t.step("Atomics on the views change the mapped memory", () => {
    const i32 = m.int32View(0, 4);
    Atomics.store(i32, 0, 0);
    assert.equal(Atomics.add(i32, 0, 5), 0);
    assert.equal(Atomics.sub(i32, 0, 2), 5);
    assert.equal(Atomics.compareExchange(i32, 0, 3, 9), 3);
    const old = m.readI32(4);
    assert.equal(Atomics.exchange(i32, 1, -7), old);
    assert.equal(m.readI32(0), 9);
    assert.equal(m.readI32(4), -7);
    assert.deepEqual(arr(f.vmo.readToArray(0, 4)), [9, 0, 0, 0]);
    Atomics.or(i32, 2, 0x0f0);
    Atomics.and(i32, 2, 0x0f0);
    Atomics.xor(i32, 2, 0x100);
    assert.equal(m.readI32(8), 0x1f0);
    const i64 = m.bigInt64View(16, 2);
    Atomics.store(i64, 0, -1n);
    assert.equal(m.readU64(16), ONES);
    Atomics.store(i64, 1, 5n);
    assert.equal(Atomics.compareExchange(i64, 1, 5n, 42n), 5n);
    assert.equal(m.readU64(24), 42n);
    Atomics.store(i64, 1, 0n);
    assert.equal(Atomics.add(i64, 1, 1n << 40n), 0n);
    assert.equal(m.readU64(24), 1n << 40n);
    f.vmo.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 16);
    assert.equal(Atomics.load(i64, 0), 0x0807060504030201n);
  });
});

Deno.test("bytes(): a zero-copy view both ways; slices' views start at the slice", async (t) => {
  using f = filledMapping(3 * P);
  const m = f.mapping;
  await t.step("writes through bytes() show in vmo.read; vmo.write shows in bytes()", () => {
    const b = m.bytes();
    assert.equal(b.length, 3 * P);
    assert.deepEqual(arr(b.subarray(0, 32)), arr(f.data.subarray(0, 32)));
    b[0] = 0x42;
    b[3 * P - 1] = 0x43;
    assert.equal(f.vmo.readToArray(0, 1)[0], 0x42);
    assert.equal(f.vmo.readToArray(3 * P - 1, 1)[0], 0x43);
    f.vmo.write(new Uint8Array([9, 8, 7]), P + 5);
    assert.deepEqual(arr(b.subarray(P + 5, P + 8)), [9, 8, 7]);
    b.set(pattern(100, 3), 2 * P);
    assert.deepEqual(arr(f.vmo.readToArray(2 * P, 100)), arr(pattern(100, 3)));
  });
  await t.step("two calls give views of the same memory", () => {
    const a = m.bytes();
    const b = m.bytes();
    a[7] = 0x77;
    assert.equal(b[7], 0x77);
  });
  await t.step("a slice's view starts at the slice and has its length", () => {
    const b = m.sliceMut(P - 2, P + 3).bytes();
    assert.equal(b.length, 5);
    b.set([1, 2, 3, 4, 5]);
    assert.deepEqual(arr(f.vmo.readToArray(P - 2, 5)), [1, 2, 3, 4, 5]);
    assert.equal(m.sliceMut(5, 5).bytes().length, 0);
    assert.equal(m.sliceMut(3 * P).bytes().length, 0);
  });
  await t.step("writes through bytes() show in readAt and typed reads", () => {
    const b = m.bytes();
    b.set([0xef, 0xbe, 0xad, 0xde], 100);
    assert.equal(m.readU32(100), 0xdeadbeef);
  });
});

Deno.test("asPtrLen: the buffer's address and length", () => {
  using f = filledMapping(64);
  const [ptr, len] = f.mapping.asPtrLen();
  assert.equal(len, 64);
  assert.equal(Number(Deno.UnsafePointer.value(ptr)), f.mapping.addr);
  assert.equal(new Deno.UnsafePointerView(ptr!).getUint8(5), f.data[5]);
  const root = Vmar.root();
  const sub = SharedBuffer.fromRange(root, f.mapping.addr + 3, 10);
  const [p2, l2] = sub.asPtrLen();
  assert.equal(Number(Deno.UnsafePointer.value(p2)), f.mapping.addr + 3);
  assert.equal(l2, 10);
});

Deno.test("SharedBuffer.fromRange", async (t) => {
  const root = Vmar.root();
  await t.step("over an unaligned range: len, offsets relative to addr", () => {
    using vmo = Vmo.create(P);
    const data = pattern(P, 5);
    vmo.write(data, 0);
    const addr = root.map(0, vmo, 0, P, RW);
    try {
      const b = SharedBuffer.fromRange(root, addr + 3, 10);
      assert.equal(b.len(), 10);
      const dst = new Uint8Array(16);
      assert.equal(b.readAt(0, dst), 10);
      assert.deepEqual(arr(dst.subarray(0, 10)), arr(data.subarray(3, 13)));
      assert.equal(b.writeAt(8, filled(4, 0xaa)), 2);
      assert.deepEqual(arr(vmo.readToArray(10, 4)), [data[10], 0xaa, 0xaa, data[13]]);
      assertStatus(() => b.readAt(11, dst), OOR);
      assert.equal(b.bytes().length, 10);
      assert.equal(b.bytes()[0], data[3]);
      assert.equal(SharedBuffer.fromRange(root, addr + P - 1, 1).readU8(0), data[P - 1]);
      assert.equal(SharedBuffer.fromRange(root, addr + 17, 0).len(), 0);
    } finally {
      root.unmap(addr, P);
    }
  });
  await t.step("across two adjacent mappings of different VMOs", () => {
    using r = region(4);
    using a = Vmo.create(P);
    using b = Vmo.create(P);
    r.vmar.map(0, a, 0, P, RW | SPECIFIC);
    r.vmar.map(P, b, 0, P, RW | SPECIFIC);
    for (const vmar of [r.vmar, root]) {
      const buf = SharedBuffer.fromRange(vmar, r.base + P - 4, 8);
      assert.equal(buf.writeAt(0, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), 8);
      assert.deepEqual(arr(a.readToArray(P - 4, 4)), [1, 2, 3, 4]);
      assert.deepEqual(arr(b.readToArray(0, 4)), [5, 6, 7, 8]);
      assert.equal(buf.readU64(0), 0x0807060504030201n);
      const v = buf.bytes();
      assert.equal(v.length, 8);
      v[7] = 0x99;
      assert.equal(b.readToArray(3, 1)[0], 0x99);
      buf.writeU32(2, 0);
      assert.deepEqual(arr(a.readToArray(P - 2, 2)), [0, 0]);
      assert.deepEqual(arr(b.readToArray(0, 2)), [0, 0]);
    }
  });
  await t.step("over a hole → NOT_FOUND", () => {
    using r = region(4);
    using a = Vmo.create(P);
    r.vmar.map(0, a, 0, P, RW | SPECIFIC);
    r.vmar.map(2 * P, a, 0, P, RW | SPECIFIC);
    assertStatus(() => SharedBuffer.fromRange(r.vmar, r.base, 2 * P), Status.NOT_FOUND);
    assertStatus(() => SharedBuffer.fromRange(r.vmar, r.base + P - 1, 2), Status.NOT_FOUND);
    assertStatus(() => SharedBuffer.fromRange(r.vmar, r.base + P, 1), Status.NOT_FOUND);
    assertStatus(() => SharedBuffer.fromRange(r.vmar, r.base, 3 * P), Status.NOT_FOUND);
    assertStatus(() => SharedBuffer.fromRange(r.vmar, r.base + 3 * P, P), Status.NOT_FOUND);
    assertStatus(() => SharedBuffer.fromRange(root, r.base + P, 8), Status.NOT_FOUND);
    // Mapped, but not in this VMAR's tree.
    const addr = root.map(0, a, 0, P, RW);
    try {
      assertStatus(() => SharedBuffer.fromRange(r.vmar, addr, 8), Status.NOT_FOUND);
    } finally {
      root.unmap(addr, P);
    }
    assert.equal(SharedBuffer.fromRange(r.vmar, r.base, P).len(), P);
  });
  await t.step("in a destroyed VMAR → BAD_STATE", () => {
    const r = region(2);
    using a = Vmo.create(P);
    r.vmar.map(0, a, 0, P, RW | SPECIFIC);
    r.vmar.destroy();
    assertStatus(() => SharedBuffer.fromRange(r.vmar, r.base, 8), Status.BAD_STATE);
    r.vmar.close();
  });
  await t.step("handles and arguments", () => {
    using vmo = Vmo.create(P);
    const dup = closedDuplicate(root);
    assertStatus(() => SharedBuffer.fromRange(dup, 0, 8), Status.BAD_HANDLE);
    assertStatus(() => SharedBuffer.fromRange(vmo as unknown as Vmar, 0, 8), Status.WRONG_TYPE);
    for (const v of [-1, 0.5, NaN, "1", null]) {
      assertStatus(
        () => SharedBuffer.fromRange(root, v as number, 8),
        BAD_ARGS,
        `addr ${String(v)}`,
      );
      assertStatus(
        () => SharedBuffer.fromRange(root, P, v as number),
        BAD_ARGS,
        `len ${String(v)}`,
      );
    }
    assertStatus(() => SharedBuffer.fromRange(root, Number.MAX_SAFE_INTEGER, 1), OOR);
    assertStatus(() => SharedBuffer.fromRange(root, 0, 8), Status.NOT_FOUND);
  });
});

Deno.test("ACCESS_DENIED for writes to read-only memory and reads of PROT_NONE memory, nothing touched", async (t) => {
  const root = Vmar.root();
  await t.step(
    "a read-only mapping: every write → ACCESS_DENIED, bytes unchanged; reads work",
    () => {
      using vmo = Vmo.create(P);
      const data = pattern(P, 11);
      vmo.write(data, 0);
      using m = Mapping.createFromVmo(vmo, P, R);
      const writes: [string, () => unknown][] = [
        ["write", () => m.write(filled(8, 0))],
        ["writeAt", () => m.writeAt(5, filled(8, 0))],
        ["writeAt at len-1", () => m.writeAt(P - 1, filled(8, 0))],
        ["writeU8", () => m.writeU8(0, 0)],
        ["writeU16", () => m.writeU16(1, 0)],
        ["writeU32", () => m.writeU32(2, 0)],
        ["writeI32", () => m.writeI32(3, 0)],
        ["writeU64", () => m.writeU64(4, 0n)],
        ["writeF32", () => m.writeF32(5, 0)],
        ["writeF64", () => m.writeF64(6, 0)],
        ["sliceMut().writeAt", () => m.sliceMut(100, 200).writeAt(0, filled(4, 0))],
        ["bytes", () => m.bytes()],
        ["sliceMut().bytes", () => m.sliceMut(1, 2).bytes()],
        ["int32View", () => m.int32View(0, 1)],
        ["bigInt64View", () => m.bigInt64View(0, 1)],
      ];
      for (const [what, fn] of writes) assertStatus(fn, Status.ACCESS_DENIED, what);
      assert.deepEqual(arr(vmo.readToArray(0, P)), arr(data));
      // Bounds come first: a write past the end is OUT_OF_RANGE, at the end a 0 count.
      assertStatus(() => m.writeAt(P + 1, filled(1, 0)), OOR);
      assert.equal(m.writeAt(P, filled(1, 0)), 0);
      const dst = new Uint8Array(16);
      assert.equal(m.readAt(8, dst), 16);
      assert.deepEqual(arr(dst), arr(data.subarray(8, 24)));
      assert.equal(m.readU32(0), new DataView(data.buffer).getUint32(0, true));
    },
  );
  await t.step("protect(0): every read → ACCESS_DENIED, dst untouched", () => {
    using vmo = Vmo.create(P);
    vmo.write(pattern(P, 12), 0);
    const addr = root.map(0, vmo, 0, P, RW);
    try {
      const b = SharedBuffer.fromRange(root, addr, P);
      root.protect(addr, P, 0);
      const dst = filled(16, 0xee);
      const reads: [string, () => unknown][] = [
        ["read", () => b.read(dst)],
        ["readAt", () => b.readAt(8, dst)],
        ["slice().readAt", () => b.slice(4).readAt(0, dst)],
        ["readU8", () => b.readU8(0)],
        ["readU16", () => b.readU16(0)],
        ["readU32", () => b.readU32(0)],
        ["readI32", () => b.readI32(0)],
        ["readU64", () => b.readU64(0)],
        ["readF32", () => b.readF32(0)],
        ["readF64", () => b.readF64(0)],
        ["writeAt", () => b.writeAt(0, filled(4, 1))],
        ["writeU8", () => b.writeU8(0, 1)],
        ["bytes", () => b.bytes()],
        ["int32View", () => b.int32View()],
      ];
      for (const [what, fn] of reads) assertStatus(fn, Status.ACCESS_DENIED, what);
      assert.deepEqual(arr(dst), arr(filled(16, 0xee)));
      assert.equal(b.readAt(P, dst), 0);
      root.protect(addr, P, RW);
      assert.deepEqual(arr(vmo.readToArray(0, P)), arr(pattern(P, 12)));
      assert.equal(b.readU8(3), pattern(P, 12)[3]);
    } finally {
      root.unmap(addr, P);
    }
  });
  await t.step("mixed pages: an access touching a page without the permission fails whole", () => {
    using vmo = Vmo.create(3 * P);
    const data = pattern(3 * P, 13);
    vmo.write(data, 0);
    const addr = root.map(0, vmo, 0, 3 * P, RW);
    try {
      const b = SharedBuffer.fromRange(root, addr, 3 * P);
      root.protect(addr + P, P, R);
      root.protect(addr + 2 * P, P, 0);
      // Writes crossing from the RW page into the R page: nothing written, not even page 0.
      assertStatus(() => b.writeAt(P - 4, filled(8, 0)), Status.ACCESS_DENIED);
      assertStatus(() => b.writeU64(P - 4, 0n), Status.ACCESS_DENIED);
      assertStatus(() => b.write(filled(2 * P, 0)), Status.ACCESS_DENIED);
      assertStatus(() => b.bytes(), Status.ACCESS_DENIED);
      assertStatus(() => b.sliceMut(P - 4, P + 4).bytes(), Status.ACCESS_DENIED);
      assert.deepEqual(arr(vmo.readToArray(0, 3 * P)), arr(data));
      // Reads crossing from the R page into the none page: dst untouched.
      const dst = filled(8, 0xee);
      assertStatus(() => b.readAt(2 * P - 4, dst), Status.ACCESS_DENIED);
      assertStatus(() => b.readU64(2 * P - 4), Status.ACCESS_DENIED);
      assert.deepEqual(arr(dst), arr(filled(8, 0xee)));
      // Accesses within permitted pages work.
      assert.equal(b.writeAt(P - 8, filled(8, 0x11)), 8);
      assert.equal(b.readAt(P - 4, dst), 8);
      assert.deepEqual(arr(dst), [0x11, 0x11, 0x11, 0x11, ...arr(data.subarray(P, P + 4))]);
      assert.equal(b.readU8(2 * P - 1), data[2 * P - 1]);
      assert.equal(b.sliceMut(10, 20).int32View(2, 2).length, 2);
      assertStatus(() => b.int32View(P - 4, 2), Status.ACCESS_DENIED);
    } finally {
      root.unmap(addr, 3 * P);
    }
  });
  await t.step("a mapping with no permissions at all", () => {
    using vmo = Vmo.create(P);
    const addr = root.map(0, vmo, 0, P, 0);
    try {
      const b = SharedBuffer.fromRange(root, addr, P);
      assertStatus(() => b.readAt(0, new Uint8Array(1)), Status.ACCESS_DENIED);
      assertStatus(() => b.writeAt(0, new Uint8Array(1)), Status.ACCESS_DENIED);
      assertStatus(() => b.bytes(), Status.ACCESS_DENIED);
    } finally {
      root.unmap(addr, P);
    }
  });
});

/** Every method of a SharedBuffer with valid arguments, by name. */
function everyCall(b: SharedBuffer): [string, () => unknown][] {
  return [
    ["len", () => b.len()],
    ["read", () => b.read(new Uint8Array(4))],
    ["readAt", () => b.readAt(0, new Uint8Array(4))],
    ["readAt(len)", () => b.readAt(16, new Uint8Array(4))],
    ["write", () => b.write(new Uint8Array(4))],
    ["writeAt", () => b.writeAt(0, new Uint8Array(4))],
    ["acquireWrites", () => b.acquireWrites()],
    ["releaseWrites", () => b.releaseWrites()],
    ["slice", () => b.slice(0, 4)],
    ["slice()", () => b.slice()],
    ["sliceMut", () => b.sliceMut(0, 4)],
    ["splitAt", () => b.splitAt(4)],
    ["splitAtMut", () => b.splitAtMut(4)],
    ["asPtrLen", () => b.asPtrLen()],
    ["bytes", () => b.bytes()],
    ["int32View", () => b.int32View(0, 1)],
    ["bigInt64View", () => b.bigInt64View(0, 1)],
    ["readU8", () => b.readU8(0)],
    ["readU16", () => b.readU16(0)],
    ["readU32", () => b.readU32(0)],
    ["readI32", () => b.readI32(0)],
    ["readU64", () => b.readU64(0)],
    ["readF32", () => b.readF32(0)],
    ["readF64", () => b.readF64(0)],
    ["writeU8", () => b.writeU8(0, 1)],
    ["writeU16", () => b.writeU16(0, 1)],
    ["writeU32", () => b.writeU32(0, 1)],
    ["writeI32", () => b.writeI32(0, 1)],
    ["writeU64", () => b.writeU64(0, 1n)],
    ["writeF32", () => b.writeF32(0, 1)],
    ["writeF64", () => b.writeF64(0, 1)],
  ];
}

/** The calls of a read-only slice. */
function sliceCalls(s: SharedBufferSlice): [string, () => unknown][] {
  return [
    ["slice.len", () => s.len()],
    ["slice.readAt", () => s.readAt(0, new Uint8Array(1))],
    ["slice.read", () => s.read(new Uint8Array(1))],
    ["slice.acquireWrites", () => s.acquireWrites()],
    ["slice.slice", () => s.slice()],
    ["slice.splitAt", () => s.splitAt(0)],
    ["slice.readU32", () => s.readU32(0)],
  ];
}

Deno.test("BAD_STATE after unmap, for every method, on buffers and their slices", async (t) => {
  const root = Vmar.root();
  const cases: [string, () => { b: SharedBuffer; gone: () => void; cleanup: () => void }][] = [
    ["Vmar.unmap of the whole mapping", () => {
      const vmo = Vmo.create(P);
      const addr = root.map(0, vmo, 0, P, RW);
      return {
        b: SharedBuffer.fromRange(root, addr, 16),
        gone: () => root.unmap(addr, P),
        cleanup: () => vmo.close(),
      };
    }],
    ["Vmar.unmap of the buffer's second page only", () => {
      const vmo = Vmo.create(2 * P);
      const addr = root.map(0, vmo, 0, 2 * P, RW);
      return {
        b: SharedBuffer.fromRange(root, addr + P - 8, 16),
        gone: () => root.unmap(addr + P, P),
        cleanup: () => {
          root.unmap(addr, P);
          vmo.close();
        },
      };
    }],
    ["Vmar.destroy of the region", () => {
      const [vmar, base] = root.allocate(0, 2 * P, CAN_RWS);
      const vmo = Vmo.create(P);
      vmar.map(0, vmo, 0, P, RW | SPECIFIC);
      return {
        b: SharedBuffer.fromRange(vmar, base, 16),
        gone: () => vmar.destroy(),
        cleanup: () => {
          vmar.close();
          vmo.close();
        },
      };
    }],
    ["Mapping.close", () => {
      const [m, vmo] = Mapping.allocate(16);
      return { b: m, gone: () => m.close(), cleanup: () => vmo.close() };
    }],
    ["SPECIFIC_OVERWRITE by another VMO", () => {
      const [vmar, base] = root.allocate(0, 2 * P, CAN_RWS);
      const a = Vmo.create(P);
      const b2 = Vmo.create(P);
      vmar.map(0, a, 0, P, RW | SPECIFIC);
      return {
        b: SharedBuffer.fromRange(vmar, base, 16),
        gone: () => vmar.map(0, b2, 0, P, RW | VmarFlags.SPECIFIC_OVERWRITE),
        cleanup: () => {
          vmar.destroy();
          vmar.close();
          a.close();
          b2.close();
        },
      };
    }],
  ];
  for (const [name, make] of cases) {
    await t.step(name, () => {
      const { b, gone, cleanup } = make();
      try {
        // Before: everything works.
        for (const [what, fn] of everyCall(b)) assert.equal(statusOf(fn), 0, `${what} before`);
        const slice = b.slice(0, 8);
        const mut = b.sliceMut(4, 12);
        const view = b.bytes();
        gone();
        assert.equal(view.length, 0);
        for (const [what, fn] of everyCall(b)) assertStatus(fn, Status.BAD_STATE, what);
        for (const [what, fn] of sliceCalls(slice)) assertStatus(fn, Status.BAD_STATE, what);
        for (const [what, fn] of everyCall(mut as SharedBuffer)) {
          if (what === "asPtrLen") continue;
          assertStatus(fn, Status.BAD_STATE, `sliceMut.${what}`);
        }
        // Hostile arguments on a dead buffer still fail cleanly.
        for (const fn of [() => b.readAt(-1, new Uint8Array(1)), () => b.writeU8(0, 999)]) {
          assert.ok([Status.BAD_STATE as number, BAD_ARGS].includes(statusOf(fn)));
        }
      } finally {
        cleanup();
      }
    });
  }
  await t.step("new memory at the same address stays out of reach of the old buffer", () => {
    using r = region(2);
    using a = Vmo.create(P);
    using b = Vmo.create(P);
    r.vmar.map(0, a, 0, P, RW | SPECIFIC);
    const old = SharedBuffer.fromRange(r.vmar, r.base, P);
    r.vmar.unmap(r.base, P);
    r.vmar.map(0, b, 0, P, RW | SPECIFIC);
    b.write(new Uint8Array([5]), 0);
    assertStatus(() => old.readU8(0), Status.BAD_STATE);
    assertStatus(() => old.writeU8(0, 1), Status.BAD_STATE);
    assert.equal(b.readToArray(0, 1)[0], 5);
    assert.equal(SharedBuffer.fromRange(r.vmar, r.base, P).readU8(0), 5);
  });
});

Deno.test("OUT_OF_RANGE for pages past the end of the VMO", async (t) => {
  const root = Vmar.root();
  await t.step("a mapping longer than the VMO (Vmar.map and Mapping.createFromVmo)", () => {
    using vmo = Vmo.create(P);
    vmo.write(filled(P, 3), 0);
    const addr = root.map(0, vmo, 0, 2 * P, RW);
    using m = Mapping.createFromVmo(vmo, 2 * P, RW);
    try {
      for (const b of [SharedBuffer.fromRange(root, addr, 2 * P), m]) {
        assert.equal(b.len(), 2 * P);
        const dst = filled(8, 0xee);
        assert.equal(b.readAt(P - 8, dst), 8);
        dst.fill(0xee);
        assertStatus(() => b.readAt(P, dst), OOR);
        assertStatus(() => b.readAt(P - 4, dst), OOR);
        assertStatus(() => b.read(new Uint8Array(2 * P)), OOR);
        assert.deepEqual(arr(dst), arr(filled(8, 0xee)));
        assertStatus(() => b.writeAt(P, dst), OOR);
        assertStatus(() => b.writeAt(P - 4, dst), OOR);
        assertStatus(() => b.readU8(P), OOR);
        assertStatus(() => b.readU64(P - 4), OOR);
        assertStatus(() => b.writeU32(2 * P - 4, 1), OOR);
        assertStatus(() => b.bytes(), OOR);
        assertStatus(() => b.int32View(P, 1), OOR);
        assertStatus(() => b.sliceMut(P).bytes(), OOR);
        assert.deepEqual(arr(vmo.readToArray(0, P)), arr(filled(P, 3)));
        assert.equal(b.readU8(P - 1), 3);
        assert.equal(b.readAt(2 * P, dst), 0);
      }
    } finally {
      root.unmap(addr, 2 * P);
    }
  });
  await t.step(
    "a VMO shrunk under the buffer; growing it back makes the pages valid (zeros)",
    () => {
      using vmo = Vmo.create(2 * P, VmoOptions.RESIZABLE);
      vmo.write(filled(2 * P, 7), 0);
      const addr = root.map(0, vmo, 0, 2 * P, RW);
      try {
        const b = SharedBuffer.fromRange(root, addr, 2 * P);
        // An unsealed memfd can be cut by anyone of the same user (issue 8 §4): no view of it.
        assertStatus(() => b.bytes(), Status.NOT_SUPPORTED);
        assertStatus(() => b.int32View(P, 4), Status.NOT_SUPPORTED);
        assert.equal(b.readU8(P + 1), 7);
        vmo.setSize(P);
        assertStatus(() => b.readAt(P, new Uint8Array(1)), OOR);
        assertStatus(() => b.readAt(P - 1, new Uint8Array(2)), OOR);
        assertStatus(() => b.writeAt(P + 10, new Uint8Array(1)), OOR);
        assertStatus(() => b.readU16(P - 1), OOR);
        assertStatus(() => b.writeF64(P, 1), OOR);
        assertStatus(() => b.bytes(), OOR);
        assertStatus(() => b.int32View(P, 1), OOR);
        assert.equal(b.readU8(P - 1), 7);
        assert.equal(b.len(), 2 * P);
        vmo.setSize(2 * P);
        assert.equal(b.readU8(P), 0);
        b.writeU8(P + 1, 9);
        assert.equal(vmo.readToArray(P + 1, 1)[0], 9);
        assertStatus(() => b.bytes(), Status.NOT_SUPPORTED);
      } finally {
        root.unmap(addr, 2 * P);
      }
    },
  );
});

Deno.test("bytes() of a slice over read-write pages works while other pages of the buffer are not", async (t) => {
  // docs/semantics.md §4.3: bytes() is refused (ACCESS_DENIED) only when the slice's own memory is not
  // read-write; int32View already follows this rule.
  const root = Vmar.root();
  await t.step("the rest of the buffer is read-only or PROT_NONE", () => {
    using vmo = Vmo.create(3 * P);
    const addr = root.map(0, vmo, 0, 3 * P, RW);
    try {
      const b = SharedBuffer.fromRange(root, addr, 3 * P);
      root.protect(addr + P, P, R);
      root.protect(addr + 2 * P, P, 0);
      assert.equal(b.sliceMut(10, 20).int32View(2, 2).length, 2);
      const view = b.sliceMut(0, P).bytes();
      assert.equal(view.length, P);
      view[5] = 0x55;
      assert.equal(vmo.readToArray(5, 1)[0], 0x55);
    } finally {
      root.unmap(addr, 3 * P);
    }
  });
  await t.step("the rest of the buffer is past the end of the VMO", () => {
    using vmo = Vmo.create(P);
    using m = Mapping.createFromVmo(vmo, 2 * P, RW);
    assert.equal(m.int32View(0, 4).length, 4);
    const view = m.sliceMut(0, P).bytes();
    assert.equal(view.length, P);
    view[1] = 0x66;
    assert.equal(vmo.readToArray(1, 1)[0], 0x66);
  });
});
