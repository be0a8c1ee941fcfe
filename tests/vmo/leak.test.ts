import assert from "node:assert/strict";
import {
  CachePolicy,
  Rights,
  Vmo,
  VmoChildOptions as C,
  VmoOp,
  VmoOptions,
  ZxError,
} from "../../mod.ts";
import {
  countFds,
  countMemfdMappings,
  countMemfds,
  listFds,
  mapsLines,
  P,
  pattern,
  tempFile,
  withTempFile,
} from "../_support/mod.ts";

function describeDiff(before: Map<number, string>, after: Map<number, string>): string {
  const added = [...after].filter(([fd]) => !before.has(fd)).map(([fd, t]) => `+${fd} ${t}`);
  const removed = [...before].filter(([fd]) => !after.has(fd)).map(([fd, t]) => `-${fd} ${t}`);
  return [...added.slice(0, 10), ...removed.slice(0, 10)].join(", ");
}

Deno.test("leak: 10,000 create/write/snapshot/close cycles return the fd count", () => {
  // warm up whatever the first calls open
  {
    using v = Vmo.create(P);
    using _s = v.createChild(C.SNAPSHOT, 0, P);
  }
  const before = listFds();
  const data = new Uint8Array([1, 2, 3, 4]);
  for (let i = 0; i < 10_000; i++) {
    const vmo = Vmo.create(P);
    vmo.write(data, i % (P - 4));
    const snap = vmo.createChild(C.SNAPSHOT, 0, P);
    if (snap.readToArray(i % (P - 4), 1)[0] !== 1) throw new Error("snapshot lost the data");
    snap.close();
    vmo.close();
  }
  const after = listFds();
  assert.equal(after.size, before.size, describeDiff(before, after));
});

Deno.test("leak: mappings in /proc/self/maps return to where they were", () => {
  {
    using v = Vmo.create(64 * 1024);
    v.write(pattern(64 * 1024), 0);
    v.readToArray(0, 64 * 1024);
  }
  const memfdMaps = countMemfdMappings();
  const lines = mapsLines().length;
  const big = pattern(64 * 1024, 7);
  for (let i = 0; i < 2000; i++) {
    const vmo = Vmo.create(128 * 1024, i % 4 === 0 ? VmoOptions.RESIZABLE : 0);
    vmo.write(big, 0); // large and small copies take different paths
    vmo.write(big.subarray(0, 100), 64 * 1024);
    if (vmo.readToArray(0, 64 * 1024)[5] !== big[5]) throw new Error("lost data");
    const snap = vmo.createChild(C.SNAPSHOT | (i % 3 === 0 ? C.NO_WRITE : 0), 0, 128 * 1024);
    if (snap.readToArray(0, 64 * 1024)[9] !== big[9]) throw new Error("lost data");
    const slice = i % 4 === 0 ? null : vmo.createChild(C.SLICE, 0, 64 * 1024);
    slice?.readToArray(0, 64 * 1024);
    slice?.close();
    snap.close();
    vmo.close();
  }
  assert.equal(countMemfdMappings(), memfdMaps);
  // other mappings (the JS heap) may move a little; memfd ones must not pile up
  assert.ok(mapsLines().length < lines + 50, `maps grew from ${lines} to ${mapsLines().length}`);
});

Deno.test("leak: families closed in any order release every memfd", () => {
  const before = countFds();
  for (let i = 0; i < 1000; i++) {
    const root = Vmo.create(4 * P, i % 2 ? VmoOptions.RESIZABLE : 0);
    const ref = root.createChild(C.REFERENCE, 0, 0);
    const slice = i % 2 ? null : root.createChild(C.SLICE, P, 2 * P);
    const snap = (slice ?? ref).createChild(C.SNAPSHOT | C.RESIZABLE, 0, P);
    const grand = snap.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, P);
    const dup = grand.duplicate(Rights.READ);
    const all = [root, ref, slice, snap, grand, dup].filter((h): h is Vmo => h !== null);
    // close in an order that depends on i
    for (let k = 0; k < all.length; k++) all[(k + i) % all.length].close();
  }
  assert.equal(countFds(), before);
});

Deno.test("leak: failing calls leave nothing behind", () => {
  const path = tempFile("file");
  const dir = Deno.makeTempDirSync();
  try {
    const before = countFds();
    let failures = 0;
    const expectFailure = (fn: () => unknown) => {
      try {
        const result = fn();
        if (result instanceof Vmo) result.close();
      } catch (error) {
        if (!(error instanceof ZxError)) throw error;
        failures++;
      }
    };
    for (let i = 0; i < 500; i++) {
      using vmo = Vmo.create(2 * P);
      using uncached = Vmo.create(P);
      uncached.setCachePolicy(CachePolicy.UNCACHED);
      using discardable = Vmo.create(P, VmoOptions.DISCARDABLE);
      expectFailure(() => Vmo.create(2 ** 60));
      expectFailure(() => Vmo.create(P, 1));
      expectFailure(() => vmo.createChild(0, 0, P));
      expectFailure(() => vmo.createChild(C.SLICE, 0, 3 * P));
      expectFailure(() => uncached.createChild(C.SNAPSHOT, 0, P));
      expectFailure(() => discardable.createChild(C.SNAPSHOT, 0, P));
      expectFailure(() => vmo.createChild(C.SNAPSHOT, Vmo.MAX_SIZE, 2 * P));
      expectFailure(() => vmo.opRange(VmoOp.DECOMMIT, 1, 1));
      expectFailure(() => vmo.duplicate(Rights.RESIZE));
      expectFailure(() => vmo.duplicate().replace(Rights.RESIZE));
      expectFailure(() => Vmo.fromFile(dir));
      expectFailure(() => Vmo.fromFile(`${dir}/missing`));
      expectFailure(() => Vmo.unsafeFromFd(999_999));
      expectFailure(() => vmo.readToArray(0, 2 ** 50));
    }
    assert.equal(failures, 500 * 14);
    assert.equal(countFds(), before);
  } finally {
    Deno.removeSync(path);
    Deno.removeSync(dir);
  }
});

Deno.test("leak: file-backed VMOs and adopted fds are closed with their handles", () => {
  withTempFile("some file data", (path) => {
    const before = countFds();
    const memfdsBefore = countMemfds();
    for (let i = 0; i < 500; i++) {
      using a = Vmo.fromFile(path);
      using b = Vmo.fromFile(path, { writable: true });
      using f = Deno.openSync(path, { read: true });
      using c = Vmo.fromFile(f);
      using _d = Vmo.unsafeFromFd(a.unsafeDupFd());
      using _e = b.createChild(C.SNAPSHOT_AT_LEAST_ON_WRITE, 0, P);
      using _s = c.createChild(C.SLICE, 0, P);
    }
    assert.equal(countFds(), before);
    assert.equal(countMemfds(), memfdsBefore);
  });
});
