/**
 * An adversarial review of guest memory (issue 10): each attack runs in a child `deno run`
 * (tests/guest/review_child.ts) whose exit status is asserted, then its report is checked.
 * Hostile positions on every method of every class, objects closed or unmapped through
 * `Vmar.root()` underneath, objects dropped while their views live, `withExclusivity` nested
 * and re-entered, views kept past `build()`/`close()` and given to Deno's APIs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { childJson, runDeno } from "../_support/mod.ts";
import { CHILD_FLAGS } from "./helpers.ts";

const CHILD = new URL("./review_child.ts", import.meta.url);

async function attack(mode: string, flags: string[] = []): Promise<Record<string, unknown>> {
  const run = await runDeno([...CHILD_FLAGS, ...flags], CHILD, [mode], 60_000);
  return childJson<Record<string, unknown>>(run, mode); // exit 0: 139 would be a fault
}

/** Lookups answer a position past every region with "no", not an error. */
const LOOKUPS = new Set(["mem.checkRange addr", "mem.checkRange len", "mem.checkAddress"]);

Deno.test("review: hostile positions and lengths on every method are refused with a status", async () => {
  const result = await attack("hostile");
  for (const [name, row] of Object.entries(result)) {
    if (["dirtyAfterRefusals", "bytesUnchanged", "bitmapMethods"].includes(name)) continue;
    for (const [label, got] of Object.entries(row as Record<string, string>)) {
      let want = "INVALID_ARGS";
      if (label === "2**53" || label === "2**64") {
        want = LOOKUPS.has(name)
          ? "ok:false"
          : name === "mem.findRegion"
          ? "ok:undefined"
          : name === "ExclusiveSharedMemory.create"
          ? "NO_MEMORY"
          // A FileOffset is only a pair: the region that uses it checks the end.
          : name === "new FileOffset"
          ? "ok:object"
          : "OUT_OF_RANGE";
      }
      assert.equal(got, want, `${name}(${label})`);
    }
  }
  // Nothing refused was written, and no page was marked.
  assert.deepEqual(result.dirtyAfterRefusals, [[], []]);
  assert.deepEqual(result.bytesUnchanged, [0, 0, 0]);
  assert.deepEqual(result.bitmapMethods, [
    "constructor",
    "dirtyAt",
    "dirtyPages",
    "getAndReset",
    "resetAddrRange",
  ]);
});

Deno.test("review: every method of every class after close (closed twice) is BAD_STATE", async () => {
  const result = await attack("closed");
  for (const [cls, row] of Object.entries(result)) {
    const methods = Object.entries(row as Record<string, string>);
    assert.ok(methods.length > 5, `${cls}: its methods were found`);
    for (const [method, got] of methods) {
      // A second close is a no-op; the host's fences touch no memory.
      const ok = method === "close again" || (cls === "host" && method.endsWith("Writes"));
      assert.equal(got, ok ? "ok:undefined" : "BAD_STATE", `${cls}.${method}`);
    }
  }
});

Deno.test("review: memory unmapped through Vmar.root() underneath: statuses, and close still cleans up", async () => {
  const result = await attack("reuse");
  assert.deepEqual(result, {
    reused: result.reused, // whether Linux handed the same addresses out again
    oldRead: "BAD_STATE",
    oldClose: "ok:undefined",
    // The old region's close must not unmap the new region now at its addresses.
    freshAfterOldClose: "ok:7",
    hostRead: "BAD_STATE",
    guestBuffer: "BAD_STATE",
    hostClose: "ok:undefined",
    guestClose: "ok:undefined",
    guestCloseAgain: "ok:undefined",
    exClose: "ok:undefined",
    memWrite: "BAD_STATE",
    memClose: "ok:undefined",
    fdsBack: true,
  });
});

Deno.test("review: a copy across a region closed underneath, or without access, touches nothing", async () => {
  const result = await attack("allOrNothing");
  const expect = (write: string, read: string) => ({
    writeSlice: write,
    write,
    writeU64: write,
    writeU32: write,
    readSlice: read === "ok" ? "ok:undefined" : read,
    readU64: read === "ok" ? "ok:0" : read,
    dstUntouched: read !== "ok", // a refused read leaves the caller's array as it was
    firstBytes: [0, 0],
    dirty: [],
  });
  assert.deepEqual(result.closed, expect("BAD_STATE", "BAD_STATE"));
  assert.deepEqual(result.readOnly, expect("ACCESS_DENIED", "ok"));
  assert.deepEqual(result.none, expect("ACCESS_DENIED", "ACCESS_DENIED"));
});

Deno.test("review: objects dropped while their views, slices and atomics are in use (gc)", async () => {
  const result = await attack("dropped", ["--v8-flags=--expose-gc"]);
  assert.deepEqual(result.kept, [1, 5, 6, 7, 9]);
  assert.deepEqual(result.keptLengths, [4096, 1, 16, 16]);
});

Deno.test("review: withExclusivity nested, re-entered, thrown out of, closed inside", async () => {
  const result = await attack("exclusivity");
  assert.deepEqual(result, {
    inside: {
      nestedHost: "SHOULD_WAIT",
      nestedGuest: "SHOULD_WAIT",
      hostRead: "SHOULD_WAIT",
      hostWrite: "SHOULD_WAIT",
      hostFill: "SHOULD_WAIT",
      hostCopy: "SHOULD_WAIT",
      build: "BAD_STATE",
      exWrite: "ok:undefined",
    },
    escapedLength: 0,
    escapedEx: "BAD_STATE",
    afterRead: "ok:5",
    thrown: "RangeError!",
    thrownViewLength: 0,
    asyncInside: "BAD_STATE",
    closedInside: [0, "BAD_STATE", "BAD_STATE"],
    afterClose: "BAD_STATE",
  });
});

Deno.test("review: views kept past build()/close() read as empty in Deno's APIs", async () => {
  const result = await attack("views");
  const empty = [0, 0, 32, "ok:0"]; // length, decoded length, SHA-256 size, bytes written
  assert.deepEqual(result.uses, {
    asSlice: empty,
    guestBuffer: empty,
    sliceBytes: empty,
    atomic: "TypeError!", // Atomics on a detached view: a TypeError, not a fault
  });
});

// A runtime operation that took a view's raw pointer before the view was detached (node:crypto's
// async pbkdf2 here) while the guest memory is closed: the quarantine of docs/semantics.md §7 puts
// zero pages in its place, so the late reads neither fault nor reach other memory.
Deno.test({
  name: "review: an async pbkdf2 over a view while the guest memory is closed does not fault",
  fn: async (t) => {
    for (const which of ["exclusive", "built", "region"]) {
      await t.step(which, async () => {
        const run = await runDeno(CHILD_FLAGS, CHILD, ["pbkdf2", which], 60_000);
        assert.deepEqual(childJson(run, `pbkdf2 ${which}`), { pbkdf2: true });
      });
    }
  },
});
