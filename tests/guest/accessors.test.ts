/**
 * The guest-memory targets of tools/gen_accessors.ts: the extra rows (`I8`, `I16`, `I64`, for
 * `HostSharedMemory` only) keep the generator's rule that the fast value test accepts exactly
 * what the slow check accepts, and every generated writer of every target behaves the same on
 * its fast path (a live cached view) and its slow path (none yet, or a region in another
 * shape): same values stored, same statuses, the same pages marked dirty.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { EXTRA_ACCESSORS, valueCheck, valueGuard } from "../../tools/gen_accessors.ts";
import { checkInt, checkNumber, checkU64Big } from "../../src/mapping/buffer_state.ts";
import { checkI64Big } from "../../src/guest/accessor_state.ts";
import {
  ExclusiveSharedMemory,
  FileOffset,
  GuestMemoryMmap,
  MmapRegion,
  PAGE_SIZE,
  Status,
  ZxError,
} from "../../mod.ts";
import { assertStatus, tempFile } from "../_support/mod.ts";

const EDGES: unknown[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  NaN,
  Infinity,
  2 ** 53,
  0n,
  1n,
  -1n,
  2n ** 63n - 1n,
  2n ** 63n,
  -(2n ** 63n),
  -(2n ** 63n) - 1n,
  2n ** 64n - 1n,
  "1",
  null,
  undefined,
  {},
  ...[7, 8, 15, 16].flatMap((bits) => [2 ** bits - 1, 2 ** bits, -(2 ** bits), -(2 ** bits) - 1]),
];

Deno.test("gen_accessors guest rows: the fast value test accepts exactly what the slow check accepts", async (t) => {
  // Every target uses the one guard: the shared rows are checked in tests/tools/, the rows only
  // the guest targets use are checked here.
  const cases = EXTRA_ACCESSORS.map((row) => [row, valueGuard, "guard"] as const);
  for (const [row, guardOf, which] of cases) {
    await t.step(`${row.name} (${which})`, () => {
      const guard = new Function("value", `return ${guardOf(row, "value")};`) as (
        v: unknown,
      ) => boolean;
      const check = new Function(
        "checkInt",
        "checkNumber",
        "checkU64Big",
        "checkI64Big",
        "value",
        `return ${valueCheck(row, "value")};`,
      );
      const accepts = (value: unknown): boolean => {
        try {
          assert.equal(check(checkInt, checkNumber, checkU64Big, checkI64Big, value), value);
          return true;
        } catch (error) {
          if (!(error instanceof ZxError)) throw error;
          assert.equal(error.status, Status.INVALID_ARGS);
          return false;
        }
      };
      const agree = (value: unknown) =>
        assert.equal(guard(value), accepts(value), Deno.inspect(value));
      for (const value of EDGES) agree(value);
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: -(2 ** 17), max: 2 ** 17 }),
            fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }),
            fc.anything(),
          ),
          agree,
        ),
        { numRuns: 1000 },
      );
    });
  }
});

Deno.test("generated host accessors: fast and slow paths agree", () => {
  const [host, guest] = ExclusiveSharedMemory.create(PAGE_SIZE).build();
  const other = host.clone();
  // `other` takes the slow path while `host` holds nothing: both see the same bytes.
  host.writeI8(0, -2);
  host.writeI16(2, -300);
  host.writeI64(8, -(2n ** 62n));
  assert.deepEqual([other.readI8(0), other.readI16(2), other.readI64(8)], [-2, -300, -(2n ** 62n)]);
  for (
    const [write, bad] of [[(v: unknown) => host.writeI8(0, v as number), 128], [
      (v: unknown) => host.writeI16(0, v as number),
      -32769,
    ], [(v: unknown) => host.writeI64(0, v as bigint), 2n ** 63n]] as const
  ) {
    assertStatus(() => write(bad), Status.INVALID_ARGS);
  }
  // While held, the fast path is closed: SHOULD_WAIT, not a read.
  host.withExclusivity(() => assertStatus(() => other.readI64(8), Status.SHOULD_WAIT));
  other.close();
  host.close();
  guest.close();
});

Deno.test("generated slice and guest accessors: a file region (no view) behaves as a memfd one", () => {
  const path = tempFile("");
  Deno.truncateSync(path, 2 * PAGE_SIZE);
  using file = Deno.openSync(path, { read: true, write: true });
  using mem = GuestMemoryMmap.fromRangesWithFiles([
    [0, PAGE_SIZE, new FileOffset(file, 0)],
    [PAGE_SIZE, PAGE_SIZE, null],
  ], { dirtyTracking: true });
  for (const addr of [8, PAGE_SIZE + 8, PAGE_SIZE - 4]) {
    mem.writeU64(addr, 0x0102030405060708n);
    assert.equal(mem.readU64(addr), 0x0102030405060708n);
    mem.writeF64(addr, -1.5);
    assert.equal(mem.readF64(addr), -1.5);
    assertStatus(() => mem.writeU32(addr, -1), Status.INVALID_ARGS);
  }
  assert.deepEqual(mem.dirtyPages(), [[0, 2]]);
  assert.equal(new DataView(Deno.readFileSync(path).buffer).getFloat64(8, true), -1.5);
  using region = MmapRegion.create(PAGE_SIZE, { dirtyTracking: true });
  const slice = region.getSlice(100, 16);
  slice.writeU16(14, 0xffff);
  assertStatus(() => slice.writeU16(15, 1), Status.OUT_OF_RANGE);
  assertStatus(() => slice.writeU8(0, 256), Status.INVALID_ARGS);
  assert.equal(region.asVolatileSlice().readU16(114), 0xffff);
  assert.deepEqual(region.bitmap()!.dirtyPages(), [0]);
  Deno.removeSync(path);
});
