/**
 * The short write of issue 9 (src/vmar/short_write.ts): a `pread` from the library's own memfd
 * into mapped memory, behind `SharedBuffer.writeAt` over memory someone else can cut.
 *
 * - it writes what it is given, and refuses without faulting a page that is read-only or cut
 *   off by a truncation of the file (short when a later page is refused);
 * - on random writes, cuts and regrowths of a mapped file it agrees, in count and in the file's
 *   bytes, with the general path (`Vmar.writeMemory`: the tree's checks, then
 *   `process_vm_writev`) run on a twin file with the same history;
 * - when its memfd is lost (closed outside vmo) `writeAt` falls back to the general path;
 * - with `strace`, a `writeAt` over a mapped file is one `pread64` and no `process_vm_writev`.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { libc } from "../../ffi/libc.ts";
import { PAGE_SIZE as P, SharedBuffer, Status, Vmar, VmarFlags, Vmo, ZxError } from "../../mod.ts";
import {
  SHORT_WRITE_MAX,
  SHORT_WRITE_UNAVAILABLE,
  shortWriteSourceFd,
  writeShort,
} from "../../src/vmar/short_write.ts";
import { assertStatus, childJson, haveProgram, pattern } from "../_support/mod.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const R = VmarFlags.PERM_READ;

/** A temporary file of `size` zero bytes, mapped read-write in the root VMAR. */
function mappedFile(size: number) {
  const path = Deno.makeTempFileSync({ prefix: "vmo-short-write-" });
  Deno.writeFileSync(path, new Uint8Array(size));
  const vmo = Vmo.fromFile(path, { writable: true });
  const root = Vmar.root();
  const addr = root.map(0, vmo, 0, size, RW);
  return {
    path,
    root,
    addr,
    bytes: () => Deno.readFileSync(path),
    dispose() {
      root.unmap(addr, size);
      vmo.close();
      Deno.removeSync(path);
    },
  };
}

Deno.test("writeShort writes, and refuses read-only and cut-off pages without faulting", () => {
  const f = mappedFile(3 * P);
  try {
    const data = pattern(64, 3);
    assert.equal(writeShort(f.addr + 10, data, 64), 64);
    assert.deepEqual(f.bytes().subarray(10, 74), data);
    assert.ok(shortWriteSourceFd() >= 0, "the source memfd was made");
    // Only the first `count` bytes.
    assert.equal(writeShort(f.addr + 200, pattern(64, 5), 8), 8);
    assert.deepEqual(f.bytes().subarray(200, 210), new Uint8Array([...pattern(8, 5), 0, 0]));
    assert.equal(writeShort(f.addr, data, 0), SHORT_WRITE_UNAVAILABLE);
    assert.equal(
      writeShort(f.addr, new Uint8Array(SHORT_WRITE_MAX + 1), SHORT_WRITE_MAX + 1),
      SHORT_WRITE_UNAVAILABLE,
    );

    f.root.protect(f.addr + P, P, R);
    assert.equal(writeShort(f.addr + P + 8, data, 64), -1, "a read-only page");
    assert.equal(writeShort(f.addr + P - 16, data, 64), 16, "short before a read-only page");
    f.root.protect(f.addr + P, P, RW);

    // Another party cuts the file to one page: the pages past it would raise SIGBUS.
    Deno.truncateSync(f.path, P);
    assert.equal(writeShort(f.addr + P + 8, data, 64), -1, "a page past the cut end");
    assert.equal(writeShort(f.addr + P - 24, data, 64), 24, "short at the cut end");
    assert.equal(Deno.statSync(f.path).size, P, "the file did not grow back");
    const buffer = SharedBuffer.fromRange(f.root, f.addr, 3 * P);
    assertStatus(() => buffer.writeAt(2 * P, data), Status.OUT_OF_RANGE, "writeAt past the cut");
    assert.equal(buffer.writeAt(0, data), 64);
  } finally {
    f.dispose();
  }
});

/** What `Vmar.writeMemory` (the general path) gives, as `writeShort` counts: -1 for refused. */
function generalWrite(root: Vmar, addr: number, data: Uint8Array): number {
  try {
    return root.writeMemory(addr, data);
  } catch (error) {
    if (error instanceof ZxError && error.status === Status.OUT_OF_RANGE) return -1;
    throw error;
  }
}

