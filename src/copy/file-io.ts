// The steps a copy takes on one file (open, create, read, write, close, the
// final rename), two ways:
//
//   RingFileIo   every step is an op on the worker's ring;
//   SyncFileIo   every step is a synchronous node:fs call on the worker's
//                thread (never the main thread's).
//
// Why both: on ext4 (Linux 6.x) the kernel cannot complete a create, a rename
// or a buffered write without blocking, so io_uring hands each of them to an
// io-wq kernel thread and wakes the ring's thread when it is done. For a 4 KiB
// file that hand-off costs more than the work: measured here, the whole
// create → write → close → rename sequence takes about twice the CPU through
// the ring than as plain syscalls on the worker (docs/copy.md has the table).
// So small files use SyncFileIo by default, and large files always move their
// bytes through the ring (copy-data.ts), where one submit carries many chunks.
//
// The copy's temporary: where the filesystem allows, a file with no name at
// all (O_TMPFILE in the destination directory), linked to its final name once
// complete. It costs one directory update instead of a create plus a rename,
// and if the process dies half-way the kernel frees it: nothing is ever left
// behind. Elsewhere, a named temporary (`.<tag>.<thread>.<n>.tmp`) and a rename.
import fs from 'node:fs';
import type { Ring } from '../ring/ring';
import { binding } from '../native';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const O_CLOEXEC = 0o2000000;

export interface FileIo {
  /** Opens a source file for reading; with `follow` false a symlink fails with ELOOP. */
  openRead(path: Buffer, follow: boolean): Promise<number>;
  /** Creates a new file (O_EXCL) for writing. */
  createExclusive(path: Buffer, mode: number): Promise<number>;
  read(fd: number, buffer: Uint8Array, length: number, position: number): Promise<number>;
  write(fd: number, buffer: Uint8Array, length: number, position: number): Promise<number>;
  close(fd: number): Promise<void>;
  /**
   * Gives `from` the name `to`. With `noReplace`, an existing `to` is never
   * replaced: the call fails with EEXIST and `from` keeps its name.
   */
  rename(from: Buffer, to: Buffer, noReplace: boolean): Promise<void>;
  unlink(path: Buffer): Promise<void>;
  /**
   * Creates a file with no name in directory `dir` (O_TMPFILE), for writing;
   * null where that cannot be done here (the filesystem has no O_TMPFILE, or
   * there is no way to link the file afterwards): the caller then uses a
   * named temporary.
   */
  createUnnamed(dir: Buffer, mode: number): Promise<number | null>;
  /** Gives the unnamed open file `fd` the name `path`; never replaces (EEXIST). */
  linkUnnamed(fd: number, path: Buffer): Promise<void>;
}

/** Whether the loaded addon has linkAt (an older or foreign build may not). */
export function hasLinkAt(): boolean {
  return binding !== null && typeof binding.linkAt === 'function';
}

/** O_TMPFILE (with O_DIRECTORY, as the kernel defines it). */
export const O_TMPFILE = 0o20200000;

/** Errors that mean "this filesystem (or kernel) has no O_TMPFILE". */
const NO_TMPFILE = new Set(['EOPNOTSUPP', 'ENOTSUP', 'EISDIR', 'EINVAL']);
export function isNoTmpfile(err: unknown): boolean {
  return NO_TMPFILE.has((err as { code?: string }).code ?? '');
}

export class RingFileIo implements FileIo {
  constructor(private readonly ring: Ring) {}

  openRead(path: Buffer, follow: boolean): Promise<number> {
    return this.ring.openat(path, O_RDONLY | (follow ? 0 : O_NOFOLLOW));
  }

  createExclusive(path: Buffer, mode: number): Promise<number> {
    return this.ring.openat(path, O_WRONLY | O_CREAT | O_EXCL, mode);
  }

  async read(fd: number, buffer: Uint8Array, length: number, position: number): Promise<number> {
    return (await this.ring.read(fd, buffer, { length, position })).bytesRead;
  }

  async write(fd: number, buffer: Uint8Array, length: number, position: number): Promise<number> {
    return (await this.ring.write(fd, buffer, { length, position })).bytesWritten;
  }

  close(fd: number): Promise<void> {
    return this.ring.closeFd(fd);
  }

  rename(from: Buffer, to: Buffer, noReplace: boolean): Promise<void> {
    return this.ring.renameat(from, to, { noReplace });
  }

  unlink(path: Buffer): Promise<void> {
    return this.ring.unlinkat(path);
  }

  async createUnnamed(dir: Buffer, mode: number): Promise<number | null> {
    // The fallback backend links through fs.realpath, which cannot follow /proc/self/fd to a file with no name.
    if (this.ring.backend !== 'io_uring') return null;
    try {
      return await this.ring.openat(dir, O_WRONLY | O_TMPFILE, mode);
    } catch (err) {
      if (isNoTmpfile(err)) return null;
      throw err;
    }
  }

  linkUnnamed(fd: number, path: Buffer): Promise<void> {
    return this.ring.linkat(`/proc/self/fd/${fd}`, path, { followSymlinks: true });
  }
}

export class SyncFileIo implements FileIo {
  /** The ring, for the one step node:fs cannot do: a rename that refuses to replace where link(2) is not supported. */
  constructor(private readonly ring: Ring) {}

  async openRead(path: Buffer, follow: boolean): Promise<number> {
    return fs.openSync(path, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
  }

  async createExclusive(path: Buffer, mode: number): Promise<number> {
    return fs.openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  }

  async read(fd: number, buffer: Uint8Array, length: number, position: number): Promise<number> {
    return fs.readSync(fd, buffer, 0, length, position);
  }

  async write(fd: number, buffer: Uint8Array, length: number, position: number): Promise<number> {
    return fs.writeSync(fd, buffer, 0, length, position);
  }

  async close(fd: number): Promise<void> {
    fs.closeSync(fd);
  }

  async rename(from: Buffer, to: Buffer, noReplace: boolean): Promise<void> {
    if (!noReplace) {
      fs.renameSync(from, to);
      return;
    }
    // node:fs has no renameat2(RENAME_NOREPLACE). link(2) gives the same
    // guarantee (it fails with EEXIST and never replaces), then the temporary
    // name goes. Filesystems without hard links take the ring's renameat.
    try {
      fs.linkSync(from, to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK') {
        await this.ring.renameat(from, to, { noReplace: true });
        return;
      }
      throw err;
    }
    fs.unlinkSync(from);
  }

  async unlink(path: Buffer): Promise<void> {
    fs.unlinkSync(path);
  }

  async createUnnamed(dir: Buffer, mode: number): Promise<number | null> {
    if (!hasLinkAt()) return null; // linking it needs the addon's linkAt
    try {
      return fs.openSync(dir, O_WRONLY | O_TMPFILE | O_CLOEXEC, mode);
    } catch (err) {
      if (isNoTmpfile(err)) return null;
      throw err;
    }
  }

  async linkUnnamed(fd: number, path: Buffer): Promise<void> {
    binding!.linkAt(fd, path);
  }
}
