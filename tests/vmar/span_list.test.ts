/**
 * The VMAR child list against a plain sorted array: lookups, overlap queries and first-fit gap
 * search must agree after any sequence of inserts and removes, across block splits.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { type Span, SpanList } from "../../src/vmar/span_list.ts";

const UNIT = 16;

/** The reference: first fit over a sorted array, no blocks. */
function naiveFindFree(spans: Span[], lo: number, hi: number, size: number, align: number): number {
  let gapStart = lo;
  for (const s of [...spans, { base: hi, size: 0 }]) {
    const start = Math.ceil(Math.max(gapStart, lo) / align) * align;
    if (start + size <= Math.min(s.base, hi)) return start;
    gapStart = Math.max(gapStart, s.base + s.size);
  }
  return -1;
}

Deno.test("span list: lookups, overlaps and first-fit agree with a sorted array", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          insert: fc.boolean(),
          slot: fc.integer({ min: 0, max: 599 }),
          len: fc.integer({ min: 1, max: 4 }),
          pick: fc.nat(),
        }),
        { maxLength: 600 },
      ),
      fc.array(
        fc.record({
          lo: fc.integer({ min: 0, max: 700 }),
          span: fc.integer({ min: 0, max: 800 }),
          size: fc.integer({ min: 1, max: 12 }),
          align: fc.constantFrom(1, 2, 4, 8),
        }),
        { minLength: 5, maxLength: 5 },
      ),
      (ops, queries) => {
        const list = new SpanList<Span>();
        let spans: Span[] = [];
        for (const op of ops) {
          if (op.insert) {
            const span = { base: op.slot * UNIT, size: op.len * UNIT };
            if (spans.some((s) => s.base < span.base + span.size && span.base < s.base + s.size)) {
              continue;
            }
            list.insert(span);
            spans = [...spans, span].sort((a, b) => a.base - b.base);
          } else if (spans.length > 0) {
            const victim = spans[op.pick % spans.length];
            assert.ok(list.remove(victim));
            spans = spans.filter((s) => s !== victim);
          }
        }
        assert.equal(list.count, spans.length);
        assert.deepEqual([...list], spans);
        for (const q of queries) {
          const lo = q.lo * UNIT;
          const hi = lo + q.span * UNIT;
          const size = q.size * UNIT;
          const align = q.align * UNIT;
          assert.equal(
            list.findFree(lo, hi, size, align),
            naiveFindFree(spans, lo, hi, size, align),
            `findFree(${lo}, ${hi}, ${size}, ${align})`,
          );
          const overlapping = spans.filter((s) => s.base < hi && lo < s.base + s.size);
          assert.deepEqual(list.overlapping(lo, hi), overlapping);
          const at = lo + UNIT / 2;
          assert.equal(list.find(at), spans.find((s) => s.base <= at && at < s.base + s.size));
        }
      },
    ),
    { numRuns: 300, seed: 20261122 },
  );
});

Deno.test("span list: packed spans with holes punched: first fit finds the lowest hole", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 700 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.integer({ min: 1, max: 3 }),
      (count, removals, size) => {
        const list = new SpanList<Span>();
        let spans: Span[] = [];
        for (let i = 0; i < count; i++) {
          const span = { base: i * UNIT, size: UNIT };
          spans.push(span);
          list.insert(span);
        }
        for (const pick of removals) {
          if (spans.length === 0) break;
          const victim = spans[pick % spans.length];
          list.remove(victim);
          spans = spans.filter((s) => s !== victim);
          const hi = (count + 10) * UNIT;
          assert.equal(
            list.findFree(0, hi, size * UNIT, UNIT),
            naiveFindFree(spans, 0, hi, size * UNIT, UNIT),
          );
        }
      },
    ),
    { numRuns: 200, seed: 7 },
  );
});

Deno.test("span list: 10,000 packed spans, then a gap opened deep inside is found first", () => {
  const list = new SpanList<Span>();
  const spans: Span[] = [];
  for (let i = 0; i < 10_000; i++) {
    const span = { base: i * UNIT, size: UNIT };
    spans.push(span);
    list.insert(span);
  }
  assert.equal(list.findFree(0, 20_000 * UNIT, UNIT, UNIT), 10_000 * UNIT);
  list.remove(spans[7_321]);
  assert.equal(list.findFree(0, 20_000 * UNIT, UNIT, UNIT), 7_321 * UNIT);
  assert.equal(list.findFree(0, 20_000 * UNIT, 2 * UNIT, UNIT), 10_000 * UNIT);
  list.remove(spans[7_322]);
  assert.equal(list.findFree(0, 20_000 * UNIT, 2 * UNIT, UNIT), 7_321 * UNIT);
  assert.equal(list.findFree(0, 20_000 * UNIT, 2 * UNIT, 2 * UNIT), 10_000 * UNIT);
});
