/**
 * Snapshots of a large sparse VMO, and what they cost.
 *
 * Makes a 64 GiB VMO holding 4 MiB in four places, takes `SNAPSHOT` children of it, and shows
 * with figures: what a snapshot commits and how long it takes (Linux has no copy-on-write
 * between memfds, so vmo copies the data extents, and only them: the cost follows the data, not
 * the size), that writes to a snapshot and to its parent stay apart, a snapshot of part of the
 * VMO, freeing a snapshot's pages, and what closing gives back.
 *
 * Run: `deno run --allow-ffi examples/snapshot.ts`
 *
 * @module
 */

import { statusName, Vmo, VmoChildOptions, VmoOp, ZxError } from "../mod.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SIZE = 64 * GiB;
const CHUNK = MiB;
/** Where the data is: the first and last MiB, and two in between. */
const PLACES = [0, 1 * GiB, 32 * GiB, SIZE - CHUNK];
const REPEATS = 5;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const size = (bytes: number) =>
  bytes >= GiB
    ? `${bytes / GiB} GiB`
    : bytes >= MiB
    ? `${bytes / MiB} MiB`
    : bytes >= 1024
    ? `${bytes / 1024} KiB`
    : `${bytes} B`;
const ms = (t: number) => `${t.toFixed(2)} ms`;
const where = (offset: number) => `${(offset / GiB).toFixed(offset % GiB === 0 ? 0 : 3)} GiB`;

/** A 32-byte label written at the start of a place: who wrote it and where. */
function label(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(32);
  out.set(encoder.encode(text.slice(0, 32)));
  return out;
}
function readLabel(vmo: Vmo, offset: number): string {
  return decoder.decode(vmo.readToArray(offset, 32)).replace(/\0+$/, "");
}

/** The median time of `repeats` runs of `fn` after one warm-up run, in ms. */
function medianMs(repeats: number, fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

// 1. The parent: 64 GiB of address range, 4 MiB of data.
using parent = Vmo.create(SIZE);
parent.setName("sparse-parent");
const chunk = new Uint8Array(CHUNK);
let start = performance.now();
for (const offset of PLACES) {
  chunk.fill(offset / GiB + 1);
  chunk.set(label(`parent at ${where(offset)}`));
  parent.write(chunk, offset);
}
const writeTime = performance.now() - start;
const data = PLACES.length * CHUNK;
console.log(
  `parent: ${size(SIZE)} VMO, ${size(data)} written in ${PLACES.length} places in ` +
    `${ms(writeTime)}; committed ${size(parent.info().committedBytes)}`,
);

// 2. A snapshot of all of it, timed, and what it commits.
start = performance.now();
using snapshot = parent.createChild(VmoChildOptions.SNAPSHOT, 0, SIZE);
const firstTime = performance.now() - start;
const median = medianMs(
  REPEATS,
  () => parent.createChild(VmoChildOptions.SNAPSHOT, 0, SIZE).close(),
);
console.log(
  `snapshot of all ${size(SIZE)}: ${ms(firstTime)} (median of ${REPEATS} more: ${ms(median)}, ` +
    `${(data / MiB / (median / 1000)).toFixed(0)} MiB/s of data); ` +
    `committed ${size(snapshot.info().committedBytes)}`,
);
console.log(
  `  (Zircon shares the pages copy-on-write and commits 0 until a write; Linux has no\n` +
    `  copy-on-write between memfds, so vmo copies the ${
      size(data)
    } that hold data, not the holes)`,
);

// 3. Writes stay on their side.
snapshot.write(label("snapshot wrote here"), 0);
parent.write(label("parent wrote later"), 32 * GiB);
console.log(
  `after a write to each: parent at 0 GiB reads "${readLabel(parent, 0)}", ` +
    `snapshot at 0 GiB reads "${readLabel(snapshot, 0)}"`,
);
console.log(
  `  parent at 32 GiB reads "${readLabel(parent, 32 * GiB)}", ` +
    `snapshot at 32 GiB reads "${readLabel(snapshot, 32 * GiB)}"`,
);
const hole = parent.readToArray(16 * GiB, 4096);
console.log(
  `  a hole (16 GiB) reads ${hole.every((b) => b === 0) ? "zeros" : "DATA"} in both; ` +
    `committed: parent ${size(parent.info().committedBytes)}, ` +
    `snapshot ${size(snapshot.info().committedBytes)}`,
);

// 4. A snapshot of 1 GiB in the middle copies only the data in that range.
start = performance.now();
using part = parent.createChild(VmoChildOptions.SNAPSHOT, 32 * GiB, GiB);
const partTime = performance.now() - start;
console.log(
  `snapshot of 1 GiB at 32 GiB: ${ms(partTime)}, committed ${size(part.info().committedBytes)}, ` +
    `reads "${readLabel(part, 0)}" at its offset 0`,
);

// 5. Zircon refuses DECOMMIT on a snapshot; ZERO frees its pages there and nowhere else.
let refusal = "succeeded";
try {
  snapshot.opRange(VmoOp.DECOMMIT, 0, SIZE);
} catch (error) {
  refusal = error instanceof ZxError ? statusName(error.status) : String(error);
}
start = performance.now();
snapshot.opRange(VmoOp.ZERO, 0, SIZE);
console.log(
  `DECOMMIT of the snapshot: ${refusal}; ZERO of all of it: ${ms(performance.now() - start)}, ` +
    `snapshot committed ${size(snapshot.info().committedBytes)}, reads ` +
    `"${readLabel(snapshot, 0)}" at 0`,
);
console.log(
  `  parent still committed ${size(parent.info().committedBytes)}, reads ` +
    `"${readLabel(parent, 0)}" at 0`,
);

// 6. Closing the children gives their memory back; the parent keeps its own.
const children = parent.info().numChildren;
snapshot.close();
part.close();
console.log(
  `closed the ${children} snapshots: parent has ${parent.info().numChildren} children and ` +
    `${size(parent.info().committedBytes)} committed`,
);
