/**
 * `Vmo.fromFile`'s options that make and size files (issue 12, examples/file.ts), checked as
 * `Deno.open`'s are: `create`, `createNew`, `truncate`, `size` need `writable`; bad combinations
 * and values are `INVALID_ARGS` and touch nothing; a missing file without `create` is
 * `NOT_FOUND`, an existing one with `createNew` `ALREADY_EXISTS`; what the file system or Deno
 * refuses is `ACCESS_DENIED`. Every result is checked against the file itself (`Deno.statSync`,
 * `Deno.readFileSync`), not only through the VMO.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Status, Vmo, VmoInfoFlags, ZxError } from "../../mod.ts";
import { assertStatus, P, runDeno } from "../_support/mod.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A fresh directory for the test, removed afterwards. */
function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "vmo-from-file-" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

Deno.test("fromFile create: makes a missing file, keeps an existing one", async (t) => {
  await t.step(
    "create on a missing path: an empty file, size 0",
    withDir((dir) => {
      const path = `${dir}/new`;
      using vmo = Vmo.fromFile(path, { writable: true, create: true });
      assert.ok(exists(path));
      assert.equal(Deno.statSync(path).size, 0);
      assert.equal(vmo.getSize(), 0);
      assert.equal(vmo.getStreamSize(), 0);
      assert.ok(vmo.info().flags & VmoInfoFlags.PAGER_BACKED);
      assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.OUT_OF_RANGE);
    }),
  );
  await t.step(
    "create with size: the file has that length, writes reach it",
    withDir((dir) => {
      const path = `${dir}/sized`;
      {
        using vmo = Vmo.fromFile(path, { writable: true, create: true, size: P + 100 });
        assert.equal(vmo.getSize(), 2 * P);
        assert.equal(vmo.getStreamSize(), P + 100);
        assert.deepEqual([...vmo.readToArray(P + 96, 4)], [0, 0, 0, 0]);
        vmo.write(new Uint8Array([1, 2, 3]), P + 97);
      }
      const bytes = Deno.readFileSync(path);
      assert.equal(bytes.length, P + 100);
      assert.deepEqual([...bytes.subarray(P + 96)], [0, 1, 2, 3]);
    }),
  );
  await t.step(
    "create on an existing file keeps its data",
    withDir((dir) => {
      const path = `${dir}/old`;
      Deno.writeTextFileSync(path, "kept");
      using vmo = Vmo.fromFile(path, { writable: true, create: true });
      assert.equal(new TextDecoder().decode(vmo.readToArray(0, 4)), "kept");
      assert.equal(vmo.getStreamSize(), 4);
    }),
  );
});

Deno.test("fromFile createNew: only a file that does not exist", async (t) => {
  await t.step(
    "a missing path is created (even with truncate and create, which it makes moot)",
    withDir((dir) => {
      const path = `${dir}/fresh`;
      using vmo = Vmo.fromFile(path, {
        writable: true,
        createNew: true,
        create: true,
        truncate: true,
        size: 10,
      });
      assert.equal(Deno.statSync(path).size, 10);
      assert.equal(vmo.getStreamSize(), 10);
    }),
  );
  await t.step(
    "an existing path is ALREADY_EXISTS and left as it was",
    withDir((dir) => {
      const path = `${dir}/taken`;
      Deno.writeTextFileSync(path, "mine");
      assertStatus(
        () => Vmo.fromFile(path, { writable: true, createNew: true, size: 0 }),
        Status.ALREADY_EXISTS,
      );
      assert.equal(Deno.readTextFileSync(path), "mine");
      // A dangling symlink counts as existing, as for O_EXCL.
      Deno.symlinkSync(`${dir}/nowhere`, `${dir}/link`);
      assertStatus(
        () => Vmo.fromFile(`${dir}/link`, { writable: true, createNew: true }),
        Status.ALREADY_EXISTS,
      );
      assert.equal(exists(`${dir}/nowhere`), false);
    }),
  );
});

