/**
 * The review's attacks on channels that the other suites did not make: pending reads at exit,
 * at GC and closed 100 at a time (in child processes whose exit code is asserted), the same
 * memory with and without WRITE in one message, a channel's own fd adopted again by
 * `fromEnv`, `spawn` with bad arguments, and `listen`/`connect` on paths that are no listener.
 */

import assert from "node:assert/strict";
import { Channel, Rights, spawn, Status, Vmo, ZxError } from "../../mod.ts";
import { libc as ffi } from "../../ffi/libc.ts";
import { bindListen } from "../../ffi/socket.ts";
import { assertStatus, childJson, libc, listFds, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./attacks_child.ts", import.meta.url);
const FLAGS = ["--allow-ffi", "--allow-read", "--v8-flags=--expose-gc"];
const RO = Rights.READ | Rights.MAP | Rights.TRANSFER;

async function rejectsWith(p: Promise<unknown>, status: Status, what = ""): Promise<void> {
  await assert.rejects(p, (e) => e instanceof ZxError && e.status === status, what);
}

Deno.test("attacks: pending reads never hold a process that wants to exit", async (t) => {
  await t.step("Deno.exit with a read pending on an open channel", async () => {
    const r = await runDeno(FLAGS, CHILD, ["exit-pending"], 20_000);
    assert.ok(!r.timedOut, "the child hung");
    assert.equal(r.code, 3, r.stderr);
  });
  await t.step("an uncaught error with a read pending", async () => {
    const r = await runDeno(FLAGS, CHILD, ["throw-pending"], 20_000);
    assert.ok(!r.timedOut, "the child hung");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /uncaught on purpose/);
  });
  await t.step("the peer collected by GC: PEER_CLOSED, then the reader collected too", async () => {
    const out = childJson<Record<string, unknown>>(
      await runDeno(FLAGS, CHILD, ["gc-peer"], 20_000),
      "gc-peer",
    );
    assert.deepEqual(out, { a: null, b: null, read: "PEER_CLOSED", leaked: [] });
  });
  await t.step("100 channels closed while their reads are pending", async () => {
    const out = childJson<Record<string, unknown>>(
      await runDeno(FLAGS, CHILD, ["close-100"], 20_000),
      "close-100",
    );
    assert.equal(out.waiting, 100);
    assert.deepEqual(out.outcomes, ["CANCELED"]);
    assert.equal((out.poller as { waiters: number }).waiters, 0);
    assert.deepEqual(out.leaked, []);
  });
  await t.step("100 peers closed while reads are pending", async () => {
    const out = childJson<Record<string, unknown>>(
      await runDeno(FLAGS, CHILD, ["peer-close-100"], 20_000),
      "peer-close-100",
    );
    assert.deepEqual(out, {
      outcomes: ["PEER_CLOSED"],
      poller: { waiters: 0, inFlight: false },
      leaked: [],
    });
  });
  await t.step("the peer written into its own channel, then closed: nothing leaks", async () => {
    const out = childJson<Record<string, unknown>>(
      await runDeno(FLAGS, CHILD, ["peer-into-channel"], 20_000),
      "peer-into-channel",
    );
    assert.deepEqual(out, { moved: true, tried: "SHOULD_WAIT", leaked: [] });
  });
});

Deno.test("attacks: one message cannot carry the same memory with WRITE and without", () => {
  const [a, b] = Channel.createPair();
  const vmo = Vmo.create(4096);
  for (const order of ["rw first", "ro first"]) {
    const rw = vmo.duplicate(vmo.rights);
    const ro = vmo.duplicate(RO | Rights.DUPLICATE).replace(RO);
    // Before the fix, "rw first" went through and the WRITE handle arrived without WRITE: the
    // seal for the read-only one was added after the check of the other.
    const handles = order === "rw first" ? [rw, ro] : [ro, rw];
    assertStatus(() => a.write(new Uint8Array(0), handles), Status.ACCESS_DENIED, order);
    assert.ok(rw.isValid && ro.isValid, `${order}: a failed write moves nothing`);
    ro.close();
    // Nothing was sealed: the memory still crosses with WRITE.
    a.write(new Uint8Array(0), [rw]);
    const got = b.tryRead().handles[0] as Vmo;
    assert.ok(got.rights & Rights.WRITE, order);
    got.close();
  }
  // Two read-only handles to the same memory are fine, and so are two with WRITE.
  const ro1 = vmo.duplicate(RO);
  const ro2 = vmo.duplicate(RO);
  a.write(new Uint8Array(0), [ro1, ro2]);
  for (const h of b.tryRead().handles) {
    assert.equal(h.rights & Rights.WRITE, 0);
    h.close();
  }
  for (const h of [vmo, a, b]) h.close();
});

