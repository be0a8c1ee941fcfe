/**
 * The fast paths of issue 9 against the general paths they short-cut, on random operations:
 * each fast path must give exactly what the general one gives, and fall back to it for
 * anything unusual.
 *
 * - `dataBytesIn` (one `lseek` for a range that is all data, or one with none) against the
 *   plain extent walk `forEachDataExtent`, over memfds with random data, holes and sizes, with
 *   either hint;
 * - `infoMaps`' committed bytes against the extent walk over each mapped VMO range, after
 *   random writes, decommits and protects, asked twice (the per-VMO hint changes the `lseek`
 *   made first, never the answer);
 * - the span list's reused max-tree, across a list going empty and non-empty many times, against
 *   a sorted array;
 * - a protect inside one permission range (split in one pass) against the general rebuild,
 *   sort and coalesce;
 * - random maps (the root's one-call `mmap(NULL)` path, `Mapping.allocate`), protects, unmaps
 *   and writes: after each, the tree and `/proc/self/maps` agree;
 * - an unmap inside one mapping (`unmapInOne`: one call and one cut, no lists) against the
 *   general `unmapRange`, on two sub-VMARs given the same random maps, protects, views (a live
 *   view sends both to the quarantine path) and unmaps: the same records, the same kernel
 *   pages, the same views detached; and `Mapping.close` (which takes the same path) against
 *   `Vmar.unmap` of its range;
 * - `writeAt` over a mapped regular file (straight to `process_vm_writev` while the window is
 *   known writable) against a model of the file, across protects that take the write
 *   permission away and give it back.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { MFD_CLOEXEC } from "../../ffi/constants.ts";
import { closeFd, cString, dataBytesIn, forEachDataExtent, pwrite } from "../../ffi/file.ts";
import { libc } from "../../ffi/libc.ts";
import {
  MapInfoType,
  Mapping,
  PAGE_SIZE as P,
  SharedBuffer,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOp,
  ZxError,
} from "../../mod.ts";
import { type PermRange, withPerms, withPermsInOne } from "../../src/vmar/perm_ranges.ts";
import { type Span, SpanList } from "../../src/vmar/span_list.ts";
import { holeBytes, treeVersusKernel } from "../hardening/_util.ts";
import { assertStatus } from "../_support/mod.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";
import { vmarObjectOf } from "../../src/vmar/vmar.ts";
import { unmapRange } from "../../src/vmar/teardown.ts";
import { kernelPieces } from "../hardening/_util.ts";

const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;

function walked(fd: number, start: number, end: number): number {
  let total = 0;
  assert.equal(forEachDataExtent(fd, start, end, (from, to) => total += to - from), 0);
  return total;
}

Deno.test("dataBytesIn agrees with the extent walk, with either hint", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 12 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 4 })), {
        maxLength: 5,
      }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 3 })), {
        maxLength: 3,
      }),
      fc.integer({ min: 0, max: 5000 }),
      fc.tuple(fc.integer({ min: 0, max: 14 * P }), fc.integer({ min: 0, max: 14 * P })),
      (pages, writes, holes, tail, [a, b]) => {
        const fd = libc.memfd_create(cString("fast-paths"), MFD_CLOEXEC);
        assert.ok(fd >= 0);
        try {
          // A size that need not be page-aligned: SEEK_HOLE stops at the size, not the page.
          assert.equal(libc.ftruncate(fd, BigInt(pages * P + (pages > 0 ? tail % P : 0))), 0);
          for (const [page, count] of writes) {
            const bytes = new Uint8Array(count * P).fill(1);
            pwrite(fd, bytes, bytes.length, page * P);
          }
          for (const [page, count] of holes) {
            libc.fallocate(
              fd,
              FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
              BigInt(page * P),
              BigInt(count * P),
            );
          }
          const start = Math.min(a, b);
          const end = Math.max(a, b);
          const expected = walked(fd, start, end);
          assert.equal(dataBytesIn(fd, start, end, false), expected);
          assert.equal(dataBytesIn(fd, start, end, true), expected);
        } finally {
          closeFd(fd);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("infoMaps committed bytes agree with the extent walk after random operations", () => {
  const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          kind: fc.constantFrom("write", "decommit", "protect", "commit"),
          vmo: fc.integer({ min: 0, max: 2 }),
          page: fc.integer({ min: 0, max: 7 }),
          count: fc.integer({ min: 1, max: 3 }),
        }),
        { maxLength: 20 },
      ),
      (ops) => {
        const [vmar, base] = Vmar.root().allocate(
          0,
          64 * P,
          VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
        );
        const vmos = [Vmo.create(8 * P), Vmo.create(8 * P), Vmo.create(8 * P)];
        try {
          // VMO 0 twice (two records on one file), the others once, at offsets past page 0.
          const maps = [
            { vmo: 0, at: 0, offset: 0, pages: 8 },
            { vmo: 0, at: 10 * P, offset: 2 * P, pages: 4 },
            { vmo: 1, at: 20 * P, offset: P, pages: 7 },
            { vmo: 2, at: 30 * P, offset: 0, pages: 8 },
          ];
          for (const m of maps) {
            vmar.map(m.at, vmos[m.vmo], m.offset, m.pages * P, RW | VmarFlags.SPECIFIC);
          }
          const check = () => {
            const records = vmar.infoMaps().filter((r) => r.type === MapInfoType.MAPPING);
            for (const record of records) {
              const m = maps.find((m) =>
                base + m.at <= record.base && record.base < base + m.at + m.pages * P
              )!;
              const fd = vmoObjectOf(vmos[m.vmo]).backing.fd;
              const fileStart = m.offset + (record.base - base - m.at);
              assert.equal(
                record.mapping!.committedBytes,
                walked(fd, fileStart, fileStart + record.size),
              );
            }
          };
          for (const op of ops) {
            const vmo = vmos[op.vmo];
            const count = Math.min(op.count, 8 - op.page);
            if (op.kind === "write") {
              vmo.write(new Uint8Array(count * P).fill(3), op.page * P);
            } else if (op.kind === "decommit") {
              vmo.opRange(VmoOp.DECOMMIT, op.page * P, count * P);
            } else if (op.kind === "commit") {
              vmo.opRange(VmoOp.COMMIT, op.page * P, count * P);
            } else {
              const m = maps[op.vmo === 0 ? 0 : op.vmo + 1];
              const page = Math.min(op.page, m.pages - 1);
              vmar.protect(base + m.at + page * P, P, VmarFlags.PERM_READ);
            }
            check();
            check();
          }
        } finally {
          vmar.destroy();
          for (const vmo of vmos) vmo.close();
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("span list: a list that goes empty and back many times agrees with a sorted array", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 300 }), {
        maxLength: 8,
      }),
      (batches) => {
        const list = new SpanList<Span>();
        for (const slots of batches) {
          const spans: Span[] = [];
          for (const slot of new Set(slots)) {
            const span = { base: slot * 2, size: 1 };
            list.insert(span);
            spans.push(span);
          }
          spans.sort((a, b) => a.base - b.base);
          for (const size of [1, 2, 3]) {
            let expected = -1;
            let gapStart = 0;
            for (const s of [...spans, { base: 1000, size: 0 }]) {
              if (gapStart + size <= s.base) {
                expected = gapStart;
                break;
              }
              gapStart = s.base + s.size;
            }
            assert.equal(list.findFree(0, 1000, size, 1), expected);
          }
          // Empty it again, in an order of its own.
          for (let i = 0; i < spans.length; i += 2) assert.ok(list.remove(spans[i]));
          for (let i = 1; i < spans.length; i += 2) assert.ok(list.remove(spans[i]));
          assert.equal(list.count, 0);
          assert.equal(list.findFree(0, 1000, 5, 1), 0);
        }
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("span list: spans shrunk in place (a cut's left or right part) agree with a sorted array", () => {
  // Spans of 4 units at every 6, over a few blocks (128 spans each); each step shrinks one from
  // either end, as `cutMapping` does to a record, then checks first fit and lookups against
  // the spans as they are. `stale` marks the gaps stale instead, as a throwing `shrunk` does.
  const step = fc.record({
    index: fc.integer({ min: 0, max: 399 }),
    left: fc.boolean(),
    by: fc.integer({ min: 1, max: 3 }),
    stale: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const list = new SpanList<Span>();
      const spans: Span[] = [];
      for (let i = 0; i < 400; i++) {
        const span = { base: 6 * i, size: 4 };
        list.insert(span);
        spans.push(span);
      }
      for (const { index, left, by, stale } of steps) {
        const span = spans[index];
        if (span.size <= by) continue;
        if (left) span.base += by;
        span.size -= by;
        if (stale) list.gapsStale = true;
        else list.shrunk(span);
        for (const size of [1, 2, 3, 4, 5]) {
          let expected = -1;
          let gapStart = 0;
          for (const s of [...spans, { base: 3000, size: 0 }]) {
            if (gapStart + size <= s.base) {
              expected = gapStart;
              break;
            }
            gapStart = s.base + s.size;
          }
          assert.equal(list.findFree(0, 3000, size, 1), expected, `first fit of ${size}`);
        }
        assert.equal(list.find(span.base), span);
        assert.equal(list.find(span.base + span.size - 1), span);
        if (left) assert.equal(list.find(span.base - 1), undefined);
        else assert.equal(list.find(span.base + span.size), undefined);
        assert.deepEqual(list.overlapping(span.base - 1, span.base + span.size + 1), [span]);
      }
      assert.deepEqual([...list], spans);
    }),
    { numRuns: 100 },
  );
});

Deno.test("setPerms: the one-range split agrees with the general rebuild", () => {
  const P_ = 1;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          a: fc.integer({ min: 0, max: 15 }),
          b: fc.integer({ min: 1, max: 16 }),
          perms: fc.integer({ min: 0, max: 3 }),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      (ops) => {
        let ranges: PermRange[] = [{ start: 0, end: 16 * P_, perms: 3 }];
        for (const { a, b, perms } of ops) {
          const start = Math.min(a, b - 1) * P_;
          const end = Math.max(a + 1, b) * P_;
          const general = withPerms(ranges, start, end, perms);
          let i = 0;
          while (i + 1 < ranges.length && ranges[i + 1].start <= start) i++;
          if (end <= ranges[i].end) {
            assert.deepEqual(withPermsInOne(ranges, i, start, end, perms), general);
          }
          ranges = general;
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("fast map, protect and unmap paths keep the tree and the kernel in agreement", () => {
  const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          kind: fc.constantFrom("map-root", "map-sub", "protect", "unmap", "write", "allocate"),
          page: fc.integer({ min: 0, max: 15 }),
          pages: fc.integer({ min: 1, max: 4 }),
          perms: fc.constantFrom(VmarFlags.PERM_READ, RW),
          pick: fc.nat(),
        }),
        { maxLength: 25 },
      ),
      (ops) => {
        const root = Vmar.root();
        const [sub] = root.allocate(
          0,
          32 * P,
          VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
        );
        const vmo = Vmo.create(16 * P);
        const rootMaps: [number, number][] = [];
        const owned: { close(): void }[] = [];
        try {
          for (const op of ops) {
            try {
              if (op.kind === "map-root") {
                const len = Math.min(op.pages, 16 - op.page) * P;
                rootMaps.push([root.map(0, vmo, op.page * P, len, RW), len]);
              } else if (op.kind === "map-sub") {
                sub.map(op.page * P, vmo, 0, op.pages * P, op.perms | VmarFlags.SPECIFIC);
              } else if (op.kind === "protect") {
                sub.protect(sub.info().base + op.page * P, op.pages * P, op.perms);
              } else if (op.kind === "unmap") {
                sub.unmap(sub.info().base + op.page * P, op.pages * P);
              } else if (op.kind === "allocate") {
                const [mapping, v] = Mapping.allocate(op.pages * P);
                mapping.writeAt(0, new Uint8Array([op.page]));
                assert.equal(v.readToArray(0, 1)[0], op.page);
                owned.push(mapping, v);
              } else if (rootMaps.length > 0) {
                const [addr] = rootMaps[op.pick % rootMaps.length];
                root.writeMemory(addr, new Uint8Array([op.page]));
              }
            } catch (error) {
              // Overlaps and unmapped ranges are refused with a ZxError; nothing else may throw.
              if (!(error instanceof ZxError)) throw error;
            }
            const entries = [...sub.infoMaps(), ...rootMaps.flatMap(([addr]) => recordsAt(addr))];
            assert.deepEqual(treeVersusKernel(entries), []);
          }
        } finally {
          sub.destroy();
          for (const [addr, len] of rootMaps) root.unmap(addr, len);
          for (const o of owned.reverse()) o.close();
          vmo.close();
        }
      },
    ),
    { numRuns: 40 },
  );
});

/** The kernel's pages of `[base, base + size)` as `offset:perms` pieces, page by page. */
function kernelPages(base: number, size: number): string[] {
  const out: string[] = [];
  for (const piece of kernelPieces(base, base + size)) {
    for (let a = piece.start; a < piece.end; a += P) out.push(`${(a - base) / P}:${piece.perms}`);
  }
  return out;
}

