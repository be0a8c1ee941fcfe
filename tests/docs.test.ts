/**
 * The repository is self-contained: no tracked file points at a document or a path outside it.
 * A `*.md` file named in a comment, a test name or the README must be one of the repository's
 * own files (relative to the naming file or to the root), and no relative path may climb out of
 * the root. Rule citations go to `docs/semantics.md`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT } from "./_support/mod.ts";
import { posix } from "node:path";

/** This file: it spells out the patterns it looks for. */
const SELF = "tests/docs.test.ts";

/** The files git tracks, relative to the root (untracked and ignored files are not ours). */
function trackedFiles(): string[] {
  const out = new Deno.Command("git", { args: ["ls-files", "-z"], cwd: ROOT }).outputSync();
  assert.ok(out.success, `git ls-files failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
}

/** Whether git can list the files (a source tarball without git cannot be checked). */
function haveGit(): boolean {
  try {
    return new Deno.Command("git", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    console.log("skipped: git is not installed, so the tracked files cannot be listed");
    return false;
  }
}

/** A `*.md` name standing on its own (not the tail of a URL or of a longer word). */
const MD_NAME = /(?<![\w/.:-])((?:\.\.?\/)*[\w][\w./-]*\.md)(?![\w])/g;
/** A relative path that starts by climbing: `../`, `../../x`. */
const CLIMB = /(?<![\w.\/])((?:\.\.\/)+)(?=[\w.-])/g;

/** Every reference in `text` (of the file `file`) that leads outside the repository. */
function outsideReferences(file: string, text: string, files: Set<string>): string[] {
  const found: string[] = [];
  const dir = posix.dirname(file);
  text.split("\n").forEach((line, i) => {
    for (const [, name] of line.matchAll(MD_NAME)) {
      const fromFile = posix.normalize(posix.join(dir, name));
      const fromRoot = posix.normalize(name);
      if (!files.has(fromFile) && !files.has(fromRoot)) {
        found.push(`${file}:${i + 1}: ${name} is not a file of this repository`);
      }
    }
    for (const [, climb] of line.matchAll(CLIMB)) {
      if (posix.normalize(posix.join(dir, climb)).startsWith("..")) {
        found.push(`${file}:${i + 1}: ${climb} leaves the repository`);
      }
    }
  });
  return found;
}

/** The outside references of every tracked text file that `include` selects. */
function offenders(include: (file: string) => boolean): string[] {
  const files = trackedFiles();
  const known = new Set(files);
  const found: string[] = [];
  for (const file of files) {
    if (file === SELF || !include(file)) continue;
    const bytes = Deno.readFileSync(posix.join(ROOT, file));
    if (bytes.includes(0)) continue; // not text
    found.push(...outsideReferences(file, new TextDecoder().decode(bytes), known));
  }
  return found;
}

/**
 * The section numbers docs/semantics.md defines: its `## §N` / `### §N.M` headings, the
 * `**§N.M.K**` steps inside them, and the numbered items of §5 (`§5.3`).
 */
function definedSections(): Set<string> {
  const text = Deno.readTextFileSync(posix.join(ROOT, "docs/semantics.md"));
  const defined = new Set<string>();
  for (const [, n] of text.matchAll(/^#{2,3} §([\d.]+)/gm)) defined.add(n);
  for (const [, n] of text.matchAll(/\*\*§([\d.]+)\*\*/g)) defined.add(n);
  const disagreements = text.slice(text.indexOf("## §5"), text.indexOf("## §6"));
  for (const [, n] of disagreements.matchAll(/^(\d+)\. /gm)) defined.add(`5.${n}`);
  return defined;
}

Deno.test("docs: every § a test, comment or the README cites is a section of docs/semantics.md", () => {
  if (!haveGit()) return;
  const defined = definedSections();
  assert.ok(defined.has("2.5") && defined.has("1.6.3") && defined.has("5.8"), [...defined].join());
  const missing: string[] = [];
  for (const file of trackedFiles()) {
    if (file === "docs/semantics.md" || !/\.(ts|md)$/.test(file)) continue;
    const text = Deno.readTextFileSync(posix.join(ROOT, file));
    text.split("\n").forEach((line, i) => {
      for (const [, n] of line.matchAll(/§(\d+(?:\.\d+)*)/g)) {
        if (!defined.has(n)) missing.push(`${file}:${i + 1}: §${n}`);
      }
    });
  }
  assert.deepEqual(missing, []);
});

const underLibrary = (file: string) => file.startsWith("src/") || file.startsWith("ffi/");

Deno.test("docs: the checker sees references that leave the repository", () => {
  const known = new Set(["README.md", "docs/semantics.md", "tests/x.test.ts", "mod.ts"]);
  const cases: [string, boolean][] = [
    ["see ../shared/API.md", true],
    ["see shared/DESIGN.md", true],
    ["ZIRCON.md §2.5", true],
    ['import "../../../elsewhere.ts"', true],
    ["docs/semantics.md §2.5", false],
    ["see ../docs/semantics.md and ../README.md", false],
    ['import { x } from "../mod.ts";', false],
    ["https://example.com/notes/README.md", false],
  ];
  for (const [line, leaves] of cases) {
    const found = outsideReferences("tests/x.test.ts", line, known);
    assert.equal(found.length > 0, leaves, `${line}: ${JSON.stringify(found)}`);
  }
});

Deno.test("docs: no file outside src/ and ffi/ points outside the repository", () => {
  if (!haveGit()) return;
  assert.deepEqual(offenders((file) => !underLibrary(file)), []);
});

Deno.test("docs: no file in src/ or ffi/ points outside the repository", () => {
  if (!haveGit()) return;
  assert.deepEqual(offenders(underLibrary), []);
});
