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
import type { FileIo } from './file-io';
import { anyPreserved, applyToFd, applyToLink, applyToPath } from './metadata';
import { asBuffer, dirName, display, joinBytes } from './paths';
import { Control, CopyWorkerData, errorRecord, ItemKind, ItemOutcome, TaskItem } from './protocol';
import { checksum, mismatchError } from './verify';

/** Files up to this size are copied with one buffer and no lanes. */
export const SMALL_FILE_MAX = 1024 * 1024;

export class FileCopier {
  readonly #ring: Ring;
  readonly #io: FileIo;
  readonly #settings: CopyWorkerData;
  readonly #control: Control;
  readonly #stock = new BufferStock();
  #counter = 0;
  /** The last destination directory where O_TMPFILE could not be used: its next files take named temporaries at once. */
  #noTmpfileIn: Buffer | null = null;

  constructor(ring: Ring, io: FileIo, settings: CopyWorkerData, control: Control) {
    this.#ring = ring;
    this.#io = io;
    this.#settings = settings;
    this.#control = control;
  }

  /** A fresh temporary name beside `dst`. Short, whatever the length of the final name. */
  tempFor(dst: Buffer): Buffer {
    return joinBytes(dirName(dst), Buffer.from(`.${this.#settings.tag}.${threadId}.${this.#counter++}.tmp`));
  }

  async copy(item: TaskItem): Promise<ItemOutcome> {
    if (this.#control.stopped) return { id: item.id, status: 'aborted', bytes: 0 };
    const warnings: string[] = [];
    try {
      const outcome = await this.#copyItem(item, warnings);
      if (warnings.length > 0) outcome.warnings = warnings;
      return outcome;
    } catch (err) {
      const aborted = (err as { code?: string }).code === 'ABORT_ERR';
      return { id: item.id, status: aborted ? 'aborted' : 'failed', bytes: 0, error: aborted ? undefined : errorRecord(err), warnings: warnings.length ? warnings : undefined };
    }
  }

  async #copyItem(item: TaskItem, warnings: string[]): Promise<ItemOutcome> {
    const dst = asBuffer(item.dst);
    if (this.#settings.overwrite === 'skip-identical' && (await this.#isIdentical(item, dst))) {
      return { id: item.id, status: 'skipped', bytes: 0 };
    }
    switch (item.kind) {
      case ItemKind.File: return { id: item.id, status: 'copied', bytes: await this.#copyFile(item, dst, warnings) };
      case ItemKind.Symlink: await this.#copySymlink(item, dst, warnings); break;
      case ItemKind.HardLink: await this.#makeHardLink(item, dst); break;
      case ItemKind.Special: await this.#makeSpecial(item, dst, warnings); break;
    }
    return { id: item.id, status: 'copied', bytes: 0 };
  }

  /** skip-identical: the destination is already this file (same type and size, same mtime to the millisecond; same bytes too with verify). */
  async #isIdentical(item: TaskItem, dst: Buffer): Promise<boolean> {
    const st = fs.lstatSync(dst, { throwIfNoEntry: false });
    if (st === undefined) return false;
    if (item.kind === ItemKind.HardLink) {
      const first = fs.statSync(asBuffer(item.target!), { throwIfNoEntry: false });
      return first !== undefined && first.ino === st.ino && first.dev === st.dev;
    }
    if (item.kind === ItemKind.Symlink) {
      return st.isSymbolicLink() && fs.readlinkSync(dst, { encoding: 'buffer' }).equals(fs.readlinkSync(asBuffer(item.src), { encoding: 'buffer' }));
    }
    if (item.kind !== ItemKind.File || !st.isFile() || st.size !== item.size || Math.abs(st.mtimeMs - item.mtimeMs) >= 1) return false;
    if (!this.#settings.verify) return true;
    return (await this.#checksumOf(asBuffer(item.src))) === (await this.#checksumOf(dst));
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
    const src = asBuffer(item.src);
    const srcFd = await io.openRead(src, this.#settings.dereference);
    let temp: Buffer | null = null; // a named temporary, removed unless it got its final name
    let dstFd = -1;
    try {
      const dir = dirName(dst);
      const mode = item.mode & 0o777;
      const unnamedFd = this.#noTmpfileIn !== null && this.#noTmpfileIn.equals(dir) ? null : await io.createUnnamed(dir, mode);
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
    if (item.sparse && canSeekData()) return copySparse(this.#ring, srcFd, dstFd, item.size, this.#stock, this.#control);
    if (item.size > SMALL_FILE_MAX) return copyLarge(this.#ring, srcFd, dstFd, item.size, this.#stock, this.#control);
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
    const target = fs.readlinkSync(asBuffer(item.src), { encoding: 'buffer' });
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
    const first = asBuffer(item.target!);
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
    if (binding === null) {
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