/** A VMAR's records relative to its base: what two VMARs given the same calls must share. */
function recordsOf(vmar: Vmar, base: number): string[] {
  return vmar.infoMaps().slice(1).map((r) =>
    `${r.type}@${(r.base - base) / P}+${r.size / P}:${r.mapping?.mmuFlags ?? "-"}`
  );
}

Deno.test("unmap inside one mapping: the one-call path agrees with the general unmapRange", () => {
  const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
  const PAGES = 24;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          kind: fc.constantFrom("map", "map", "protect", "unmap", "unmap", "view"),
          page: fc.integer({ min: 0, max: PAGES - 1 }),
          pages: fc.integer({ min: 1, max: 6 }),
          perms: fc.constantFrom(VmarFlags.PERM_READ, RW),
        }),
        { minLength: 4, maxLength: 30 },
      ),
      (ops) => {
        // Start from mappings on most pages, so that views and unmaps meet memory.
        const start = [0, 8, 14, 20].map((page, i) => ({
          kind: "map" as const,
          page,
          pages: i === 1 ? 5 : 6,
          perms: i === 2 ? VmarFlags.PERM_READ : RW,
        }));
        ops = [...start, ...ops];
        const flags = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;
        const [fast, fastBase] = Vmar.root().allocate(0, PAGES * P, flags);
        const [general, generalBase] = Vmar.root().allocate(0, PAGES * P, flags);
        const vmo = Vmo.create(8 * P);
        // Kept alive to the end: a live view sends an unmap to the quarantine path.
        const views: [Uint8Array, Uint8Array][] = [];
        try {
          for (const op of ops) {
            const len = Math.min(op.pages, PAGES - op.page) * P;
            const on = (vmar: Vmar, base: number, general: boolean): unknown => {
              try {
                if (op.kind === "map") {
                  vmar.map(
                    op.page * P,
                    vmo,
                    0,
                    Math.min(len, 8 * P),
                    op.perms | VmarFlags.SPECIFIC,
                  );
                } else if (op.kind === "protect") {
                  vmar.protect(base + op.page * P, len, op.perms);
                } else if (op.kind === "view") {
                  return SharedBuffer.fromRange(vmar, base + op.page * P, P).bytes();
                } else if (general) {
                  // Vmar.unmap's checks all pass for a range inside the VMAR: straight to the
                  // general path, which the one-call path short-cuts.
                  unmapRange(vmarObjectOf(vmar), base + op.page * P, base + op.page * P + len);
                } else {
                  vmar.unmap(base + op.page * P, len);
                }
                return "ok";
              } catch (error) {
                if (!(error instanceof ZxError)) throw error;
                return error.status;
              }
            };
            const a = on(fast, fastBase, false);
            const b = on(general, generalBase, true);
            if (a instanceof Uint8Array && b instanceof Uint8Array) views.push([a, b]);
            else assert.deepEqual(a, b, `${op.kind} at page ${op.page}`);
            assert.deepEqual(recordsOf(fast, fastBase), recordsOf(general, generalBase));
            assert.deepEqual(
              kernelPages(fastBase, PAGES * P),
              kernelPages(generalBase, PAGES * P),
            );
            for (const [x, y] of views) assert.equal(x.length, y.length, "the same views detached");
          }
        } finally {
          fast.destroy();
          general.destroy();
          vmo.close();
        }
      },
    ),
    { numRuns: 80 },
  );
});

