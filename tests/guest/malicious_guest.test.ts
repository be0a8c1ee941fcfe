/**
 * A malicious guest in another process (issue 10, "A malicious guest"): it reaches the host's
 * VMO through `/proc/<pid>/fd/<n>`, tries to shrink it, and for a second rewrites the offsets
 * and lengths the host then uses while the host reads them and acts on them. The host must
 * never fault, never touch memory outside its buffer, and report every bad value with a
 * status. The intent of hyperlight's `try_pop_buffer_bounds` tests (`malicious_*`: a guest
 * that corrupts size prefixes and back-pointers) run against a live, racing guest.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExclusiveSharedMemory, Status, ZxError } from "../../mod.ts";
import { CHILD_FLAGS, closeFd, resultOf } from "./helpers.ts";

const CHILD = new URL("./crash/malicious_guest_child.ts", import.meta.url);
const RACE_MS = 1000;
/** The guest's own limit, should the host never say stop. */
const GUEST_MAX_MS = 20_000;

Deno.test("malicious guest: hostile offsets and lengths raced against host reads", async () => {
  const size = 64 * 1024;
  const [host, guest] = ExclusiveSharedMemory.create(size).build();
  using vmo = host.vmo();
  const fd = vmo.unsafeDupFd();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...CHILD_FLAGS,
      CHILD.pathname,
      String(Deno.pid),
      String(fd),
      String(GUEST_MAX_MS),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let out = "";
  while (!out.includes("READY\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  assert.ok(out.includes("READY"), "the guest started");
  const statuses = new Map<number, number>();
  let ok = 0;
  let bytesCopied = 0;
  const scratch = new Uint8Array(size + 1);
  // At least RACE_MS, and until both valid and hostile values were met (on a loaded machine the
  // guest may get little CPU), within a cap.
  const start = Date.now();
  const seenBoth = () => bytesCopied > 0 && statuses.size > 0;
  while (Date.now() - start < RACE_MS || (!seenBoth() && Date.now() - start < 15_000)) {
    // Each value is read once, then used: the guest may have changed it since. The fence
    // orders this round's reads after the guest's writes.
    host.acquireWrites();
    const offset = Number(host.readU64(0));
    const len = host.readU32(8);
    for (
      const use of [
        () => host.copyToSlice(scratch.subarray(0, Math.min(len, scratch.length)), offset),
        () => host.readU64(offset),
        () => host.copyFromSlice(scratch.subarray(0, Math.min(len, 64)), offset),
        () => host.fill(0, offset, len),
      ]
    ) {
      try {
        use();
        ok++;
        bytesCopied += Math.min(len, scratch.length);
      } catch (error) {
        if (!(error instanceof ZxError)) throw error;
        statuses.set(error.status, (statuses.get(error.status) ?? 0) + 1);
      }
    }
  }
  host.writeU32(size - 4, 0x57095709); // stop
  reader.releaseLock();
  const status = await child.output();
  const rest = out + new TextDecoder().decode(status.stdout);
  assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
  const result = resultOf(rest) as { shrinkErrno: number; writes: number; size: number };
  assert.equal(result.shrinkErrno, 1, "the sealed VMO cannot be shrunk (EPERM)");
  assert.equal(result.size, size);
  assert.ok(result.writes > 100, `the guest raced (${result.writes} rounds)`);
  assert.ok(ok > 0, `valid values were used (${ok} ok, ${JSON.stringify([...statuses])})`);
  assert.ok((statuses.get(Status.OUT_OF_RANGE) ?? 0) > 0, "hostile values were reported");
  for (const s of statuses.keys()) {
    assert.ok(s === Status.OUT_OF_RANGE, `only OUT_OF_RANGE is expected, got ${s}`);
  }
  assert.ok(bytesCopied > 0, `bytes copied: ${rest}`);
  closeFd(fd);
  // The host still works, and its memory is intact in size.
  host.writeU32(16, 7);
  assert.equal(host.readU32(16), 7);
  assert.equal(host.memSize(), size);
  host.close();
  guest.close();
});
