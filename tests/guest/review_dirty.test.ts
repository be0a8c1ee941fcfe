/**
 * Dirty tracking against a model (issue 10 §3): every writer of the API (`GuestMemoryMmap`
 * `write`/`writeSlice`/typed writes, across regions too, and `VolatileSlice` `write`/`writeAt`/
 * `copyFrom`/typed writes, through sub-slices and `offset`) marks exactly the pages it wrote,
 * in tracked regions only; refused writes and every reader mark none; resets clear what they
 * say. The model is a set of `(region, page)` pairs computed from the layout alone.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { GuestMemoryMmap, GuestRegionMmap, MmapRegion, PAGE_SIZE, ZxError } from "../../mod.ts";

const P = PAGE_SIZE;

// A: [0, 4P) and B: [4P, 6P) adjacent; a hole; C: [8P, 9P + 512) tracked, then D right after
// it untracked: writes from C into D mark only C's pages.
const LAYOUT = [
  { start: 0, size: 4 * P, tracked: true },
  { start: 4 * P, size: 2 * P, tracked: true },
  { start: 8 * P, size: P + 512, tracked: true },
  { start: 9 * P + 512, size: P, tracked: false },
];
const END = 11 * P;

/** The region index holding guest address `addr`, or -1. */
function regionAt(addr: number): number {
  return LAYOUT.findIndex((r) => addr >= r.start && addr < r.start + r.size);
}

/** How many bytes from `addr` (up to `len`) lie in contiguous regions. */
function reach(addr: number, len: number): number {
  let n = 0;
  while (n < len && regionAt(addr + n) >= 0) n++;
  return n;
}

class Model {
  dirty = new Set<string>();
  /** Marks the pages of the `len` bytes at guest `addr` (all in regions). */
  mark(addr: number, len: number): void {
    for (let a = addr; a < addr + len; a++) {
      const i = regionAt(a);
      if (LAYOUT[i].tracked) this.dirty.add(`${i}:${Math.floor((a - LAYOUT[i].start) / P)}`);
    }
  }
  pages(i: number): number[] {
    return [...this.dirty].filter((k) => k.startsWith(`${i}:`)).map((k) => Number(k.split(":")[1]))
      .sort((a, b) => a - b);
  }
  /** `GuestMemoryMmap.dirtyPages()`: runs of dirty pages in guest addresses. */
  runs(): [number, number][] {
    const runs: [number, number][] = [];
    LAYOUT.forEach((r, i) => {
      for (const page of this.pages(i)) {
        const addr = r.start + page * P;
        const last = runs[runs.length - 1];
        if (last !== undefined && last[0] + last[1] * P === addr) last[1]++;
        else runs.push([addr, 1]);
      }
    });
    return runs;
  }
}

type Op =
  | { kind: "write" | "writeSlice" | "read" | "readSlice"; addr: number; len: number }
  | { kind: "typed"; addr: number; size: 1 | 2 | 4 | 8; read: boolean }
  | {
    kind: "slice";
    addr: number;
    len: number;
    how: "writeAt" | "write" | "copyFrom" | "typed" | "sub" | "offset" | "reads";
    off: number;
    n: number;
  }
  | { kind: "reset"; region: number; off: number; len: number }
  | { kind: "resetAll" };

