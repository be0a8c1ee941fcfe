/**
 * `unsafeBytes()`: the zero-copy view over memory someone else can cut (docs/semantics.md §7).
 * vmo still detaches it before its own calls take the memory away; a cut it cannot see (another
 * party truncating the file) kills the process, which is why the name says unsafe.
 */
import assert from "node:assert/strict";
import { SharedBuffer, Status, Vmar, VmarFlags, Vmo, VmoOptions } from "../../mod.ts";
import { assertStatus, childJson, describeChild, runDeno } from "../_support/mod.ts";

const P = 4096;
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const CHILD = new URL("./unsafe_bytes_child.ts", import.meta.url);
const FLAGS = ["--allow-ffi", "--allow-read", "--allow-write"];

Deno.test("unsafeBytes: given where bytes() is NOT_SUPPORTED, refused where the memory is not read-write", () => {
  const root = Vmar.root();
  using vmo = Vmo.create(2 * P, VmoOptions.RESIZABLE);
  const addr = root.map(0, vmo, 0, 2 * P, RW);
  try {
    const buffer = SharedBuffer.fromRange(root, addr, 2 * P);
    assertStatus(() => buffer.bytes(), Status.NOT_SUPPORTED);
    const view = buffer.unsafeBytes();
    assert.equal(view.length, 2 * P);
    view[P + 1] = 0x5a;
    assert.equal(vmo.readToArray(P + 1, 1)[0], 0x5a);
    const [, right] = buffer.splitAtMut(P);
    const half = right.unsafeBytes();
    assert.equal(half.length, P);
    assert.equal(half.buffer.byteLength, P, "a slice's view reaches only its own bytes");
    assert.equal(half[1], 0x5a);
    root.protect(addr, 2 * P, VmarFlags.PERM_READ);
    assert.equal(view.length, 0, "detached by the protect");
    assertStatus(() => buffer.unsafeBytes(), Status.ACCESS_DENIED);
  } finally {
    root.unmap(addr, 2 * P);
  }
  assertStatus(() => SharedBuffer.fromRange(root, addr, 2 * P), Status.NOT_FOUND);
});

for (const scenario of ["resizable-set-size", "resizable-unmap", "file-protect"]) {
  Deno.test(`unsafeBytes: ${scenario} detaches the view first; hammering it never faults`, async () => {
    const result = await runDeno(FLAGS, CHILD, [scenario]);
    const out = childJson<{ seen: number; length: number; sum: number }>(result, scenario);
    assert.equal(out.length, 0, "the view was detached");
    assert.equal(out.sum, 0, "a detached view reads undefined, never the memory");
    assert.ok(out.seen === 7 || out.seen === 9, "the view wrote through to the VMO or file");
  });
}

Deno.test("unsafeBytes: a file truncated behind vmo's back makes the view fault (the documented danger)", async () => {
  const result = await runDeno(FLAGS, CHILD, ["file-truncated-behind"]);
  assert.match(result.stdout, /truncated/, describeChild(result));
  assert.ok(!result.stdout.includes("survived"), describeChild(result));
  assert.ok(result.signal === "SIGBUS" || result.code === 135, describeChild(result));
});
