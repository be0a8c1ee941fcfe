/**
 * The `vmo` command line: `demo` runs the demo, `maps` draws any process's address space from
 * `/proc/<pid>/smaps` as a Zircon-style tree, `bench` runs the benches and prints one table of
 * each case's ratio to its group's baseline.
 *
 * Run: `deno task vmo -- <command>` or
 * `deno run --allow-ffi --allow-read --allow-run cli.ts <command>`; `--help` on any command.
 * Exit codes: 0 done, 1 the command failed, 2 bad arguments (with a usage line on stderr).
 *
 * The library is imported only by the command that needs it, so `--help` and argument errors
 * need no permission and a missing `--allow-ffi` is reported in words.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { isAbsolute, join } from "node:path";
import type { MapInfo } from "./mod.ts";

/** The demo program, relative to this file, and the permissions it asks for. */
const DEMO = {
  script: "examples/host.ts",
  permissions: ["--allow-ffi", "--allow-run", "--allow-write"],
} as const;

/** What `bench` runs when given no paths, and the permissions the benches ask for. */
const BENCH = {
  dir: "bench/",
  permissions: ["--allow-ffi", "--allow-read", "--allow-write"],
} as const;

const ROOT = fileURLToPath(new URL(".", import.meta.url));

/** A bad command line: printed with the command's usage line, exit code 2. */
class UsageError extends Error {
  constructor(message: string, readonly command?: Command) {
    super(message);
  }
}

/** A command that ran and failed: printed as `vmo <command>: <message>`, exit code 1. */
class CommandError extends Error {}

type OptionSpec = { type: "string" | "boolean"; short?: string; value?: string; help: string };

interface Command {
  name: string;
  summary: string;
  /** The arguments after the command's name, for the usage line. */
  synopsis: string;
  /** Paragraphs of `--help` after the options. */
  details: string;
  options: Record<string, OptionSpec>;
  /** Whether operands are accepted (before or after `--`). */
  operands: boolean;
  run(values: Record<string, string | boolean | undefined>, operands: string[]): Promise<number>;
}

const HELP_OPTION: OptionSpec = { type: "boolean", short: "h", help: "show this help" };

const COMMANDS: Command[] = [
  {
    name: "demo",
    summary: "run the demo",
    synopsis: "[-- ARG...]",
    details: `Runs ${DEMO.script} in a child \`deno run ${DEMO.permissions.join(" ")}\`, ` +
      "passing ARGs after `--` to it, and exits with its exit code.",
    options: { help: HELP_OPTION },
    operands: true,
    run: (_values, operands) => runDemo(operands),
  },
  {
    name: "maps",
    summary: "draw a process's address space from /proc/<pid>/smaps",
    synopsis: "[--pid N]",
    details: "Draws every mapping of process N (default: this one) as formatMaps draws a VMAR: " +
      "consecutive mappings of one file grouped under it, each with its permissions, range, " +
      "size, file offset and resident bytes (Rss).\n" +
      "Linux has no koids: `koid` is the file's inode (0 for anonymous memory) and " +
      "`committed` is the mapping's Rss. Reading another user's process needs ptrace access " +
      "to it. Needs --allow-ffi (Deno's file APIs refuse /proc; vmo reads it through libc).",
    options: {
      pid: { type: "string", value: "N", help: "the process to draw (default: this one)" },
      help: HELP_OPTION,
    },
    operands: false,
    run: (values) => runMaps(values.pid as string | undefined),
  },
  {
    name: "bench",
    summary: "run the benches and print one table of ratios to each baseline",
    synopsis: "[--filter TEXT] [PATH...]",
    details: `Runs \`deno bench ${BENCH.permissions.join(" ")} --json\` on PATHs (default: ` +
      `${BENCH.dir}) and prints, for each Deno.bench group, every case's mean time per ` +
      "iteration and its ratio to the group's `baseline: true` case (to the fastest case, " +
      'marked "~", when the run has no baseline for the group). Exits 1 if a bench failed.',
    options: {
      filter: {
        type: "string",
        value: "TEXT",
        help: "run only benches whose name contains TEXT (deno bench --filter)",
      },
      help: HELP_OPTION,
    },
    operands: true,
    run: (values, operands) => runBench(values.filter as string | undefined, operands),
  },
];

// ---- help and arguments ----------------------------------------------------------------------

function usageLine(command?: Command): string {
  return command === undefined
    ? "usage: vmo <command> [options]   (commands: " +
      COMMANDS.map((c) => c.name).join(", ") + "; vmo --help)"
    : `usage: vmo ${command.name} ${command.synopsis}`;
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "vmo: Fuchsia Zircon's virtual memory objects on Linux, for Deno.",
    "",
    "usage: vmo <command> [options]",
    "  (deno task vmo -- <command>, or deno run --allow-ffi --allow-read --allow-run cli.ts)",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `vmo <command> --help` for a command's options.",
  ].join("\n");
}

