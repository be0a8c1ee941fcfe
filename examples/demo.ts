/**
 * A tour of vmo: VMOs (create, write, slice, snapshot, resize, decommit, info), address regions
 * (allocate, map, protect, the region tree) and views that are detached before their memory goes.
 *
 * Run: `deno run --allow-ffi examples/demo.ts` (the demo proper, `deno task demo`, is
 * examples/host.ts).
 *
 * @module
 */

import {
  formatMaps,
  Mapping,
  PAGE_SIZE,
  Rights,
  SharedBuffer,
  statusName,
  Vmar,
  VmarFlags,
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

// ---- Address regions: reserve, map, protect, look at the tree ----

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const [region, regionBase] = Vmar.root().allocate(
  0,
  1 << 20,
  VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
);
console.log(`\nreserved a 1 MiB region at 0x${regionBase.toString(16)}`);
using frames = Vmo.create(4 * PAGE_SIZE);
frames.setName("frames");
const framesAddr = region.map(0, frames, 0, 4 * PAGE_SIZE, RW);
region.protect(framesAddr + PAGE_SIZE, PAGE_SIZE, VmarFlags.PERM_READ);
region.writeMemory(framesAddr, text.encode("mapped"));
console.log(`mapped 4 pages, made page 1 read-only; the region now holds:`);
console.log(formatMaps(region.infoMaps()));
try {
  region.writeMemory(framesAddr + PAGE_SIZE, text.encode("x"));
} catch (e) {
  if (!(e instanceof ZxError)) throw e;
  console.log(`writing to the read-only page: ${statusName(e.status)} (checked, never a fault)`);
}

// ---- Views that cannot outlive their memory ----

const buffer = SharedBuffer.fromRange(region, framesAddr, 4 * PAGE_SIZE);
const firstPage = buffer.sliceMut(0, PAGE_SIZE).bytes();
console.log(
  `a zero-copy view of page 0 reads "${
    decode(firstPage.subarray(0, 6))
  }" (${firstPage.length} bytes)`,
);
region.unmap(framesAddr, 4 * PAGE_SIZE);
console.log(
  `after unmap the view has length ${firstPage.length}; writing through it is ignored: ` +
    `${(firstPage[0] = 1, firstPage[0])}`,
);
try {
  buffer.readU8(0);
} catch (e) {
  if (!(e instanceof ZxError)) throw e;
  console.log(`the buffer itself now says ${statusName(e.status)}`);
}
region.destroy();

using mapping = Mapping.allocateWithName(PAGE_SIZE, "counters")[0];
const counters = mapping.int32View(0, 4);
Atomics.add(counters, 0, 41);
Atomics.add(counters, 0, 1);
console.log(`Mapping with an Atomics view: counter = ${mapping.readI32(0)}`);
