// preserve: owner, mode and times, applied to the copy before it gets its
// final name (so the file appears complete, metadata included). There is no
// io_uring op for fchown, fchmod or futimens, so these are node:fs calls, on
// the worker's thread.
//
// Order matters: chown first (it clears setuid/setgid bits), then chmod, then
// the times last (nothing after them may touch the file's mtime).
//
// Ownership, like cp -p: as root, owner and group are set; otherwise setting
// the owner fails (EPERM) and the group alone is tried; when that fails too
// the copy keeps ours and a warning says so. Timestamps are set to the
// microsecond: node:fs passes times as a double number of seconds.
import fs from 'node:fs';
import type { ResolvedPreserve } from './options';
import { display } from './paths';

export interface Owned {
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
}

/** The calls for one kind of target: an open fd, a path, or a symlink itself. */
interface MetaCalls {
  chown(uid: number, gid: number): void;
  chmod(mode: number): void;
  utimes(atime: number, mtime: number): void;
}

function apply(calls: MetaCalls, meta: Owned, preserve: ResolvedPreserve, what: Uint8Array, warnings: string[]): void {
  if (preserve.ownership) {
    try {
      calls.chown(meta.uid, meta.gid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      try {
        calls.chown(-1, meta.gid);
        warnings.push(`ownership of '${display(what)}' not preserved: the owner could not be set (EPERM); the group was`);
      } catch (err2) {
        if ((err2 as NodeJS.ErrnoException).code !== 'EPERM') throw err2;
        warnings.push(`ownership of '${display(what)}' not preserved (EPERM)`);
      }
    }
  }
  if (preserve.mode) calls.chmod(meta.mode & 0o7777);
  if (preserve.timestamps) calls.utimes(meta.atimeMs / 1000, meta.mtimeMs / 1000);
}

export function applyToFd(fd: number, meta: Owned, preserve: ResolvedPreserve, what: Uint8Array, warnings: string[]): void {
  apply({
    chown: (u, g) => fs.fchownSync(fd, u, g),
    chmod: (m) => fs.fchmodSync(fd, m),
    utimes: (a, m) => fs.futimesSync(fd, a, m),
  }, meta, preserve, what, warnings);
}

export function applyToPath(path: Buffer, meta: Owned, preserve: ResolvedPreserve, what: Uint8Array, warnings: string[]): void {
  apply({
    chown: (u, g) => fs.chownSync(path, u, g),
    chmod: (m) => fs.chmodSync(path, m),
    utimes: (a, m) => fs.utimesSync(path, a, m),
  }, meta, preserve, what, warnings);
}

/** For a symlink: lchown and lutimes (a link has no mode of its own on Linux). */
export function applyToLink(path: Buffer, meta: Owned, preserve: ResolvedPreserve, what: Uint8Array, warnings: string[]): void {
  apply({
    chown: (u, g) => fs.lchownSync(path, u, g),
    chmod: () => {},
    utimes: (a, m) => fs.lutimesSync(path, a, m),
  }, meta, preserve, what, warnings);
}

export function anyPreserved(preserve: ResolvedPreserve): boolean {
  return preserve.mode || preserve.ownership || preserve.timestamps;
}