function commandHelp(command: Command): string {
  const flags = Object.entries(command.options).map(([name, spec]) =>
    [spec.short ? `-${spec.short}, ` : "    ", `--${name}`, spec.value ? ` ${spec.value}` : ""]
      .join("")
  );
  const width = Math.max(...flags.map((f) => f.length));
  return [
    `vmo ${command.name}: ${command.summary}`,
    "",
    usageLine(command),
    "",
    "options:",
    ...Object.values(command.options).map((spec, i) => `  ${flags[i].padEnd(width)}  ${spec.help}`),
    "",
    ...command.details.split("\n").map((paragraph) => wrap(paragraph, 80)),
  ].join("\n");
}

/** `text` broken at spaces into lines of at most `width` characters. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line].join("\n");
}

/** Runs the command line `args` and returns the exit code. */
async function main(args: string[]): Promise<number> {
  // `deno task vmo -- maps` passes the `--` on.
  const rest = args[0] === "--" ? args.slice(1) : args;
  try {
    const [first, ...tail] = rest;
    if (first === "--help" || first === "-h") {
      console.log(topHelp());
      return 0;
    }
    if (first === "help") {
      const about = tail[0] === undefined ? undefined : findCommand(tail[0]);
      console.log(about === undefined ? topHelp() : commandHelp(about));
      return 0;
    }
    if (first === undefined) throw new UsageError("no command given");
    const command = findCommand(first);
    const { values, positionals } = parseCommandArgs(command, tail);
    if (values.help === true) {
      console.log(commandHelp(command));
      return 0;
    }
    return await command.run(values, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`vmo: ${error.message}`);
      console.error(usageLine(error.command));
      return 2;
    }
    if (error instanceof CommandError) {
      console.error(`vmo ${rest[0]}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    throw new UsageError(
      name.startsWith("-") ? `unknown option ${name}` : `unknown command ${JSON.stringify(name)}`,
    );
  }
  return command;
}

function parseCommandArgs(command: Command, args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(command.options).map((
          [name, { type, short }],
        ) => [name, short === undefined ? { type } : { type, short }]),
      ),
      strict: true,
      allowPositionals: command.operands,
    });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) throw error;
    // parseArgs explains itself ("Unknown option '--x'..."); keep its first sentence.
    throw new UsageError(
      (error as Error).message.split("\n")[0].split(". ")[0].replace(/\.$/, ""),
      command,
    );
  }
  return { values: { ...parsed.values }, positionals: parsed.positionals };
}

function needPermission(name: "ffi" | "run" | "read", flag: string, why: string): void {
  if (Deno.permissions.querySync({ name }).state !== "granted") {
    throw new CommandError(`needs ${flag} (${why})`);
  }
}

// ---- demo ------------------------------------------------------------------------------------

async function runDemo(operands: string[]): Promise<number> {
  needPermission("run", "--allow-run", "to start the demo in a child deno");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...DEMO.permissions, join(ROOT, DEMO.script), ...operands],
    cwd: ROOT,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

// ---- maps ------------------------------------------------------------------------------------

/** One mapping of `/proc/<pid>/smaps`. */
interface SmapsEntry {
  start: number;
  end: number;
  /** `"rw-p"`, `"r--s"`... */
  perms: string;
  offset: number;
  inode: number;
  /** The path column: a file, `[heap]`, `/memfd:name (deleted)`, or "" for anonymous memory. */
  path: string;
  /** The `Key: N kB` fields, in bytes. */
  fields: Record<string, number>;
}

const SMAPS_HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ (\d+)\s*(.*)$/;
const SMAPS_FIELD = /^(\w+):\s+(\d+) kB$/;

/** The mappings of an smaps text, in address order. */
function parseSmaps(text: string): SmapsEntry[] {
  const entries: SmapsEntry[] = [];
  for (const line of text.split("\n")) {
    const header = SMAPS_HEADER.exec(line);
    if (header !== null) {
      const [, start, end, perms, offset, inode, path] = header;
      entries.push({
        start: parseInt(start, 16),
        end: parseInt(end, 16),
        perms,
        offset: parseInt(offset, 16),
        inode: Number(inode),
        path,
        fields: {},
      });
      continue;
    }
    const field = SMAPS_FIELD.exec(line);
    if (field !== null && entries.length > 0) {
      entries[entries.length - 1].fields[field[1]] = Number(field[2]) * 1024;
    }
  }
  return entries;
}

/** The end of x86_64 user space: mappings above it ([vsyscall]) stay out of the root's span. */
const USER_END = 2 ** 47;

const rss = (entries: SmapsEntry[]) => entries.reduce((sum, e) => sum + (e.fields.Rss ?? 0), 0);

/**
 * The smaps entries as `MapInfo` records for `formatMaps`: a root spanning the user mappings;
 * under it each run of two or more consecutive mappings of one file as a region named by it, and
 * single mappings directly. Beside each record, the text to append to its line.
 */
function smapsRecords(
  entries: SmapsEntry[],
  types: { VMAR: number; MAPPING: number },
  humanBytes: (n: number) => string,
): { records: MapInfo[]; extras: string[] } {
  const records: MapInfo[] = [];
  const extras: string[] = [];
  const user = entries.filter((e) => e.end <= USER_END);
  if (user.length > 0) {
    const base = user[0].start;
    records.push({
      name: "root",
      base,
      size: user[user.length - 1].end - base,
      depth: 0,
      type: types.VMAR,
    });
    extras.push(` rss ${humanBytes(rss(user))}`);
  }
  const mapping = (e: SmapsEntry, depth: number) => {
    records.push({
      name: e.path === "" ? "[anon]" : e.path,
      base: e.start,
      size: e.end - e.start,
      depth,
      type: types.MAPPING,
      mapping: {
        mmuFlags: (e.perms[0] === "r" ? 1 : 0) | (e.perms[1] === "w" ? 2 : 0) |
          (e.perms[2] === "x" ? 4 : 0),
        vmoKoid: e.inode,
        vmoOffset: e.offset,
        committedBytes: e.fields.Rss ?? 0,
        populatedBytes: e.fields.Rss ?? 0,
      },
    });
    const swap = e.fields.Swap ?? 0;
    extras.push(
      (e.perms[3] === "s" ? " shared" : "") + (swap > 0 ? ` swap ${humanBytes(swap)}` : ""),
    );
  };
  for (let i = 0; i < entries.length;) {
    let j = i + 1;
    const path = entries[i].path;
    const fileLike = path !== "" && !path.startsWith("[");
    while (fileLike && j < entries.length && entries[j].path === path) j++;
    const top = entries[i].end <= USER_END ? 1 : 0;
    if (j - i >= 2) {
      const run = entries.slice(i, j);
      records.push({
        name: path,
        base: run[0].start,
        size: run[run.length - 1].end - run[0].start,
        depth: top,
        type: types.VMAR,
      });
      extras.push(` rss ${humanBytes(rss(run))}`);
      for (const e of run) mapping(e, top + 1);
    } else {
      mapping(entries[i], top);
    }
    i = j;
  }
  return { records, extras };
}

function parsePid(text: string | undefined): number | "self" {
  if (text === undefined) return "self";
  if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > 2 ** 31 - 1) {
    throw new UsageError(
      `--pid wants a process id (a positive integer), not ${JSON.stringify(text)}`,
      COMMANDS.find((c) => c.name === "maps"),
    );
  }
  return Number(text);
}

async function runMaps(pidText: string | undefined): Promise<number> {
  const pid = parsePid(pidText);
  needPermission("ffi", "--allow-ffi", "Deno's file APIs refuse /proc; vmo reads it through libc");
  const { formatMaps, MapInfoType, ZxError } = await import("./mod.ts");
  // Stopgap below mod.ts (the CLI should use mod.ts only): the library's /proc reader
  // (through libc: Deno's file APIs refuse /proc) and formatMaps' size units are not exported.
  const { readProcFile } = await import("./src/vmar/linux.ts");
  const { humanBytes } = await import("./src/vmar/format.ts");
  const who = pid === "self" ? `this process (${Deno.pid})` : `process ${pid}`;
  let text: string;
  let name = "";
  try {
    text = readProcFile(`/proc/${pid}/smaps`);
    name = readProcFile(`/proc/${pid}/comm`).trim();
  } catch (error) {
    if (!(error instanceof ZxError) || error.cause === undefined) throw error;
    const code = error.cause.code;
    if (code === "ENOENT" || code === "ESRCH") throw new CommandError(`no process ${pid}`);
    if (code === "EACCES" || code === "EPERM") {
      throw new CommandError(
        `no permission to read /proc/${pid}/smaps (${code}): reading another process's ` +
          "mappings needs ptrace access to it (the same user or CAP_SYS_PTRACE; Yama's " +
          "ptrace_scope may forbid it)",
      );
    }
    throw new CommandError(`cannot read /proc/${pid}/smaps: ${error.message}`);
  }
  const entries = parseSmaps(text);
  if (entries.length === 0) {
    throw new CommandError(`${who} has no user mappings (a kernel thread, or it has exited)`);
  }
  const { records, extras } = smapsRecords(entries, MapInfoType, humanBytes);
  const lines = formatMaps(records).split("\n");
  const size = entries.reduce((sum, e) => sum + (e.end - e.start), 0);
  console.log(
    `${who}${name ? ` "${name}"` : ""}: ${entries.length} mappings, ${humanBytes(size)} mapped, ` +
      `${humanBytes(rss(entries))} resident`,
  );
  console.log("(koid: the file's inode, 0 for anonymous memory; committed: the mapping's Rss)");
  console.log(lines.map((line, i) => line + extras[i]).join("\n"));
  return 0;
}

