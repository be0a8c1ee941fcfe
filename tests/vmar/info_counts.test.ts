/**
 * The committed-bytes counts of `infoMaps` (src/vmar/info.ts) against the plain extent walk
 * (`forEachDataExtent`) over each record's VMO range, on layouts its short cuts take: the
 * same VMO range mapped several times (counted once a call and reused), overlapping ranges of
 * one VMO, mappings split into several protection ranges (one walk for the whole mapping),
 * with random writes, commits, decommits and protects between calls, each asked twice.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { forEachDataExtent } from "../../ffi/file.ts";
import { MapInfoType, PAGE_SIZE as P, Vmar, VmarFlags, Vmo, VmoOp } from "../../mod.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;

function walked(fd: number, start: number, end: number): number {
  let total = 0;
  assert.equal(forEachDataExtent(fd, start, end, (from, to) => total += to - from), 0);
  return total;
}

Deno.test("infoMaps counts agree with the extent walk for a VMO mapped many times", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          offset: fc.integer({ min: 0, max: 7 }),
          pages: fc.integer({ min: 1, max: 8 }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      fc.array(
        fc.record({
          kind: fc.constantFrom("write", "decommit", "commit", "protect", "unprotect"),
          map: fc.integer({ min: 0, max: 7 }),
          page: fc.integer({ min: 0, max: 7 }),
          count: fc.integer({ min: 1, max: 3 }),
        }),
        { maxLength: 16 },
      ),
      (layout, ops) => {
        const [vmar, base] = Vmar.root().allocate(
          0,
          128 * P,
          VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
        );
        const vmo = Vmo.create(8 * P);
        const fd = vmoObjectOf(vmo).backing.fd;
        try {
          // Each mapping in its own 16-page slot, a gap after it: no two records merge.
          const maps = layout.map((m, i) => {
            const pages = Math.min(m.pages, 8 - m.offset);
            vmar.map(i * 16 * P, vmo, m.offset * P, pages * P, RW | VmarFlags.SPECIFIC);
            return { at: base + i * 16 * P, offset: m.offset * P, pages };
          });
          const check = () => {
            const records = vmar.infoMaps().filter((r) => r.type === MapInfoType.MAPPING);
            for (const record of records) {
              const m = maps.find((m) => m.at <= record.base && record.base < m.at + m.pages * P)!;
              const fileStart = m.offset + (record.base - m.at);
              assert.equal(record.mapping!.vmoOffset, fileStart);
              assert.equal(
                record.mapping!.committedBytes,
                walked(fd, fileStart, fileStart + record.size),
                JSON.stringify({ record, m }),
              );
            }
          };
          check();
          for (const op of ops) {
            const m = maps[op.map % maps.length];
            const page = Math.min(op.page, m.pages - 1);
            const count = Math.min(op.count, m.pages - page);
            if (op.kind === "write") {
              vmo.write(new Uint8Array(count * P).fill(3), m.offset + page * P);
            } else if (op.kind === "decommit") {
              vmo.opRange(VmoOp.DECOMMIT, m.offset + page * P, count * P);
            } else if (op.kind === "commit") {
              vmo.opRange(VmoOp.COMMIT, m.offset + page * P, count * P);
            } else {
              const perms = op.kind === "protect" ? VmarFlags.PERM_READ : RW;
              vmar.protect(m.at + page * P, count * P, perms);
            }
            check();
            check();
          }
        } finally {
          vmar.destroy();
          vmo.close();
        }
      },
    ),
    { numRuns: 80 },
  );
});