Deno.test("Mapping.close takes its memory away as Vmar.unmap of its range does", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 3 }),
      (pages, view, protectPage) => {
        const root = Vmar.root();
        const [mapping, vmo] = Mapping.allocate(pages * P);
        const other = Mapping.createFromVmo(
          vmo,
          pages * P,
          VmarFlags.PERM_READ | VmarFlags.PERM_WRITE,
        );
        try {
          const views = view ? [mapping.bytes(), other.bytes()] : [];
          // A protect splits the record's permissions: the close still covers one record.
          if (protectPage < pages) {
            root.protect(mapping.addr + protectPage * P, P, VmarFlags.PERM_READ);
          }
          const addr = mapping.addr;
          mapping.close();
          root.unmap(other.addr, pages * P);
          for (const v of views) assert.equal(v.length, 0);
          assertStatus(() => mapping.readU8(0), Status.BAD_STATE);
          assertStatus(() => other.readU8(0), Status.BAD_STATE);
          assert.equal(vmo.info().numMappings, 0);
          assert.equal(recordsAt(addr).length, 0);
          assert.equal(recordsAt(other.addr).length, 0);
          other.close(); // its memory is gone already: nothing to unmap, no error
        } finally {
          mapping.close();
          other.close();
          vmo.close();
        }
      },
    ),
    { numRuns: 60 },
  );
});

