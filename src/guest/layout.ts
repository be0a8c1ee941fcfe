/**
 * The guard-paged layout hyperlight gives a sandbox's memory: a sub-VMAR of its own holding
 * `[guard page][the VMO][guard page]`. The guards are the `PROT_NONE` reservation itself, so
 * nothing else can ever be placed there, and an access one byte before or after the buffer
 * faults instead of reaching another object.
 *
 * @module
 */

import { checkedEnd, checkU64, PAGE_SIZE, roundUpPage } from "../args.ts";
import { fail, Status, ZxError } from "../status.ts";
import { Vmo } from "../vmo/vmo.ts";
import { Vmar } from "../vmar/vmar.ts";
import { VmarFlags } from "../vmar/constants.ts";

/**
 * hyperlight's lock, and the host states it parks while held: their typed accessors' fast
 * path tests only their cached view, so taking the lock empties it (`park`) and the checked
 * path answers `SHOULD_WAIT` until the lock is free again (then takes a fresh view). Weakly:
 * a state's view keeps its host alive, and the layout must not keep a dropped host.
 */
export interface LayoutLock {
  held: boolean;
  readonly hosts: Set<WeakRef<{ park(): void }>>;
}

/** Takes the lock (the caller checked it was free) and parks every host state on it. */
export function holdLock(lock: LayoutLock): void {
  lock.held = true;
  for (const ref of lock.hosts) {
    const state = ref.deref();
    if (state === undefined) lock.hosts.delete(ref);
    else state.park();
  }
}

/** One guarded mapping, shared by the objects that use it (host, guest, exclusive). */
export interface GuardedLayout {
  vmar: Vmar;
  /** The first byte of the buffer (after the leading guard page). */
  base: number;
  memSize: number;
  vmo: Vmo;
  /** Objects still using it; the last `release` destroys it. */
  refs: number;
  /** hyperlight's lock: held by `withExclusivity` (try-lock: never waited for). */
  lock: LayoutLock;
  destroyed: boolean;
}

/**
 * Maps `vmo` (a handle the layout takes over) between two guard pages in a new sub-VMAR of the
 * root. Out of address space is `NO_MEMORY`, as hyperlight's failed `mmap`.
 */
export function createLayout(vmo: Vmo, memSize: number): GuardedLayout {
  let vmar: Vmar | undefined;
  try {
    const [child, start] = Vmar.root().allocate(
      0,
      memSize + 2 * PAGE_SIZE,
      VmarFlags.CAN_MAP_SPECIFIC | VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE,
    );
    vmar = child;
    child.map(
      PAGE_SIZE,
      vmo,
      0,
      memSize,
      VmarFlags.SPECIFIC | VmarFlags.PERM_READ | VmarFlags.PERM_WRITE,
    );
    return {
      vmar: child,
      base: start + PAGE_SIZE,
      memSize,
      vmo,
      refs: 1,
      lock: { held: false, hosts: new Set() },
      destroyed: false,
    };
  } catch (error) {
    vmar?.destroy();
    vmo.close();
    if (error instanceof ZxError && error.status === Status.NO_RESOURCES) {
      throw new ZxError(Status.NO_MEMORY, `no room for ${memSize} bytes and two guard pages`);
    }
    throw error;
  }
}

/** The page-rounded size for a request of `minSizeBytes`: `INVALID_ARGS`, `NO_MEMORY`. */
export function layoutSize(minSizeBytes: number): number {
  checkU64(minSizeBytes, "minSizeBytes");
  if (minSizeBytes === 0) fail(Status.INVALID_ARGS, "minSizeBytes is 0");
  const memSize = roundUpPage(minSizeBytes);
  if (memSize + 2 * PAGE_SIZE > Vmo.MAX_SIZE) {
    fail(Status.NO_MEMORY, `${minSizeBytes} bytes and two guard pages do not fit`);
  }
  return memSize;
}

/**
 * The backstop for a memory object dropped without `close()`: when it is collected, its use of
 * the layout ends as `close()` would end it. Anything that can still reach the memory (a
 * guest's buffer, a view) keeps its owner alive, so this never runs under a live user.
 */
const backstop = new FinalizationRegistry<GuardedLayout>((layout) => releaseLayout(layout));

/** Registers `owner` as one user of `layout`, released if it is collected unclosed. */
export function guardLayout(owner: object, layout: GuardedLayout): void {
  backstop.register(owner, layout, owner);
}

/** `owner` released its use itself (`close`, `build`): no backstop for it any more. */
export function unguardLayout(owner: object): void {
  backstop.unregister(owner);
}

/** Drops one user; the last destroys the sub-VMAR (detaching every view) and the VMO. */
export function releaseLayout(layout: GuardedLayout): void {
  if (--layout.refs > 0 || layout.destroyed) return;
  layout.destroyed = true;
  destroyOwnVmar(layout.vmar);
  layout.vmo.close();
}

/**
 * Destroys a sub-VMAR the caller made for itself and closes the handle. Someone may have
 * destroyed it already (`Vmar.root().unmap` over its whole range does): then there is nothing
 * left to unmap, and `close()` still succeeds and still gives back every handle. A sub-VMAR is
 * destroyed through its own handle, never by address, so this never reaches memory that was
 * mapped at the same addresses since.
 */
export function destroyOwnVmar(vmar: Vmar): void {
  try {
    vmar.destroy();
  } catch (error) {
    if (!(error instanceof ZxError && error.status === Status.BAD_STATE)) throw error;
  } finally {
    vmar.close();
  }
}

/** The token that only this folder's modules pass to the memory classes' constructors. */
export const INTERNAL: unique symbol = Symbol("SharedMemory");

/** `OUT_OF_RANGE` unless `[offset, offset + len)` is within `size` (all or nothing). */
export function checkRange(offset: number, len: number, size: number, what: string): void {
  checkU64(offset, "offset");
  const end = checkedEnd(offset, len, what);
  if (end > size) {
    fail(Status.OUT_OF_RANGE, `${what}: ${len} bytes at ${offset} pass the end (${size})`);
  }
}
