import assert from "node:assert/strict";
import { Status, statusName, Vmo, ZxError } from "../mod.ts";
import { assertStatus, libc, O_RDONLY, withTempDir, withTempFile } from "./_support/mod.ts";

/** docs/semantics.md §0 (Zircon's values, and vmo's PEER_CLOSED). */
const EXPECTED: Record<string, number> = {
  OK: 0,
  INTERNAL: -1,
  NOT_SUPPORTED: -2,
  NO_RESOURCES: -3,
  NO_MEMORY: -4,
  INVALID_ARGS: -10,
  BAD_HANDLE: -11,
  WRONG_TYPE: -12,
  OUT_OF_RANGE: -14,
  BUFFER_TOO_SMALL: -15,
  BAD_STATE: -20,
  TIMED_OUT: -21,
  SHOULD_WAIT: -22,
  CANCELED: -23,
  PEER_CLOSED: -24,
  NOT_FOUND: -25,
  ALREADY_EXISTS: -26,
  UNAVAILABLE: -28,
  ACCESS_DENIED: -30,
  IO: -40,
  IO_DATA_INTEGRITY: -51,
};

Deno.test("§0 Status values", async (t) => {
  for (const [name, value] of Object.entries(EXPECTED)) {
    await t.step(`Status.${name} === ${value}`, () => {
      assert.equal((Status as Record<string, number>)[name], value);
    });
  }
  await t.step("values are distinct", () => {
    const values = Object.values(Status);
    assert.equal(new Set(values).size, values.length);
  });
});

Deno.test("statusName", async (t) => {
  await t.step('statusName(0) is "ZX_OK"', () => {
    assert.equal(statusName(Status.OK), "ZX_OK");
  });
  await t.step('statusName(-14) is "ZX_ERR_OUT_OF_RANGE"', () => {
    assert.equal(statusName(-14), "ZX_ERR_OUT_OF_RANGE");
  });
  await t.step("every error status is ZX_ERR_<name>", () => {
    for (const [name, value] of Object.entries(EXPECTED)) {
      if (value === 0) continue;
      assert.equal(statusName(value), `ZX_ERR_${name}`);
    }
  });
});

Deno.test("ZxError shape", async (t) => {
  await t.step("is an Error with name, status and a message that starts with the status", () => {
    const error = new ZxError(Status.BAD_STATE, "something");
    assert.ok(error instanceof Error);
    assert.ok(error instanceof ZxError);
    assert.equal(error.name, "ZxError");
    assert.equal(error.status, Status.BAD_STATE);
    assert.ok(error.message.startsWith("ZX_ERR_BAD_STATE: "), error.message);
    assert.ok(error.message.includes("something"));
    assert.equal(error.cause, undefined);
  });

  await t.step("a thrown error from a rule check has no syscall cause", () => {
    const error = assertStatus(() => Vmo.create(-1), Status.INVALID_ARGS);
    assert.equal(error.cause, undefined);
    assert.ok(error.message.startsWith("ZX_ERR_INVALID_ARGS: "));
  });

  await t.step("the message names the failing argument", () => {
    const e1 = assertStatus(() => Vmo.create(-1), Status.INVALID_ARGS);
    assert.match(e1.message, /size/);
    using vmo = Vmo.create(4096);
    const e2 = assertStatus(() => vmo.read(new Uint8Array(1), -1), Status.INVALID_ARGS);
    assert.match(e2.message, /offset/);
    const e3 = assertStatus(() => vmo.readToArray(0, 1.5), Status.INVALID_ARGS);
    assert.match(e3.message, /length/);
  });

  await t.step(
    "unsafeFromFd of a closed fd: BAD_HANDLE with cause {syscall, errno 9, EBADF}",
    () => {
      const fd = 987_654; // far above any fd this process has open
      const error = assertStatus(() => Vmo.unsafeFromFd(fd), Status.BAD_HANDLE);
      const cause = error.cause as { syscall: string; errno: number; code: string };
      assert.ok(cause !== undefined, "cause is set when a syscall failed");
      assert.equal(typeof cause.syscall, "string");
      assert.ok(cause.syscall.length > 0);
      assert.equal(cause.errno, 9);
      assert.equal(cause.code, "EBADF");
      assert.ok(error.message.startsWith("ZX_ERR_BAD_HANDLE: "));
    },
  );

  await t.step("unsafeFromFd of an fd just closed: BAD_HANDLE, EBADF", () => {
    withTempFile("x", (path) => {
      const fd = libc.open(path, O_RDONLY);
      assert.ok(fd >= 0);
      assert.equal(libc.close(fd), 0);
      const error = assertStatus(() => Vmo.unsafeFromFd(fd), Status.BAD_HANDLE);
      assert.equal(error.cause?.code, "EBADF");
      assert.equal(error.cause?.errno, 9);
    });
  });

  await t.step("fromFile of a missing path: NOT_FOUND with cause ENOENT", () => {
    withTempDir((dir) => {
      const error = assertStatus(() => Vmo.fromFile(`${dir}/missing`), Status.NOT_FOUND);
      assert.equal(error.cause?.code, "ENOENT");
      assert.equal(error.cause?.errno, 2);
      assert.equal(typeof error.cause?.syscall, "string");
    });
  });
});

Deno.test("ZxError op and range", async (t) => {
  await t.step("absent unless given", () => {
    const error = new ZxError(Status.IO, "plain");
    assert.equal(error.op, undefined);
    assert.equal(error.range, undefined);
    assert.ok(!("op" in error) && !("range" in error));
  });
  await t.step("given: kept, with the status, message and cause unchanged", () => {
    const cause = { syscall: "pread", errno: 5, code: "EIO" };
    const error = new ZxError(Status.IO, "guest read failed", cause, {
      op: "read",
      range: { start: 0x8000_0000, len: 0x2000 },
    });
    assert.equal(error.status, Status.IO);
    assert.equal(error.message, "ZX_ERR_IO: guest read failed");
    assert.deepEqual(error.cause, cause);
    assert.equal(error.op, "read");
    assert.deepEqual(error.range, { start: 0x8000_0000, len: 0x2000 });
  });
  await t.step("the range is a frozen copy of what was given", () => {
    const given = { start: 4096, len: 16 };
    const error = new ZxError(Status.OUT_OF_RANGE, "write", undefined, {
      op: "write",
      range: given,
    });
    given.start = 0;
    assert.equal(error.range?.start, 4096);
    assert.ok(Object.isFrozen(error.range));
    assert.throws(() => {
      (error as { op?: string }).op = "other";
    }, TypeError);
  });
});