Deno.test("attacks: a write-sealed memfd received read-only can be forwarded read-only", () => {
  // What a proxy does: receive a read-only VMO and pass it on. Before the fix this was
  // NOT_SUPPORTED: forwarding tried to seal it again, which needs a writable mapping.
  const [a, b] = Channel.createPair();
  const [c, d] = Channel.createPair();
  const vmo = Vmo.create(4096);
  vmo.write(new Uint8Array([9]), 0);
  a.write(new Uint8Array(0), [vmo.duplicate(RO)]);
  const received = b.tryRead().handles[0] as Vmo;
  assert.equal(received.rights & Rights.WRITE, 0);
  c.write(new Uint8Array(0), [received]);
  assert.ok(!received.isValid);
  const forwarded = d.tryRead().handles[0] as Vmo;
  assert.equal(forwarded.rights & Rights.WRITE, 0);
  assert.equal(forwarded.readToArray(0, 1)[0], 9);
  vmo.write(new Uint8Array([10]), 0);
  assert.equal(forwarded.readToArray(0, 1)[0], 10, "the same memory");
  for (const h of [forwarded, vmo, a, b, c, d]) h.close();
});

Deno.test("attacks: fromEnv refuses what is no channel end it may own", () => {
  const name = "VMO_TEST_ATTACK_FD";
  const [a, b] = Channel.createPair();
  const owned = Channel.socketFdOf(b);
  const file = Deno.makeTempFileSync();
  const fileFd = libc.open(file, 0);
  const closed = libc.open(file, 0);
  libc.close(closed);
  const before = listFds().size;
  // Before the fix, a live channel's own fd was adopted a second time: two objects closing
  // one fd number, the second close hitting whatever reused it.
  for (
    const value of [String(owned), "0", String(fileFd), String(closed), "x1", "1e3", " 3", "3 "]
  ) {
    Deno.env.set(name, value);
    assertStatus(() => Channel.fromEnv(name), Status.BAD_HANDLE, `"${value}"`);
    assert.equal(Deno.env.get(name), undefined, "the variable is cleared");
  }
  assert.equal(listFds().size, before);
  a.write(new Uint8Array([4]));
  assert.equal(b.tryRead().bytes[0], 4, "the channel still owns its fd");
  assertStatus(() => Channel.fromEnv(1 as unknown as string), Status.INVALID_ARGS);
  libc.close(fileFd);
  Deno.removeSync(file);
  a.close();
  b.close();
});

Deno.test("attacks: spawn with bad arguments leaks nothing", async () => {
  const before = listFds();
  assertStatus(() => spawn("true", { env: { VMO_CHANNEL_FD: "7" } }), Status.INVALID_ARGS);
  assertStatus(() => spawn("true", 42 as unknown as Deno.CommandOptions), Status.INVALID_ARGS);
  // What Deno.Command refuses, it refuses as it would without a channel.
  assert.throws(() => spawn(42 as unknown as string, {}), TypeError);
  assert.throws(() => spawn("", {}), Deno.errors.NotFound);
  assert.throws(() => spawn("/nonexistent", {}), Deno.errors.NotFound);
  // What it takes (a string as args), it takes: the child starts, with its end.
  const { child, channel } = spawn("true", { args: "x" as unknown as string[] });
  await child.status;
  channel.close();
  const added = [...listFds()].filter(([fd]) => !before.has(fd));
  assert.deepEqual(added, [], "no fd leaked");
});

Deno.test("attacks: spawn while the variable is set in this process gives the child its own end", async () => {
  Deno.env.set("VMO_CHANNEL_FD", "0");
  try {
    const { child, channel } = spawn("sh", {
      args: ["-c", 'test -S /proc/self/fd/"$VMO_CHANNEL_FD" && test "$VMO_CHANNEL_FD" != 0'],
    });
    assert.equal((await child.status).code, 0);
    channel.close();
  } finally {
    Deno.env.delete("VMO_CHANNEL_FD");
  }
});

