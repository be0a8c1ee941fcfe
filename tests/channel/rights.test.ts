/**
 * Rights across processes, enforced by the kernel: a VMO sent without WRITE, tried by the
 * receiving process through every raw libc route (tests/channel/rights_child.ts), and what the
 * sender keeps. What holds is written in docs/channel.md.
 */

import assert from "node:assert/strict";
import {
  Channel,
  Mapping,
  Rights,
  SharedBuffer,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOp,
  VmoOptions,
} from "../../mod.ts";
import { assertStatus, F_GET_SEALS, libc, P, spawnDenoChild } from "../_support/mod.ts";

const EACCES = "errno 13";
const EBADF = "errno 9";
const EINVAL = "errno 22";
const EPERM = "errno 1";
const F_SEAL_FUTURE_WRITE = 0x10;
const RO = Rights.READ | Rights.MAP | Rights.TRANSFER;

Deno.test("rights: a VMO sent without WRITE cannot be written by the receiver, by any route", async () => {
  const vmo = Vmo.create(32 * P);
  vmo.write(new Uint8Array([0x11]), 0);
  // A mapping the sender made before sending: it must keep writing.
  const before = Mapping.createFromVmo(vmo, P, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const { child, channel } = spawnDenoChild(
    new URL("./rights_child.ts", import.meta.url),
    [],
    "piped",
  );
  const keep = vmo.duplicate(
    Rights.READ | Rights.WRITE | Rights.MAP | Rights.TRANSFER | Rights.DUPLICATE,
  );
  channel.write(new Uint8Array(0), [vmo.replace(RO)]);
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  const text = JSON.stringify(report, null, 1);
  assert.equal(Number(report.rights) & Rights.WRITE, 0, "the handle arrived without WRITE");
  assert.equal(report["Vmo.write"], "ZX_ERR_ACCESS_DENIED");
  for (const [prefix, reopened] of [["fd", false], ["reopened", true]] as const) {
    assert.equal(report[`${prefix} mmap(PROT_WRITE, MAP_SHARED)`], reopened ? EPERM : EACCES, text);
    assert.equal(report[`${prefix} pwrite`], reopened ? EPERM : EBADF, text);
    assert.equal(report[`${prefix} ftruncate`], reopened ? EPERM : EINVAL, text);
    assert.equal(report[`${prefix} fallocate(PUNCH_HOLE)`], reopened ? EPERM : EBADF, text);
    assert.equal(report[`${prefix} mprotect(PROT_WRITE)`], EACCES, text);
    // shmem has no ZERO_RANGE: EOPNOTSUPP
    assert.equal(report[`${prefix} fallocate(ZERO_RANGE)`], reopened ? "errno 95" : EBADF, text);
    assert.equal(
      report[`${prefix} madvise(MADV_REMOVE) of a PROT_READ mapping`],
      EACCES,
      text,
    );
    assert.equal(report[`${prefix} madvise(MADV_REMOVE) of a private mapping`], EACCES, text);
    assert.equal(report[`${prefix} F_ADD_SEALS(F_SEAL_WRITE)`], reopened ? "errno 16" : EPERM);
    assert.equal(report[`${prefix} mmap(PROT_WRITE, MAP_PRIVATE)`], "ok", "a private copy");
  }
  // The reopen itself succeeds (a memfd is mode 0777); the seal makes it useless for writing.
  assert.equal(report["reopen O_RDWR"], "ok");
  assert.equal(report["reopened write"], EPERM);
  assert.equal(keep.readToArray(0, 1)[0], 0x11, "the receiver changed nothing");

  // The sender keeps writing: its handle, its mapping from before the send.
  keep.write(new Uint8Array([0x22]), 0);
  before.writeU8(1, 0x33);
  assert.deepEqual([...keep.readToArray(0, 2)], [0x22, 0x33]);
  keep.write(new Uint8Array(64 * 1024).fill(5), 0); // large writes too
  keep.opRange(VmoOp.DECOMMIT, 0, P); // zeroes through the mapping: the seal refuses holes
  assert.equal(keep.readToArray(0, 1)[0], 0);
  // New writable mappings duplicate the pre-seal mapping (mremap): they write the same pages.
  const after = Mapping.createFromVmo(keep, 2 * P, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  after.writeU8(P + 5, 0x44);
  assert.equal(keep.readToArray(P + 5, 1)[0], 0x44);
  before.writeU8(7, 0x55);
  assert.equal(after.readU8(7), 0x55);
  // In a sub-VMAR at a chosen offset of the VMO, and over an existing mapping (overwrite).
  const [region] = Vmar.root().allocate(
    0,
    8 * P,
    VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
  );
  const addr = region.map(
    P,
    keep,
    3 * P,
    P,
    VmarFlags.PERM_READ | VmarFlags.PERM_WRITE | VmarFlags.SPECIFIC,
  );
  const overRegion = region.map(
    P,
    keep,
    4 * P,
    P,
    VmarFlags.PERM_READ | VmarFlags.PERM_WRITE | VmarFlags.SPECIFIC_OVERWRITE,
  );
  assert.equal(overRegion, addr);
  const view = SharedBuffer.fromRange(region, addr, P);
  view.writeU8(0, 0x66);
  assert.equal(keep.readToArray(4 * P, 1)[0], 0x66, "the overwrite maps VMO offset 4 pages");
  region.destroy();
  region.close();
  after.close();
  Mapping.createFromVmo(keep, P, VmarFlags.PERM_READ).close();
  assert.equal(report["reopened pwrite"], EPERM, "the receiver still cannot write");
  // The memfd is sealed; it cannot cross with WRITE any more.
  const fd = keep.unsafeDupFd();
  assert.ok((libc.fcntl(fd, F_GET_SEALS) & F_SEAL_FUTURE_WRITE) !== 0);
  libc.close(fd);
  const [a, b] = Channel.createPair();
  assertStatus(() => a.write(new Uint8Array(0), [keep]), Status.ACCESS_DENIED);
  assert.ok(keep.isValid);
  const readOnlyAgain = keep.duplicate(RO);
  a.write(new Uint8Array(0), [readOnlyAgain]);
  const again = b.tryRead().handles[0] as Vmo;
  assert.equal(again.rights & Rights.WRITE, 0);
  for (const h of [again, a, b, channel, before, keep]) h.close();
});

Deno.test("rights: a resizable VMO cannot cross without WRITE; with WRITE it can", () => {
  const [a, b] = Channel.createPair();
  const vmo = Vmo.create(P, VmoOptions.RESIZABLE);
  const ro = vmo.duplicate(RO);
  assertStatus(() => a.write(new Uint8Array(0), [ro]), Status.NOT_SUPPORTED);
  assert.ok(ro.isValid);
  a.write(new Uint8Array(0), [vmo]);
  const got = b.tryRead().handles[0] as Vmo;
  assert.ok(got.rights & Rights.RESIZE);
  for (const h of [got, ro, a, b]) h.close();
});

Deno.test("rights: a file-backed VMO without WRITE crosses as a read-only fd", async () => {
  const path = Deno.makeTempFileSync();
  Deno.writeTextFileSync(path, "file data");
  const [a, b] = Channel.createPair();
  const vmo = Vmo.fromFile(path);
  a.write(new Uint8Array(0), [vmo]);
  const got = (await b.read()).handles[0] as Vmo;
  assert.equal(got.rights & Rights.WRITE, 0);
  assert.equal(new TextDecoder().decode(got.readToArray(0, 9)), "file data");
  for (const h of [got, a, b]) h.close();
  Deno.removeSync(path);
});