// ---- bench -----------------------------------------------------------------------------------

/** One bench of `deno bench --json`. */
interface BenchRecord {
  origin: string;
  group: string | null;
  name: string;
  baseline: boolean;
  results: { ok?: { avg: number; n: number }; failed?: unknown }[];
}

/** The JSON report at the end of `deno bench --json`'s output (benches may print before it). */
function benchReport(stdout: string): BenchRecord[] {
  const start = stdout.startsWith('{\n  "version"') ? 0 : stdout.lastIndexOf('\n{\n  "version"');
  if (start < 0) throw new CommandError("deno bench printed no JSON report");
  const report = JSON.parse(stdout.slice(start));
  return Array.isArray(report.benches) ? report.benches : [];
}

function formatTime(ns: number): string {
  const [value, unit] = ns >= 1e9
    ? [ns / 1e9, "s"]
    : ns >= 1e6
    ? [ns / 1e6, "ms"]
    : ns >= 1e3
    ? [ns / 1e3, "µs"]
    : [ns, "ns"];
  return `${value.toPrecision(3)} ${unit}`;
}

/** The rows of the ratio table: per file and group in first-seen order, each case's ratio. */
function ratioRows(benches: BenchRecord[]): string[][] {
  const groups = new Map<string, BenchRecord[]>();
  for (const b of benches) {
    // Ungrouped benches have no baseline to compare with: each is its own row.
    const key = b.group === null ? `${b.origin}\0\0${b.name}` : `${b.origin}\0${b.group}`;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }
  const rows: string[][] = [];
  let lastFile = "";
  let lastGroup = "";
  for (const members of groups.values()) {
    const avg = (b: BenchRecord) => b.results[0]?.ok?.avg;
    const timed = members.filter((b) => avg(b) !== undefined);
    const explicit = timed.find((b) => b.baseline);
    const reference = members[0].group === null
      ? undefined
      : explicit ?? timed.reduce<BenchRecord | undefined>(
        (best, b) => best === undefined || avg(b)! < avg(best)! ? b : best,
        undefined,
      );
    const file = members[0].origin.startsWith("file://")
      ? fileURLToPath(members[0].origin).replace(ROOT, "")
      : members[0].origin;
    for (const b of members) {
      const time = avg(b);
      let ratio = "-";
      if (time === undefined) ratio = "FAILED";
      else if (b === reference) ratio = explicit ? "baseline" : "~ fastest";
      else if (reference !== undefined) {
        ratio = `${explicit ? "" : "~ "}${(time / avg(reference)!).toFixed(2)}x`;
      }
      // A file or group is named on its first row only.
      const group = b.group ?? "";
      rows.push([
        file === lastFile ? "" : file,
        file === lastFile && group === lastGroup ? "" : group,
        b.name,
        time === undefined ? "" : formatTime(time),
        ratio,
      ]);
      lastFile = file;
      lastGroup = group;
    }
  }
  return rows;
}

function drawTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])).join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

async function runBench(filter: string | undefined, paths: string[]): Promise<number> {
  needPermission("run", "--allow-run", "to run deno bench");
  if (!paths.every(isAbsolute)) {
    needPermission("read", "--allow-read", "to resolve relative paths against the directory");
  }
  const targets = paths.length === 0
    ? [join(ROOT, BENCH.dir)]
    : paths.map((p) => isAbsolute(p) ? p : join(Deno.cwd(), p));
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "bench",
      ...BENCH.permissions,
      "--json",
      ...(filter === undefined ? [] : ["--filter", filter]),
      ...targets,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success && !stdout.includes('"version"')) {
    throw new CommandError(`deno bench failed (exit code ${output.code}) before it ran a bench`);
  }
  const benches = benchReport(stdout);
  if (benches.length === 0) {
    throw new CommandError(
      `no bench ran${filter === undefined ? "" : ` (filter ${JSON.stringify(filter)})`}`,
    );
  }
  const rows = ratioRows(benches);
  console.log(drawTable(["file", "group", "case", "time/iter", "ratio"], rows));
  console.log(
    "\nratio: mean time per iteration over the group's baseline (lower is faster); " +
      "~: no baseline in this run, compared with the group's fastest case",
  );
  const failed = rows.filter((r) => r[4] === "FAILED").length;
  if (failed > 0 || !output.success) {
    throw new CommandError(`${failed} bench(es) failed (deno bench exit code ${output.code})`);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
