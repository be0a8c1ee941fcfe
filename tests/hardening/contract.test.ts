/**
 * Issue 8 §5: contract slips. Nothing here can fault, so the attacks run in-process:
 *
 * - `Vmo.unsafeFromFd` exists (the API contract lists it, and only it: adopting a raw fd is unsafe, as
 *   Rust's `FromRawFd`); `Vmo.fromFd` is gone (the API contract has no such name, and a safe-sounding
 *   alias of an unsafe call defeats the rename).
 * - `Vmo.fromFile` given a Proxy whose traps throw (as the file or as the options) throws a
 *   `ZxError`, never the trap's `TypeError` (the API contract: "Nothing else is thrown").
 * - Unknown option keys (`{ writeable: true }`) are `INVALID_ARGS`.
 * - Zircon's order (docs/semantics.md §1.2): `Vmo.create(MAX_SIZE + 1, 1)` is `OUT_OF_RANGE` (size
 *   before option bits); with `UNBOUNDED` the size is not range-checked, so it succeeds.
 * - The `IMMUTABLE` info flag only for `SNAPSHOT | NO_WRITE` children (docs/semantics.md §1, "Only
 *   plain SNAPSHOT").
 * - `allocate` with `PERM_READ_IF_XOM_UNSUPPORTED` succeeds (docs/semantics.md §2.3 step 2: stripped
 *   before the "no PERM_* bits" check).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  PAGE_SIZE as P,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoChildOptions,
  VmoInfoFlags,
  VmoOptions,
} from "../../mod.ts";
import { withTempFile } from "../_support/bytes.ts";
import { assertZxStatus, RUN_KNOWN_DEFECTS } from "./_util.ts";

// deno-lint-ignore no-explicit-any
const AnyVmo = Vmo as any;
const throwing = () => {
  throw new TypeError("trap");
};

let tempFile: string | undefined;
/** A regular file of one page (removed at exit), so that only the options can be wrong. */
function regularFile(): string {
  if (tempFile === undefined) {
    tempFile = Deno.makeTempFileSync();
    Deno.writeFileSync(tempFile, new Uint8Array(P));
    const path = tempFile;
    globalThis.addEventListener("unload", () => Deno.removeSync(path));
  }
  return tempFile;
}

function test(name: string, KNOWN_DEFECT: boolean, fn: () => void | Promise<void>): void {
  Deno.test({ name, ignore: KNOWN_DEFECT && !RUN_KNOWN_DEFECTS, fn });
}

// Observed on main before the fix (flags now false): unsafeFromFd is undefined; fromFd is a function.
test("Vmo.unsafeFromFd adopts an fd", false, () => {
  assert.equal(typeof AnyVmo.unsafeFromFd, "function");
  using original = Vmo.create(P);
  original.write(new Uint8Array([1, 2, 3]), 0);
  using adopted = AnyVmo.unsafeFromFd(original.unsafeDupFd()) as Vmo;
  assert.deepEqual([...adopted.readToArray(0, 3)], [1, 2, 3]);
});

test("Vmo.fromFd is gone (renamed unsafeFromFd)", false, () => {
  assert.equal("fromFd" in Vmo, false);
});

// Observed on main: unknown keys are ignored (the call succeeds) for both.
test("unknown option keys are INVALID_ARGS", false, () => {
  withTempFile(new Uint8Array(P), (path) => {
    assertZxStatus(
      // deno-lint-ignore no-explicit-any
      () => Vmo.fromFile(path, { writeable: true } as any),
      [Status.INVALID_ARGS],
      "fromFile { writeable }",
    );
    assertZxStatus(
      // deno-lint-ignore no-explicit-any
      () => Vmo.fromFile(path, { writable: false, mode: 0o600 } as any),
      [Status.INVALID_ARGS],
      "fromFile { writable, mode }",
    );
    using vmo = Vmo.create(P);
    assertZxStatus(
      () => AnyVmo.unsafeFromFd(vmo.unsafeDupFd(), { right: 0 }),
      [Status.INVALID_ARGS],
      "unsafeFromFd { right }",
    );
  });
});

test("fromFile with a known option key still works", false, () => {
  withTempFile(new Uint8Array(P).fill(3), (path) => {
    using vmo = Vmo.fromFile(path, { writable: false });
    assert.equal(vmo.readToArray(0, 1)[0], 3);
  });
});

// Observed on main: the getPrototypeOf trap's TypeError escapes, as does a revoked proxy's,
// and an options proxy's get trap; an options proxy whose ownKeys throws is not consulted
// (the call succeeds, so unknown keys cannot be checked).
const proxies: [string, boolean, () => unknown][] = [
  ["file: get trap throws", false, () => Vmo.fromFile(new Proxy({}, { get: throwing }) as never)],
  [
    "file: getPrototypeOf trap throws",
    false,
    () => Vmo.fromFile(new Proxy({}, { getPrototypeOf: throwing }) as never),
  ],
  ["file: revoked proxy", false, () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return Vmo.fromFile(proxy as never);
  }],
  [
    "options: get trap throws",
    false,
    () => Vmo.fromFile(regularFile(), new Proxy({}, { get: throwing })),
  ],
  [
    "options: ownKeys trap throws",
    false,
    () => Vmo.fromFile(regularFile(), new Proxy({}, { ownKeys: throwing, has: throwing })),
  ],
  ["options: revoked proxy", false, () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return Vmo.fromFile(regularFile(), proxy);
  }],
];
for (const [what, KNOWN_DEFECT, fn] of proxies) {
  test(`Vmo.fromFile with a hostile Proxy (${what}) throws INVALID_ARGS`, KNOWN_DEFECT, () => {
    assertZxStatus(fn, [Status.INVALID_ARGS], what);
  });
}