Deno.test("fromFile truncate and size change an existing file", async (t) => {
  await t.step(
    "truncate: cut to 0 on opening",
    withDir((dir) => {
      const path = `${dir}/f`;
      Deno.writeFileSync(path, new Uint8Array(3 * P).fill(9));
      using vmo = Vmo.fromFile(path, { writable: true, truncate: true });
      assert.equal(vmo.getSize(), 0);
      assert.equal(Deno.statSync(path).size, 0);
    }),
  );
  await t.step(
    "truncate then size: the old bytes are gone, zeros to the new size",
    withDir((dir) => {
      const path = `${dir}/f`;
      Deno.writeFileSync(path, new Uint8Array(P).fill(9));
      using vmo = Vmo.fromFile(path, { writable: true, truncate: true, size: P });
      assert.ok(vmo.readToArray(0, P).every((b) => b === 0));
      assert.ok(Deno.readFileSync(path).every((b) => b === 0));
    }),
  );
  await t.step(
    "size grows with zeros and cuts, keeping the bytes before it",
    withDir((dir) => {
      const path = `${dir}/f`;
      Deno.writeFileSync(path, new Uint8Array(100).fill(5));
      {
        using grown = Vmo.fromFile(path, { writable: true, size: 2 * P });
        assert.equal(grown.readToArray(99, 1)[0], 5);
        assert.equal(grown.readToArray(100, 1)[0], 0);
        assert.equal(grown.getStreamSize(), 2 * P);
      }
      assert.equal(Deno.statSync(path).size, 2 * P);
      {
        using cut = Vmo.fromFile(path, { writable: true, size: 50 });
        assert.equal(cut.getStreamSize(), 50);
        assert.equal(cut.readToArray(49, 1)[0], 5);
      }
      assert.equal(Deno.statSync(path).size, 50);
    }),
  );
  await t.step(
    "size on an open FsFile (writable) sizes the file",
    withDir((dir) => {
      const path = `${dir}/f`;
      Deno.writeFileSync(path, new Uint8Array([7]));
      using file = Deno.openSync(path, { read: true, write: true });
      using vmo = Vmo.fromFile(file, { writable: true, size: 3 * P });
      assert.equal(vmo.getSize(), 3 * P);
      assert.equal(file.statSync().size, 3 * P);
      assert.equal(vmo.readToArray(0, 1)[0], 7);
    }),
  );
});

Deno.test("fromFile options: bad combinations and values are INVALID_ARGS and touch nothing", async (t) => {
  const bad: [string, Record<string, unknown>][] = [
    ["create without writable", { create: true }],
    ["createNew without writable", { createNew: true }],
    ["truncate without writable", { truncate: true }],
    ["size without writable", { size: 10 }],
    ["create with writable: false", { writable: false, create: true }],
    ["size with writable: false", { writable: false, size: 0 }],
    ["create: 'yes'", { writable: true, create: "yes" }],
    ["writable: 1", { writable: 1 }],
    ["truncate: null", { writable: true, truncate: null }],
    ["size: -1", { writable: true, create: true, size: -1 }],
    ["size: 1.5", { writable: true, create: true, size: 1.5 }],
    ["size: '10'", { writable: true, create: true, size: "10" }],
    ["size: NaN", { writable: true, create: true, size: NaN }],
    ["size: 10n", { writable: true, create: true, size: 10n }],
    ["an unknown key (Deno's `write`)", { write: true, create: true }],
    ["an unknown key (`mode`)", { writable: true, create: true, mode: 0o600 }],
    ["an unknown key (`append`)", { writable: true, create: true, append: true }],
  ];
  for (const [what, options] of bad) {
    await t.step(
      what,
      withDir((dir) => {
        const path = `${dir}/f`;
        Deno.writeTextFileSync(`${dir}/g`, "data");
        assertStatus(() => Vmo.fromFile(path, options), Status.INVALID_ARGS, what);
        assertStatus(() => Vmo.fromFile(`${dir}/g`, options), Status.INVALID_ARGS, what);
        assert.equal(exists(path), false, `${what} created the file`);
        assert.equal(Deno.readTextFileSync(`${dir}/g`), "data", `${what} changed the file`);
      }),
    );
  }
  await t.step(
    "create, createNew, truncate with an open FsFile: INVALID_ARGS",
    withDir((dir) => {
      const path = `${dir}/f`;
      Deno.writeTextFileSync(path, "data");
      using file = Deno.openSync(path, { read: true, write: true });
      for (const key of ["create", "createNew", "truncate"]) {
        assertStatus(
          () => Vmo.fromFile(file, { writable: true, [key]: true }),
          Status.INVALID_ARGS,
          key,
        );
      }
      assert.equal(Deno.readTextFileSync(path), "data");
    }),
  );
  await t.step(
    "size above Vmo.MAX_SIZE: OUT_OF_RANGE, no file made",
    withDir((dir) => {
      const path = `${dir}/f`;
      assertStatus(
        () => Vmo.fromFile(path, { writable: true, create: true, size: Vmo.MAX_SIZE + 1 }),
        Status.OUT_OF_RANGE,
      );
      assert.equal(exists(path), false);
    }),
  );
  await t.step(
    "any options object: a ZxError, and INVALID_ARGS unless only known keys (property)",
    withDir((dir) => {
      const path = `${dir}/f`;
      Deno.writeTextFileSync(path, "data");
      const value = fc.oneof(fc.boolean(), fc.integer(), fc.string(), fc.constant(undefined));
      const key = fc.constantFrom("writable", "create", "truncate", "size", "writeable", "read");
      fc.assert(
        fc.property(fc.dictionary(key, value, { maxKeys: 3 }), (options) => {
          let status: number = Status.OK;
          try {
            using _vmo = Vmo.fromFile(path, options);
          } catch (error) {
            assert.ok(error instanceof ZxError, String(error));
            status = error.status;
          }
          const unknown = Object.keys(options).some((k) => k === "writeable" || k === "read");
          if (unknown) assert.equal(status, Status.INVALID_ARGS);
          // The file is never cut unless truncate or a size asked it.
          const size = Deno.statSync(path).size;
          if (status !== Status.OK || (!options.truncate && options.size === undefined)) {
            assert.equal(size, 4);
          }
          Deno.writeTextFileSync(path, "data");
        }),
        { numRuns: 300 },
      );
    }),
  );
});

