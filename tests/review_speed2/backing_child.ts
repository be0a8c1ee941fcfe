/**
 * Child of backing.test.ts: received VMOs against the backing table's identity keys (numeric
 * `dev * 2^32 + ino`, pruned unidentified list, emptied entries swept in bulk). A received VMO
 * must share its backing with a live VMO (a resize through one is seen through the other)
 * exactly when it is the same file. Prints a JSON report as its last line.
 */

import { Channel, PAGE_SIZE as P, Vmo, VmoOptions } from "../../mod.ts";

const RES = VmoOptions.RESIZABLE;

const report: Record<string, unknown> = {};
const [a, b] = Channel.createPair();

function passThrough(vmo: Vmo): Vmo {
  a.write(new Uint8Array([1]), [vmo]);
  return b.tryRead().handles[0] as Vmo;
}

let seed = 7;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) % n;
}

const shmPath = `/dev/shm/vmo-rs2-${Deno.pid}`;
Deno.writeFileSync(shmPath, new Uint8Array(P));
const tmpPath = Deno.makeTempFileSync({ prefix: "vmo-rs2-b-" });
Deno.writeFileSync(tmpPath, new Uint8Array(P));

const live: Vmo[] = [];
const keep = Vmo.create(P, RES);
const shm = Vmo.fromFile(shmPath, { writable: true });
const tmp = Vmo.fromFile(tmpPath, { writable: true });
let mismatches = 0;
let falseShares = 0;
const koids = new Set<number>();
for (let i = 0; i < 3000; i++) {
  // Churn: VMOs made and closed around the received ones (the unidentified list and sweeps).
  for (let k = rnd(4); k > 0; k--) live.push(Vmo.create(P, RES));
  for (let k = rnd(4); k > 0 && live.length > 0; k--) live.splice(rnd(live.length), 1)[0].close();
  const which = rnd(4);
  const original = which === 0 ? keep : which === 1 ? shm : which === 2 ? tmp : live.at(-1);
  if (original === undefined) continue;
  const received = passThrough(original.duplicate());
  // A new VMO (another file) must never come back sharing an existing one's backing.
  const fresh = Vmo.create(P, RES);
  const back = passThrough(fresh.duplicate());
  // Files are not resizable VMOs: their bytes tell (below).
  const file = which === 1 || which === 2;
  if (!file) original.setSize(3 * P);
  const big = file ? P : 3 * P;
  if (received.getSize() !== big) mismatches++;
  if (back.getSize() !== P) falseShares++;
  fresh.setSize(2 * P);
  if (back.getSize() !== 2 * P) mismatches++;
  if (received.getSize() !== big) falseShares++;
  if (!file) original.setSize(P);
  koids.add(back.koid);
  // Bytes written through one are read through the other.
  received.write(new Uint8Array([i & 0xff]), 0);
  if (original.readToArray(0, 1)[0] !== (i & 0xff)) mismatches++;
  received.close();
  back.close();
  if (rnd(2) === 0) fresh.close();
  else live.push(fresh);
}
// Close and receive again: the original gone, a duplicate in flight arrives as a live VMO.
const gone = Vmo.create(P, RES);
gone.write(new Uint8Array([42]), 0);
a.write(new Uint8Array([1]), [gone.duplicate()]);
const goneKoid = gone.koid;
gone.close();
const again = b.tryRead().handles[0] as Vmo;
report.againByte = again.readToArray(0, 1)[0];
report.againNewObject = again.koid !== goneKoid;
again.close();
report.mismatches = mismatches;
report.falseShares = falseShares;
report.distinctFresh = koids.size;
for (const v of live) v.close();
keep.close();
shm.close();
tmp.close();
Deno.removeSync(shmPath);
Deno.removeSync(tmpPath);
console.log(JSON.stringify(report));
