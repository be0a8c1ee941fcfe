import assert from "node:assert/strict";
import {
  CachePolicy,
  ObjType,
  PAGE_SIZE,
  Vmo,
  VmoChildOptions,
  VmoInfoFlags,
  VmoOp,
  VmoOptions,
} from "../../mod.ts";

/** One exported constant object and Zircon's value of each of its members. */
interface ZirconValues {
  name: string;
  actual: Readonly<Record<string, number>>;
  expected: Record<string, number>;
}

/** `expected` typed against `actual`'s own keys, so that a misspelt member does not compile. */
function zircon<T extends Readonly<Record<string, number>>>(
  name: string,
  actual: T,
  expected: Partial<Record<keyof T, number>>,
): ZirconValues {
  return { name, actual, expected: expected as Record<string, number> };
}

const ZIRCON_VALUES: ZirconValues[] = [
  zircon("VmoOptions", VmoOptions, { RESIZABLE: 1 << 1, DISCARDABLE: 1 << 2, UNBOUNDED: 1 << 4 }),
  zircon("VmoChildOptions", VmoChildOptions, {
    SNAPSHOT: 1 << 0,
    RESIZABLE: 1 << 2,
    SLICE: 1 << 3,
    SNAPSHOT_AT_LEAST_ON_WRITE: 1 << 4,
    NO_WRITE: 1 << 5,
    REFERENCE: 1 << 6,
    SNAPSHOT_MODIFIED: 1 << 7,
  }),
  zircon("VmoOp", VmoOp, {
    COMMIT: 1,
    DECOMMIT: 2,
    LOCK: 3,
    UNLOCK: 4,
    CACHE_SYNC: 6,
    CACHE_INVALIDATE: 7,
    CACHE_CLEAN: 8,
    CACHE_CLEAN_INVALIDATE: 9,
    ZERO: 10,
    TRY_LOCK: 11,
    DONT_NEED: 12,
    ALWAYS_NEED: 13,
    PREFETCH: 14,
  }),
  zircon("CachePolicy", CachePolicy, {
    CACHED: 0,
    UNCACHED: 1,
    UNCACHED_DEVICE: 2,
    WRITE_COMBINING: 3,
  }),
  zircon("VmoInfoFlags", VmoInfoFlags, {
    TYPE_PAGED: 1 << 0,
    RESIZABLE: 1 << 1,
    IS_COW_CLONE: 1 << 2,
    VIA_HANDLE: 1 << 3,
    VIA_MAPPING: 1 << 4,
    PAGER_BACKED: 1 << 5,
    CONTIGUOUS: 1 << 6,
    DISCARDABLE: 1 << 7,
    IMMUTABLE: 1 << 8,
  }),
  zircon("ObjType", ObjType, { VMO: 3, VMAR: 18 }),
];

Deno.test("§0 VMO constants have Zircon's values", async (t) => {
  for (const { name, actual, expected } of ZIRCON_VALUES) {
    await t.step(name, () => {
      for (const [member, value] of Object.entries(expected)) {
        assert.equal(actual[member], value, `${name}.${member}`);
      }
    });
  }
});

Deno.test("PAGE_SIZE is the system's page size and Vmo.MAX_SIZE is 2^53 less a page", () => {
  assert.ok(Number.isInteger(PAGE_SIZE) && PAGE_SIZE >= 4096);
  assert.equal(PAGE_SIZE & (PAGE_SIZE - 1), 0, "a power of two");
  assert.equal(Vmo.MAX_SIZE, 2 ** 53 - PAGE_SIZE);
  assert.equal(Vmo.MAX_SIZE % PAGE_SIZE, 0);
});