/** Anywhere, or within 80 bytes of a region's edge (where writes split or stop). */
const addr = fc.oneof(
  fc.integer({ min: 0, max: END }),
  fc.tuple(fc.constantFrom(4 * P, 6 * P, 8 * P, 9 * P + 512), fc.integer({ min: -80, max: 80 }))
    .map(([edge, d]) => Math.max(0, edge + d)),
);
/** Any length, or a short one (the bridged path of a small write across two regions). */
const length = (max: number) =>
  fc.oneof(fc.integer({ min: 0, max }), fc.integer({ min: 0, max: 80 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom("write", "writeSlice", "read", "readSlice") as fc.Arbitrary<
      "write" | "writeSlice" | "read" | "readSlice"
    >,
    addr,
    len: length(3 * P),
  }),
  fc.record({
    kind: fc.constant("typed" as const),
    addr,
    size: fc.constantFrom(1, 2, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8>,
    read: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("slice" as const),
    addr,
    len: fc.integer({ min: 0, max: 2 * P }),
    how: fc.constantFrom(
      "writeAt",
      "write",
      "copyFrom",
      "typed",
      "sub",
      "offset",
      "reads",
    ) as fc.Arbitrary<
      "writeAt"
    >,
    off: fc.integer({ min: 0, max: 2 * P }),
    n: fc.integer({ min: 0, max: 2 * P }),
  }),
  fc.record({
    kind: fc.constant("reset" as const),
    region: fc.integer({ min: 0, max: 2 }),
    off: fc.integer({ min: 0, max: 5 * P }),
    len: fc.integer({ min: 0, max: 5 * P }),
  }),
  fc.constant({ kind: "resetAll" as const }),
);

function throws(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (error) {
    if (!(error instanceof ZxError)) throw error;
    return true;
  }
}

/** Applies `o` to the memory and the model; asserts the memory refuses what the model says. */
function apply(mem: GuestMemoryMmap, model: Model, o: Op): void {
  switch (o.kind) {
    case "write": {
      const n = reach(o.addr, o.len);
      if (regionAt(o.addr) < 0 && o.len > 0) {
        assert.ok(throws(() => mem.write(new Uint8Array(o.len), o.addr)), "write in a hole");
      } else if (regionAt(o.addr) >= 0) {
        assert.equal(mem.write(new Uint8Array(o.len).fill(1), o.addr), n);
        model.mark(o.addr, n);
      }
      return;
    }
    case "writeSlice": {
      const all = regionAt(o.addr) >= 0 && reach(o.addr, o.len) === o.len;
      if (!all) {
        if (o.len > 0) assert.ok(throws(() => mem.writeSlice(new Uint8Array(o.len), o.addr)));
        return;
      }
      mem.writeSlice(new Uint8Array(o.len).fill(2), o.addr);
      model.mark(o.addr, o.len);
      return;
    }
    case "read":
    case "readSlice": {
      const dst = new Uint8Array(o.len);
      throws(() => o.kind === "read" ? mem.read(dst, o.addr) : mem.readSlice(dst, o.addr));
      return;
    }
    case "typed": {
      const ok = reach(o.addr, o.size) === o.size;
      const name = ({ 1: "U8", 2: "U16", 4: "U32", 8: "U64" } as const)[o.size];
      const call = o.read
        ? () => mem[`read${name}`](o.addr)
        : () => o.size === 8 ? mem.writeU64(o.addr, 3n) : mem[`write${name as "U8"}`](o.addr, 3);
      assert.equal(throws(call), !ok, `${o.read ? "read" : "write"}${name} at ${o.addr}`);
      if (ok && !o.read) model.mark(o.addr, o.size);
      return;
    }
    case "slice": {
      const i = regionAt(o.addr);
      if (i < 0 || o.addr + o.len > LAYOUT[i].start + LAYOUT[i].size) {
        assert.ok(throws(() => mem.getSlice(o.addr, o.len)), "getSlice across regions");
        return;
      }
      const s = mem.getSlice(o.addr, o.len);
      const src = new Uint8Array(o.n).fill(4);
      switch (o.how) {
        case "writeAt":
          if (o.off > o.len) assert.ok(throws(() => s.writeAt(o.off, src)));
          else model.mark(o.addr + o.off, s.writeAt(o.off, src));
          return;
        case "write":
          model.mark(o.addr, s.write(src));
          return;
        case "copyFrom":
          model.mark(o.addr, s.copyFrom(src));
          return;
        case "typed": {
          const fits = o.off + 8 <= o.len;
          assert.equal(throws(() => s.writeF64(o.off, 1.5)), !fits);
          if (fits) model.mark(o.addr + o.off, 8);
          return;
        }
        case "sub": {
          if (o.off + o.n > o.len) {
            assert.ok(throws(() => s.subslice(o.off, o.n)));
            return;
          }
          const sub = s.subslice(o.off, o.n);
          const fits = 4 <= o.n;
          assert.equal(throws(() => sub.writeU32(0, 5)), !fits);
          if (fits) model.mark(o.addr + o.off, 4);
          return;
        }
        case "offset": {
          if (o.off > o.len) {
            assert.ok(throws(() => s.offset(o.off)));
            return;
          }
          const rest = s.offset(o.off);
          const fits = 1 <= o.len - o.off;
          assert.equal(throws(() => rest.writeU8(0, 6)), !fits);
          if (fits) model.mark(o.addr + o.off, 1);
          return;
        }
        case "reads": {
          const dst = new Uint8Array(o.n);
          s.read(dst);
          s.copyTo(dst);
          throws(() => s.readAt(o.off, dst));
          throws(() => s.readU64(o.off));
          throws(() => s.readF32(o.off));
          return;
        }
      }
      return;
    }
    case "reset": {
      const bitmap = mem.regions()[o.region].region().bitmap()!;
      bitmap.resetAddrRange(o.off, o.len);
      const size = LAYOUT[o.region].size;
      const end = Math.min(o.off + o.len, size);
      if (end > o.off) {
        for (let p = Math.floor(o.off / P); p <= Math.floor((end - 1) / P); p++) {
          model.dirty.delete(`${o.region}:${p}`);
        }
      }
      return;
    }
    case "resetAll":
      mem.resetDirty();
      model.dirty.clear();
      return;
  }
}

Deno.test("review: dirty pages match a model after every writer, reader and reset", () => {
  using mem = GuestMemoryMmap.fromRegions(
    LAYOUT.map((r) =>
      new GuestRegionMmap(MmapRegion.create(r.size, { dirtyTracking: r.tracked }), r.start)
    ),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
      mem.resetDirty();
      const model = new Model();
      for (const o of ops) {
        apply(mem, model, o);
        assert.deepEqual(mem.dirtyPages(), model.runs(), JSON.stringify(o));
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(mem.regions()[i].region().bitmap()!.dirtyPages(), model.pages(i));
        }
      }
      assert.equal(mem.regions()[3].region().bitmap(), null);
    }),
    { numRuns: 300 },
  );
});
