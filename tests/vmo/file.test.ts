import assert from "node:assert/strict";
import {
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmo,
  VmoChildOptions as C,
  VmoInfoFlags,
} from "../../mod.ts";
import {
  allZero,
  assertStatus,
  countFds,
  filled,
  libc,
  P,
  pattern,
  runDeno,
  tempFile,
  withTempDir,
  withTempFile,
} from "../_support/mod.ts";

Deno.test("fromFile(path), read-only", async (t) => {
  await t.step("reads the file; size rounded to pages; stream size = file size", () => {
    const data = pattern(P + 100, 5);
    withTempFile(data, (path) => {
      using vmo = Vmo.fromFile(path);
      assert.equal(vmo.getSize(), 2 * P);
      assert.equal(vmo.getStreamSize(), P + 100);
      assert.deepEqual(vmo.readToArray(0, P + 100), data);
      assert.ok(allZero(vmo.readToArray(P + 100, P - 100)), "past the end of the file reads 0");
    });
  });
  await t.step("no WRITE right; write, setSize, setStreamSize: ACCESS_DENIED", () => {
    withTempFile("hello", (path) => {
      using vmo = Vmo.fromFile(path);
      assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
      assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
      assertStatus(() => vmo.setSize(2 * P), Status.ACCESS_DENIED);
      assertStatus(() => vmo.setStreamSize(1), Status.ACCESS_DENIED);
      assert.equal(Deno.readTextFileSync(path), "hello");
    });
  });
  await t.step("an empty file gives an empty VMO", () => {
    withTempFile("", (path) => {
      using vmo = Vmo.fromFile(path);
      assert.equal(vmo.getSize(), 0);
      assert.equal(vmo.getStreamSize(), 0);
      assertStatus(() => vmo.readToArray(0, 1), Status.OUT_OF_RANGE);
    });
  });
  await t.step("sees later changes to the file", () => {
    withTempFile(filled(P, 1), (path) => {
      using vmo = Vmo.fromFile(path);
      using f = Deno.openSync(path, { write: true });
      f.writeSync(new Uint8Array([9, 9]));
      assert.deepEqual([...vmo.readToArray(0, 3)], [9, 9, 1]);
    });
  });
  await t.step("a file truncated by someone else reads zeros past its new end", () => {
    withTempFile(filled(2 * P, 7), (path) => {
      using vmo = Vmo.fromFile(path);
      Deno.truncateSync(path, 10);
      assert.deepEqual(vmo.readToArray(0, 10), filled(10, 7));
      assert.ok(allZero(vmo.readToArray(10, 2 * P - 10)));
    });
  });
  await t.step("info: PAGER_BACKED, not RESIZABLE", () => {
    withTempFile("x", (path) => {
      using vmo = Vmo.fromFile(path);
      const flags = vmo.info().flags;
      assert.ok(flags & VmoInfoFlags.PAGER_BACKED);
      assert.equal(flags & VmoInfoFlags.RESIZABLE, 0);
    });
  });
});

Deno.test("fromFile(path, { writable: true })", async (t) => {
  await t.step("has WRITE (not RESIZE); writes reach the file on disk", () => {
    withTempFile(filled(2 * P, 0), (path) => {
      using vmo = Vmo.fromFile(path, { writable: true });
      assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS);
      const data = pattern(300, 2);
      vmo.write(data, P - 100);
      const disk = Deno.readFileSync(path);
      assert.equal(disk.length, 2 * P);
      assert.deepEqual(disk.slice(P - 100, P + 200), data);
      assert.ok(allZero(disk.slice(0, P - 100)));
    });
  });
  await t.step("a write in the last page past the end of the file reaches the file", () => {
    withTempFile("0123456789", (path) => {
      using vmo = Vmo.fromFile(path, { writable: true });
      vmo.write(new TextEncoder().encode("XY"), 20);
      const disk = Deno.readFileSync(path);
      assert.ok(disk.length >= 22);
      assert.equal(new TextDecoder().decode(disk.slice(0, 10)), "0123456789");
      assert.equal(new TextDecoder().decode(disk.slice(20, 22)), "XY");
      assertStatus(() => vmo.write(new Uint8Array(1), P), Status.OUT_OF_RANGE);
    });
  });
  await t.step("not resizable: setSize is UNAVAILABLE", () => {
    withTempFile("abc", (path) => {
      using vmo = Vmo.fromFile(path, { writable: true });
      assertStatus(() => vmo.setSize(2 * P), Status.UNAVAILABLE);
      assert.equal(Deno.statSync(path).size, 3);
    });
  });
  await t.step("a slice writes through to the file", () => {
    withTempFile(filled(2 * P, 0), (path) => {
      using vmo = Vmo.fromFile(path, { writable: true });
      using slice = vmo.createChild(C.SLICE, P, P);
      slice.write(new Uint8Array([1, 2, 3]), 0);
      assert.deepEqual([...Deno.readFileSync(path).slice(P, P + 3)], [1, 2, 3]);
    });
  });
});