test("Vmo.fromFile with a Proxy of a real FsFile throws a ZxError", false, () => {
  using file = Deno.openSync("/dev/null");
  // Whether the brand check rejects it (INVALID_ARGS) or the fd lookup does (BAD_HANDLE),
  // the answer is a ZxError.
  const proxy = new Proxy(file, {
    get(target, key) {
      if (typeof key === "string" && key !== "constructor") throwing();
      return Reflect.get(target, key);
    },
  });
  assertZxStatus(() => Vmo.fromFile(proxy), [Status.INVALID_ARGS, Status.BAD_HANDLE], "proxy");
});

// Observed on main: INVALID_ARGS ("unknown VMO options 1") for the first two.
test("Vmo.create(MAX_SIZE + 1, bad options) is OUT_OF_RANGE: size first", false, () => {
  for (const options of [1, 1 << 5, 1 << 3]) {
    assertZxStatus(
      () => Vmo.create(Vmo.MAX_SIZE + 1, options),
      [Status.OUT_OF_RANGE],
      `options ${options}`,
    );
  }
});

test("Vmo.create(size, bad options) within MAX_SIZE is INVALID_ARGS", false, () => {
  assertZxStatus(() => Vmo.create(P, 1), [Status.INVALID_ARGS], "options 1");
  assertZxStatus(
    () => Vmo.create(P, VmoOptions.RESIZABLE | VmoOptions.UNBOUNDED),
    [Status.INVALID_ARGS],
    "RESIZABLE|UNBOUNDED",
  );
});

// Observed on main: OUT_OF_RANGE ("size ... exceeds Vmo.MAX_SIZE").
test("Vmo.create(MAX_SIZE + 1, UNBOUNDED) succeeds: the size is not range-checked", false, () => {
  for (const size of [Vmo.MAX_SIZE + 1, Number.MAX_SAFE_INTEGER]) {
    using vmo = Vmo.create(size, VmoOptions.UNBOUNDED);
    vmo.write(new Uint8Array([9]), 0);
    assert.equal(vmo.readToArray(0, 1)[0], 9);
  }
});

// Observed on main: SNAPSHOT_AT_LEAST_ON_WRITE|NO_WRITE and SNAPSHOT_MODIFIED|NO_WRITE are
// flagged IMMUTABLE.
test("IMMUTABLE only for SNAPSHOT | NO_WRITE children", false, () => {
  using parent = Vmo.create(4 * P);
  const immutable = (options: number, size = 4 * P) => {
    using child = parent.createChild(options, 0, size);
    return (child.info().flags & VmoInfoFlags.IMMUTABLE) !== 0;
  };
  const { SNAPSHOT, NO_WRITE, SNAPSHOT_AT_LEAST_ON_WRITE, SNAPSHOT_MODIFIED, SLICE } =
    VmoChildOptions;
  assert.equal(immutable(SNAPSHOT | NO_WRITE), true, "SNAPSHOT|NO_WRITE");
  assert.equal(immutable(SNAPSHOT), false, "SNAPSHOT");
  assert.equal(immutable(SNAPSHOT_AT_LEAST_ON_WRITE | NO_WRITE), false, "AT_LEAST_ON_WRITE");
  assert.equal(immutable(SNAPSHOT_MODIFIED | NO_WRITE), false, "SNAPSHOT_MODIFIED");
  assert.equal(immutable(SLICE | NO_WRITE), false, "SLICE|NO_WRITE");
});

// Observed on main: INVALID_ARGS ("flags not valid for allocate").
test("allocate with PERM_READ_IF_XOM_UNSUPPORTED among its flags succeeds", false, () => {
  const root = Vmar.root();
  const { CAN_MAP_READ, CAN_MAP_EXECUTE, CAN_MAP_SPECIFIC, PERM_READ_IF_XOM_UNSUPPORTED } =
    VmarFlags;
  for (
    const flags of [
      PERM_READ_IF_XOM_UNSUPPORTED,
      CAN_MAP_READ | PERM_READ_IF_XOM_UNSUPPORTED,
      CAN_MAP_READ | CAN_MAP_EXECUTE | CAN_MAP_SPECIFIC | PERM_READ_IF_XOM_UNSUPPORTED,
    ]
  ) {
    const [child, addr] = root.allocate(0, 4 * P, flags);
    assert.ok(addr >= root.info().base);
    child.destroy();
    child.close();
  }
});

test("allocate with a real PERM_* bit is still INVALID_ARGS", false, () => {
  const root = Vmar.root();
  for (const perm of [VmarFlags.PERM_READ, VmarFlags.PERM_WRITE, VmarFlags.PERM_EXECUTE]) {
    assertZxStatus(
      () =>
        root.allocate(
          0,
          4 * P,
          VmarFlags.CAN_MAP_READ | VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED | perm,
        ),
      [Status.INVALID_ARGS],
      `perm ${perm}`,
    );
  }
});
