/**
 * The `vmo` command line (cli.ts), run in child `deno` processes: help and usage errors with
 * their exit codes, `maps` of this test's own children (a VMO mapping whose size and Rss are
 * known), of a missing pid and of a process it may not read, `demo`, and `bench` on bench files
 * written here (the real benches only with `VMO_TEST_BENCH=1`: they take about a minute).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { relative } from "node:path";
import { readProc } from "./_support/proc.ts";
// Imported only so that `deno task check` and `deno test` type-check cli.ts (its main runs only
// as a program).
import "../cli.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLI = ROOT + "cli.ts";
const MOD = new URL("../mod.ts", import.meta.url).href;
const PERMISSIONS = ["--allow-ffi", "--allow-read", "--allow-run"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], permissions: string[] = PERMISSIONS): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, CLI, ...args],
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function explain(result: Run): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** A child deno holding a 300 KiB VMO mapped read-write with 3 pages touched; killed after. */
const MAPS_CHILD = `
import { Mapping } from ${JSON.stringify(MOD)};
const [mapping, vmo] = Mapping.allocate(300 * 1024);
vmo.close();
for (const page of [0, 10, 74]) mapping.writeU32(page * 4096, 0xfeedface);
console.log("ready " + Deno.UnsafePointer.value(mapping.asPtrLen()[0]));
// Kept reachable: V8 drops a module's top-level bindings that no function captures once the
// module has run, and a collected Mapping is unmapped by its finalizer.
setInterval(() => mapping, 1 << 30); // until killed
`;

/** A child deno that maps, writes, protects and unmaps VMOs without pause until killed. */
const CHURN_CHILD = `
import { Mapping, Vmar, VmarFlags, Vmo } from ${JSON.stringify(MOD)};
console.log("churning");
setInterval(() => {
  for (let i = 0; i < 200; i++) {
    const [mapping, vmo] = Mapping.allocate(4096 * (1 + (i % 16)));
    mapping.writeU32(0, i);
    const [region] = Vmar.root().allocate(0, 1 << 20, VmarFlags.CAN_MAP_READ);
    region.map(0, vmo, 0, 4096, VmarFlags.PERM_READ);
    region.destroy();
    mapping.close();
    vmo.close();
  }
}, 0);
`;

Deno.test("vmo --help and usage errors", async (t) => {
  await t.step("top-level --help, -h and help list every command, exit 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"], ["--", "--help"]]) {
      const result = await run(args, []);
      assert.equal(result.code, 0, explain(result));
      for (const name of ["demo", "maps", "bench"]) {
        assert.match(result.stdout, new RegExp(`^  ${name} `, "m"), explain(result));
      }
      assert.equal(result.stderr, "");
    }
  });

  await t.step("each command's --help, -h and `help <command>`, without permissions", async () => {
    for (const name of ["demo", "maps", "bench"]) {
      for (const args of [[name, "--help"], [name, "-h"], ["help", name]]) {
        const result = await run(args, []);
        assert.equal(result.code, 0, explain(result));
        assert.match(result.stdout, new RegExp(`^usage: vmo ${name}`, "m"), explain(result));
        assert.match(result.stdout, /--help/);
      }
    }
  });

  await t.step("bad arguments: exit 2, a message and a usage line on stderr", async () => {
    const cases: [string[], RegExp, string][] = [
      [[], /no command/, "usage: vmo <command>"],
      [["nosuch"], /unknown command "nosuch"/, "usage: vmo <command>"],
      [["--bogus"], /unknown option --bogus/, "usage: vmo <command>"],
      [["maps", "--pid", "abc"], /--pid wants a process id/, "usage: vmo maps"],
      [["maps", "--pid", "0"], /--pid wants a process id/, "usage: vmo maps"],
      [["maps", "--pid", "-3"], /^vmo: Option '--pid' argument is ambiguous$/, "usage: vmo maps"],
      [["maps", "--pid=-3"], /--pid wants a process id/, "usage: vmo maps"],
      [["maps", "--pid", "1.5"], /--pid wants a process id/, "usage: vmo maps"],
      [["maps", "--pid", "99999999999"], /--pid wants a process id/, "usage: vmo maps"],
      [["maps", "--pid"], /argument missing/, "usage: vmo maps"],
      [["maps", "extra"], /Unexpected argument 'extra'/, "usage: vmo maps"],
      [["maps", "--nope"], /Unknown option '--nope'/, "usage: vmo maps"],
      [["bench", "--filter"], /argument missing/, "usage: vmo bench"],
      [["bench", "--json"], /Unknown option '--json'/, "usage: vmo bench"],
      [["demo", "--hostile-typo"], /Unknown option/, "usage: vmo demo"],
    ];
    for (const [args, message, usage] of cases) {
      const result = await run(args, []);
      assert.equal(result.code, 2, `${args.join(" ")}: ${explain(result)}`);
      assert.equal(result.stdout, "", args.join(" "));
      const lines = result.stderr.trimEnd().split("\n");
      assert.match(lines[0], message, `${args.join(" ")}: ${explain(result)}`);
      assert.ok(lines[lines.length - 1].startsWith(usage), `${args.join(" ")}: ${explain(result)}`);
    }
  });

  await t.step("`deno task vmo -- ...` passes its arguments through", async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "vmo", "--", "maps", "--help"],
      cwd: ROOT,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /^usage: vmo maps \[--pid N\]$/m);
  });
});

