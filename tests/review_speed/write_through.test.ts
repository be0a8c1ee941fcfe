/**
 * Review of issue 9's `writeAt` write-through (`Window.writeThrough`: a permission lease and a
 * `process_vm_writev` through a scratch buffer, for memory that cannot be viewed), each attack
 * in a child `deno run` (write_through_child.ts) whose exit status is asserted: a late write
 * after unmap or overwrite must not land in what is mapped at the same address afterwards;
 * after a protect to read-only it is `ACCESS_DENIED` and writes nothing; a file truncated and
 * grown by another process (this one) while the child writes through it never faults.
 */

import assert from "node:assert/strict";
import { PAGE_SIZE as P, Status } from "../../mod.ts";
import { childJson, runDeno, startDeno } from "../_support/mod.ts";

const CHILD = new URL("./write_through_child.ts", import.meta.url);
const FLAGS = ["--allow-ffi", "--allow-read", "--allow-write"];

Deno.test("writeAt after unmap, overwrite or destroy never lands in the new mapping", async () => {
  const r = childJson<Record<string, unknown>>(await runDeno(FLAGS, CHILD, ["reuse"]), "reuse");
  for (const how of ["unmap", "overwrite", "destroy", "root"]) {
    if (how !== "root") {
      assert.equal(r[`${how}:first`], 1);
      assert.equal(r[`${how}:fileHas`], 1, "the first write went through to the file");
    } else {
      assert.equal(r["root:remapped"], "ok", "the freed root address was mapped again");
    }
    assert.equal(r[`${how}:late`], Status.BAD_STATE, `${how}: the late write is refused`);
    assert.equal(r[`${how}:otherHas`], 0, `${how}: the new mapping is untouched`);
  }
});

Deno.test("writeAt after a protect to read-only is ACCESS_DENIED and writes nothing", async () => {
  const r = childJson<Record<string, unknown>>(
    await runDeno(FLAGS, CHILD, ["protect"]),
    "protect",
  );
  for (const kind of ["file", "resizable"]) {
    assert.equal(r[`${kind}:viewable`], Status.NOT_SUPPORTED, "the memory is not viewable");
    assert.equal(r[`${kind}:first`], 1);
    assert.equal(r[`${kind}:readOnly`], Status.ACCESS_DENIED);
    assert.equal(r[`${kind}:again`], "ok");
    assert.equal(r[`${kind}:halfReadOnly`], Status.ACCESS_DENIED);
    assert.equal(r[`${kind}:firstPageStill`], "ok");
    assert.deepEqual(r[`${kind}:bytes`], [5, 0, 0, 0, 0], "nothing written by refused writes");
  }
});

Deno.test("writeAt and readAt over a file another process truncates and grows", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.truncate(path, 16 * P);
    const child = startDeno(FLAGS, CHILD, ["truncate", path]);
    const finished = child.finish(60_000);
    let done = false;
    finished.then(() => done = true);
    let cuts = 0;
    while (!done) {
      try {
        Deno.statSync(path + ".ready");
      } catch {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      await Deno.truncate(path, 0);
      await Deno.truncate(path, 3 * P + 100);
      await Deno.truncate(path, 16 * P);
      cuts++;
    }
    const r = childJson<Record<string, unknown>>(await finished, "truncate");
    assert.ok(cuts > 10, `the file was cut ${cuts} times`);
    assert.ok((r.ok as number) > 0, JSON.stringify(r));
    // Writes past a cut end are refused (not faulted): the race must have been met.
    assert.ok(
      ((r.statuses as Record<string, number>)[Status.OUT_OF_RANGE] ?? 0) > 0,
      `no access met a cut file: ${JSON.stringify(r)}`,
    );
    for (const s of Object.keys(r.statuses as object)) {
      assert.equal(Number(s), Status.OUT_OF_RANGE, "a cut write or read is OUT_OF_RANGE");
    }
    assert.equal(r.shrunk, Status.OUT_OF_RANGE);
    assert.equal(r.grown, "ok");
    assert.equal(r.byte, 3);
  } finally {
    await Deno.remove(path);
    await Deno.remove(path + ".ready").catch(() => {});
  }
});
