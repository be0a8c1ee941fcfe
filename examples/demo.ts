/**
 * A tour of `Vmo`: create, write, slice, snapshot, resize, decommit, and what `info()` says.
 *
 * Run: `deno task demo` (or `deno run --allow-ffi --allow-read examples/demo.ts`).
 *
 * @module
 */

import {
  PAGE_SIZE,
  Rights,
  statusName,
  Vmo,
  VmoChildOptions,
  VmoOp,
  VmoOptions,
  ZxError,
} from "../mod.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const kib = (n: number) => `${n / 1024} KiB`;

console.log(`page size: ${PAGE_SIZE} bytes`);

using vmo = Vmo.create(4 * PAGE_SIZE);
vmo.setName("demo");
vmo.write(text.encode("hello from page 0"), 0);
vmo.write(text.encode("and from page 2"), 2 * PAGE_SIZE);
let info = vmo.info();
console.log(
  `created VMO koid ${info.koid} "${info.name}": ${kib(info.sizeBytes)}, ` +
    `${kib(info.committedBytes)} committed after two small writes`,
);

using slice = vmo.createChild(VmoChildOptions.SLICE, 2 * PAGE_SIZE, PAGE_SIZE);
console.log(`slice of page 2 reads "${decode(slice.readToArray(0, 15))}"`);
slice.write(text.encode("AND"), 0);
console.log(
  `a write through the slice shows in the parent: "${decode(vmo.readToArray(2 * PAGE_SIZE, 15))}"`,
);

using snapshot = vmo.createChild(VmoChildOptions.SNAPSHOT, 0, 4 * PAGE_SIZE);
vmo.write(text.encode("HELLO"), 0);
console.log(
  `after the parent wrote "HELLO", the snapshot still reads "${
    decode(snapshot.readToArray(0, 5))
  }", ` +
    `the parent "${decode(vmo.readToArray(0, 5))}"`,
);
info = vmo.info();
console.log(
  `parent has ${info.numChildren} children; snapshot's parent koid is ${snapshot.info().parentKoid}`,
);

using readOnly = vmo.duplicate(Rights.BASIC | Rights.READ);
try {
  readOnly.write(text.encode("no"), 0);
} catch (e) {
  if (!(e instanceof ZxError)) throw e;
  console.log(`writing through a read-only handle: ${statusName(e.status)}`);
}

try {
  vmo.opRange(VmoOp.DECOMMIT, 0, PAGE_SIZE);
} catch (e) {
  if (!(e instanceof ZxError)) throw e;
  console.log(`DECOMMIT while a snapshot lives: ${statusName(e.status)}, as in Zircon`);
}
snapshot.close();
vmo.opRange(VmoOp.DECOMMIT, 0, PAGE_SIZE);
console.log(
  `after closing the snapshot, DECOMMIT of page 0: it reads ${
    JSON.stringify(decode(vmo.readToArray(0, 5)))
  }, ` +
    `${kib(vmo.info().committedBytes)} committed`,
);

using growable = Vmo.create(PAGE_SIZE, VmoOptions.RESIZABLE);
growable.write(text.encode("tail"), PAGE_SIZE - 4);
growable.setSize(PAGE_SIZE - 4);
growable.setSize(2 * PAGE_SIZE);
console.log(
  `shrink then grow a resizable VMO: the old tail reads ${
    JSON.stringify(decode(growable.readToArray(PAGE_SIZE - 4, 4)))
  }, ` +
    `size ${kib(growable.getSize())}`,
);

const GiB = 1024 ** 3;
using sparse = Vmo.create(64 * GiB);
sparse.write(new Uint8Array(16 << 20).fill(0xab), 32 * GiB);
const start = performance.now();
using sparseCopy = sparse.createChild(VmoChildOptions.SNAPSHOT, 0, 64 * GiB);
const ms = performance.now() - start;
console.log(
  `snapshot of a 64 GiB VMO holding 16 MiB: ${ms.toFixed(1)} ms, ` +
    `${sparseCopy.info().committedBytes / 2 ** 20} MiB copied`,
);
