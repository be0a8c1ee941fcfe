/**
 * Crash child for `tests/guest/crash.test.ts`: builds hyperlight shared memory, then, by mode,
 * touches the byte just before (`before`) or just after (`after`) the buffer through raw FFI,
 * which must kill it with SIGSEGV (the guard pages), or the first and last bytes of the buffer
 * (`inside`, must live), or asks the safe API for the same offsets (`safe`, must report a
 * status for each and live), or hands out views and closes the memory, then gives the detached
 * views to ordinary Deno and web APIs (`views`, must live).
 *
 * @module
 */

import { ExclusiveSharedMemory, MmapRegion, ZxError } from "../../../mod.ts";

const mode = Deno.args[0];
const [host, guest] = ExclusiveSharedMemory.create(3 * 4096).build();
const base = host.baseAddr();
const size = host.memSize();

function touch(addr: number): number {
  const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(BigInt(addr))!);
  return view.getUint8();
}

if (mode === "before") {
  console.log("TOUCH before");
  touch(base - 1);
} else if (mode === "after") {
  console.log("TOUCH after");
  touch(base + size);
} else if (mode === "inside") {
  host.writeU8(0, 1);
  host.writeU8(size - 1, 2);
  console.log(`RESULT ${JSON.stringify({ first: touch(base), last: touch(base + size - 1) })}`);
} else if (mode === "views") {
  // Views handed out, then the memory closed: ordinary Deno and web APIs given the detached
  // views must throw or see nothing, never touch the unmapped pages.
  const ex = ExclusiveSharedMemory.create(4096);
  const early = ex.asMutSlice();
  const [h2, g2] = ex.build();
  const guestView = g2.buffer().bytes();
  const region = MmapRegion.create(4096);
  const atomic = region.getAtomicRef(0, "i32") as Int32Array;
  const sliceView = region.getSlice(0, 64).bytes();
  h2.close();
  g2.close();
  region.close();
  const outcomes: string[] = [];
  const attempt = (what: string, fn: () => unknown) => {
    try {
      const r = fn();
      outcomes.push(`${what}:${typeof r === "number" ? r : "ok"}`);
    } catch (error) {
      outcomes.push(`${what}:${(error as Error).name}`);
    }
  };
  for (
    const [name, view] of [["early", early], ["guest", guestView], ["slice", sliceView]] as const
  ) {
    attempt(`${name}.length`, () => view.length);
    attempt(`${name}.fill`, () => view.fill(1).length);
    attempt(`${name}.decode`, () => new TextDecoder().decode(view).length);
    attempt(`${name}.random`, () => crypto.getRandomValues(view).length);
    attempt(`${name}.encodeInto`, () => new TextEncoder().encodeInto("abc", view).written);
    attempt(`${name}.set`, () => view.set([1, 2, 3]));
  }
  attempt("atomic.load", () => Atomics.load(atomic, 0));
  console.log(`RESULT ${JSON.stringify(outcomes)}`);
} else {
  const statuses: Record<string, number | string> = {};
  const probes: [string, () => unknown][] = [
    ["readU8(-1)", () => host.readU8(-1)],
    ["readU8(size)", () => host.readU8(size)],
    ["readU64(size-7)", () => host.readU64(size - 7)],
    ["copyToSlice(1, size)", () => host.copyToSlice(new Uint8Array(1), size)],
    ["copyFromSlice(2, size-1)", () => host.copyFromSlice(new Uint8Array(2), size - 1)],
    ["fill(size, 1)", () => host.fill(0, size, 1)],
    ["guest readU8(size)", () => guest.buffer().readU8(size)],
  ];
  for (const [name, probe] of probes) {
    try {
      probe();
      statuses[name] = "ok";
    } catch (error) {
      statuses[name] = error instanceof ZxError ? error.status : String(error);
    }
  }
  console.log(`RESULT ${JSON.stringify(statuses)}`);
}
host.close();
guest.close();
