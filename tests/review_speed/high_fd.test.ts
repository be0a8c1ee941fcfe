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
import { childJson, describeChild, runDeno } from "../_support/mod.ts";

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

// The three below are the hazard `Vmo.unsafeFromFd` documents ("The danger"), asserted so that
// the documentation stays true: the library's memfds sit at high fd numbers and are mapped
// without an `fstat` each time, as issue 9 asked (a stray `close` shows as `EBADF`; safe code
// cannot hand the library an fd someone else owns). Putting another file under the number needs
// code outside the safe API: a raw `dup2`, or `unsafeFromFd` of the number in another Worker
// and closing it there. The original VMO then maps the impostor at its own size, and touching
// the pages past the impostor's end faults. Before issue 9 an `fstat` before each map refused
// it with BAD_HANDLE, for one more system call per map (about 1.3 us here).

/** Runs `mode`, which must die of the documented fault (SIGBUS). */
async function assertDocumentedFault(mode: string): Promise<void> {
  const r = await runDeno(FLAGS, CHILD, [mode], 60_000);
  assert.equal(r.signal, "SIGBUS", `${mode}: ${describeChild(r)}`);
}

Deno.test("high fds (unsafe, as documented): a smaller memfd dup2'd onto the number faults", async () => {
  await assertDocumentedFault("dup2Memfd");
});

Deno.test("high fds (unsafe, as documented): a 1-page file dup2'd onto the number faults", async () => {
  await assertDocumentedFault("dup2File");
});

Deno.test("high fds (unsafe, as documented): another Worker's unsafeFromFd + close, then its library reuses the number: faults", async () => {
  await assertDocumentedFault("workerReuse");
});
