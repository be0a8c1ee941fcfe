/**
 * Review of issue 9's high-fd memfds (`src/vmo/backing.ts`: the library's memfds moved to the
 * top quarter of RLIMIT_NOFILE with F_DUPFD_CLOEXEC, and `Backing.checkFd` skipping `fstat` for
 * them). Each attack runs in a child `deno run` (high_fd_child.ts) whose exit status is
 * asserted: closing the number from outside, replacing it (dup2 of a smaller memfd, a file, a
 * pipe), lowering RLIMIT_NOFILE before and after, exhausting fds, churning more VMOs than the
 * top quarter holds, Workers creating VMOs at once, and another isolate taking the number.
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./high_fd_child.ts", import.meta.url);
const FLAGS = ["--allow-ffi", "--allow-read", "--allow-write"];

async function run(mode: string): Promise<Record<string, unknown>> {
  return childJson(await runDeno(FLAGS, CHILD, [mode], 60_000), mode);
}

Deno.test("high fds: closed from outside, then reused by the library", async () => {
  const r = await run("close");
  assert.equal(r.high, true, "the VMO's fd is a high number");
  assert.equal(r.afterClose, Status.BAD_HANDLE);
  assert.equal(r.readAfterClose, Status.BAD_HANDLE);
  assert.equal(r.reused, true, "the library's next memfd took the freed number");
  assert.equal(r.afterReuse, Status.BAD_HANDLE, "a lost number is refused");
  assert.equal(r.closeOld, "ok");
  assert.equal(r.otherStill, "ok", "closing the old VMO left the new VMO's fd alone");
});

Deno.test("high fds: a pipe dup2'd onto the number is refused, no fault", async () => {
  const r = await run("dup2Pipe");
  assert.notEqual(r.mapped, "ok");
  assert.equal(r.close, "ok");
});

Deno.test("high fds: RLIMIT_NOFILE lowered before any VMO", async () => {
  const r = await run("limitBefore");
  assert.equal(r.wrong, 0);
  assert.equal(r.distinct, true);
  assert.ok((r.maxFd as number) < 128);
});

Deno.test("high fds: RLIMIT_NOFILE lowered below live high fds", async () => {
  const r = await run("limitAfter");
  assert.equal(r.wrong, 0);
  assert.ok((r.minOldFd as number) >= 200, "the old VMOs sat above the new limit");
});

Deno.test("high fds: churn of more VMOs than the top quarter holds", async () => {
  assert.equal((await run("churn")).wrong, 0);
});

Deno.test("high fds: no fd left refuses create, then works again", async () => {
  const r = await run("exhaust");
  assert.equal(r.refused, Status.NO_RESOURCES);
  assert.equal(r.mapped, "ok");
});

Deno.test("high fds: two Workers and the main isolate create and map at once", async () => {
  assert.equal((await run("workers")).wrong, 0);
});

// DEFECT (the three below; each passes on the code before the speed merge, with BAD_HANDLE,
// and faults with SIGBUS on main). Root cause: src/vmo/backing.ts `Backing.checkFd` returns
// without `fstat` for a `#high` backing, trusting that only this isolate's library can reuse the
// number (`#lost`). But the number can be reused by something else: a dup2 (FFI), or, through
// the library's own API, another Worker's copy of the library, whose per-isolate `highFds`
// table starts at the same floor and so hands out exactly the freed number. The map then maps
// the impostor at the VMO's size and the view's last pages fault. The old `checkFd` comment
// named this very case ("another Worker's unsafeFromFd of the same number"), and issue 9 asked
// to keep that protection. Smallest fix: in `Backing.checkFd`, keep the `fstat` identity check
// for high backings too (read the identity at creation, one `fstat`, and compare dev/ino on
// each map as before; the high number still makes a stray close show up as EBADF). If the
// syscall must go, the only sound cheaper check is per-process, not per-isolate: e.g. verify
// with `fstat` only when the fd's number was ever freed by anyone, which cannot be known
// without it.
Deno.test({
  name: "high fds: a smaller memfd dup2'd onto the number is refused, no fault",
  ignore: true,
  fn: async () => {
    assert.equal((await run("dup2Memfd")).mapped, Status.BAD_HANDLE);
  },
});

Deno.test({
  name: "high fds: a 1-page file dup2'd onto the number is refused, no fault",
  ignore: true,
  fn: async () => {
    assert.equal((await run("dup2File")).mapped, Status.BAD_HANDLE);
  },
});

Deno.test({
  name: "high fds: another Worker's library reuses the number: refused, no fault",
  ignore: true,
  fn: async () => {
    const r = await run("workerReuse");
    assert.equal(r.workerFd, r.fd, "the Worker's VMO took the same number");
    assert.equal(r.mapped, Status.BAD_HANDLE);
  },
});
