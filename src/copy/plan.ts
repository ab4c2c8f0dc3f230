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
import { baseName, display, joinBytes } from './paths';
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

export function metaOf(st: StatxStats): EntryMeta {
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

export interface PlanEntry {
  /** Its name in its directory (for a root: its whole path, `src`, and the copy's, `dst`). */
  name: Buffer;
  /** A root's own paths; every other entry's are its directory's joined with its name (pathsOf). */
  root?: { src: Buffer; dst: Buffer };
  meta: EntryMeta;
  /** Index in Plan.dirs of the directory it goes into; -1 for a root entry. */
  dir: number;
  /** For a hard link (preserve.links): index in Plan.entries of the first name of the same file. */
  linkOf: number;
}

export interface PlanProblem {
  path: Buffer;
  error: Error;
}

export interface Plan {
  dirs: PlanDir[];
  entries: PlanEntry[];
  bytesTotal: number;
  /** Entries left out on purpose: special files (without `special`), sockets. */
  skipped: { path: Buffer; reason: string }[];
  /** Entries that could not be listed or stat'ed: reported as failed, the rest goes on. */
  failed: PlanProblem[];
}

export interface Root {
  src: Buffer;
  dst: Buffer;
  meta: EntryMeta;
}

/**
 * Walks the roots: lists each directory through `scan` (a copy worker's
 * readdir + lstat, several directories at once) and assembles the plan here.
 * `isStopped` is polled between directories so an abort stops the walk
 * quickly. A directory that cannot be listed, or an entry that cannot be
 * stat'ed, goes into `failed`, as the job reports it; the walk goes on.
 */
export async function makePlan(scan: (dir: Buffer) => Promise<ScanResult>, roots: Root[], options: ResolvedOptions, isStopped: () => boolean, parallel = 8): Promise<Plan> {
  const plan: Plan = { dirs: [], entries: [], bytesTotal: 0, skipped: [], failed: [] };
  const firstName = new Map<string, number>();

  const addEntry = (name: Buffer, meta: EntryMeta, dir: number, root?: { src: Buffer; dst: Buffer }): void => {
    const srcOf = (): Buffer => root?.src ?? joinBytes(plan.dirs[dir].src, name);
    if (meta.type === 'socket') {
      plan.skipped.push({ path: srcOf(), reason: 'a socket cannot be copied' });
      return;
    }
    if (meta.type === 'fifo' || meta.type === 'char-device' || meta.type === 'block-device') {
      if (!options.special) {
        plan.skipped.push({ path: srcOf(), reason: `${meta.type === 'fifo' ? 'a FIFO' : `a ${meta.type.replace('-', ' ')}`} is only recreated with the special option` });
        return;
      }
    }
    let linkOf = -1;
    if (meta.type === 'file' && options.preserve.links && meta.nlink > 1) {
      const key = `${meta.dev}:${meta.ino}`;
      const first = firstName.get(key);
      if (first === undefined) firstName.set(key, plan.entries.length);
      else linkOf = first;
    }
    if (dir >= 0) plan.dirs[dir].pending++;
    if (meta.type === 'file' && linkOf < 0) plan.bytesTotal += meta.size;
    plan.entries.push(root === undefined ? { name, meta, dir, linkOf } : { name, root, meta, dir, linkOf });
  };

  /** With dereference, a symlink can lead back to a directory being copied: that would never end. */
  const isLoop = (meta: EntryMeta, parent: number): boolean => {
    for (let d = parent; d >= 0; d = plan.dirs[d].parent) {
      if (plan.dirs[d].meta.ino === meta.ino && plan.dirs[d].meta.dev === meta.dev) return true;
    }
    return false;
  };

  const take = async (dirIndex: number, result: ScanResult): Promise<number[]> => {
    const dir = plan.dirs[dirIndex];
    if (result.error !== undefined) {
      plan.failed.push({ path: dir.src, error: fromRecord(result.error) });
      return [];
    }
    const failedAt = new Map(result.errors);
    const subdirs: number[] = [];
    let start = 0;
    for (let i = 0; i < result.nameEnds.length; i++) {
      const name = Buffer.from(result.names.buffer, result.names.byteOffset + start, result.nameEnds[i] - start);
      start = result.nameEnds[i];
      const error = failedAt.get(i);
      if (error !== undefined) {
        plan.failed.push({ path: joinBytes(dir.src, name), error: fromRecord(error) });
        continue;
      }
      const meta = metaFromScan(result.stats, i);
      if (options.filter !== undefined) {
        const src = joinBytes(dir.src, name);
        const dst = joinBytes(dir.dst, name);
        const keep = await options.filter(display(src), display(dst), { type: meta.type, size: meta.size, srcBytes: src, dstBytes: dst });
        if (!keep) continue;
      }
      if (meta.type === 'directory') {
        const src = joinBytes(dir.src, name);
        if (options.dereference && isLoop(meta, dirIndex)) {
          plan.failed.push({ path: src, error: loopError(src) });
          continue;
        }
        plan.dirs.push({ src, dst: joinBytes(dir.dst, name), meta, parent: dirIndex, pending: 0 });
        dir.pending++;
        subdirs.push(plan.dirs.length - 1);
      } else {
        // A view into the scan's name bytes: the entry keeps them alive, no copy.
        addEntry(name, meta, dirIndex);
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
      addEntry(baseName(root.src), root.meta, -1, { src: root.src, dst: root.dst });
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

/** An entry's source and destination paths. */
export function pathsOf(plan: Plan, entry: PlanEntry): { src: Buffer; dst: Buffer } {
  if (entry.root !== undefined) return entry.root;
  const dir = plan.dirs[entry.dir];
  return { src: joinBytes(dir.src, entry.name), dst: joinBytes(dir.dst, entry.name) };
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
