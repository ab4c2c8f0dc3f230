// Copying one entry, in a copy worker, under the temporary rule:
//
//   1. the copy is made as a temporary in its destination directory: a file
//      with no name (O_TMPFILE) where the filesystem allows, else a named one
//      (`.<job tag>.<worker>.<n>.tmp`, created with O_EXCL);
//   2. bytes, then metadata (preserve), then the checksum comparison (verify);
//   3. only then does it get its final name, in one step: linkat(2) for the
//      unnamed file, rename(2) for the named one. With overwrite 'error' both
//      refuse to replace (link never replaces; the rename is RENAME_NOREPLACE
//      or link + unlink), so an existing file is never touched.
//
// Whatever fails, or an abort, removes the temporary: no partial file is ever
// seen under a final name, and none is left behind. If the process is killed,
// an unnamed temporary is freed by the kernel; only a named one can remain,
// and its name says which job made it.
import fs from 'node:fs';
import { threadId } from 'node:worker_threads';
import type { Ring } from '../ring/ring';
import { SaferRingError } from '../errors';
import { binding } from '../native';
import { BufferStock, canSeekData, copyLarge, copySmall, copySparse, stopError, CHUNK_SIZE } from './copy-data';
import { FileIo, hasLinkAt, isNoTmpfile, O_TMPFILE } from './file-io';
import { anyPreserved, applyToFd, applyToLink, applyToPath } from './metadata';
import { dirName, display, joinBytes } from './paths';
import { Control, CopyWorkerData, errorRecord, ItemKind, ItemOutcome, SMALL_FILE_MAX, Status, TaskItem } from './protocol';
import { checksum, checksumSync, mismatchError } from './verify';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const O_CLOEXEC = 0o2000000;


export class FileCopier {
  readonly #ring: Ring;
  readonly #io: FileIo;
  readonly #settings: CopyWorkerData;
  readonly #control: Control;
  readonly #stock = new BufferStock();
  /** Small files in sync mode: plain syscalls, so a plain buffer (no arena memory needed). */
  readonly #syncSmall: boolean;
  readonly #syncBuffer = Buffer.allocUnsafeSlow(CHUNK_SIZE);
  #counter = 0;
  /** The last destination directory where O_TMPFILE could not be used: its next files take named temporaries at once. */
  #noTmpfileIn: Buffer | null = null;

  constructor(ring: Ring, io: FileIo, settings: CopyWorkerData, control: Control) {
    this.#ring = ring;
    this.#io = io;
    this.#settings = settings;
    this.#control = control;
    this.#syncSmall = settings.smallFileIo === 'sync';
  }

  /** Releases the chunk buffers (nothing may be in flight). */
  close(): void {
    this.#stock.releaseAll();
  }

  /** A fresh temporary name beside `dst`. Short, whatever the length of the final name. */
  tempFor(dst: Buffer, dir = dirName(dst)): Buffer {
    return joinBytes(dir, Buffer.from(`.${this.#settings.tag}.${threadId}.${this.#counter++}.tmp`));
  }

