/**
 * Bad input for every method and every numeric argument (docs/semantics.md §0):
 * a negative, fractional, NaN, infinite or non-number value is INVALID_ARGS; a value or a
 * computed end above Number.MAX_SAFE_INTEGER is OUT_OF_RANGE; only ZxError is thrown; and a
 * failing call leaves nothing behind.
 */
import assert from "node:assert/strict";
import {
  CachePolicy,
  Status,
  Vmo,
  VmoChildOptions as C,
  VmoOp,
  VmoOptions,
  ZxError,
} from "../../mod.ts";
import {
  assertStatus,
  countFds,
  countMemfds,
  fdIsOpen,
  P,
  tempFile,
  withTempFile,
} from "../_support/mod.ts";

/** Values that are not a non-negative integer number. */
const NOT_U64: unknown[] = [
  -1,
  -P,
  -0.5,
  1.5,
  P + 0.25,
  NaN,
  Infinity,
  -Infinity,
  "4096",
  "0",
  "",
  null,
  true,
  4096n,
  0n,
  {},
  [],
  [0],
  { valueOf: () => 0 },
];
/** The same, plus undefined, for a required argument. */
const NOT_U64_REQUIRED: unknown[] = [...NOT_U64, undefined];

/** Integers above Number.MAX_SAFE_INTEGER (all page aligned, so alignment checks pass). */
const TOO_BIG: number[] = [2 ** 53, 2 ** 53 + 2 * P, 2 ** 60, 2 ** 64, 1e300, Number.MAX_VALUE];

const ALL_OPS: [string, number][] = Object.entries(VmoOp);
const LOCK_OPS: number[] = [VmoOp.LOCK, VmoOp.TRY_LOCK, VmoOp.UNLOCK];

type Call = (x: unknown) => unknown;

interface Fixture {
  plain: Vmo;
  resizable: Vmo;
  discardable: Vmo;
  file: Vmo;
  closed: Vmo;
  close(): void;
}

function fixture(): Fixture {
  const path = tempFile(new Uint8Array(2 * P));
  const file = Vmo.fromFile(path);
  Deno.removeSync(path);
  const closed = Vmo.create(P);
  closed.close();
  const f = {
    plain: Vmo.create(4 * P),
    resizable: Vmo.create(4 * P, VmoOptions.RESIZABLE),
    discardable: Vmo.create(4 * P, VmoOptions.DISCARDABLE),
    file,
    closed,
    close() {
      for (const v of [f.plain, f.resizable, f.discardable, f.file]) v.close();
    },
  };
  return f;
}

/** Every numeric size/offset/length argument, as a call taking that argument. */
function numericArgs(f: Fixture): [string, Call, boolean][] {
  const v = f.plain;
  const args: [string, Call, boolean][] = [
    // name, call, has a default value
    ["create(size)", (x) => Vmo.create(x as number), false],
    ["create(size, RESIZABLE)", (x) => Vmo.create(x as number, VmoOptions.RESIZABLE), false],
    ["read(dst, offset)", (x) => v.read(new Uint8Array(1), x as number), false],
    ["readToArray(offset, 1)", (x) => v.readToArray(x as number, 1), false],
    ["readToArray(0, length)", (x) => v.readToArray(0, x as number), false],
    ["write(src, offset)", (x) => v.write(new Uint8Array(1), x as number), false],
    ["setSize(size) resizable", (x) => f.resizable.setSize(x as number), false],
    ["setSize(size) fixed", (x) => v.setSize(x as number), false],
    ["setStreamSize(size)", (x) => v.setStreamSize(x as number), false],
    ["createChild(SNAPSHOT, offset, P)", (x) => v.createChild(C.SNAPSHOT, x as number, P), false],
    ["createChild(SNAPSHOT, 0, size)", (x) => v.createChild(C.SNAPSHOT, 0, x as number), false],
    ["createChild(SLICE, 0, size)", (x) => v.createChild(C.SLICE, 0, x as number), false],
    ["createChild(REFERENCE, 0, size)", (x) => v.createChild(C.REFERENCE, 0, x as number), false],
    [
      "createChild(SNAPSHOT_AT_LEAST_ON_WRITE, offset, P)",
      (x) => v.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, x as number, P),
      false,
    ],
  ];
  for (const [name, op] of ALL_OPS) {
    const target = LOCK_OPS.includes(op) ? f.discardable : v;
    const size = LOCK_OPS.includes(op) ? 4 * P : 1;
    args.push([
      `opRange(${name}, offset, ${size})`,
      (x) => target.opRange(op, x as number, size),
      false,
    ]);
    args.push([`opRange(${name}, 0, size)`, (x) => target.opRange(op, 0, x as number), false]);
  }
  for (
    const [name, op] of [["DONT_NEED", VmoOp.DONT_NEED], [
      "ALWAYS_NEED",
      VmoOp.ALWAYS_NEED,
    ]] as const
  ) {
    args.push([
      `file opRange(${name}, offset, 1)`,
      (x) => f.file.opRange(op, x as number, 1),
      false,
    ]);
    args.push([`file opRange(${name}, 0, size)`, (x) => f.file.opRange(op, 0, x as number), false]);
  }
  return args;
}

