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

Deno.test("§0 VMO constants have Zircon's values", async (t) => {
  await t.step("VmoOptions", () => {
    assert.equal(VmoOptions.RESIZABLE, 1 << 1);
    assert.equal(VmoOptions.DISCARDABLE, 1 << 2);
    assert.equal(VmoOptions.UNBOUNDED, 1 << 4);
  });
  await t.step("VmoChildOptions", () => {
    assert.equal(VmoChildOptions.SNAPSHOT, 1 << 0);
    assert.equal(VmoChildOptions.RESIZABLE, 1 << 2);
    assert.equal(VmoChildOptions.SLICE, 1 << 3);
    assert.equal(VmoChildOptions.SNAPSHOT_AT_LEAST_ON_WRITE, 1 << 4);
    assert.equal(VmoChildOptions.NO_WRITE, 1 << 5);
    assert.equal(VmoChildOptions.REFERENCE, 1 << 6);
    assert.equal(VmoChildOptions.SNAPSHOT_MODIFIED, 1 << 7);
  });
  await t.step("VmoOp", () => {
    assert.deepEqual(
      [
        VmoOp.COMMIT,
        VmoOp.DECOMMIT,
        VmoOp.LOCK,
        VmoOp.UNLOCK,
        VmoOp.CACHE_SYNC,
        VmoOp.CACHE_INVALIDATE,
        VmoOp.CACHE_CLEAN,
        VmoOp.CACHE_CLEAN_INVALIDATE,
        VmoOp.ZERO,
        VmoOp.TRY_LOCK,
        VmoOp.DONT_NEED,
        VmoOp.ALWAYS_NEED,
        VmoOp.PREFETCH,
      ],
      [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    );
  });
  await t.step("CachePolicy", () => {
    assert.equal(CachePolicy.CACHED, 0);
    assert.equal(CachePolicy.UNCACHED, 1);
    assert.equal(CachePolicy.UNCACHED_DEVICE, 2);
    assert.equal(CachePolicy.WRITE_COMBINING, 3);
  });
  await t.step("VmoInfoFlags", () => {
    assert.equal(VmoInfoFlags.TYPE_PAGED, 1 << 0);
    assert.equal(VmoInfoFlags.RESIZABLE, 1 << 1);
    assert.equal(VmoInfoFlags.IS_COW_CLONE, 1 << 2);
    assert.equal(VmoInfoFlags.VIA_HANDLE, 1 << 3);
    assert.equal(VmoInfoFlags.VIA_MAPPING, 1 << 4);
    assert.equal(VmoInfoFlags.PAGER_BACKED, 1 << 5);
    assert.equal(VmoInfoFlags.CONTIGUOUS, 1 << 6);
    assert.equal(VmoInfoFlags.DISCARDABLE, 1 << 7);
    assert.equal(VmoInfoFlags.IMMUTABLE, 1 << 8);
  });
  await t.step("ObjType", () => {
    assert.equal(ObjType.VMO, 3);
    assert.equal(ObjType.VMAR, 18);
  });
});

Deno.test("PAGE_SIZE is the system's page size and Vmo.MAX_SIZE is 2^53 less a page", () => {
  assert.ok(Number.isInteger(PAGE_SIZE) && PAGE_SIZE >= 4096);
  assert.equal(PAGE_SIZE & (PAGE_SIZE - 1), 0, "a power of two");
  assert.equal(Vmo.MAX_SIZE, 2 ** 53 - PAGE_SIZE);
  assert.equal(Vmo.MAX_SIZE % PAGE_SIZE, 0);
});
