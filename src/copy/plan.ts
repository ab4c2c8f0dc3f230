// The plan: every entry of the source tree, found before anything is written.
//
// The walk lists each directory (readdir, names as bytes) and stats every
// entry (lstat, or stat with dereference) in a copy worker (scan.ts), several
// directories at once; the plan is assembled here, on the job's thread, which
// also runs the filter. Directories come out in walk order, each
// after its parent, so creating them in that order always finds the parent
// there. Regular files are sorted largest first when the job dispatches them,
// so a large file never starts last and runs alone. Hard links (preserve.links)
// are recognised by (dev, ino): the first name is copied, the others become
// links to its copy once it is in place.
//
// The walk keeps its own queue instead of recursing, so a tree thousands of
// levels deep is no problem for the JavaScript stack.
import { constants } from 'node:fs';
import type { StatxStats } from '../fs/statx';
import { SaferRingError } from '../errors';
import { fromRecord } from './protocol';
import { Field, ScanResult, STAT_FIELDS } from './scan';
import { asBuffer, baseName, display, joinBytes } from './paths';
import type { EntryType, ResolvedOptions } from './options';

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK } = constants;

export function entryType(mode: number): EntryType {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'directory';
    case S_IFLNK: return 'symlink';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    case S_IFCHR: return 'char-device';
    case S_IFBLK: return 'block-device';
    default: return 'file';
  }
}

/** What the plan keeps of a stat: exactly what copying and preserving need. */
export interface EntryMeta {
  type: EntryType;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  dev: number;
  ino: number;
  nlink: number;
  rdev: number;
  /** 512-byte blocks allocated: fewer than the size needs means the file has holes. */
  blocks: number;
}

/** The fields of a stat the plan keeps (from node:fs Stats or the ring's statx). */
type StatFields = Pick<StatxStats, 'mode' | 'size' | 'uid' | 'gid' | 'atimeMs' | 'mtimeMs' | 'dev' | 'ino' | 'nlink' | 'rdev' | 'blocks'>;

export function metaOf(st: StatFields): EntryMeta {
  return {
    type: entryType(st.mode), mode: st.mode, size: st.size, uid: st.uid, gid: st.gid, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs,
    dev: st.dev, ino: st.ino, nlink: st.nlink, rdev: st.rdev, blocks: st.blocks,
  };
}

export interface PlanDir {
  src: Buffer;
  dst: Buffer;
  meta: EntryMeta;
  /** Index of the parent in Plan.dirs; -1 for a root. */
  parent: number;
  /** Entries of this directory (files and subdirectories) not finished yet; its metadata is applied at 0. */
  pending: number;
}

export interface PlanProblem {
  path: Buffer;
  error: Error;
}

/** A directory's names and stats, as the scan packed them (scan.ts); the plan's entries point into these. */
export interface Listing {
  names: Buffer;
  nameEnds: Uint32Array;
  stats: Float64Array;
}

export interface Root {
  src: Buffer;
  dst: Buffer;
  meta: EntryMeta;
}

/**
 * The plan: the directories, and every other entry to copy. A tree of
 * 20,000 files has 20,000 entries, so an entry is not an object: it is a
 * number (its id, in walk order), and what is known of it stays in the
 * directory listing it came from (names and packed stats, as the scan sent
 * them); the plan keeps, per id, which listing and where in it.
 */
export class Plan {
  readonly dirs: PlanDir[] = [];
  bytesTotal = 0;
  /** Entries left out on purpose: special files (without `special`), sockets. */
  readonly skipped: { path: Buffer; reason: string }[] = [];
  /** Entries that could not be listed or stat'ed: reported as failed, the rest goes on. */
  readonly failed: PlanProblem[] = [];
  /** Per entry: index in Plan.dirs of the directory it goes into (-1 for a root entry). */
  readonly #dir: number[] = [];
  /** Per entry: its listing, and its index there. */
  readonly #listing: number[] = [];
  readonly #index: number[] = [];
  readonly #listings: Listing[] = [];
  /** Root entries (a source that is not a directory) name their copy themselves. */
  readonly #roots = new Map<number, { src: Buffer; dst: Buffer }>();
  /** Hard links (preserve.links): entry → the entry of the first name of the same file. */
  readonly #linkOf = new Map<number, number>();

  get count(): number {
    return this.#dir.length;
  }

  /** Adds a listing; its entries are then added with addEntry(). */
  addListing(listing: Listing): number {
    this.#listings.push(listing);
    return this.#listings.length - 1;
  }

  addEntry(listing: number, index: number, dir: number, root?: { src: Buffer; dst: Buffer }): number {
    const id = this.#dir.length;
    this.#dir.push(dir);
    this.#listing.push(listing);
    this.#index.push(index);
    if (root !== undefined) this.#roots.set(id, root);
    return id;
  }