/**
 * Runs `body` with a fresh fixture and closes it, then checks in a last step ("nothing is left
 * behind") that the fds, and with `memfds` the memfds, are back to what they were before.
 */
async function withLeakCheckedFixture(
  t: Deno.TestContext,
  { memfds }: { memfds: boolean },
  body: (f: Fixture) => Promise<void>,
): Promise<void> {
  const before = countFds();
  const memfdsBefore = memfds ? countMemfds() : 0;
  const f = fixture();
  try {
    await body(f);
  } finally {
    f.close();
  }
  await t.step("nothing is left behind", () => {
    assert.equal(countFds(), before);
    if (memfds) assert.equal(countMemfds(), memfdsBefore);
  });
}
/** Arguments that are options, ops, policies, rights or fds: 32-bit values. */
function flagArgs(f: Fixture): [string, Call, boolean][] {
  const v = f.plain;
  return [
    ["create(P, options)", (x) => Vmo.create(P, x as number), true],
    ["createChild(options, 0, P)", (x) => v.createChild(x as number, 0, P), false],
    ["opRange(op, 0, P)", (x) => v.opRange(x as number, 0, P), false],
    ["setCachePolicy(policy)", (x) => v.setCachePolicy(x as number), false],
    ["duplicate(rights)", (x) => v.duplicate(x as number), true],
    ["unsafeFromFd(fd)", (x) => Vmo.unsafeFromFd(x as number), false],
  ];
}

Deno.test("bad input: INVALID_ARGS for every malformed size, offset or length", async (t) => {
  await withLeakCheckedFixture(t, { memfds: true }, async (f) => {
    for (const [name, call, hasDefault] of numericArgs(f)) {
      await t.step(name, () => {
        for (const bad of hasDefault ? NOT_U64 : NOT_U64_REQUIRED) {
          assertStatus(() => call(bad), Status.INVALID_ARGS, `${name} with ${String(bad)}`);
        }
      });
    }
  });
});

Deno.test("bad input: INVALID_ARGS for malformed options, ops, policies, rights and fds", async (t) => {
  await withLeakCheckedFixture(t, { memfds: false }, async (f) => {
    for (const [name, call, hasDefault] of flagArgs(f)) {
      await t.step(name, () => {
        for (const bad of hasDefault ? NOT_U64 : NOT_U64_REQUIRED) {
          assertStatus(() => call(bad), Status.INVALID_ARGS, `${name} with ${String(bad)}`);
        }
        assertStatus(() => call(2 ** 32), Status.INVALID_ARGS, `${name} with 2^32`);
      });
    }
    await t.step("replace(rights): INVALID_ARGS, and the handle is gone", () => {
      for (const bad of NOT_U64) {
        const h = f.plain.duplicate();
        assertStatus(() => h.replace(bad as number), Status.INVALID_ARGS, String(bad));
        assert.equal(h.isValid, false);
      }
    });
  });
});