Deno.test("fromFile(Deno.FsFile)", async (t) => {
  await t.step("a file opened for reading: reads, no WRITE; survives the FsFile's close", () => {
    withTempFile("from an FsFile", (path) => {
      const file = Deno.openSync(path, { read: true });
      using vmo = Vmo.fromFile(file);
      file.close();
      assert.equal(vmo.rights & Rights.WRITE, 0);
      assert.equal(new TextDecoder().decode(vmo.readToArray(0, 14)), "from an FsFile");
      assert.equal(vmo.getStreamSize(), 14);
    });
  });
  await t.step("a file opened for reading and writing, writable: writes reach the disk", () => {
    withTempFile(filled(P, 0), (path) => {
      using file = Deno.openSync(path, { read: true, write: true });
      using vmo = Vmo.fromFile(file, { writable: true });
      assert.ok(vmo.rights & Rights.WRITE);
      vmo.write(new Uint8Array([5, 6]), 10);
      assert.deepEqual([...Deno.readFileSync(path).slice(10, 12)], [5, 6]);
    });
  });
  await t.step("a read-only FsFile asked to be writable: ACCESS_DENIED", () => {
    withTempFile("ro", (path) => {
      using file = Deno.openSync(path, { read: true });
      const before = countFds();
      assertStatus(() => Vmo.fromFile(file, { writable: true }), Status.ACCESS_DENIED);
      assert.equal(countFds(), before);
    });
  });
  await t.step("a closed FsFile: BAD_HANDLE", () => {
    withTempFile("x", (path) => {
      const file = Deno.openSync(path, { read: true });
      file.close();
      assertStatus(() => Vmo.fromFile(file), Status.BAD_HANDLE);
    });
  });
});

Deno.test("§1.6.7 children of a file-backed (pager-backed) VMO", async (t) => {
  await t.step("SNAPSHOT: NOT_SUPPORTED", () => {
    withTempFile(filled(P, 1), (path) => {
      using ro = Vmo.fromFile(path);
      using rw = Vmo.fromFile(path, { writable: true });
      assertStatus(() => ro.createChild(C.SNAPSHOT, 0, P), Status.NOT_SUPPORTED);
      assertStatus(() => rw.createChild(C.SNAPSHOT, 0, P), Status.NOT_SUPPORTED);
      assertStatus(() => rw.createChild(C.SNAPSHOT | C.NO_WRITE, 0, P), Status.NOT_SUPPORTED);
    });
  });
  await t.step("SNAPSHOT_AT_LEAST_ON_WRITE works: a private, writable copy", () => {
    withTempFile(filled(2 * P, 1), (path) => {
      using vmo = Vmo.fromFile(path);
      using child = vmo.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, 2 * P);
      assert.ok(child.info().flags & VmoInfoFlags.IS_COW_CLONE);
      assert.ok(child.rights & Rights.WRITE);
      assert.deepEqual(child.readToArray(0, 2 * P), filled(2 * P, 1));
      child.write(filled(P, 2), 0);
      assert.deepEqual(child.readToArray(0, P), filled(P, 2));
      assert.deepEqual(Deno.readFileSync(path), filled(2 * P, 1));
      assert.deepEqual(vmo.readToArray(0, P), filled(P, 1));
    });
  });
  await t.step("SNAPSHOT of a SNAPSHOT_AT_LEAST_ON_WRITE child: NOT_SUPPORTED", () => {
    withTempFile(filled(P, 1), (path) => {
      using vmo = Vmo.fromFile(path);
      using child = vmo.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, P);
      assertStatus(() => child.createChild(C.SNAPSHOT, 0, P), Status.NOT_SUPPORTED);
      using grand = child.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, P);
      assert.deepEqual(grand.readToArray(0, P), filled(P, 1));
    });
  });
  await t.step("SNAPSHOT of a slice of a file-backed VMO: NOT_SUPPORTED", () => {
    withTempFile(filled(2 * P, 1), (path) => {
      using vmo = Vmo.fromFile(path);
      using slice = vmo.createChild(C.SLICE, 0, P);
      assertStatus(() => slice.createChild(C.SNAPSHOT, 0, P), Status.NOT_SUPPORTED);
    });
  });
  await t.step("SNAPSHOT_MODIFIED works", () => {
    withTempFile(filled(P, 3), (path) => {
      using vmo = Vmo.fromFile(path);
      using child = vmo.createChild(C.SNAPSHOT_MODIFIED, 0, P);
      assert.deepEqual(child.readToArray(0, P), filled(P, 3));
      child.write(new Uint8Array([4]), 0);
      assert.equal(Deno.readFileSync(path)[0], 3);
    });
  });
  await t.step("REFERENCE works; RESIZABLE REFERENCE: NOT_SUPPORTED", () => {
    withTempFile(filled(P, 3), (path) => {
      using vmo = Vmo.fromFile(path, { writable: true });
      using ref = vmo.createChild(C.REFERENCE, 0, 0);
      ref.write(new Uint8Array([8]), 0);
      assert.equal(Deno.readFileSync(path)[0], 8);
      assertStatus(() => vmo.createChild(C.REFERENCE | C.RESIZABLE, 0, 0), Status.NOT_SUPPORTED);
    });
  });
});

