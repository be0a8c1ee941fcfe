/**
 * The VMO object behind `Vmo` handles: its window on a backing file, its sizes, name, family
 * and mappings. Handles are thin; every fact about a VMO lives here.
 *
 * @module
 */

import { KernelObject, ObjType } from "../handle.ts";
import { isPageAligned, MAX_U64, roundDownPage, roundUpPage } from "../args.ts";
import { fail, Status } from "../status.ts";
import type { Backing } from "./backing.ts";

/** The largest VMO size: the largest page multiple that is a safe JS integer. */
export const MAX_VMO_SIZE: number = roundDownPage(MAX_U64);

/** How a VMO came to be, which decides what it shares with its parent. */
export type VmoKind = "root" | "file" | "slice" | "reference" | "snapshot";

/** The stream size, shared between a VMO and its references. */
export interface StreamSize {
  value: number;
}

/** A VMO object just made, with the rights its first handle gets. */
export interface NewVmo {
  object: VmoObject;
  rights: number;
}

/** A set that stays empty: adding to it throws (add through {@linkcode childrenOf}). */
class NoChildren extends Set<VmoObject> {
  override add(_child: VmoObject): this {
    throw new Error("vmo internal error: a child added to the shared empty set");
  }
}

/** The shared empty children set of VMOs that never had a child. */
const NO_CHILDREN: Set<VmoObject> = new NoChildren();

/** The VMO's own children set, made on first use. */
function childrenOf(object: VmoObject): Set<VmoObject> {
  if (object.children === NO_CHILDREN) object.children = new Set();
  return object.children;
}

/** One VMO. Slices and references keep their parent alive; snapshots only name it. */
export class VmoObject extends KernelObject {
  readonly type: number = ObjType.VMO;
  readonly backing: Backing;
  /** Where this VMO's byte 0 is in the backing file. */
  readonly offset: number;
  /** A slice's fixed size; `null` when the size is the backing's. */
  readonly sliceSize: number | null;
  readonly stream: StreamSize;
  readonly kind: VmoKind;
  readonly discardable: boolean;
  /** A SNAPSHOT|NO_WRITE child: no one can write it. */
  readonly immutable: boolean;
  /** A snapshot of a file-backed VMO (or of such a snapshot): Zircon's pager-derived clone. */
  readonly pagerDerived: boolean;
  parent: VmoObject | null;
  /** {@linkcode NO_CHILDREN} until the first child: a `Set` per VMO costs every create. */
  children: Set<VmoObject> = NO_CHILDREN;
  name = "";
  cachePolicy = 0;
  lockCount = 0;
  /** Mappings of this VMO in any VMAR (kept by the VMAR layer). */
  mappingCount = 0;

  constructor(init: {
    backing: Backing;
    offset: number;
    sliceSize: number | null;
    stream: StreamSize;
    kind: VmoKind;
    parent: VmoObject | null;
    discardable?: boolean;
    immutable?: boolean;
    pagerDerived?: boolean;
  }) {
    super();
    this.backing = init.backing;
    this.offset = init.offset;
    this.sliceSize = init.sliceSize;
    this.stream = init.stream;
    this.kind = init.kind;
    this.parent = init.parent;
    this.discardable = init.discardable ?? false;
    this.immutable = init.immutable ?? false;
    this.pagerDerived = init.pagerDerived ?? false;
    this.backing.retain();
    if (this.parent !== null) {
      childrenOf(this.parent).add(this);
      if (this.sharesParentPages) this.parent.hold();
    }
  }

  /** The VMO's size in bytes, always a multiple of the page size. */
  get size(): number {
    return this.sliceSize ?? this.backing.size;
  }

  /** Whether the object's size can change (a handle still needs RESIZE to change it). */
  get resizable(): boolean {
    return this.sliceSize === null && this.backing.resizable;
  }

  /** Slices and references show the parent's pages and keep the parent alive. */
  get sharesParentPages(): boolean {
    return this.kind === "slice" || this.kind === "reference";
  }

  /** The VMO whose pages these are: through slices and references to the one that owns them. */
  get pageOwner(): VmoObject {
    return this.sharesParentPages && this.parent !== null ? this.parent.pageOwner : this;
  }

  /** Whether this VMO, or one sharing its pages, has snapshot children. */
  hasCowChildren(): boolean {
    for (const child of this.children) {
      if (child.kind === "snapshot") return true;
      if (child.sharesParentPages && child.hasCowChildren()) return true;
    }
    return false;
  }

  /** Commits the pages of `[offset, offset + size)`, rounded outward; the range was checked. */
  commit(offset: number, size: number): void {
    if (size === 0) return;
    const start = roundDownPage(offset);
    this.backing.commit(this.offset + start, roundUpPage(offset + size) - start);
  }

  /**
   * Decommits `[offset, offset + size)`, which was checked to be inside the VMO: Zircon's
   * `NOT_SUPPORTED` for snapshots, VMOs with snapshots and file-backed VMOs, `INVALID_ARGS`
   * for an unaligned range, then a hole punch that every alias of the pages sees.
   */
  decommit(offset: number, size: number): void {
    if (size === 0) return;
    const owner = this.pageOwner;
    if (owner.kind === "snapshot" || owner.hasCowChildren()) {
      fail(Status.NOT_SUPPORTED, "DECOMMIT of a snapshot or of a VMO with snapshots");
    }
    if (owner.kind === "file") fail(Status.NOT_SUPPORTED, "DECOMMIT of a file-backed VMO");
    if (!isPageAligned(offset) || !isPageAligned(size)) {
      fail(Status.INVALID_ARGS, "DECOMMIT needs a page-aligned range");
    }
    this.backing.zero(this.offset + offset, size);
  }

  protected onLastReference(): void {
    const parent = this.parent;
    // Zircon moves the children of a dying VMO onto its parent.
    for (const child of this.children) {
      child.parent = parent;
      if (parent !== null) childrenOf(parent).add(child);
    }
    this.children = NO_CHILDREN;
    if (parent !== null) {
      parent.children.delete(this);
      if (this.sharesParentPages) parent.unhold();
    }
    this.backing.release();
  }
}
