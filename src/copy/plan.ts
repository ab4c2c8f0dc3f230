// The plan: every entry of the source tree, found before anything is written.
//
// The walk lists each directory (readdir, names as bytes) and stats every
// entry through the calling thread's ring (statx, not following symlinks
// unless asked to dereference). Directories come out in walk order, each
// after its parent, so creating them in that order always finds the parent
// there. Regular files are sorted largest first when the job dispatches them,
// so a large file never starts last and runs alone. Hard links (preserve.links)
// are recognised by (dev, ino): the first name is copied, the others become
// links to its copy once it is in place.
//
// The walk keeps its own stack instead of recursing, so a tree thousands of
// levels deep is no problem for the JavaScript stack.
import { constants } from 'node:fs';
import fsp from 'node:fs/promises';
import type { Ring } from '../ring/ring';
import type { StatxStats } from '../fs/statx';
import { display, joinBytes } from './paths';
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
  src: Buffer;
  dst: Buffer;
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

/** How many statx calls the walk keeps in flight at once. */
const STAT_IN_FLIGHT = 128;

/**
 * Walks the roots. `isStopped` is polled between directories so an abort
 * stops the walk quickly. Errors listing a directory or stat'ing an entry are
 * collected in `failed`, as the job reports them; the walk goes on.
 */
export async function makePlan(ring: Ring, roots: Root[], options: ResolvedOptions, isStopped: () => boolean): Promise<Plan> {
  const plan: Plan = { dirs: [], entries: [], bytesTotal: 0, skipped: [], failed: [] };
  const firstName = new Map<string, number>();

  const addEntry = (src: Buffer, dst: Buffer, meta: EntryMeta, dir: number): void => {
    if (meta.type === 'socket') {
      plan.skipped.push({ path: src, reason: 'a socket cannot be copied' });
      return;
    }
    if (meta.type === 'fifo' || meta.type === 'char-device' || meta.type === 'block-device') {
      if (!options.special) {
        plan.skipped.push({ path: src, reason: `${meta.type === 'fifo' ? 'a FIFO' : `a ${meta.type.replace('-', ' ')}`} is only recreated with the special option` });
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
    plan.entries.push({ src, dst, meta, dir, linkOf });
  };

  const stack: number[] = [];
  for (const root of roots) {
    if (root.meta.type === 'directory') {
      plan.dirs.push({ src: root.src, dst: root.dst, meta: root.meta, parent: -1, pending: 0 });
      stack.push(plan.dirs.length - 1);
    } else {
      addEntry(root.src, root.dst, root.meta, -1);
    }
  }

  const statOptions = { noFollow: !options.dereference };
  while (stack.length > 0 && !isStopped()) {
    const dirIndex = stack.pop()!;
    const dir = plan.dirs[dirIndex];
    let names: Buffer[];
    try {
      names = (await fsp.readdir(dir.src, { encoding: 'buffer' })) as Buffer[];
    } catch (err) {
      plan.failed.push({ path: dir.src, error: err as Error });
      continue;
    }
    names.sort(Buffer.compare); // a stable, reproducible order
    const subdirs: number[] = [];
    for (let start = 0; start < names.length && !isStopped(); start += STAT_IN_FLIGHT) {
      const slice = names.slice(start, start + STAT_IN_FLIGHT);
      const stats = await Promise.allSettled(slice.map((name) => ring.statx(joinBytes(dir.src, name), statOptions)));
      for (let i = 0; i < slice.length; i++) {
        const src = joinBytes(dir.src, slice[i]);
        const dst = joinBytes(dir.dst, slice[i]);
        const result = stats[i];
        if (result.status === 'rejected') {
          plan.failed.push({ path: src, error: result.reason as Error });
          continue;
        }
        const meta = metaOf(result.value);
        if (options.filter !== undefined) {
          const keep = await options.filter(display(src), display(dst), { type: meta.type, size: meta.size, srcBytes: src, dstBytes: dst });
          if (!keep) continue;
        }
        if (meta.type === 'directory') {
          plan.dirs.push({ src, dst, meta, parent: dirIndex, pending: 0 });
          dir.pending++;
          subdirs.push(plan.dirs.length - 1);
        } else {
          addEntry(src, dst, meta, dirIndex);
        }
      }
    }
    // Pushed in reverse so the walk visits them in name order (depth first).
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
  return plan;
}