Deno.test("fromFile errors", async (t) => {
  await t.step("a missing path: NOT_FOUND", () => {
    withTempDir((dir) => {
      assertStatus(() => Vmo.fromFile(`${dir}/nope`), Status.NOT_FOUND);
      assertStatus(() => Vmo.fromFile(`${dir}/nope`, { writable: true }), Status.NOT_FOUND);
    });
  });
  await t.step("a directory: WRONG_TYPE, and no fd is left open", () => {
    withTempDir((dir) => {
      const before = countFds();
      assertStatus(() => Vmo.fromFile(dir), Status.WRONG_TYPE);
      assertStatus(() => Vmo.fromFile(dir, { writable: true }), Status.WRONG_TYPE);
      assert.equal(countFds(), before);
    });
  });
  await t.step("a path with a NUL: INVALID_ARGS", () => {
    assertStatus(() => Vmo.fromFile("/tmp/a\0b"), Status.INVALID_ARGS);
  });
});

Deno.test("fromFile of a FIFO: WRONG_TYPE, without blocking (child process)", async () => {
  const dir = Deno.makeTempDirSync();
  const fifo = `${dir}/fifo`;
  try {
    assert.equal(libc.mkfifo(fifo), 0);
    const child = new URL("../fixtures/from_file_child.ts", import.meta.url);
    const out = await runDeno(
      ["--allow-ffi", "--allow-read", "--allow-write"],
      child,
      [fifo],
      3000,
    );
    assert.equal(out.timedOut, false, "Vmo.fromFile(fifo) blocked (open without O_NONBLOCK?)");
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), {
      readOnly: Status.WRONG_TYPE,
      writable: Status.WRONG_TYPE,
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("fromFile checks Deno's permissions (child process)", async (t) => {
  const child = new URL("../fixtures/from_file_child.ts", import.meta.url);
  const path = tempFile(new Uint8Array([42]));
  try {
    await t.step("--allow-ffi without --allow-read: ACCESS_DENIED both ways", async () => {
      const out = await runDeno(["--allow-ffi"], child, [path]);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), {
        readOnly: Status.ACCESS_DENIED,
        writable: Status.ACCESS_DENIED,
      });
    });
    await t.step(
      "--allow-read of the path only: reads, but writable is ACCESS_DENIED",
      async () => {
        const out = await runDeno(["--allow-ffi", `--allow-read=${path}`], child, [path]);
        assert.equal(out.code, 0, out.stderr);
        assert.deepEqual(JSON.parse(out.stdout), {
          readOnly: "ok:42",
          writable: Status.ACCESS_DENIED,
        });
      },
    );
    await t.step("--allow-read and --allow-write of the path: both work", async () => {
      const out = await runDeno(
        ["--allow-ffi", `--allow-read=${path}`, `--allow-write=${path}`],
        child,
        [path],
      );
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), { readOnly: "ok:42", writable: "ok:42" });
    });
  } finally {
    Deno.removeSync(path);
  }
});