Deno.test("bad input: INVALID_ARGS for buffers, names and files of the wrong kind", async (t) => {
  await withLeakCheckedFixture(t, { memfds: false }, async (f) => {
    const notBytes: unknown[] = [
      undefined,
      null,
      "abc",
      5,
      [1, 2],
      new ArrayBuffer(4),
      new Int8Array(4),
      new Uint16Array(2),
      new DataView(new ArrayBuffer(4)),
      {},
    ];
    await t.step("read(dst) and write(src) need a Uint8Array", () => {
      for (const bad of notBytes) {
        assertStatus(() => f.plain.read(bad as Uint8Array, 0), Status.INVALID_ARGS, String(bad));
        assertStatus(() => f.plain.write(bad as Uint8Array, 0), Status.INVALID_ARGS, String(bad));
      }
    });
    await t.step("setName needs a string", () => {
      for (const bad of [undefined, null, 3, {}, new Uint8Array(1)]) {
        assertStatus(() => f.plain.setName(bad as string), Status.INVALID_ARGS, String(bad));
      }
    });
    await t.step("fromFile needs a path or a Deno.FsFile", () => {
      for (const bad of [undefined, null, 3, {}, [], new Uint8Array(1)]) {
        assertStatus(() => Vmo.fromFile(bad as string), Status.INVALID_ARGS, String(bad));
      }
    });
    await t.step("fromFile(path, null): INVALID_ARGS, not a TypeError", () => {
      withTempFile("x", (path) => {
        assertStatus(
          () => Vmo.fromFile(path, null as unknown as { writable?: boolean }),
          Status.INVALID_ARGS,
        );
      });
    });
    await t.step("unsafeFromFd(fd, null): INVALID_ARGS, not a TypeError", () => {
      const fd = f.plain.unsafeDupFd();
      try {
        assertStatus(
          () => Vmo.unsafeFromFd(fd, null as unknown as { rights?: number }),
          Status.INVALID_ARGS,
        );
      } finally {
        if (fdIsOpen(fd)) {
          using _adopted = Vmo.unsafeFromFd(fd); // closes fd
        }
      }
    });
    await t.step("unsafeFromFd rights need a 32-bit value", () => {
      const fd = f.plain.unsafeDupFd();
      try {
        for (const bad of [-1, 0.5, NaN, "1", null, 2 ** 32]) {
          assertStatus(
            () => Vmo.unsafeFromFd(fd, { rights: bad as number }),
            Status.INVALID_ARGS,
            String(bad),
          );
        }
      } finally {
        using _adopted = Vmo.unsafeFromFd(fd); // closes fd
      }
    });
  });
});

Deno.test("bad input: a closed handle is BAD_HANDLE before any argument check", () => {
  const f = fixture();
  try {
    const v = f.closed;
    const calls: [string, () => unknown][] = [
      ["read", () => v.read("x" as unknown as Uint8Array, -1)],
      ["readToArray", () => v.readToArray(-1, NaN)],
      ["write", () => v.write(null as unknown as Uint8Array, 1.5)],
      ["setSize", () => v.setSize(-1)],
      ["setStreamSize", () => v.setStreamSize(NaN)],
      ["createChild", () => v.createChild(-1, -1, -1)],
      ["opRange", () => v.opRange(-1, -1, -1)],
      ["setName", () => v.setName(3 as unknown as string)],
      ["duplicate", () => v.duplicate(-1)],
      ["replace", () => v.replace(-1)],
    ];
    for (const [name, call] of calls) assertStatus(call, Status.BAD_HANDLE, name);
  } finally {
    f.close();
  }
});

Deno.test("bad input: OUT_OF_RANGE for values above Number.MAX_SAFE_INTEGER", async (t) => {
  await withLeakCheckedFixture(t, { memfds: true }, async (f) => {
    for (const [name, call] of numericArgs(f)) {
      // a REFERENCE takes offset and size 0: a large size is Zircon's step-1 OUT_OF_RANGE
      await t.step(name, () => {
        for (const big of TOO_BIG) {
          assertStatus(() => call(big), Status.OUT_OF_RANGE, `${name} with ${big}`);
        }
      });
    }
  });
});