  /**
   * Copies an item with synchronous calls, start to end, when it is a small
   * regular file and small files go by SyncFileIo: no promise, no await. This
   * is the path nearly every file of a tree takes. Returns null for any other
   * item, which then goes through copy().
   */
  copyNow(item: TaskItem): ItemOutcome | null {
    if (!this.#syncSmall || item.kind !== ItemKind.File || item.sparse || item.size > SMALL_FILE_MAX) return null;
    if (this.#control.stopped) return { status: Status.Aborted, bytes: 0 };
    const warnings: string[] = [];
    try {
      if (this.#settings.overwrite === 'skip-identical') {
        const same = this.#sameMeta(item);
        if (same === true || (same === 'check-bytes' && this.#checksumSync(item.src) === this.#checksumSync(item.dst))) {
          return { status: Status.Skipped, bytes: 0 };
        }
      }
      const bytes = this.#copyFileSync(item, warnings);
      return { status: Status.Copied, bytes, warnings };
    } catch (err) {
      return this.#failure(item, err, warnings);
    }
  }

  async copy(item: TaskItem): Promise<ItemOutcome> {
    if (this.#control.stopped) return { status: Status.Aborted, bytes: 0 };
    const warnings: string[] = [];
    try {
      const outcome = await this.#copyItem(item, warnings);
      outcome.warnings = warnings;
      return outcome;
    } catch (err) {
      return this.#failure(item, err, warnings);
    }
  }

  #failure(item: TaskItem, err: unknown, warnings: string[]): ItemOutcome {
    if ((err as { code?: string }).code === 'ABORT_ERR') return { status: Status.Aborted, bytes: 0, warnings };
    return { status: Status.Failed, bytes: 0, error: errorRecord(err), warnings };
  }

  async #copyItem(item: TaskItem, warnings: string[]): Promise<ItemOutcome> {
    const dst = item.dst;
    if (this.#settings.overwrite === 'skip-identical' && (await this.#isIdentical(item, dst))) {
      return { status: Status.Skipped, bytes: 0 };
    }
    switch (item.kind) {
      case ItemKind.File: return { status: Status.Copied, bytes: await this.#copyFile(item, dst, warnings) };
      case ItemKind.Symlink: await this.#copySymlink(item, dst, warnings); break;
      case ItemKind.HardLink: await this.#makeHardLink(item, dst); break;
      case ItemKind.Special: await this.#makeSpecial(item, dst, warnings); break;
    }
    return { status: Status.Copied, bytes: 0 };
  }

  /**
   * skip-identical, by metadata: true when the destination is already this
   * entry (same type and size, same mtime to the millisecond; a hard link to
   * the same file; a symlink with the same target), 'check-bytes' when only
   * verify's byte comparison can tell, false otherwise.
   */
  #sameMeta(item: TaskItem): boolean | 'check-bytes' {
    const st = fs.lstatSync(item.dst, { throwIfNoEntry: false });
    if (st === undefined) return false;
    if (item.kind === ItemKind.HardLink) {
      const first = fs.statSync(item.target!, { throwIfNoEntry: false });
      return first !== undefined && first.ino === st.ino && first.dev === st.dev;
    }
    if (item.kind === ItemKind.Symlink) {
      return st.isSymbolicLink() && fs.readlinkSync(item.dst, { encoding: 'buffer' }).equals(fs.readlinkSync(item.src, { encoding: 'buffer' }));
    }
    if (item.kind !== ItemKind.File || !st.isFile() || st.size !== item.size || Math.abs(st.mtimeMs - item.mtimeMs) >= 1) return false;
    return this.#settings.verify ? 'check-bytes' : true;
  }

  async #isIdentical(item: TaskItem, dst: Buffer): Promise<boolean> {
    const same = this.#sameMeta(item);
    if (same !== 'check-bytes') return same;
    return (await this.#checksumOf(item.src)) === (await this.#checksumOf(dst));
  }

  #checksumSync(path: Buffer): string {
    const fd = fs.openSync(path, O_RDONLY | O_CLOEXEC);
    try {
      return checksumSync(fd, this.#syncBuffer, this.#control);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The small-file copy of copyNow(): the same steps as #copyFile(), as plain syscalls. */
  #copyFileSync(item: TaskItem, warnings: string[]): number {
    const { src, dst } = item;
    const settings = this.#settings;
    const srcFd = fs.openSync(src, O_RDONLY | O_CLOEXEC | (settings.dereference ? 0 : O_NOFOLLOW));
    let temp: Buffer | null = null;
    let dstFd = -1;
    try {
      const dir = item.dstDir;
      const mode = item.mode & 0o777;
      if (hasLinkAt() && this.#settings.unnamedTemporaries && (this.#noTmpfileIn === null || !this.#noTmpfileIn.equals(dir))) {
        try {
          dstFd = fs.openSync(dir, O_WRONLY | O_TMPFILE | O_CLOEXEC, mode);
        } catch (err) {
          if (!isNoTmpfile(err)) throw err;
          this.#noTmpfileIn = dir;
        }
      }
      if (dstFd < 0) {
        temp = this.tempFor(dst);
        dstFd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
      }
      const buffer = this.#syncBuffer;
      const want = Math.min(buffer.length, item.size + 1); // one byte more than planned: a short read is the end
      let length = 0;
      for (;;) {
        const n = fs.readSync(srcFd, buffer, 0, want, length);
        for (let done = 0; done < n; ) done += fs.writeSync(dstFd, buffer, done, n - done, length + done);
        length += n;
        this.#control.addBytes(n);
        if (n < want) break;
      }
      if (anyPreserved(settings.preserve)) applyToFd(dstFd, item, settings.preserve, dst, warnings);
      if (settings.verify) {
        const readFd = temp === null ? fs.openSync(`/proc/self/fd/${dstFd}`, O_RDONLY | O_CLOEXEC) : fs.openSync(temp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        try {
          if (checksumSync(srcFd, buffer, this.#control) !== checksumSync(readFd, buffer, this.#control)) throw mismatchError(src, dst);
        } finally {
          fs.closeSync(readFd);
        }
      }
      if (this.#control.stopped) throw stopError();
      if (temp === null) {
        this.#linkUnnamedSync(dstFd, dst, src);
      } else {
        const fd = dstFd;
        dstFd = -1;
        fs.closeSync(fd);
        this.#renameSync(temp, dst, src);
        temp = null;
      }
      this.#control.addFile();
      return length;
    } finally {
      if (dstFd >= 0) fs.closeSync(dstFd);
      fs.closeSync(srcFd);
      if (temp !== null) this.#removeQuietlySync(temp);
    }
  }

  #linkUnnamedSync(fd: number, dst: Buffer, src: Buffer): void {
    try {
      binding!.linkAt(fd, dst);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      if (this.#settings.overwrite === 'error') throw existsError(src, dst);
    }
    const temp = this.tempFor(dst);
    binding!.linkAt(fd, temp);
    try {
      fs.renameSync(temp, dst);
    } catch (err) {
      this.#removeQuietlySync(temp);
      throw err;
    }
  }

  /** rename(2) of a named temporary; with overwrite 'error', link(2) + unlink(2), which never replace. */
  #renameSync(temp: Buffer, dst: Buffer, src: Buffer): void {
    if (this.#settings.overwrite !== 'error') {
      fs.renameSync(temp, dst);
      return;
    }
    try {
      fs.linkSync(temp, dst);
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST') throw existsError(src, dst);
      throw err; // a filesystem without hard links and without O_TMPFILE: ring mode's RENAME_NOREPLACE serves it
    }
    fs.unlinkSync(temp);
  }

  #removeQuietlySync(temp: Buffer): void {
    try {
      fs.unlinkSync(temp);
    } catch {
      // already gone
    }
  }

  async #checksumOf(path: Buffer): Promise<string> {
    const [owned] = this.#stock.take(1);
    const fd = await this.#io.openRead(path, true);
    try {
      return await checksum((f, b, l, p) => this.#io.read(f, b, l, p), fd, owned.bytes, this.#control);
    } finally {
      await this.#io.close(fd);
      this.#stock.give([owned]);
    }
  }

  async #copyFile(item: TaskItem, dst: Buffer, warnings: string[]): Promise<number> {
    const io = this.#io;
    const src = item.src;
    const srcFd = await io.openRead(src, this.#settings.dereference);
    let temp: Buffer | null = null; // a named temporary, removed unless it got its final name
    let dstFd = -1;
    try {
      const dir = dirName(dst);
      const mode = item.mode & 0o777;
      const unnamedFd = !this.#settings.unnamedTemporaries || (this.#noTmpfileIn !== null && this.#noTmpfileIn.equals(dir)) ? null : await io.createUnnamed(dir, mode);
      if (unnamedFd === null) {
        this.#noTmpfileIn = dir;
        temp = this.tempFor(dst);
        dstFd = await io.createExclusive(temp, mode);
      } else {
        dstFd = unnamedFd;
      }
      const length = await this.#copyBytes(item, srcFd, dstFd);
      if (anyPreserved(this.#settings.preserve)) applyToFd(dstFd, item, this.#settings.preserve, dst, warnings);
      if (this.#settings.verify) await this.#verify(item, srcFd, temp, dstFd, dst);
      if (this.#control.stopped) throw stopError();
      if (temp === null) {
        await this.#publishUnnamed(dstFd, dst, item.src);
      } else {
        const fd = dstFd;
        dstFd = -1;
        await io.close(fd);
        await this.#publish(temp, dst, item.src);
        temp = null;
      }
      this.#control.addFile();
      return length;
    } finally {
      // An unnamed file that was never linked goes with its last descriptor.
      if (dstFd >= 0) await io.close(dstFd).catch(() => {});
      await io.close(srcFd).catch(() => {});
      if (temp !== null) await this.#removeQuietly(temp);
    }
  }

  /** The final step for a file with no name: link it to the destination name (never replacing, with overwrite 'error'). */
  async #publishUnnamed(fd: number, dst: Buffer, src: Uint8Array): Promise<void> {
    try {
      await this.#io.linkUnnamed(fd, dst);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      if (this.#settings.overwrite === 'error') throw existsError(src, dst);
    }
    // Replacing: a name of its own first, then the one rename that replaces.
    const temp = this.tempFor(dst);
    await this.#io.linkUnnamed(fd, temp);
    try {
      await this.#io.rename(temp, dst, false);
    } catch (err) {
      await this.#removeQuietly(temp);
      throw err;
    }
  }

  async #copyBytes(item: TaskItem, srcFd: number, dstFd: number): Promise<number> {
    const inKernel = this.#settings.largeFileIo === 'copy-file-range';
    if (item.sparse && canSeekData()) return copySparse(this.#ring, srcFd, dstFd, item.size, this.#stock, this.#control, inKernel);
    if (item.size > SMALL_FILE_MAX) return copyLarge(this.#ring, srcFd, dstFd, item.size, this.#stock, this.#control, inKernel);
    const [owned] = this.#stock.take(1);
    try {
      return await copySmall(this.#io, srcFd, dstFd, owned.bytes.subarray(0, Math.min(CHUNK_SIZE, Math.max(4096, item.size + 1))), this.#control);
    } finally {
      this.#stock.give([owned]);
    }
  }

  async #verify(item: TaskItem, srcFd: number, temp: Buffer | null, tempFd: number, dst: Buffer): Promise<void> {
    // The temporary was opened write-only: read it through a descriptor of its
    // own (an unnamed one through /proc, the only way to reach it by path).
    const [owned] = this.#stock.take(1);
    const readFd = temp === null ? fs.openSync(`/proc/self/fd/${tempFd}`, 'r') : fs.openSync(temp, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const read = (f: number, b: Uint8Array, l: number, p: number): Promise<number> => this.#io.read(f, b, l, p);
      const a = await checksum(read, srcFd, owned.bytes, this.#control);
      const b = await checksum(read, readFd, owned.bytes, this.#control);
      if (a !== b) throw mismatchError(item.src, dst);
    } finally {
      fs.closeSync(readFd);
      this.#stock.give([owned]);
    }
  }

  /** The final step: the temporary takes the destination's name. */
  async #publish(temp: Buffer, dst: Buffer, src: Uint8Array): Promise<void> {
    const noReplace = this.#settings.overwrite === 'error';
    try {
      await this.#io.rename(temp, dst, noReplace);
    } catch (err) {
      if (noReplace && (err as { code?: string }).code === 'EEXIST') throw existsError(src, dst);
      throw err;
    }
  }

  async #removeQuietly(temp: Buffer): Promise<void> {
    try {
      fs.unlinkSync(temp);
    } catch {
      // already gone, or the directory went away: nothing to clean up
    }
  }

  async #copySymlink(item: TaskItem, dst: Buffer, warnings: string[]): Promise<void> {
    const target = fs.readlinkSync(item.src, { encoding: 'buffer' });
    const temp = this.tempFor(dst);
    fs.symlinkSync(target, temp);
    try {
      if (anyPreserved(this.#settings.preserve)) applyToLink(temp, item, this.#settings.preserve, dst, warnings);
      await this.#publish(temp, dst, item.src);
    } catch (err) {
      await this.#removeQuietly(temp);
      throw err;
    }
    this.#control.addFile();
  }

  /** A second name of a file already copied: link(2) to its copy. */
  async #makeHardLink(item: TaskItem, dst: Buffer): Promise<void> {
    const first = item.target!;
    if (this.#settings.overwrite === 'error') {
      try {
        fs.linkSync(first, dst); // never replaces: EEXIST
      } catch (err) {
        if ((err as { code?: string }).code === 'EEXIST') throw existsError(item.src, dst);
        throw err;
      }
    } else {
      const temp = this.tempFor(dst);
      fs.linkSync(first, temp);
      try {
        await this.#publish(temp, dst, item.src);
      } catch (err) {
        await this.#removeQuietly(temp);
        throw err;
      }
    }
    this.#control.addFile();
  }

  /** A FIFO or device node, recreated with mknod(2) (devices need CAP_MKNOD). */
  async #makeSpecial(item: TaskItem, dst: Buffer, warnings: string[]): Promise<void> {
    if (binding === null || typeof binding.mknod !== 'function') {
      throw new SaferRingError('ERR_UNSUPPORTED_OPERATION', `cannot recreate '${display(item.src)}': mknod needs the native addon`);
    }
    const temp = this.tempFor(dst);
    const { major, minor } = splitDev(item.rdev);
    binding.mknod(temp, item.mode, major, minor);
    try {
      if (anyPreserved(this.#settings.preserve)) applyToPath(temp, item, this.#settings.preserve, dst, warnings);
      await this.#publish(temp, dst, item.src);
    } catch (err) {
      await this.#removeQuietly(temp);
      throw err;
    }
    this.#control.addFile();
  }
}

/** glibc's makedev() packing (as node:fs reports rdev), undone. */
export function splitDev(rdev: number): { major: number; minor: number } {
  const lo = rdev % 2 ** 32;
  const hi = Math.floor(rdev / 2 ** 32);
  return { major: ((lo >>> 8) & 0xfff) | (hi << 12), minor: (lo & 0xff) | ((lo >>> 20) << 8) };
}

function existsError(src: Uint8Array, dst: Uint8Array): Error {
  return new SaferRingError('ERR_FS_CP_EEXIST', `Target already exists: '${display(dst)}' (overwrite is 'error'; use 'replace' or 'skip-identical')`, {
    errno: -17,
    syscall: 'rename',
    path: display(src),
    dest: display(dst),
  });
}

