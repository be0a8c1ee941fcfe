/**
 * A hostile peer written in Python (fixtures/hostile_peer.py) against a vmo receiver
 * (hostile_py_child.ts) in a child process whose exit code is asserted (a fault is 139) and
 * whose fd table must end as it began. Each step's outcome is checked: lies are dropped whole
 * (`BAD_STATE`), memory that arrives is usable within the rights its record AND its fd allow,
 * and memory cut by the peer after sending never faults the receiver. Skips without python3.
 */

import assert from "node:assert/strict";
import { Rights } from "../../mod.ts";
import { childJson, haveProgram, runDeno } from "../_support/mod.ts";

const python = haveProgram("python3");
if (!python) console.log("hostile_py.test.ts: python3 not found, the Python peer is skipped");

type Vmo = Record<string, unknown>;
type Step = string | { vmos?: Vmo[]; [key: string]: unknown };

/** The rights a VMO record of all ones may give over a read-write memfd sealed in size. */
const RW = 0xd0ef; // BASIC | READ | WRITE | GET/SET_PROPERTY | MAP | SIGNAL
const NO_WRITE = RW & ~Rights.WRITE;

Deno.test({
  name: "hostile Python peer: lies dropped, rights bounded, cut memory never faults",
  ignore: !python,
  fn: async () => {
    const result = await runDeno(
      ["--allow-ffi", "--allow-env", "--allow-run", "--allow-read"],
      new URL("./hostile_py_child.ts", import.meta.url),
      [],
      60_000,
    );
    const report = childJson<{ steps: Step[]; leaked: string[] }>(result, "hostile_py_child");
    const s = report.steps;
    const text = JSON.stringify(s, null, 1);
    const vmo = (step: number, i = 0) => (s[step - 1] as { vmos: Vmo[] }).vmos[i];
    // 1-3: a directory, /dev/null, a pipe
    for (const step of [1, 2, 3]) assert.equal(s[step - 1], "BAD_STATE", `step ${step}`);
    // 4: sparse, 1 MiB: reads, maps, forwards read-only
    assert.deepEqual(vmo(4), {
      rights: RW,
      size: 1 << 20,
      read: 0x5a,
      write: "ok",
      map: 0x5a,
      forward: 0x5a,
    });
    // 5: 100 bytes: a page; the tail past the file reads 0 (the view of page 0 is in the file)
    assert.equal(vmo(5).size, 4096);
    assert.equal(vmo(5).map, 1, text); // the byte `write: ok` put there
    // 6, 7: write-sealed (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE): no WRITE whatever the record
    // says, and already sealed, so it forwards read-only without a new seal
    for (const step of [6, 7]) {
      assert.deepEqual(vmo(step), {
        rights: NO_WRITE,
        size: 4096,
        read: 0x5a,
        write: "ACCESS_DENIED",
        map: 0x5a,
        forward: 0x5a,
      }, `step ${step}: ${text}`);
    }
    // 8: unsealed, cut to 0 by the peer after sending: copies only (no view, no mapping), and
    // reading past the cut gives zeros, not SIGBUS
    const cut = s[7] as Record<string, Vmo>;
    assert.equal(cut.cut, "cut");
    assert.equal(cut.before.rights, RW | Rights.RESIZE);
    assert.equal(cut.before.read, 0x5a);
    assert.equal(cut.before.map, "NOT_SUPPORTED");
    assert.equal(cut.after.read, 0);
    assert.equal(cut.after.map, "NOT_SUPPORTED");
    // 9: a read-only fd of an unsealed memfd, the record claiming WRITE: no WRITE, and it cannot
    // be forwarded read-only (the fd cannot seal it; the next receiver could reopen it)
    assert.deepEqual(vmo(9), {
      rights: NO_WRITE,
      size: 4096,
      read: 0x5a,
      write: "ACCESS_DENIED",
      map: 0x5a,
      forward: "NOT_SUPPORTED",
    });
    // 10, 11: a write-only fd and an O_PATH fd cannot read: dropped
    assert.equal(s[9], "BAD_STATE", text);
    assert.equal(s[10], "BAD_STATE", text);
    // 12: a record with no rights: a handle that can do nothing
    assert.equal(vmo(12).rights, 0);
    assert.equal(vmo(12).read, "ACCESS_DENIED");
    // 13: the same memfd twice: two handles, each with its own record's rights
    assert.equal(vmo(13, 0).rights, RW);
    assert.equal(vmo(13, 1).rights, Rights.READ | Rights.MAP | Rights.TRANSFER);
    // 14-18: a stream socket, a listening one, an unconnected one, a datagram one, TCP
    for (const step of [14, 15, 16, 17, 18]) assert.equal(s[step - 1], "BAD_STATE", `step ${step}`);
    // 19-24: 253 fds, 65 records, kinds 0 and 2^32-1, 65,537 bytes, a count without records
    for (const step of [19, 20, 21, 22, 23, 24]) {
      assert.equal(s[step - 1], "BAD_STATE", `step ${step}`);
    }
    // 25: exactly 65,536 bytes
    assert.deepEqual(s[24], { bytes: 65536, handles: 0, vmos: [] });
    // 26: a good memfd with /dev/null: dropped whole
    assert.equal(s[25], "BAD_STATE");
    // 27: a socketpair end: a working channel to the peer
    assert.deepEqual(s[26], { bytes: 0, handles: 1, inner: "through", innerThen: "PEER_CLOSED" });
    // after the peer closed: read, tryRead, read
    assert.deepEqual(s.slice(27, 30), ["PEER_CLOSED", "PEER_CLOSED", "PEER_CLOSED"]);
    assert.deepEqual(s[30], { peerExit: 0, stderr: "" });
    assert.deepEqual(report.leaked, [], "no fd leaked");
  },
});