  setLinkOf(id: number, first: number): void {
    this.#linkOf.set(id, first);
  }

  /** The entry of the first name of this file (a hard link, with preserve.links), or -1. */
  linkOf(id: number): number {
    return this.#linkOf.get(id) ?? -1;
  }

  dirOf(id: number): number {
    return this.#dir[id];
  }

  /** A root entry's own paths, or undefined. */
  rootOf(id: number): { src: Buffer; dst: Buffer } | undefined {
    return this.#dir[id] < 0 ? this.#roots.get(id) : undefined;
  }

  stat(id: number, field: Field): number {
    return this.#listings[this.#listing[id]].stats[this.#index[id] * STAT_FIELDS + field];
  }

  type(id: number): EntryType {
    return entryType(this.stat(id, Field.Mode));
  }

  /** Copies the entry's name into `target` at `at` (no object made); returns its length. */
  copyName(id: number, target: Uint8Array, at: number): number {
    const l = this.#listings[this.#listing[id]];
    const i = this.#index[id];
    const start = i === 0 ? 0 : l.nameEnds[i - 1];
    return l.names.copy(target, at, start, l.nameEnds[i]);
  }

  nameLength(id: number): number {
    const l = this.#listings[this.#listing[id]];
    const i = this.#index[id];
    return l.nameEnds[i] - (i === 0 ? 0 : l.nameEnds[i - 1]);
  }

  name(id: number): Buffer {
    const l = this.#listings[this.#listing[id]];
    const i = this.#index[id];
    return l.names.subarray(i === 0 ? 0 : l.nameEnds[i - 1], l.nameEnds[i]);
  }

  /** An entry's source and destination paths. */
  pathsOf(id: number): { src: Buffer; dst: Buffer } {
    const root = this.rootOf(id);
    if (root !== undefined) return root;
    const dir = this.dirs[this.#dir[id]];
    const name = this.name(id);
    return { src: joinBytes(dir.src, name), dst: joinBytes(dir.dst, name) };
  }
}

/**
 * Walks the roots: lists each directory through `scan` (a copy worker's
 * readdir + lstat, several directories at once) and assembles the plan here.
 * `isStopped` is polled between directories so an abort stops the walk
 * quickly. A directory that cannot be listed, or an entry that cannot be
 * stat'ed, goes into `failed`, as the job reports it; the walk goes on.
 */
export async function makePlan(scan: (dir: Buffer) => Promise<ScanResult>, roots: Root[], options: ResolvedOptions, isStopped: () => boolean, parallel = 8): Promise<Plan> {
  const plan = new Plan();
  const firstName = new Map<string, number>();
  const listings: Listing[] = [];
  const addListing = (l: Listing): number => {
    listings.push(l);
    return plan.addListing(l);
  };

  /** Adds item `index` of `listing` (a regular file, symlink or special file), unless it is to be skipped. */
  const addEntry = (listing: number, index: number, dir: number, root?: { src: Buffer; dst: Buffer }): void => {
    const l = listings[listing];
    const at = index * STAT_FIELDS;
    const type = entryType(l.stats[at + Field.Mode]);
    if (type !== 'file' && type !== 'symlink') {
      const skip = type === 'socket' ? 'a socket cannot be copied'
        : options.special ? null
        : `${type === 'fifo' ? 'a FIFO' : `a ${type.replace('-', ' ')}`} is only recreated with the special option`;
      if (skip !== null) {
        const src = root?.src ?? joinBytes(plan.dirs[dir].src, l.names.subarray(index === 0 ? 0 : l.nameEnds[index - 1], l.nameEnds[index]));
        plan.skipped.push({ path: src, reason: skip });
        return;
      }
    }
    const id = plan.addEntry(listing, index, dir, root);
    if (dir >= 0) plan.dirs[dir].pending++;
    if (type !== 'file') return;
    if (options.preserve.links && l.stats[at + Field.Nlink] > 1) {
      const key = `${l.stats[at + Field.Dev]}:${l.stats[at + Field.Ino]}`;
      const first = firstName.get(key);
      if (first !== undefined) {
        plan.setLinkOf(id, first);
        return; // a second name: no bytes of its own
      }
      firstName.set(key, id);
    }
    plan.bytesTotal += l.stats[at + Field.Size];
  };

  /** With dereference, a symlink can lead back to a directory being copied: that would never end. */
  const isLoop = (dev: number, ino: number, parent: number): boolean => {
    for (let d = parent; d >= 0; d = plan.dirs[d].parent) {
      if (plan.dirs[d].meta.ino === ino && plan.dirs[d].meta.dev === dev) return true;
    }
    return false;
  };

  const take = async (dirIndex: number, result: ScanResult): Promise<number[]> => {
    const dir = plan.dirs[dirIndex];
    if (result.error !== undefined) {
      plan.failed.push({ path: dir.src, error: fromRecord(result.error) });
      return [];
    }
    const listing: Listing = { names: asBuffer(result.names), nameEnds: result.nameEnds, stats: result.stats };
    const li = addListing(listing);
    const failedAt = result.errors.length > 0 ? new Map(result.errors) : null;
    const subdirs: number[] = [];
    const stats = result.stats;
    let start = 0;
    // Per entry, no object is made unless it is a directory, fails, or a filter asks.
    for (let i = 0; i < result.nameEnds.length; i++) {
      const nameStart = start;
      start = result.nameEnds[i];
      const error = failedAt?.get(i);
      if (error !== undefined) {
        plan.failed.push({ path: joinBytes(dir.src, listing.names.subarray(nameStart, start)), error: fromRecord(error) });
        continue;
      }
      const at = i * STAT_FIELDS;
      const mode = stats[at + Field.Mode];
      if (options.filter !== undefined) {
        const name = listing.names.subarray(nameStart, start);
        const src = joinBytes(dir.src, name);
        const dst = joinBytes(dir.dst, name);
        const keep = await options.filter(display(src), display(dst), { type: entryType(mode), size: stats[at + Field.Size], srcBytes: src, dstBytes: dst });
        if (!keep) continue;
      }
      if ((mode & S_IFMT) === S_IFDIR) {
        const name = listing.names.subarray(nameStart, start);
        const src = joinBytes(dir.src, name);
        const meta = metaFromScan(stats, i);
        if (options.dereference && isLoop(meta.dev, meta.ino, dirIndex)) {
          plan.failed.push({ path: src, error: loopError(src) });
          continue;
        }
        plan.dirs.push({ src, dst: joinBytes(dir.dst, name), meta, parent: dirIndex, pending: 0 });
        dir.pending++;
        subdirs.push(plan.dirs.length - 1);
      } else {
        addEntry(li, i, dirIndex);
      }
    }
    return subdirs;
  };

  const queue: number[] = [];
  for (const root of roots) {
    if (root.meta.type === 'directory') {
      plan.dirs.push({ src: root.src, dst: root.dst, meta: root.meta, parent: -1, pending: 0 });
      queue.push(plan.dirs.length - 1);
    } else {
      addEntry(addListing(listingOfRoot(root)), 0, -1, { src: root.src, dst: root.dst });
    }
  }

  // Several directories are listed at once; each result is taken in turn
  // (take() may await the filter), so the plan is only ever changed by one.
  let running = 0;
  let taking = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (running < parallel && queue.length > 0 && !isStopped()) {
        const dirIndex = queue.shift()!;
        running++;
        scan(plan.dirs[dirIndex].src)
          .then((result) => {
            taking = taking.then(async () => {
              queue.push(...(await take(dirIndex, result)));
            });
            return taking;
          })
          .then(() => {
            running--;
            pump();
          }, reject);
      }
      if (running === 0) resolve();
    };
    pump();
  });
  return plan;
}

