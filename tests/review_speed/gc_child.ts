/**
 * Child for gc.test.ts (run with --expose-gc): issue 9 holds a `Mapping`'s window lease
 * strongly and dropped MAP_RANGE from `Mapping.allocate`; the garbage-collection backstop must
 * still unmap a dropped `Mapping`, must not unmap one whose view is still alive, and must not
 * unmap memory mapped at the same address after someone else unmapped the dropped one's.
 * The last stdout line is a JSON report.
 */

import { Mapping, PAGE_SIZE as P, Vmar, VmarFlags, Vmo } from "../../mod.ts";
import { countMemfdMappings, mapsOverlapping, memfdMappedAt } from "../_support/proc.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

async function collect(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Allocates and drops `n` mappings (each written and viewed once); returns nothing. */
function churn(n: number): void {
  for (let i = 0; i < n; i++) {
    const [m, v] = Mapping.allocate(16 * P);
    m.writeAt(0, new Uint8Array([i & 0xff]));
    m.bytes()[P] = 1;
    v.close();
  }
}

/** A dropped mapping whose view is kept: the view's address. */
function keptView(): Uint8Array {
  const [m, v] = Mapping.allocate(4 * P);
  v.close();
  const view = m.bytes();
  view[0] = 42;
  return view;
}

/** A dropped mapping unmapped by someone else, its address mapped again with another VMO. */
function remapped(other: Vmo): number {
  const [m, v] = Mapping.allocate(P);
  v.close();
  const addr = Number(Deno.UnsafePointer.value(m.asPtrLen()[0]));
  const root = Vmar.root();
  root.unmap(addr, P);
  root.map(
    addr - root.info().base,
    other,
    0,
    P,
    VmarFlags.PERM_READ | VmarFlags.PERM_WRITE | VmarFlags.SPECIFIC,
  );
  return addr;
}

await collect();
const before = countMemfdMappings();
churn(400);
const afterChurn = countMemfdMappings();
await collect();
const afterGc = countMemfdMappings();

let view: Uint8Array | null = keptView();
const viewAddr = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
await collect();
const keptAlive = view[0] === 42 && mapsOverlapping(viewAddr, P).length > 0;
view = null;
await collect();
const viewGone = !memfdMappedAt(viewAddr, P);

const other = Vmo.create(P);
const addr = remapped(other);
await collect();
const otherStillMapped = mapsOverlapping(addr, P).some((m) => m.perms.startsWith("rw"));
Vmar.root().unmap(addr, P);
other.close();

console.log(JSON.stringify({ before, afterChurn, afterGc, keptAlive, viewGone, otherStillMapped }));
