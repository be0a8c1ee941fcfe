import assert from "node:assert/strict";
import { O_CLOEXEC, O_RDONLY } from "../../ffi/constants.ts";
import { fstat, openFile, reopenFd } from "../../ffi/file.ts";
import { Rights, Status, Vmo, ZxError } from "../../mod.ts";
import { checkFdNumber, vmoFromReceivedFd } from "../../src/vmo/fd.ts";

const READ_ONLY = Rights.BASIC | Rights.READ | Rights.MAP;

function status(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof ZxError) return e.status;
    throw e;
  }
  return Status.OK;
}

Deno.test("vmoFromReceivedFd: a channel's received fd becomes a Vmo", async (t) => {
  await t.step("same memory, with the sender's rights", () => {
    using sent = Vmo.create(4096);
    sent.write(new Uint8Array([42]), 0);
    using got = vmoFromReceivedFd(sent.unsafeDupFd(), READ_ONLY);
    assert.ok(got instanceof Vmo);
    assert.equal(got.info().handleRights, READ_ONLY);
    assert.equal(got.readToArray(0, 1)[0], 42);
    assert.equal(status(() => got.write(new Uint8Array(1), 0)), Status.ACCESS_DENIED);
    sent.write(new Uint8Array([43]), 0);
    assert.equal(got.readToArray(0, 1)[0], 43);
  });

  await t.step("rights the fd does not allow are dropped (a read-only fd has no WRITE)", () => {
    using sent = Vmo.create(4096);
    const dup = sent.unsafeDupFd();
    const readOnly = reopenFd(dup, O_RDONLY | O_CLOEXEC);
    assert.ok(readOnly >= 0);
    using dupVmo = Vmo.unsafeFromFd(dup);
    using got = vmoFromReceivedFd(readOnly, READ_ONLY | Rights.WRITE);
    assert.equal(got.info().handleRights & Rights.WRITE, 0);
    assert.equal(dupVmo.getSize(), got.getSize());
  });

  await t.step("a closed fd is BAD_HANDLE; a directory is WRONG_TYPE and is closed", () => {
    using vmo = Vmo.create(4096);
    const fd = vmo.unsafeDupFd();
    using taken = vmoFromReceivedFd(fd, READ_ONLY);
    assert.equal(status(() => vmoFromReceivedFd(2 ** 30, READ_ONLY)), Status.BAD_HANDLE);
    const dir = openFile("/", O_RDONLY | O_CLOEXEC);
    assert.ok(dir >= 0 && fstat(dir) !== null);
    assert.equal(status(() => vmoFromReceivedFd(dir, READ_ONLY)), Status.WRONG_TYPE);
    assert.equal(fstat(dir), null, "the fd was taken over and closed");
    assert.equal(taken.getSize(), 4096);
  });

  await t.step("checkFdNumber takes what can be an fd and nothing else", () => {
    assert.equal(checkFdNumber(3), 3);
    for (const bad of [-1, 1.5, 2 ** 31, "3", null]) {
      assert.equal(status(() => checkFdNumber(bad)), Status.INVALID_ARGS, String(bad));
    }
  });
});
