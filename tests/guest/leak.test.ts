/**
 * No leaks (issue 10): fds in `/proc/self/fd` and lines of `/proc/self/maps` are back where
 * they were after 10,000 create/build/close cycles of hyperlight memory, and after many
 * regions and guest memories are made and closed; hyperlight memories dropped without
 * `close()` are released by the garbage-collection backstop, never under a buffer in use.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExclusiveSharedMemory, GuestMemoryMmap, MmapRegion, PAGE_SIZE } from "../../mod.ts";
import { countFds, procMaps, runDeno } from "../_support/mod.ts";
import { resultOf } from "./helpers.ts";

/**
 * fds, and the lines of `/proc/self/maps` other than anonymous read-write memory (the JS
 * engine maps heap pages as it pleases while the loop runs, carving them out of its own
 * `PROT_NONE` reservations, so reserved bytes are not comparable; everything vmo makes is a
 * `---p` reservation line or a memfd mapping line), and the memfd lines alone. Memory that had
 * views stays quarantined (zero pages splitting a reservation) until the views are collected
 * (docs/semantics.md §7), so the count is taken after a full collection and its callbacks.
 */
async function settle(): Promise<{ fds: number; maps: number; memfdMaps: number }> {
  const collect = (globalThis as { gc?: () => void }).gc;
  assert.ok(collect, "the test task runs with --v8-flags=--expose-gc");
  for (let i = 0; i < 3; i++) {
    collect();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  let maps = 0;
  let memfdMaps = 0;
  for (const m of procMaps()) {
    if (m.perms === "rw-p" && (m.path === "" || m.path === "[heap]")) continue;
    // A runtime thread's stack guard: the runtime starts and ends threads as it likes. A guest
    // memory's own one-page guards sit beside its memfd mapping, counted below.
    if (m.perms === "---p" && m.path === "" && m.end - m.start === PAGE_SIZE) continue;
    maps++;
    if (m.path.startsWith("/memfd:")) memfdMaps++;
  }
  return { fds: countFds(), maps, memfdMaps };
}

Deno.test("leaks: 10,000 create/build/close cycles give back every fd and mapping", async () => {
  // Warm-up: the first cycles load code and may map what stays (V8 code space, say).
  for (let i = 0; i < 50; i++) {
    const [h, g] = ExclusiveSharedMemory.create(PAGE_SIZE).build();
    h.close();
    g.close();
  }
  const before = await settle();
  for (let i = 0; i < 10_000; i++) {
    const ex = ExclusiveSharedMemory.create(PAGE_SIZE * (1 + (i & 3)));
    if (i % 3 === 0) {
      ex.asMutSlice()[0] = 1;
      ex.close();
      continue;
    }
    const [h, g] = ex.build();
    h.writeU32(0, i);
    if (i % 5 === 0) h.withExclusivity((e) => e.asSlice()[0]);
    g.close();
    h.close();
  }
  const after = await settle();
  assert.equal(after.fds, before.fds, "fds");
  assert.equal(after.memfdMaps, before.memfdMaps, "memfd mappings");
  // V8 may give code and heap pages back meanwhile: a leak shows as more lines, never fewer.
  assert.ok(after.maps <= before.maps, `/proc/self/maps lines: ${before.maps} -> ${after.maps}`);
});

Deno.test("leaks: regions and guest memories", async () => {
  const cycle = async (i: number) => {
    const r = MmapRegion.create(PAGE_SIZE, { dirtyTracking: (i & 1) === 0 });
    r.asVolatileSlice().writeU8(0, 1);
    r.close();
    const gm = GuestMemoryMmap.fromRanges([[0, PAGE_SIZE], [PAGE_SIZE, 2 * PAGE_SIZE]]);
    gm.writeU64(PAGE_SIZE - 4, 1n);
    if (i % 10 === 0) {
      for (const s of await gm.sharing()!.getRegions()) s.vmo.close();
    }
    gm.close();
  };
  for (let i = 0; i < 50; i++) await cycle(i);
  const before = await settle();
  for (let i = 0; i < 2_000; i++) await cycle(i);
  const after = await settle();
  assert.equal(after.fds, before.fds, "fds");
  assert.equal(after.memfdMaps, before.memfdMaps, "memfd mappings");
  // V8 may give code and heap pages back meanwhile: a leak shows as more lines, never fewer.
  assert.ok(after.maps <= before.maps, `/proc/self/maps lines: ${before.maps} -> ${after.maps}`);
});

Deno.test("leaks: memories and regions dropped without close() are released when collected", async () => {
  const run = await runDeno(
    ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read"],
    new URL("./crash/backstop_child.ts", import.meta.url),
  );
  assert.equal(run.code, 0, run.stderr);
  const r = resultOf(run.stdout) as {
    before: { maps: number; reserved: number };
    during: { maps: number; reserved: number };
    after: { maps: number; reserved: number };
    keptValue: number;
    keptSliceValue: number;
  };
  assert.ok(r.during.maps >= r.before.maps + 120, `mapped while reachable: ${run.stdout}`);
  // Two memories stay: the one whose guest buffer and the region whose slice are still held
  // (and still work).
  assert.equal(r.after.maps, r.before.maps + 2, run.stdout);
  assert.equal(r.keptValue, 0xabcd);
  assert.equal(r.keptSliceValue, 77);
});
