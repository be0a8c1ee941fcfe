/**
 * Every ```ts block of README.md, run as it stands: each in a child `deno run` from a temporary
 * directory whose deno.json maps `@vmo/vmo` (and `./mod.ts`, which today's README imports as if
 * run from the repository's root) to this checkout's mod.ts. The child must exit 0 and leave no
 * file descriptor open that it did not find: a wrapper lists the open fds before importing the
 * block and after its top-level code (and its `using` disposals) finished.
 *
 * Marks, on the line before a block (blank lines between are allowed):
 * - `<!-- not-run -->`: the block is not run (a fragment, or output);
 * - `<!-- permissions: --allow-ffi --allow-run -->`: the flags for that block, instead of the
 *   default `--allow-ffi` with read and write in its temporary directory.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MOD = new URL("../mod.ts", import.meta.url).href;

/** One runnable block: where it starts in README.md, its code, and the flags it runs with. */
interface Block {
  line: number;
  code: string;
  permissions?: string[];
}

/**
 * Blocks that leak as README.md stands, keyed by the SHA-256 of their code: each must leak
 * exactly the fds listed, so a fix or a new leak shows, and an entry that matches no block
 * fails so that it is removed with the text it excused.
 */
const KNOWN_LEAKS: Record<string, { fds: number; why: string }> = {};

/** The ```ts blocks of `markdown`, with their marks; `<!-- not-run -->` blocks left out. */
export function readmeBlocks(markdown: string): { run: Block[]; skipped: number[] } {
  const lines = markdown.split("\n");
  const run: Block[] = [];
  const skipped: number[] = [];
  let mark = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^(\s*)(`{3,}|~{3,})\s*(\w*)/.exec(line);
    if (fence === null) {
      if (line.trim() !== "") mark = line.trim();
      continue;
    }
    const [, indent, ticks, lang] = fence;
    const start = i;
    const body: string[] = [];
    // A closing fence is the opening's character alone, at least as many times (CommonMark).
    const closes = (text: string) =>
      /^(`+|~+)$/.test(text.trim()) && text.trim()[0] === ticks[0] &&
      text.trim().length >= ticks.length;
    for (i++; i < lines.length && !closes(lines[i]); i++) {
      body.push(lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i]);
    }
    if (lang === "ts" || lang === "typescript") {
      const permissions = /^<!--\s*permissions:\s*(.*?)\s*-->$/.exec(mark);
      if (/^<!--\s*not-run\s*-->$/.test(mark)) skipped.push(start + 1);
      else {
        run.push({
          line: start + 1,
          code: body.join("\n") + "\n",
          permissions: permissions ? permissions[1].split(/\s+/) : undefined,
        });
      }
    }
    mark = "";
  }
  return { run, skipped };
}

/** Imports the block and prints the fds open before and after, with what they point at. */
const WRAPPER = `
const c = Deno.dlopen("libc.so.6", {
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
}).symbols;
const F_GETFD = 1;
function openFds() {
  const fds = {};
  const target = new Uint8Array(4096);
  for (let fd = 0; fd < 1 << 16; fd++) {
    if (c.fcntl(fd, F_GETFD, 0) < 0) continue;
    const n = Number(c.readlink(new TextEncoder().encode("/proc/self/fd/" + fd + "\\0"), target, 4096n));
    fds[fd] = n < 0 ? "?" : new TextDecoder().decode(target.subarray(0, n));
  }
  return fds;
}
await import(${JSON.stringify(MOD)});
const before = openFds();
await import("./snippet.ts");
const after = openFds();
const leaked = Object.entries(after).filter(([fd]) => !(fd in before));
console.log("\\nREADME-FDS " + JSON.stringify({ before: Object.keys(before).length, leaked }));
`;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function runBlock(block: Block): Promise<{ leaked: [string, string][]; before: number }> {
  const dir = await Deno.makeTempDir({ prefix: "vmo-readme-" });
  try {
    await Deno.writeTextFile(`${dir}/snippet.ts`, block.code);
    await Deno.writeTextFile(`${dir}/main.ts`, WRAPPER);
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ imports: { "@vmo/vmo": MOD, "./mod.ts": MOD } }),
    );
    const permissions = block.permissions ??
      ["--allow-ffi", `--allow-read=${dir}`, `--allow-write=${dir}`];
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, "--config", `${dir}/deno.json`, `${dir}/main.ts`],
      cwd: dir,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(
      output.code,
      0,
      `README.md:${block.line} exited ${output.code}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    );
    const report = /^README-FDS (.*)$/m.exec(stdout);
    assert.ok(report, `README.md:${block.line}: no fd report\n${stdout}\n${stderr}`);
    return JSON.parse(report[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("README.md", async (t) => {
  await t.step("the block extractor: fences, languages and marks", () => {
    const { run, skipped } = readmeBlocks(
      [
        "text",
        "```ts",
        "a();",
        "```",
        "<!-- not-run -->",
        "",
        "```ts",
        "b();",
        "```",
        "```sh",
        "deno task test",
        "```",
        "<!-- permissions: --allow-ffi --allow-run -->",
        "```typescript",
        "```inside();",
        "c();",
        "```",
        "- list",
        "  ```ts",
        "  d();",
        "  ```",
      ].join("\n"),
    );
    assert.deepEqual(run, [
      { line: 2, code: "a();\n", permissions: undefined },
      { line: 14, code: "```inside();\nc();\n", permissions: ["--allow-ffi", "--allow-run"] },
      { line: 19, code: "d();\n", permissions: undefined },
    ]);
    assert.deepEqual(skipped, [7]);
  });

  await t.step("the harness fails a block that throws, and passes one that closes", async () => {
    await assert.rejects(
      runBlock({ line: 0, code: 'throw new Error("from the block");\n' }),
      /exited 1[\s\S]*from the block/,
    );
    const clean = await runBlock({
      line: 0,
      code: 'import { Vmo } from "@vmo/vmo";\nusing vmo = Vmo.create(4096);\nvmo.info();\n',
    });
    assert.deepEqual(clean.leaked, []);
  });

  await t.step("the fd check sees a leak", async () => {
    const result = await runBlock({
      line: 0,
      code: 'import { Vmo } from "@vmo/vmo";\nVmo.create(4096);\n',
    });
    assert.deepEqual(result.leaked.map(([, target]) => target), ["/memfd:vmo (deleted)"]);
  });

  const { run, skipped } = readmeBlocks(await Deno.readTextFile(`${ROOT}README.md`));
  if (skipped.length > 0) console.log(`  not run (marked): README.md lines ${skipped.join(", ")}`);
  const seen = new Set<string>();
  for (const block of run) {
    const hash = await sha256(block.code);
    seen.add(hash);
    const known = KNOWN_LEAKS[hash];
    const title = known === undefined ? "leaks no fd" : `leaks its known ${known.fds} fd`;
    await t.step(`README.md:${block.line} runs and ${title}`, async () => {
      const { leaked } = await runBlock(block);
      const what = leaked.map(([fd, target]) => `fd ${fd} -> ${target}`).join(", ");
      if (known === undefined) {
        assert.equal(leaked.length, 0, `README.md:${block.line} leaves open: ${what}`);
      } else {
        console.log(`  known leak (${known.fds} fd): ${known.why}`);
        assert.equal(leaked.length, known.fds, `README.md:${block.line} leaves open: ${what}`);
      }
    });
  }

  await t.step("every known leak is still in the README", () => {
    const stale = Object.keys(KNOWN_LEAKS).filter((hash) => !seen.has(hash));
    assert.deepEqual(stale, [], "remove these KNOWN_LEAKS entries: their blocks are gone");
  });
});
