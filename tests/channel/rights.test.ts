/**
 * Rights across processes, enforced by the kernel: a VMO sent without WRITE, tried by the
 * receiving process through every raw libc route (tests/channel/rights_child.ts). What holds is
 * written in docs/channel.md.
 */

import assert from "node:assert/strict";
import { Rights, spawn, Vmo } from "../../mod.ts";

const EACCES = "errno 13";
const EBADF = "errno 9";
const EINVAL = "errno 22";
const EPERM = "errno 1";

Deno.test("rights: a VMO sent without WRITE cannot be written through its fd", async () => {
  const vmo = Vmo.create(4096);
  vmo.write(new Uint8Array([0x11]), 0);
  const { child, channel } = spawn(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-ffi",
      "--allow-env",
      new URL("./rights_child.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const keep = vmo.duplicate(Rights.READ | Rights.WRITE | Rights.DUPLICATE);
  channel.write(new Uint8Array(0), [vmo.replace(Rights.READ | Rights.MAP | Rights.TRANSFER)]);
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(Number(report.rights) & Rights.WRITE, 0, "the handle arrived without WRITE");
  assert.equal(report["Vmo.write"], "ZX_ERR_ACCESS_DENIED");
  // Through the received (read-only) fd, every route fails.
  assert.equal(report["fd mmap(PROT_WRITE, MAP_SHARED)"], EACCES);
  assert.equal(report["fd pwrite"], EBADF);
  assert.equal(report["fd ftruncate"], EINVAL);
  assert.equal(report["fd fallocate(PUNCH_HOLE)"], EBADF);
  assert.equal(report["fd mprotect(PROT_WRITE)"], EACCES);
  assert.equal(report["fd F_ADD_SEALS(F_SEAL_WRITE)"], EPERM);
  // The reopen of /proc/self/fd/N read-write succeeds whatever the fd's mode (a memfd is 0777).
  assert.equal(report["reopen O_RDWR"], "ok");
  // Phase 1 (no F_SEAL_FUTURE_WRITE yet): what the reopened fd can do, recorded as measured.
  const written = keep.readToArray(0, 1)[0];
  assert.equal(report["reopened pwrite"], "ok", JSON.stringify(report));
  assert.equal(written, 0x77, "the reopened fd wrote the memory (the hole docs/channel.md names)");
  channel.close();
  keep.close();
});
