/**
 * Two-process tearing test (docs/semantics.md §7, hostile peers; rust-vmm's two-thread tearing test):
 * the parent hands a VMO's fd to a child `deno run` (`unsafeDupFd`, CLOEXEC cleared so the
 * child inherits it), the child maps it and writes a u64 alternately 0 and all-ones, and the
 * parent reads the same u64 for a bounded time and counts torn values (neither 0 nor
 * all-ones).
 *
 * Writers: `writeU64`, `writeAt` of 8 bytes, `Atomics.store` on a `bigInt64View`. Readers:
 * `readAt` of 8 bytes, `readU64`, `Atomics.load` on a `bigInt64View`. Offsets: 8-byte aligned
 * (inside one cache line) and unaligned across a cache line (no `Atomics` there: the views
 * need alignment).
 *
 * What must hold: `Atomics.store` / `Atomics.load` on an aligned `BigInt64Array` never tear;
 * every value read is made of bytes that were written (0x00 and 0xff only); each case saw the
 * writer's changes. Everything else is measured and reported (console.log), not asserted.
 */

import assert from "node:assert/strict";
import { Mapping, Vmo } from "../../mod.ts";
import {
  childJson,
  type ChildResult,
  F_SETFD,
  libc,
  P,
  type RunningChild,
  startDeno,
} from "../_support/mod.ts";
import { ONES, RW } from "./helpers.ts";

const CHILD = new URL("./fixtures/tearing_child.ts", import.meta.url);
const READ_MS = 1000;
const MAX_READ_MS = 2000;
const ALIGNED = 128;
/** Bytes 188..195: across the cache line boundary at 192. */
const UNALIGNED = 188;

type Reader = "readAt" | "readU64" | "atomics";
type Writer = "writeU64" | "writeAt" | "atomics";

interface Tally {
  reads: number;
  torn: number;
  transitions: number;
  seenZero: boolean;
  seenOnes: boolean;
  garbage: number;
  samples: string[];
}

function hex(v: bigint): string {
  return "0x" + BigInt.asUintN(64, v).toString(16).padStart(16, "0");
}

/** Whether every byte of `v` is 0x00 or 0xff. */
function wellFormed(v: bigint): boolean {
  const u = BigInt.asUintN(64, v);
  for (let i = 0n; i < 64n; i += 8n) {
    const b = (u >> i) & 0xffn;
    if (b !== 0n && b !== 0xffn) return false;
  }
  return true;
}

