/**
 * Second review of the backing identities (src/vmo/backing.ts: numeric keys, the pruned list
 * of unidentified high fds, emptied entries swept in bulk), in backing_child.ts: thousands of
 * VMOs passed through a channel amid Vmo.create/close churn, memfds beside a tmpfs file in
 * /dev/shm and a file in /tmp. A received VMO shares its backing (a resize through one is seen
 * through the other) exactly when it is the same file.
 */

import assert from "node:assert/strict";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./backing_child.ts", import.meta.url);

Deno.test("received VMOs share a backing exactly when they are the same file", async () => {
  const r = childJson<Record<string, unknown>>(
    // All permissions: a file in /dev/shm is "all access" to Deno.
    await runDeno(["-A"], CHILD, [], 120_000),
    "backing",
  );
  assert.equal(r.mismatches, 0, "a received VMO did not share its original's backing");
  assert.equal(r.falseShares, 0, "a received VMO shared another file's backing");
  assert.equal(r.distinctFresh, 3000);
  assert.equal(r.againByte, 42, "a VMO whose original closed in flight keeps its bytes");
  assert.equal(r.againNewObject, true);
});
