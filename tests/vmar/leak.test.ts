/**
 * Leak tests (docs/semantics.md §7). After 10,000 allocate / map / protect / unmap / destroy
 * cycles the fds in `/proc/self/fd`, the memfd lines and the reservations in
 * `/proc/self/maps`, and the root's tree are back where they were.
 */

import assert from "node:assert/strict";
import { Vmar, Vmo } from "../../mod.ts";
import { countFds, P, type ProcMap, procMaps } from "../_support/mod.ts";
import { CAN_RWS, R, RW, SPECIFIC } from "./helpers.ts";

const CYCLES = 10_000;

interface Snapshot {
  fds: number;
  /**
   * Lines of `/proc/self/maps` other than anonymous read-write memory. The JS engine maps
   * heap pages (`rw-p`, anonymous) as it pleases while the loop runs; everything vmo makes
   * (`---p` reservations, `rw-s`/`r--s` memfd mappings) is counted.
   */
  lines: number;
  memfdLines: number;
  /** Bytes of anonymous PROT_NONE memory: what reservations look like. */
  reservedBytes: number;
  rootRecords: number;
}

function isHeap(m: ProcMap): boolean {
  return m.perms === "rw-p" && (m.path === "" || m.path === "[heap]");
}

function snapshot(): Snapshot {
  const maps = procMaps();
  let reservedBytes = 0;
  let memfdLines = 0;
  let lines = 0;
  for (const m of maps) {
    if (!isHeap(m)) lines++;
    if (m.perms === "---p" && m.path === "") reservedBytes += m.end - m.start;
    if (m.path.startsWith("/memfd:")) memfdLines++;
  }
  return {
    fds: countFds(),
    lines,
    memfdLines,
    reservedBytes,
    rootRecords: Vmar.root().infoMaps().length,
  };
}

/** The lines of `/proc/self/maps` that overlap `[start, end)`, heap pages left out. */
function ownLinesIn(start: number, end: number): ProcMap[] {
  return procMaps().filter((m) => m.start < end && m.end > start && !isHeap(m));
}

const root = Vmar.root();
const one = new Uint8Array([1]);

/** Every address range a cycle reserved. */
const used = new Map<number, number>();

/** One cycle: a top-level region with a nested region and mappings, all taken apart again. */
function cycle(i: number): void {
  const [vmar, base] = root.allocate(0, 16 * P, CAN_RWS);
  used.set(base, base + 16 * P);
  const vmo = Vmo.create(4 * P);
  const addr = vmar.map(0, vmo, 0, 4 * P, RW);
  vmar.writeMemory(addr + (i % 4) * P, one);
  const [sub, subBase] = vmar.allocate(8 * P, 4 * P, CAN_RWS | SPECIFIC);
  sub.map(0, vmo, P, P, R);
  vmar.protect(addr + P, P, R);
  vmar.unmap(addr + P, P); // splits the mapping in two
  if (i % 2 === 0) vmar.unmap(subBase, 4 * P); // destroys the sub-VMAR
  const direct = root.map(0, vmo, 0, P, R);
  used.set(direct, direct + P);
  root.unmap(direct, P);
  vmo.close();
  vmar.destroy(); // the rest: mappings and the sub-VMAR if still there
  sub.close();
  vmar.close();
}

Deno.test("leak: fds and /proc/self/maps return to their count after 10,000 cycles", () => {
  for (let i = 0; i < 200; i++) cycle(i); // warm up caches and the JIT
  const before = snapshot();
  const started = performance.now();
  for (let i = 0; i < CYCLES; i++) cycle(i);
  const elapsed = performance.now() - started;
  const after = snapshot();
  assert.equal(after.fds, before.fds, "fds");
  assert.equal(after.memfdLines, before.memfdLines, "memfd lines in /proc/self/maps");
  assert.equal(after.rootRecords, before.rootRecords, "records in the root's infoMaps");
  assert.equal(after.lines, before.lines, "lines of /proc/self/maps (heap pages left out)");
  // Adjacent leaked reservations would merge into one line: count their bytes too. (The C
  // library's arenas may hand out some of their PROT_NONE tails meanwhile: that only shrinks.)
  assert.ok(
    after.reservedBytes <= before.reservedBytes,
    `reserved bytes grew by ${after.reservedBytes - before.reservedBytes}`,
  );
  // Nothing of ours is left at any address a cycle used.
  for (const [start, end] of used) {
    assert.deepEqual(ownLinesIn(start, end), [], `0x${start.toString(16)} still mapped`);
  }
  assert.ok(elapsed < 30_000, `10,000 cycles took ${Math.round(elapsed)} ms`);
});

Deno.test("leak: closing VMO handles while mapped releases the memfd once unmapped", () => {
  const before = snapshot();
  for (let i = 0; i < 1000; i++) {
    const [vmar] = root.allocate(0, 4 * P, CAN_RWS);
    const vmo = Vmo.create(P);
    vmar.map(0, vmo, 0, P, RW);
    vmo.close(); // the mapping keeps the memfd
    vmar.destroy(); // now it goes
    vmar.close();
  }
  const after = snapshot();
  assert.equal(after.fds, before.fds, "fds");
  assert.equal(after.memfdLines, before.memfdLines, "memfd lines");
  assert.equal(after.lines, before.lines, "lines");
  assert.ok(after.reservedBytes <= before.reservedBytes, "reserved bytes");
  assert.equal(after.rootRecords, before.rootRecords, "root records");
});