Deno.test("fromFile: missing files and refusals", async (t) => {
  await t.step(
    "a missing file without create: NOT_FOUND, read-only or writable",
    withDir((dir) => {
      assertStatus(() => Vmo.fromFile(`${dir}/none`), Status.NOT_FOUND);
      assertStatus(() => Vmo.fromFile(`${dir}/none`, { writable: true }), Status.NOT_FOUND);
      assertStatus(
        () => Vmo.fromFile(`${dir}/none`, { writable: true, truncate: true, size: 1 }),
        Status.NOT_FOUND,
      );
      // create does not make missing directories.
      assertStatus(
        () => Vmo.fromFile(`${dir}/no/such`, { writable: true, create: true }),
        Status.NOT_FOUND,
      );
      assert.equal(exists(`${dir}/none`), false);
    }),
  );
  await t.step(
    "a directory, even with create: WRONG_TYPE",
    withDir((dir) => {
      assertStatus(() => Vmo.fromFile(dir), Status.WRONG_TYPE);
      // open(O_CREAT) of a directory is EISDIR.
      assertStatus(() => Vmo.fromFile(dir, { writable: true, create: true }), Status.WRONG_TYPE);
    }),
  );
  await t.step("a file system that refuses the new file (sysfs): ACCESS_DENIED", () => {
    assertStatus(
      () => Vmo.fromFile("/sys/vmo-cannot-create", { writable: true, create: true }),
      Status.ACCESS_DENIED,
    );
  });
  await t.step(
    "a directory without write permission (unless root, who bypasses it): ACCESS_DENIED",
    withDir((dir) => {
      Deno.mkdirSync(`${dir}/ro`, { mode: 0o500 });
      Deno.chmodSync(`${dir}/ro`, 0o500);
      try {
        Deno.writeTextFileSync(`${dir}/ro/probe`, "");
        Deno.chmodSync(`${dir}/ro`, 0o700);
        console.log("  skipped: this process bypasses the mode bits (root)");
        return;
      } catch {
        // Refused, as for any ordinary user: the case can be tried.
      }
      assertStatus(
        () => Vmo.fromFile(`${dir}/ro/f`, { writable: true, create: true }),
        Status.ACCESS_DENIED,
      );
      Deno.chmodSync(`${dir}/ro`, 0o700);
    }),
  );
  await t.step(
    "without Deno's write permission (child process): ACCESS_DENIED, nothing created",
    withDir(async (dir) => {
      const child = new URL("./from_file_options_child.ts", import.meta.url);
      const path = `${dir}/f`;
      const options = JSON.stringify({ writable: true, create: true, size: 10 });
      const denied = await runDeno(["--allow-ffi", `--allow-read=${dir}`], child, [path, options]);
      assert.equal(denied.code, 0, denied.stderr);
      assert.deepEqual(JSON.parse(denied.stdout), { status: Status.ACCESS_DENIED });
      assert.equal(exists(path), false);
      const allowed = await runDeno(
        ["--allow-ffi", `--allow-read=${dir}`, `--allow-write=${dir}`],
        child,
        [path, options],
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.deepEqual(JSON.parse(allowed.stdout), { status: "ok:10" });
      assert.equal(Deno.statSync(path).size, 10);
    }),
  );
});