/** Reads the u64 at `off` with `reader` for `ms` milliseconds. */
function read(m: Mapping, reader: Reader, off: number, ms: number): Tally {
  const t: Tally = {
    reads: 0,
    torn: 0,
    transitions: 0,
    seenZero: false,
    seenOnes: false,
    garbage: 0,
    samples: [],
  };
  let last = -1;
  const note = (state: number, value: () => bigint) => {
    if (state === 2) {
      t.torn++;
      const v = value();
      if (!wellFormed(v)) t.garbage++;
      if (t.samples.length < 4) t.samples.push(hex(v));
    } else {
      if (state === 0) t.seenZero = true;
      else t.seenOnes = true;
      if (last !== -1 && state !== last) t.transitions++;
      last = state;
    }
  };
  const end = performance.now() + ms;
  const dst = new Uint8Array(8);
  const dv = new DataView(dst.buffer);
  const cell = reader === "atomics" ? m.bigInt64View(off, 1) : null;
  do {
    for (let i = 0; i < 4096; i++) {
      if (reader === "readAt") {
        m.readAt(off, dst);
        const lo = dv.getUint32(0, true);
        const hi = dv.getUint32(4, true);
        note(
          lo === 0 && hi === 0 ? 0 : lo === 0xffffffff && hi === 0xffffffff ? 1 : 2,
          () => dv.getBigUint64(0, true),
        );
      } else if (reader === "readU64") {
        const v = m.readU64(off);
        note(v === 0n ? 0 : v === ONES ? 1 : 2, () => v);
      } else {
        const v = Atomics.load(cell!, 0);
        note(v === 0n ? 0 : v === -1n ? 1 : 2, () => v);
      }
    }
    t.reads += 4096;
  } while (performance.now() < end);
  return t;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

interface Row {
  writer: Writer;
  reader: Reader;
  alignment: string;
  tally: Tally;
}

/** One child writing with `writer` at `off`, the parent reading with each of `readers`. */
async function runCase(
  vmo: Vmo,
  m: Mapping,
  writer: Writer,
  off: number,
  readers: Reader[],
): Promise<{ rows: Row[]; writes: number }> {
  const ctrl = m.int32View(0, 2);
  Atomics.store(ctrl, 0, 0);
  Atomics.store(ctrl, 1, 0);
  m.writeU64(off, 0n);
  const fd = vmo.unsafeDupFd();
  assert.equal(libc.fcntl(fd, F_SETFD, 0), 0, "clear FD_CLOEXEC");
  let child: RunningChild;
  try {
    child = startDeno(["--allow-ffi"], CHILD, [String(fd), writer, String(off)]);
  } finally {
    libc.close(fd);
  }
  const rows: Row[] = [];
  let result: ChildResult;
  try {
    assert.ok(await waitFor(() => Atomics.load(ctrl, 0) === 1, 20_000), "the writer started");
    for (const reader of readers) {
      // On a loaded machine the two processes may take turns on one CPU: read on (up to
      // MAX_READ_MS) until the writer's changes have been seen.
      const tally = read(m, reader, off, READ_MS);
      for (let spent = READ_MS; spent < MAX_READ_MS && tally.transitions < 2; spent += 100) {
        const more = read(m, reader, off, 100);
        tally.reads += more.reads;
        tally.torn += more.torn;
        tally.transitions += more.transitions;
        tally.seenZero ||= more.seenZero;
        tally.seenOnes ||= more.seenOnes;
        tally.garbage += more.garbage;
        tally.samples.push(...more.samples.slice(0, 4 - tally.samples.length));
      }
      rows.push({
        writer,
        reader,
        alignment: off % 8 === 0 ? "aligned" : "unaligned (crosses a cache line)",
        tally,
      });
    }
  } finally {
    Atomics.store(ctrl, 1, 1);
    result = await child.finish(20_000);
  }
  const { writes } = childJson<{ writes: number }>(result, `writer ${writer}`);
  return { rows, writes };
}

Deno.test("tearing: a child process writes a u64, this process reads it", async (t) => {
  using vmo = Vmo.create(P);
  using m = Mapping.createFromVmo(vmo, P, RW);
  const all: Row[] = [];
  const cases: [Writer, number, Reader[]][] = [
    ["writeU64", ALIGNED, ["readAt", "readU64", "atomics"]],
    ["writeAt", ALIGNED, ["readAt", "readU64", "atomics"]],
    ["atomics", ALIGNED, ["readAt", "readU64", "atomics"]],
    ["writeU64", UNALIGNED, ["readAt", "readU64"]],
    ["writeAt", UNALIGNED, ["readAt", "readU64"]],
  ];
  for (const [writer, off, readers] of cases) {
    await t.step(`writer ${writer} at +${off}`, async () => {
      const { rows, writes } = await runCase(vmo, m, writer, off, readers);
      for (const row of rows) {
        const { tally } = row;
        console.log(
          `${writer.padEnd(8)} → ${row.reader.padEnd(7)} ${row.alignment.padEnd(9)}: ` +
            `${tally.torn} torn of ${tally.reads} reads, ${tally.transitions} changes seen` +
            (tally.samples.length ? ` (e.g. ${tally.samples.join(", ")})` : ""),
        );
        all.push(row);
        assert.ok(tally.seenZero && tally.seenOnes, "the reader saw the writer's values change");
        assert.equal(tally.garbage, 0, "every byte read is one that was written");
        if (writer === "atomics" && row.reader === "atomics") {
          assert.equal(tally.torn, 0, "Atomics on an aligned BigInt64Array never tear");
        }
      }
      console.log(`  (${writes} writes by the child)`);
    });
  }
  assert.equal(all.length, 13);
});