/** The root's records of the mapping at `addr` (from the root's own infoMaps). */
function recordsAt(addr: number) {
  return Vmar.root().infoMaps().filter((r) =>
    r.type === MapInfoType.MAPPING && r.base <= addr && addr < r.base + r.size
  );
}

Deno.test("writeAt over a file: the write-through path agrees with the general one", () => {
  const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          kind: fc.constantFrom("write", "write", "protect-r", "protect-rw", "bytes"),
          offset: fc.integer({ min: 0, max: 3 * 4096 + 100 }),
          length: fc.integer({ min: 0, max: 5000 }),
          seed: fc.integer({ min: 1, max: 250 }),
        }),
        { maxLength: 20 },
      ),
      (ops) => {
        const path = Deno.makeTempFileSync({ prefix: "vmo-fast-" });
        Deno.writeFileSync(path, new Uint8Array(4 * P));
        const vmo = Vmo.fromFile(path, { writable: true });
        const root = Vmar.root();
        const addr = root.map(0, vmo, 0, 4 * P, RW);
        const buffer = SharedBuffer.fromRange(root, addr, 4 * P);
        const model = new Uint8Array(4 * P);
        let writable = true;
        try {
          for (const op of ops) {
            if (op.kind === "protect-r" || op.kind === "protect-rw") {
              writable = op.kind === "protect-rw";
              root.protect(addr, 4 * P, writable ? RW : VmarFlags.PERM_READ);
              // The write-through lease is no view: the kernel changes at once, as the tree.
              assert.deepEqual(treeVersusKernel(recordsAt(addr)), []);
              continue;
            }
            const src = new Uint8Array(op.length).fill(op.seed);
            if (!writable) {
              // Nothing to write succeeds whatever the permissions, as on the general path.
              if (op.length === 0) assert.equal(buffer.writeAt(op.offset, src), 0);
              else assertStatus(() => buffer.writeAt(op.offset, src), Status.ACCESS_DENIED);
              continue;
            }
            const count = buffer.writeAt(op.offset, src);
            assert.equal(count, Math.min(op.length, 4 * P - op.offset));
            model.set(src.subarray(0, count), op.offset);
            const got = new Uint8Array(4 * P);
            buffer.readAt(0, got);
            assert.deepEqual(got, model);
          }
          assert.deepEqual(Deno.readFileSync(path), model);
          // Nothing holds the memory back (no quarantined zero pages): it is gone at once.
          root.unmap(addr, 4 * P);
          assert.equal(holeBytes(addr, addr + 4 * P), 4 * P);
        } catch (error) {
          root.unmap(addr, 4 * P);
          throw error;
        } finally {
          vmo.close();
          Deno.removeSync(path);
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("watches: dropping a mapping's last watch never loses a later one", () => {
  // A lease dies and leaves a record's set (the last one leaves by the record getting the
  // shared empty set back): leases and views taken afterwards must still be watched.
  const PAGES = 6;
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("lease"),
      from: fc.nat(PAGES - 1),
      n: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({
      kind: fc.constant("view"),
      from: fc.nat(PAGES - 1),
      n: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ kind: fc.constant("unmap"), from: fc.nat(PAGES - 1), n: fc.constant(1) }),
    fc.record({ kind: fc.constant("protect"), from: fc.nat(PAGES - 1), n: fc.constant(1) }),
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
      using vmo = Vmo.create(PAGES * P);
      const [region, base] = Vmar.root().allocate(
        0,
        PAGES * P,
        VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
      );
      try {
        region.map(
          0,
          vmo,
          0,
          PAGES * P,
          VmarFlags.PERM_READ | VmarFlags.PERM_WRITE | VmarFlags.SPECIFIC,
        );
        const mapped = new Array(PAGES).fill(true);
        const writable = new Array(PAGES).fill(true);
        const leases: [SharedBuffer, number, number][] = [];
        const views: [Uint8Array, number, number][] = [];
        for (const { kind, from, n } of ops) {
          const to = Math.min(PAGES, from + n);
          const whole = mapped.slice(from, to).every((m) => m);
          if (kind === "lease" && whole) {
            leases.push([
              SharedBuffer.fromRange(region, base + from * P, (to - from) * P),
              from,
              to,
            ]);
          } else if (kind === "view" && whole && writable.slice(from, to).every((w) => w)) {
            const buffer = SharedBuffer.fromRange(region, base + from * P, (to - from) * P);
            views.push([buffer.bytes(), from, to]);
          } else if (kind === "unmap") {
            region.unmap(base + from * P, P);
            mapped[from] = false;
            writable[from] = false;
          } else if (kind === "protect" && mapped[from]) {
            region.protect(base + from * P, P, VmarFlags.PERM_READ);
            writable[from] = false;
          }
          for (const [buffer, a, b] of leases) {
            if (mapped.slice(a, b).every((m) => m)) assert.equal(buffer.len(), (b - a) * P);
            else assertStatus(() => buffer.readU8(0), Status.BAD_STATE);
          }
          for (const [view, a, b] of views) {
            const ok = writable.slice(a, b).every((w) => w);
            assert.equal(view.length, ok ? (b - a) * P : 0);
            if (ok) view[0] = 1;
          }
        }
      } finally {
        region.destroy();
      }
    }),
    { numRuns: 60 },
  );
});
