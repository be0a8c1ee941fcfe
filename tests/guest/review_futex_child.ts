/**
 * The other side of tests/guest/review_futex.test.ts: takes a VMO over its channel and maps
 * it as guest memory (mode `hyperlight`: `GuestSharedMemory.map`; mode `slice`: an
 * `MmapRegion` over the VMO and a `VolatileSlice` of it at `SLICE_AT`), then answers each odd
 * value of the word with the next even one, waiting and waking through the guest object itself.
 * Usage: review_futex_child.ts <mode> <rounds>
 *
 * @module
 */

import {
  Channel,
  FileOffset,
  futexWait,
  futexWake,
  GuestSharedMemory,
  type MemoryRangeSource,
  MmapRegion,
  type Vmo,
  ZxError,
} from "../../mod.ts";

/** Where the slice of mode `slice` starts in the region (its word is at slice offset 0). */
export const SLICE_AT = 64;

if (import.meta.main) {
  const [mode, roundsArg] = Deno.args;
  const rounds = Number(roundsArg);
  const channel = Channel.fromEnv();
  const vmo = (await channel.read()).handles[0] as Vmo;
  let target: MemoryRangeSource;
  let read: () => number;
  let write: (v: number) => void;
  let close: () => void;
  if (mode === "hyperlight") {
    const guest = GuestSharedMemory.map(vmo);
    const word = guest.buffer().int32View(0, 1);
    target = guest;
    read = () => Atomics.load(word, 0);
    write = (v) => Atomics.store(word, 0, v);
    close = () => guest.close();
  } else {
    const region = MmapRegion.fromFile(new FileOffset(vmo, 0), vmo.getSize());
    const slice = region.getSlice(SLICE_AT, 64);
    target = slice;
    read = () => {
      slice.acquireWrites();
      return slice.readU32(0);
    };
    write = (v) => {
      slice.writeU32(0, v);
      slice.releaseWrites();
    };
    close = () => region.close();
  }
  for (let i = 0; i < rounds; i++) {
    while (read() === 2 * i) {
      await futexWait(target, 0, 2 * i).catch((e) => {
        if (!(e instanceof ZxError)) throw e;
      });
    }
    write(2 * i + 2);
    futexWake(target, 0, 1);
  }
  close();
  vmo.close();
  channel.write(new TextEncoder().encode("done"));
  channel.close();
}