Deno.test("writeShort agrees with the general path on random writes, cuts and regrowths", () => {
  const size = 8 * P;
  const a = mappedFile(size);
  const b = mappedFile(size);
  const step = fc.oneof(
    fc.record({
      kind: fc.constant("write" as const),
      offset: fc.integer({ min: 0, max: size - 1 }),
      length: fc.integer({ min: 1, max: 3 * P }),
      seed: fc.integer({ min: 1, max: 250 }),
    }),
    fc.record({
      kind: fc.constant("cut" as const),
      to: fc.integer({ min: 0, max: size }),
    }),
    fc.constant({ kind: "grow" as const }),
  );
  try {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => {
        Deno.truncateSync(a.path, 0);
        Deno.truncateSync(b.path, 0);
        Deno.truncateSync(a.path, size);
        Deno.truncateSync(b.path, size);
        for (const s of steps) {
          if (s.kind === "cut") {
            Deno.truncateSync(a.path, s.to);
            Deno.truncateSync(b.path, s.to);
          } else if (s.kind === "grow") {
            Deno.truncateSync(a.path, size);
            Deno.truncateSync(b.path, size);
          } else {
            const length = Math.min(s.length, size - s.offset);
            const data = pattern(length, s.seed);
            const fast = writeShort(a.addr + s.offset, data, length);
            const general = generalWrite(b.root, b.addr + s.offset, data);
            assert.equal(fast, general, JSON.stringify(s));
          }
          assert.deepEqual(a.bytes(), b.bytes(), JSON.stringify(s));
        }
      }),
      { numRuns: 60 },
    );
  } finally {
    a.dispose();
    b.dispose();
  }
});

Deno.test("writeAt falls back to process_vm_writev when the short write's memfd is lost", () => {
  const f = mappedFile(2 * P);
  try {
    const buffer = SharedBuffer.fromRange(f.root, f.addr, 2 * P);
    assert.equal(buffer.writeAt(100, pattern(32, 1)), 32);
    const fd = shortWriteSourceFd();
    assert.ok(fd >= 0);
    // Something outside vmo closes the memfd's fd.
    assert.equal(libc.close(fd), 0);
    assert.equal(buffer.writeAt(300, pattern(32, 2)), 32);
    assert.equal(shortWriteSourceFd(), -1, "the lost source was given up");
    assert.equal(buffer.writeAt(500, pattern(32, 3)), 32);
    const bytes = f.bytes();
    assert.deepEqual(bytes.subarray(100, 132), pattern(32, 1));
    assert.deepEqual(bytes.subarray(300, 332), pattern(32, 2));
    assert.deepEqual(bytes.subarray(500, 532), pattern(32, 3));
    Deno.truncateSync(f.path, P);
    assertStatus(() => buffer.writeAt(P + 8, pattern(8, 4)), Status.OUT_OF_RANGE);
  } finally {
    shortWriteSourceFd(true);
    f.dispose();
  }
});

Deno.test({
  name: "a writeAt over a mapped file is one pread64 from the memfd, no process_vm_writev",
  ignore: !haveProgram("strace"),
  async fn() {
    const child = new URL("./short_write_child.ts", import.meta.url);
    const out = await Deno.makeTempFile({ prefix: "vmo-strace-" });
    try {
      const output = await new Deno.Command("strace", {
        args: [
          "-f",
          "-o",
          out,
          "-e",
          "trace=pread64,process_vm_writev,openat",
          Deno.execPath(),
          "run",
          "--quiet",
          "--allow-ffi",
          "--allow-read",
          "--allow-write",
          child.pathname,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const result = {
        code: output.code,
        signal: output.signal,
        stdout: new TextDecoder().decode(output.stdout),
        stderr: new TextDecoder().decode(output.stderr),
        timedOut: false,
      };
      const r = childJson<{ fd: number; writes: number }>(result, "strace child");
      const trace = Deno.readTextFileSync(out);
      // Only the calls between the two openat("/dev/null") the child makes around its writes.
      const lines = trace.split("\n");
      const from = lines.findIndex((l) => l.includes('"/dev/null"'));
      const to = lines.findLastIndex((l) => l.includes('"/dev/null"'));
      assert.ok(from >= 0 && to > from, "the bracketing openat calls were traced");
      const between = lines.slice(from + 1, to);
      const preads = between.filter((l) => l.includes(`pread64(${r.fd}, `)).length;
      const others = between.filter((l) => /pread64|process_vm_writev/.test(l)).length - preads;
      assert.equal(preads, r.writes, trace.slice(-2000));
      assert.equal(others, 0, "no other copy call");
    } finally {
      await Deno.remove(out);
    }
  },
});