Deno.test("vmo maps", async (t) => {
  await t.step(
    "of itself: a root, the deno executable as a region, mappings under it",
    async () => {
      const result = await run(["maps"]);
      assert.equal(result.code, 0, explain(result));
      const lines = result.stdout.split("\n");
      const header = /^this process \((\d+)\) "[^"]*": (\d+) mappings, .* mapped, .* resident$/
        .exec(lines[0]);
      assert.ok(header, explain(result));
      assert.match(lines[2], /^root 0x[0-9a-f]{12}-0x[0-9a-f]{12}\s+\S+ \S+ rss \S+ \S+$/);
      const mappings = lines.filter((l) => /^\s*[r-][w-][x-] 0x/.test(l));
      assert.equal(mappings.length, Number(header[2]), "one line a mapping");
      // The executable's mappings are grouped under one region line named by its path.
      const exe = Deno.execPath();
      const at = lines.findIndex((l) => l.startsWith(`  ${exe} 0x`));
      assert.ok(at > 0, `no region for ${exe}:\n${result.stdout}`);
      assert.match(lines[at + 1], new RegExp(`^    r.. 0x.* vmo "${exe}" koid [1-9]\\d* @0x`));
    },
  );

  await t.step("--pid of a child: its VMO mapping with its size and Rss", async () => {
    const dir = await Deno.makeTempDir();
    const script = `${dir}/maps_child.ts`;
    await Deno.writeTextFile(script, MAPS_CHILD);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-ffi", script],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      const address = Number(/^ready (\d+)/.exec(seen)?.[1]);
      assert.ok(address > 0, `the child said ${JSON.stringify(seen)}`);
      const result = await run(["maps", "--pid", String(child.pid)]);
      assert.equal(result.code, 0, explain(result));
      assert.match(result.stdout, new RegExp(`^process ${child.pid} "deno": \\d+ mappings`));
      const hex = address.toString(16).padStart(12, "0");
      const line = result.stdout.split("\n").find((l) => l.includes(`0x${hex}-`));
      assert.ok(line, `no line at 0x${hex}:\n${result.stdout}`);
      // 300 KiB mapped read-write and shared, 3 pages written: Rss is 12 KiB.
      assert.match(
        line,
        /^ {2}rw- 0x[0-9a-f]{12}-0x[0-9a-f]{12}\s+300 KiB vmo "\/memfd:vmo \(deleted\)" koid [1-9]\d* @0x0 committed 12 KiB shared$/,
      );
      // The range is the one the kernel lists for the child.
      const [, start, end] = /(0x[0-9a-f]+)-(0x[0-9a-f]+)/.exec(line)!;
      const kernel = readProc(`/proc/${child.pid}/maps`);
      const plain = `${BigInt(start).toString(16)}-${BigInt(end).toString(16)} rw-s 00000000 `;
      assert.ok(kernel.includes(plain), `${plain} not in the child's maps:\n${kernel}`);
      await reader.cancel();
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited already: the assertion above says why.
      }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("a pid with no process: exit 1, `no process N`", async () => {
    // Above pid_max no process can exist.
    const pid = Number(readProc("/proc/sys/kernel/pid_max").trim()) + 1;
    const result = await run(["maps", "--pid", String(pid)]);
    assert.equal(result.code, 1, explain(result));
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trim(), `vmo maps: no process ${pid}`);
  });

  await t.step("a process it may not read: exit 1, says why", async () => {
    let readable = true;
    try {
      readProc("/proc/1/smaps");
    } catch {
      readable = false;
    }
    if (readable) {
      console.log("  skipped: this user may read /proc/1/smaps (no unreadable process here)");
      return;
    }
    const result = await run(["maps", "--pid", "1"]);
    assert.equal(result.code, 1, explain(result));
    assert.match(result.stderr, /^vmo maps: no permission to read \/proc\/1\/smaps \(EACCES\)/);
    assert.match(result.stderr, /ptrace/);
  });

  await t.step("a zombie (no mappings left): exit 1, says so", async () => {
    // `sleep 0.3` exits after its parent became `sleep 5` by exec, which never reaps it (an
    // instant `sleep 0` could be reaped by the shell before the exec).
    const shell = new Deno.Command("sh", {
      args: ["-c", "sleep 0.3 & echo $!; exec sleep 5"],
      stdout: "piped",
      stdin: "null",
    }).spawn();
    try {
      const reader = shell.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const zombie = Number((await reader.read()).value?.trim());
      await reader.cancel();
      for (let i = 0; i < 200 && !/^State:\s+Z/m.test(readProc(`/proc/${zombie}/status`)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const result = await run(["maps", "--pid", String(zombie)]);
      assert.equal(result.code, 1, explain(result));
      assert.match(result.stderr, new RegExp(`^vmo maps: process ${zombie} has no user mappings`));
    } finally {
      shell.kill("SIGKILL");
      await shell.status;
    }
  });

  await t.step("a child mapping and unmapping all the time: every run draws it", async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/churn_child.ts`, CHURN_CHILD);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-ffi", `${dir}/churn_child.ts`],
      stdin: "null",
      stdout: "piped",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.match((await reader.read()).value ?? "", /^churning/);
      for (let i = 0; i < 5; i++) {
        const result = await run(["maps", "--pid", String(child.pid)]);
        assert.equal(result.code, 0, explain(result));
        assert.match(result.stdout, /^process \d+ "deno": \d+ mappings/);
      }
      await reader.cancel();
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("without --allow-ffi: exit 1, names the flag", async () => {
    const result = await run(["maps"], ["--allow-read"]);
    assert.equal(result.code, 1, explain(result));
    assert.match(result.stderr, /^vmo maps: needs --allow-ffi/);
  });
});

Deno.test("vmo demo runs the demo and returns its exit code", async () => {
  const result = await run(["demo"]);
  assert.equal(result.code, 0, explain(result));
  assert.ok(result.stdout.split("\n").length > 5, explain(result));
  const denied = await run(["demo"], ["--allow-ffi"]);
  assert.equal(denied.code, 1, explain(denied));
  assert.match(denied.stderr, /^vmo demo: needs --allow-run/);
});

const BENCH_OK = `
const spin = (n: number) => { let x = 0; for (let i = 0; i < n; i++) x += i; return x; };
const opts = { n: 20, warmup: 2 };
Deno.bench({ name: "small", group: "with baseline", baseline: true, ...opts, fn: () => { spin(10); } });
Deno.bench({ name: "big", group: "with baseline", ...opts, fn: () => { spin(1000); } });
Deno.bench({ name: "one", group: "no baseline", ...opts, fn: () => { spin(10); } });
Deno.bench({ name: "two", group: "no baseline", ...opts, fn: () => { spin(500); } });
Deno.bench({ name: "alone", ...opts, fn: () => { spin(10); } });
`;
const BENCH_FAIL = `
Deno.bench({ name: "fine", group: "g", baseline: true, n: 5, warmup: 1, fn: () => {} });
Deno.bench({ name: "broken", group: "g", n: 5, warmup: 1, fn: () => { throw new Error("no"); } });
`;

/** The table's data rows as `[file, group, case, time, ratio]`, split on runs of 2+ spaces. */
function tableRows(stdout: string): string[][] {
  const lines = stdout.split("\n");
  const rule = lines.findIndex((l) => /^-+( +-+)+$/.test(l));
  assert.ok(rule > 0, stdout);
  const starts = [0];
  for (const m of lines[rule].matchAll(/ {2}-/g)) starts.push(m.index! + 2);
  const rows: string[][] = [];
  for (const line of lines.slice(rule + 1)) {
    if (line.trim() === "") break;
    rows.push(starts.map((s, i) => line.slice(s, starts[i + 1]).trim()));
  }
  return rows;
}

Deno.test("vmo bench", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ok.bench.ts`, BENCH_OK);
    await Deno.writeTextFile(`${dir}/fail.bench.ts`, BENCH_FAIL);

    await t.step("one table: each case against its group's baseline", async () => {
      const result = await run(["bench", `${dir}/ok.bench.ts`]);
      assert.equal(result.code, 0, explain(result));
      const rows = tableRows(result.stdout);
      const byCase = new Map(rows.map((r) => [r[2], r]));
      assert.deepEqual([...byCase.keys()].sort(), ["alone", "big", "one", "small", "two"]);
      assert.deepEqual(rows.map((r) => r[0]), [`${dir}/ok.bench.ts`, "", "", "", ""]);
      // A group is named on its first row, with its cases below it.
      const small = rows.indexOf(byCase.get("small")!);
      assert.equal(rows[small][1], "with baseline");
      assert.equal(rows[small + 1][2], "big");
      assert.equal(rows[small + 1][1], "");
      assert.equal(byCase.get("small")![4], "baseline");
      assert.match(byCase.get("big")![4], /^\d+\.\d\dx$/);
      for (const r of rows) assert.match(r[3], /^\d[\d.]* (ns|µs|ms|s)$/, r.join("|"));
      // Without a baseline the fastest case is the reference; any other is at least as slow.
      const [one, two] = [byCase.get("one")![4], byCase.get("two")![4]];
      const fastest = one === "~ fastest" ? two : one;
      assert.ok([one, two].includes("~ fastest"), `${one} ${two}`);
      const ratio = /^~ (\d+\.\d\d)x$/.exec(fastest);
      assert.ok(ratio && Number(ratio[1]) >= 1, fastest);
      assert.equal(byCase.get("alone")![4], "-", "an ungrouped bench has no ratio");
      assert.match(result.stdout, /^ratio: mean time per iteration/m);
    });

    await t.step("a failing bench (a relative path): its row says FAILED, exit 1", async () => {
      const result = await run(["bench", relative(ROOT, `${dir}/fail.bench.ts`)]);
      assert.equal(result.code, 1, explain(result));
      const rows = tableRows(result.stdout);
      assert.deepEqual(rows.map((r) => [r[2], r[4]]), [["fine", "baseline"], ["broken", "FAILED"]]);
      assert.match(result.stderr, /vmo bench: 1 bench\(es\) failed/);
    });

    await t.step("a filter that matches nothing: exit 1, says so", async () => {
      const result = await run(["bench", "--filter", "no-such-bench", `${dir}/ok.bench.ts`]);
      assert.equal(result.code, 1, explain(result));
      assert.match(result.stderr, /vmo bench: no bench ran \(filter "no-such-bench"\)/);
    });

    await t.step("the project's benches (VMO_TEST_BENCH=1)", async () => {
      if (Deno.env.get("VMO_TEST_BENCH") !== "1") {
        console.log("  skipped: set VMO_TEST_BENCH=1 to run bench/ (readU32 groups only)");
        return;
      }
      const result = await run(["bench", "--filter", "/readU32|getUint32/"]);
      assert.equal(result.code, 0, explain(result));
      const rows = tableRows(result.stdout);
      assert.deepEqual(rows.map((r) => r[4] === "baseline"), [false, true]);
      assert.match(rows[0][4], /^\d+\.\d\dx$/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
