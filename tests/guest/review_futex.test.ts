/**
 * Futexes on guest memory (the futex functions take any vmo buffer object, the host and guest
 * memories and `VolatileSlice` included: docs/guest.md "Futexes"), through the protocol of
 * src/mapping/memory_range.ts: a ping-pong between two processes where each side waits and
 * wakes through its own guest object, the statuses of objects that are not memory, closed or
 * raw, and a wait on guest memory closed under it.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ExclusiveSharedMemory,
  futexWait,
  futexWake,
  GuestMemoryMmap,
  MapFlags,
  Mapping,
  type MemoryRangeSource,
  MmapRegion,
  Prot,
  Status,
  Vmo,
  ZxError,
} from "../../mod.ts";
import { assertStatus, spawnDenoChild } from "../_support/mod.ts";
import { SLICE_AT } from "./review_futex_child.ts";

const ROUNDS = 200;

async function rejectsWith(promise: Promise<unknown>, status: Status): Promise<void> {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ZxError, String(e));
    assert.equal(e.status, status, e.message);
    return true;
  });
}

/** Plays the odd values against a child of `mode`, waiting and waking through `target`. */
async function pingPong(
  mode: string,
  vmo: Vmo,
  target: MemoryRangeSource,
  read: () => number,
  write: (v: number) => void,
): Promise<void> {
  const { child, channel } = spawnDenoChild(
    new URL("./review_futex_child.ts", import.meta.url),
    [mode, String(ROUNDS)],
  );
  channel.write(new Uint8Array(0), [vmo]);
  for (let i = 0; i < ROUNDS; i++) {
    write(2 * i + 1);
    futexWake(target, 0, 1);
    // No timeout: a lost wake-up hangs, and the test fails by its runner's timer.
    while (read() === 2 * i + 1) {
      await futexWait(target, 0, 2 * i + 1).catch((e) => {
        if (!(e instanceof ZxError) || e.status !== Status.BAD_STATE) throw e;
      });
    }
    assert.equal(read(), 2 * i + 2);
  }
  // A child that ended early says why on its stderr: read it before failing on the channel.
  const done = await channel.read().then((m) => new TextDecoder().decode(m.bytes), String);
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(done, "done", `child exit ${out.code} signal ${out.signal}: ${stderr}`);
  assert.equal(out.code, 0, stderr);
  channel.close();
}

Deno.test("futex on guest memory: HostSharedMemory here, GuestSharedMemory in another process", async () => {
  const [host, guest] = ExclusiveSharedMemory.create(4096).build();
  await pingPong("hyperlight", guest.vmo(), host, () => {
    host.acquireWrites();
    return host.readU32(0);
  }, (v) => {
    host.writeU32(0, v);
    host.releaseWrites();
  });
  host.close();
  guest.close();
});

Deno.test("futex on guest memory: a VolatileSlice on both sides of two processes", async () => {
  using mem = GuestMemoryMmap.fromRanges([[0x10000, 4096]]);
  const [shared] = await mem.sharing()!.getRegions();
  const slice = mem.getSlice(0x10000 + SLICE_AT, 64);
  await pingPong("slice", shared.vmo, slice, () => {
    slice.acquireWrites();
    return slice.readU32(0);
  }, (v) => {
    slice.writeU32(0, v);
    slice.releaseWrites();
  });
});

Deno.test("futex on guest memory: what is not memory, closed, raw or misaligned", async () => {
  using vmo = Vmo.create(4096);
  assertStatus(() => futexWake(vmo as never, 0, 1), Status.WRONG_TYPE, "a Vmo handle");
  await rejectsWith(futexWait(vmo as never, 0, 0, 0), Status.WRONG_TYPE);
  for (const bad of [{}, 123, null, new Uint8Array(4), { [Symbol("x")]: () => 1 }]) {
    assertStatus(() => futexWake(bad as never, 0, 1), Status.INVALID_ARGS, String(bad));
    await rejectsWith(futexWait(bad as never, 0, 0, 0), Status.INVALID_ARGS);
  }
  const [host, guest] = ExclusiveSharedMemory.create(4096).build();
  assertStatus(() => futexWake(host, 2, 1), Status.INVALID_ARGS, "misaligned");
  assertStatus(() => futexWake(host, 4096, 1), Status.OUT_OF_RANGE, "past the end");
  host.close();
  assertStatus(() => futexWake(host, 0, 1), Status.BAD_STATE, "a closed host");
  assert.equal(futexWake(guest, 0, 1), 0, "the guest side still maps it");
  guest.close();
  assertStatus(() => futexWake(guest, 0, 1), Status.BAD_STATE, "a closed guest");
  const ex = ExclusiveSharedMemory.create(4096);
  assert.equal(futexWake(ex, 0, 1), 0);
  ex.close();
  assertStatus(() => futexWake(ex, 0, 1), Status.BAD_STATE, "a closed exclusive memory");
  const region = MmapRegion.create(4096);
  assert.equal(futexWake(region, 8, 1), 0);
  const slice = region.getSlice(8, 8);
  region.close();
  assertStatus(() => futexWake(region, 8, 1), Status.BAD_STATE, "a closed region");
  assertStatus(() => futexWake(slice, 0, 1), Status.BAD_STATE, "a slice of a closed region");
  const [mapping, mvmo] = Mapping.allocate(4096);
  using raw = MmapRegion.unsafeBuildRaw(
    mapping.addr,
    4096,
    Prot.READ | Prot.WRITE,
    MapFlags.SHARED,
  );
  assertStatus(() => futexWake(raw, 0, 1), Status.NOT_SUPPORTED, "raw memory");
  assertStatus(() => futexWake(raw.asVolatileSlice(), 0, 1), Status.NOT_SUPPORTED);
  mapping.close();
  mvmo.close();
});

Deno.test("futex on guest memory: a wait ends with BAD_STATE when both sides close under it", async () => {
  const [host, guest] = ExclusiveSharedMemory.create(4096).build();
  const waiting = futexWait(guest, 0, 0);
  await new Promise((r) => setTimeout(r, 30)); // let it reach the kernel
  host.close();
  guest.close();
  await rejectsWith(waiting, Status.BAD_STATE);
});