Deno.test("bad input: OUT_OF_RANGE for computed ends above Number.MAX_SAFE_INTEGER", async (t) => {
  const f = fixture();
  const max = Number.MAX_SAFE_INTEGER;
  const top = Vmo.MAX_SIZE; // page aligned, so alignment checks pass
  try {
    const v = f.plain;
    const cases: [string, () => unknown][] = [
      ["read", () => v.read(new Uint8Array(2), max)],
      ["readToArray offset", () => v.readToArray(max, 2)],
      ["readToArray length", () => v.readToArray(2, max)],
      ["write", () => v.write(new Uint8Array(2), max)],
      ["SNAPSHOT offset + size", () => v.createChild(C.SNAPSHOT, top, 2 * P)],
      ["SNAPSHOT_MODIFIED offset + size", () => v.createChild(C.SNAPSHOT_MODIFIED, top, 2 * P)],
      ["COMMIT", () => v.opRange(VmoOp.COMMIT, max, 2)],
      ["COMMIT rounded", () => v.opRange(VmoOp.COMMIT, top, P - 1)],
      ["DECOMMIT", () => v.opRange(VmoOp.DECOMMIT, top, 2 * P)],
      ["ZERO", () => v.opRange(VmoOp.ZERO, max, 2)],
      ["CACHE_SYNC", () => v.opRange(VmoOp.CACHE_SYNC, max, 2)],
      ["CACHE_CLEAN", () => v.opRange(VmoOp.CACHE_CLEAN, max, 2)],
      ["CACHE_CLEAN_INVALIDATE", () => v.opRange(VmoOp.CACHE_CLEAN_INVALIDATE, max, 2)],
      ["CACHE_INVALIDATE", () => v.opRange(VmoOp.CACHE_INVALIDATE, max, 2)],
      ["PREFETCH", () => v.opRange(VmoOp.PREFETCH, max, 2)],
      ["PREFETCH rounded", () => v.opRange(VmoOp.PREFETCH, top, P - 1)],
      ["file DONT_NEED", () => f.file.opRange(VmoOp.DONT_NEED, max, 2)],
      ["file ALWAYS_NEED", () => f.file.opRange(VmoOp.ALWAYS_NEED, max, 2)],
      ["TRY_LOCK", () => f.discardable.opRange(VmoOp.TRY_LOCK, max, 2)],
    ];
    for (const [name, call] of cases) {
      await t.step(name, () => {
        assertStatus(call, Status.OUT_OF_RANGE, name);
      });
    }
  } finally {
    f.close();
  }
});

Deno.test("bad input: slice and reference offsets above Number.MAX_SAFE_INTEGER", () => {
  // docs/semantics.md §0 makes any value above MAX_SAFE_INTEGER OUT_OF_RANGE; Zircon's own checks for these
  // arguments (slice containment, reference offset == 0) say INVALID_ARGS. Either is accepted
  // here (see the report); what is pinned is that it is one of them and nothing leaks.
  const before = countMemfds();
  const f = fixture();
  try {
    const calls: [string, (x: number) => unknown][] = [
      ["SLICE offset", (x) => f.plain.createChild(C.SLICE, x, P)],
      ["SLICE offset, size 0", (x) => f.plain.createChild(C.SLICE, x, 0)],
      ["REFERENCE offset", (x) => f.plain.createChild(C.REFERENCE, x, 0)],
    ];
    for (const [name, call] of calls) {
      for (const big of TOO_BIG) {
        let status: number | undefined;
        try {
          const result = call(big);
          if (result instanceof Vmo) result.close();
        } catch (error) {
          assert.ok(error instanceof ZxError, `${name}: ${error}`);
          status = error.status;
        }
        assert.ok(
          status === Status.OUT_OF_RANGE || status === Status.INVALID_ARGS,
          `${name} with ${big}: got ${status}`,
        );
      }
    }
  } finally {
    f.close();
  }
  assert.equal(countMemfds(), before);
});

Deno.test("bad input: a cache policy of the wrong shape is INVALID_ARGS before the handle", () => {
  const f = fixture();
  try {
    for (const bad of [-1, 1.5, NaN, "1", 4]) {
      assertStatus(
        () => f.closed.setCachePolicy(bad as number),
        Status.INVALID_ARGS,
        String(bad),
      );
    }
    assertStatus(() => f.closed.setCachePolicy(CachePolicy.UNCACHED), Status.BAD_HANDLE);
  } finally {
    f.close();
  }
});
