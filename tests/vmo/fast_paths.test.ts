/**
 * The VMO fast paths of issue 9's second pass against the general paths they short-cut, on
 * random operations:
 *
 * - `Vmo.read` and `readToArray` below 32 KiB (one `pread` straight into the caller's array,
 *   the general copy loop for a short read or anything else) against a model of the bytes and
 *   against the general `Backing.readInto`, over sealed and resizable memfds and over a
 *   regular file that ends inside the VMO (short reads that must read as zeros past the end);
 * - VMOs made and closed in random order are each found by their file (the high memfd numbers
 *   kept in a dense array rather than a `Map`);
 * - a handle over anything but an object made by vmo's constructors is refused (the private
 *   brand that replaced the `WeakSet` of genuine objects): look-alikes built from the
 *   prototype, and objects carrying a copied `type`, never make a handle.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { type Handle, PAGE_SIZE as P, Status, Vmo, VmoOptions } from "../../mod.ts";
import type { KernelObject } from "../../src/handle.ts";
import { VmoObject } from "../../src/vmo/object.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";
import { withTempFile } from "../_support/bytes.ts";
import { FakeHandle } from "../_support/handles.ts";
import { assertStatus } from "../_support/status.ts";

/** A random write or read of a VMO of `size` bytes, ending inside it. */
const op = (size: number) =>
  fc.record({
    write: fc.boolean(),
    offset: fc.nat({ max: size - 1 }),
    length: fc.oneof(fc.nat({ max: 256 }), fc.nat({ max: 40 * 1024 })),
    seed: fc.nat({ max: 255 }),
  }).map((o) => ({ ...o, length: Math.min(o.length, size - o.offset) }));

function bytesOf(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 7) & 0xff;
  return out;
}

Deno.test("Vmo.read fast path agrees with the model and the general copy", async (t) => {
  const size = 64 * 1024;
  const run = (make: () => Vmo) =>
    fc.assert(
      fc.property(fc.array(op(size), { minLength: 1, maxLength: 40 }), (ops) => {
        using vmo = make();
        const model = new Uint8Array(size);
        const backing = vmoObjectOf(vmo).backing;
        for (const o of ops) {
          if (o.write) {
            const src = bytesOf(o.length, o.seed);
            vmo.write(src, o.offset);
            model.set(src, o.offset);
            continue;
          }
          const want = model.subarray(o.offset, o.offset + o.length);
          const dst = new Uint8Array(o.length).fill(0xee);
          vmo.read(dst, o.offset);
          assert.deepEqual(dst, want);
          assert.deepEqual(vmo.readToArray(o.offset, o.length), want);
          const general = new Uint8Array(o.length).fill(0xee);
          if (o.length !== 0) backing.readInto(general, o.offset);
          assert.deepEqual(general, want);
        }
      }),
      { numRuns: 40 },
    );
  await t.step("a sealed memfd", () => run(() => Vmo.create(size)));
  await t.step("a resizable memfd", () => run(() => Vmo.create(size, VmoOptions.RESIZABLE)));
  await t.step("a read into a window of a larger array touches only the window", () => {
    using vmo = Vmo.create(P);
    vmo.write(bytesOf(P, 3), 0);
    const big = new Uint8Array(300).fill(0xaa);
    vmo.read(big.subarray(100, 164), 10);
    assert.deepEqual(big.subarray(100, 164), bytesOf(P, 3).subarray(10, 74));
    assert.ok(big.subarray(0, 100).every((b) => b === 0xaa));
    assert.ok(big.subarray(164).every((b) => b === 0xaa));
  });
});

Deno.test("Vmo.read fast path: a file that ends inside the VMO reads zeros past its end", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 3 * P }),
      fc.nat({ max: 3 * P }),
      fc.nat({ max: 8 * 1024 }),
      (fileLength, offset, length) => {
        const content = bytesOf(fileLength, 5);
        withTempFile(content, (path) => {
          using vmo = Vmo.fromFile(path, { writable: true });
          const size = vmo.getSize();
          if (size === 0) return;
          const at = Math.min(offset, size - 1);
          const n = Math.min(length, size - at);
          // Cut the file under the VMO: reads past the new end are short and must read 0.
          Deno.truncateSync(path, Math.floor(fileLength / 2));
          const want = new Uint8Array(n);
          want.set(content.subarray(at, Math.min(at + n, Math.floor(fileLength / 2))));
          const dst = new Uint8Array(n).fill(0xee);
          vmo.read(dst, at);
          assert.deepEqual(dst, want);
          assert.deepEqual(vmo.readToArray(at, n), want);
        });
      },
    ),
    { numRuns: 30 },
  );
});

Deno.test("handles are made only over genuine kernel objects", async (t) => {
  await t.step("a look-alike built from a kernel object's prototype", () => {
    const fake = Object.create(VmoObject.prototype);
    assertStatus(() => new FakeHandle(0, fake), Status.BAD_HANDLE);
  });
  await t.step("a plain object carrying a VMO object's fields", () => {
    using vmo = Vmo.create(P);
    const copy = { ...vmoObjectOf(vmo), type: 3 };
    assertStatus(() => new FakeHandle(0, copy as unknown as KernelObject), Status.BAD_HANDLE);
  });
  await t.step("a Proxy of a genuine object", () => {
    using vmo = Vmo.create(P);
    const proxy = new Proxy(vmoObjectOf(vmo), {});
    assertStatus(() => new FakeHandle(0, proxy), Status.BAD_HANDLE);
  });
  await t.step("a genuine object still makes one", () => {
    const handle: Handle = new FakeHandle(0);
    assert.ok(handle.isValid);
    handle.close();
  });
});

Deno.test("high memfd numbers: VMOs made and closed in any order are each found by their file", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ close: fc.boolean(), pick: fc.nat() }), { minLength: 1, maxLength: 30 }),
      (steps) => {
        const live: Vmo[] = [];
        try {
          for (const step of steps) {
            if (step.close && live.length > 0) {
              live.splice(step.pick % live.length, 1)[0].close();
            } else {
              live.push(Vmo.create(P));
            }
            if (live.length === 0) continue;
            const vmo = live[step.pick % live.length];
            const fd = vmoObjectOf(vmo).backing.fd;
            // Its own number is refused: the lookup found this very backing.
            assertStatus(() => Vmo.unsafeFromFd(fd), Status.ALREADY_EXISTS);
            // A duplicate of its fd adopts the same backing: a write through one is seen
            // through the other.
            using adopted = Vmo.unsafeFromFd(vmo.unsafeDupFd());
            assert.equal(vmoObjectOf(adopted).backing, vmoObjectOf(vmo).backing);
            const mark = new Uint8Array([step.pick & 0xff]);
            adopted.write(mark, 7);
            assert.deepEqual(vmo.readToArray(7, 1), mark);
          }
          // Distinct live VMOs never share a number.
          const fds = live.map((v) => vmoObjectOf(v).backing.fd);
          assert.equal(new Set(fds).size, fds.length);
        } finally {
          for (const vmo of live) vmo.close();
        }
      },
    ),
    { numRuns: 60 },
  );
});