Deno.test("attacks: listen and connect on paths that are no listener", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/file`, "x");
  Deno.mkdirSync(`${dir}/dir`);
  for (const taken of [`${dir}/file`, `${dir}/dir`]) {
    assertStatus(() => Channel.listen(taken), Status.ALREADY_EXISTS, taken);
    // Not a socket: the kernel refuses the connection (ECONNREFUSED).
    await rejectsWith(Channel.connect(taken), Status.PEER_CLOSED, taken);
  }
  assertStatus(() => Channel.listen(`${dir}/none/x.sock`), Status.NOT_FOUND);
  await rejectsWith(Channel.connect(`${dir}/none.sock`), Status.NOT_FOUND);
  // A file system that refuses sockets (sysfs: EPERM), whoever we are.
  assertStatus(() => Channel.listen("/sys/vmo-test.sock"), Status.ACCESS_DENIED);
  // A directory without write permission: ACCESS_DENIED, unless we are privileged (root
  // ignores modes; the suite runs as root here, users do not).
  Deno.mkdirSync(`${dir}/locked`, { mode: 0o500 });
  try {
    Channel.listen(`${dir}/locked/x.sock`).close();
    console.log("attacks.test.ts: privileged: a directory's mode does not stop listen");
  } catch (error) {
    assert.ok(error instanceof ZxError && error.status === Status.ACCESS_DENIED, String(error));
  }
  // sun_path holds 108 bytes with the NUL: 107 is the longest path.
  const p107 = `${dir}/${"a".repeat(107 - dir.length - 1)}`;
  Channel.listen(p107).close();
  assertStatus(() => Channel.listen(`${p107}b`), Status.INVALID_ARGS);
  await rejectsWith(Channel.connect(`${p107}b`), Status.INVALID_ARGS);
  // A listener of another socket type: before the fix, EPROTOTYPE was INTERNAL.
  const stream = ffi.socket(1, 1, /* SOCK_STREAM */ 0);
  assert.equal(bindListen(stream, new TextEncoder().encode(`${dir}/stream.sock`), 1), 0);
  await rejectsWith(Channel.connect(`${dir}/stream.sock`), Status.WRONG_TYPE);
  libc.close(stream);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test({
  // Root in src/vmo/backing.ts (not this area): Backing.#mapping wants the file's size to be
  // at least the page-rounded VMO size, so a memfd of 100 bytes (sealed in size, from another
  // program) gets no internal mapping, and sealFutureWrite refuses it: the VMO cannot be
  // forwarded without WRITE (NOT_SUPPORTED). A mapping of the whole last page is valid when the
  // file ends inside it (no SIGBUS): the check could compare page-rounded sizes.
  name: "attacks: a received 100-byte memfd forwards read-only (ignored: src/vmo/backing.ts)",
  ignore: true,
  fn: () => {
    const fd = libc.memfd("short");
    libc.ftruncate(fd, 100);
    assert.equal(ffi.fcntl(fd, 1033, /* F_ADD_SEALS */ 2 | 4 /* SHRINK | GROW */), 0);
    const vmo = Vmo.unsafeFromFd(fd);
    const [a, b] = Channel.createPair();
    a.write(new Uint8Array(0), [vmo.replace(RO)]);
    const got = b.tryRead().handles[0] as Vmo;
    assert.equal(got.rights & Rights.WRITE, 0);
    for (const h of [got, a, b]) h.close();
  },
});

Deno.test("attacks: a listener's close removes only the socket file it made", () => {
  const first = Deno.makeTempDirSync();
  const second = Deno.makeTempDirSync();
  const cwd = Deno.cwd();
  try {
    // A relative path, then a change of directory: before the fix, close unlinked the file of
    // that name in the new directory, whatever it was.
    Deno.chdir(first);
    const listener = Channel.listen("x.sock");
    Deno.chdir(second);
    Deno.writeTextFileSync("x.sock", "someone else's file");
    listener.close();
    assert.equal(Deno.readTextFileSync(`${second}/x.sock`), "someone else's file");
    // The socket file is then left where it was: the listener cannot tell it is its own.
    assert.ok(Deno.lstatSync(`${first}/x.sock`).isSocket);
    // A path replaced after listen: the new file stays.
    const path = `${first}/y.sock`;
    const replaced = Channel.listen(path);
    Deno.removeSync(path);
    Deno.writeTextFileSync(path, "new");
    replaced.close();
    assert.equal(Deno.readTextFileSync(path), "new");
    // The ordinary case: the file goes.
    const plain = Channel.listen(`${first}/z.sock`);
    plain.close();
    assert.throws(() => Deno.lstatSync(`${first}/z.sock`), Deno.errors.NotFound);
  } finally {
    Deno.chdir(cwd);
    Deno.removeSync(first, { recursive: true });
    Deno.removeSync(second, { recursive: true });
  }
});