/** A root that is not a directory, as a listing of its own (its name and stat). */
function listingOfRoot(root: Root): Listing {
  const name = baseName(root.src);
  const m = root.meta;
  const stats = new Float64Array(STAT_FIELDS);
  stats[Field.Mode] = m.mode;
  stats[Field.Size] = m.size;
  stats[Field.Uid] = m.uid;
  stats[Field.Gid] = m.gid;
  stats[Field.AtimeMs] = m.atimeMs;
  stats[Field.MtimeMs] = m.mtimeMs;
  stats[Field.Dev] = m.dev;
  stats[Field.Ino] = m.ino;
  stats[Field.Nlink] = m.nlink;
  stats[Field.Rdev] = m.rdev;
  stats[Field.Blocks] = m.blocks;
  stats[Field.Ok] = 1;
  return { names: Buffer.from(name), nameEnds: Uint32Array.of(name.length), stats };
}

function metaFromScan(stats: Float64Array, i: number): EntryMeta {
  const at = i * STAT_FIELDS;
  const mode = stats[at + Field.Mode];
  return {
    type: entryType(mode), mode, size: stats[at + Field.Size], uid: stats[at + Field.Uid], gid: stats[at + Field.Gid],
    atimeMs: stats[at + Field.AtimeMs], mtimeMs: stats[at + Field.MtimeMs], dev: stats[at + Field.Dev], ino: stats[at + Field.Ino],
    nlink: stats[at + Field.Nlink], rdev: stats[at + Field.Rdev], blocks: stats[at + Field.Blocks],
  };
}

function loopError(src: Buffer): Error {
  return new SaferRingError('ELOOP', `ELOOP: a symbolic link leads back to a directory being copied, '${display(src)}'`, {
    errno: -40, syscall: 'stat', path: display(src),
  });
}
