/**
 * A file through a file-backed VMO: create it with a size, write a header and records, grow
 * it, edit a record in place, and map it, with copies that cannot fault even when another party
 * truncates the file under the mapping.
 *
 * vmo has no zero-copy path over a regular file: anyone with write access can truncate a file,
 * and a JavaScript view over a mapping of it would then fault (SIGBUS) instead of failing. So
 * `bytes()` over a file mapping is `NOT_SUPPORTED`, `Mapping.createFromVmo` of a file is
 * `NOT_SUPPORTED`, and every access is a checked copy (`pread`/`pwrite` for `Vmo.read`/`write`,
 * `process_vm_readv`/`writev` for a mapping). A program that knows nobody else resizes the
 * file can opt into a zero-copy view with `unsafeBytes()` (step 5): vmo still detaches it before
 * its own unmap or protect, but a truncation by someone else would kill the process (SIGBUS).
 *
 * Run: `deno run --allow-ffi --allow-read --allow-write examples/file.ts`
 * (read and write for the file it makes in a new temp directory).
 *
 * @module
 */

import { SharedBuffer, statusName, Vmar, VmarFlags, Vmo, ZxError } from "../mod.ts";

const dir = await Deno.makeTempDir({ prefix: "vmo-file-" });
const path = `${dir}/records.bin`;
const RECORD = 64;
const encode = (text: string) => {
  const out = new Uint8Array(RECORD);
  out.set(new TextEncoder().encode(text).subarray(0, RECORD));
  return out;
};
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\0+$/, "");
const statusOf = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (error) {
    if (error instanceof ZxError) return statusName(error.status);
    throw error;
  }
};

// 1. Create the file with a size, and write a header and two records.
{
  using vmo = Vmo.fromFile(path, { writable: true, createNew: true, size: 10_000 });
  vmo.write(encode("vmo records v1"), 0);
  vmo.write(encode("record 1: apples"), RECORD);
  vmo.write(encode("record 2: pears"), 2 * RECORD);
  console.log(
    `created ${path}: file ${(await Deno.stat(path)).size} B, VMO ${vmo.getSize()} B ` +
      `(whole pages), stream size ${vmo.getStreamSize()} B`,
  );
  console.log(
    `  createNew again: ${statusOf(() => Vmo.fromFile(path, { writable: true, createNew: true }))}`,
  );
  console.log(
    `  setSize on a file VMO: ${statusOf(() => vmo.setSize(1 << 20))} (grow it by reopening)`,
  );
}

// 2. Grow it to 1 MiB (the `size` option) and write a record at 512 KiB.
{
  using vmo = Vmo.fromFile(path, { writable: true, size: 1 << 20 });
  vmo.write(encode("record 8192: far out"), 512 * 1024);
  const stat = await Deno.stat(path);
  console.log(
    `grown: file ${stat.size} B; the header still reads "${decode(vmo.readToArray(0, RECORD))}"; ` +
      `at 512 KiB: "${decode(vmo.readToArray(512 * 1024, RECORD))}"`,
  );
}

// 3. Edit record 2 in place, and read the file back with Deno's own API.
{
  using vmo = Vmo.fromFile(path, { writable: true });
  const record = vmo.readToArray(2 * RECORD, RECORD);
  vmo.write(encode(decode(record).replace("pears", "quinces")), 2 * RECORD);
  const file = await Deno.readFile(path);
  console.log(
    `edited record 2: Deno.readFile sees "${decode(file.subarray(2 * RECORD, 3 * RECORD))}"`,
  );
}

// 4. Map it, copy through the mapping, and truncate the file under it.
{
  using vmo = Vmo.fromFile(path, { writable: true });
  const size = vmo.getSize();
  const root = Vmar.root();
  const addr = root.map(0, vmo, 0, size, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const buffer = SharedBuffer.fromRange(root, addr, size);
  buffer.writeAt(3 * RECORD, encode("record 3: written through the mapping"));
  const copy = new Uint8Array(RECORD);
  buffer.readAt(3 * RECORD, copy);
  console.log(
    `mapped ${size} B at 0x${addr.toString(16)}: readAt gives "${decode(copy)}"; ` +
      `bytes() (a zero-copy view): ${statusOf(() => buffer.bytes())}`,
  );
  // Another party (here: Deno's own API on the same path) cuts the file to 4 KiB.
  await Deno.truncate(path, 4096);
  const start = performance.now();
  const far = statusOf(() => buffer.readAt(512 * 1024, copy));
  const near = statusOf(() => buffer.readAt(0, copy));
  console.log(
    `truncated to 4 KiB by someone else: readAt at 512 KiB: ${far}; at 0: ${near} ` +
      `("${decode(copy)}"), in ${(performance.now() - start).toFixed(2)} ms, no fault`,
  );
  root.unmap(addr, size);
}

// 5. Zero-copy, at the caller's risk: `unsafeBytes()` over a file only this program resizes.
{
  using vmo = Vmo.fromFile(path, { writable: true, size: 64 * 1024 });
  const root = Vmar.root();
  const addr = root.map(0, vmo, 0, 64 * 1024, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const view = SharedBuffer.fromRange(root, addr, 64 * 1024).unsafeBytes();
  view.fill(0x2e, 8192, 8192 + 4096); // straight into the file's page cache, no copy
  const back = new Uint8Array(4);
  vmo.read(back, 8192);
  root.unmap(addr, 64 * 1024);
  console.log(
    `unsafeBytes(): a 64 KiB view filled 4 KiB in place; the file reads ` +
      `"${decode(back)}"; after unmap the view has length ${view.length}`,
  );
}

await Deno.remove(dir, { recursive: true });
console.log("removed the temp directory");
