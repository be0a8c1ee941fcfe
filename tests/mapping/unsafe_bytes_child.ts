/**
 * Child of unsafe_bytes.test.ts: `unsafeBytes()` over memory someone else can cut. The scenario
 * (first argument) says what takes the memory away; the child hammers the old view after it and
 * prints a JSON line. A scenario that cuts the file behind vmo's back is expected to die.
 */
import { SharedBuffer, Vmar, VmarFlags, Vmo, VmoOptions } from "../../mod.ts";

const P = 4096;
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const scenario = Deno.args[0];

function hammer(view: Uint8Array): number {
  let sum = 0;
  for (let round = 0; round < 1000; round++) {
    for (let i = 0; i < 4 * P; i += 64) {
      view[i] = round & 0xff;
      sum += view[i] ?? 0;
    }
  }
  return sum;
}

const root = Vmar.root();
if (scenario === "resizable-set-size" || scenario === "resizable-unmap") {
  using vmo = Vmo.create(4 * P, VmoOptions.RESIZABLE);
  const addr = root.map(0, vmo, 0, 4 * P, RW);
  const buffer = SharedBuffer.fromRange(root, addr, 4 * P);
  const view = buffer.unsafeBytes();
  view[5] = 7;
  const seen = vmo.readToArray(5, 1)[0];
  if (scenario === "resizable-set-size") vmo.setSize(0);
  else root.unmap(addr, 4 * P);
  const length = view.length;
  const sum = hammer(view);
  console.log(JSON.stringify({ seen, length, sum }));
} else if (scenario === "file-protect") {
  const path = Deno.makeTempFileSync();
  using vmo = Vmo.fromFile(path, { writable: true, size: 4 * P });
  const addr = root.map(0, vmo, 0, 4 * P, RW);
  const view = SharedBuffer.fromRange(root, addr, 4 * P).unsafeBytes();
  view[0] = 9;
  const seen = Deno.readFileSync(path)[0];
  root.protect(addr, 4 * P, VmarFlags.PERM_READ);
  const length = view.length;
  const sum = hammer(view);
  root.unmap(addr, 4 * P);
  Deno.removeSync(path);
  console.log(JSON.stringify({ seen, length, sum }));
} else if (scenario === "file-truncated-behind") {
  // The documented danger: nothing tells vmo the file shrank, so the view still reaches the
  // cut pages and the process dies with SIGBUS.
  const path = Deno.makeTempFileSync();
  using vmo = Vmo.fromFile(path, { writable: true, size: 4 * P });
  const addr = root.map(0, vmo, 0, 4 * P, RW);
  const view = SharedBuffer.fromRange(root, addr, 4 * P).unsafeBytes();
  Deno.truncateSync(path, 0);
  console.log("truncated");
  hammer(view);
  console.log(JSON.stringify({ survived: true }));
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
