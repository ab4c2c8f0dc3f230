// The functions of node:fs/promises that io_uring serves: each takes its
// arguments with Node's checks in Node's order, runs on this thread's ring, and
// settles as Node's would (values, errors with code/errno/syscall/path/dest
// and the caller's stack). Arguments this layer does not take on (a
// non-Node-FileHandle object, a negative flags number, an unknown symlink
// type, rmdir's options) go to node:fs/promises itself, which then decides,
// so its behaviour and its errors stay exactly Node's.
import { promises as nodeFsp } from 'node:fs';
import path from 'node:path';
import { kLinkedGroup, kStatxParse, Ring } from '../ring/ring';
import { errnoError, SaferRingError } from '../errors';
import {
  asSyscall, checkAborted, getOptions, isCustomIterable, parseFileMode, validateAbortSignal, validateBoolean, validateInteger,
  validateStringAfterArrayBufferView,
} from './errors';
import { bytesOf, openFlagsOf, validPath } from './args';
import { closeSlot, fsRing, returnSlot, takeSlot, withCallerStack } from './ring-context';
import { bigIntStatsClass, bigIntStatsFromStatx, statsFromStatx } from './stats';
import { readFileAtPath } from './read-file';
import { writeFileAtPath } from './write-file';
import { FileHandle, openFileHandle, readFileOfHandle, writeFileOfHandle } from './file-handle';
import { rmAt, rmOptions } from './rm';

type Fsp = typeof nodeFsp;

function isObjectPathArg(value: unknown): boolean {
  // Only strings, Buffers/Uint8Arrays and URLs are paths; our own FileHandles are handled before this.
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !(value instanceof URL) &&
    !(typeof (value as { href?: unknown }).href === 'string');
}

export async function open(file: unknown, flags?: unknown, mode?: unknown): Promise<FileHandle> {
  try {
    const ring = fsRing();
    if (ring === null) return await (nodeFsp.open as (...a: unknown[]) => Promise<FileHandle>)(file, flags, mode);
    const p = validPath(file);
    const f = openFlagsOf(flags);
    const m = parseFileMode(mode, 'mode', 0o666);
    if (f < 0) return await (nodeFsp.open as (...a: unknown[]) => Promise<FileHandle>)(file, flags, mode);
    return await openFileHandle(ring, p, f, m);
  } catch (err) {
    throw withCallerStack(err, open);
  }
}

export async function readFile(file: unknown, options?: unknown): Promise<Buffer | string> {
  try {
    const ring = fsRing();
    if (ring === null || isObjectPathArg(file) && !FileHandle.isFileHandle(file)) {
      return await (nodeFsp.readFile as (...a: unknown[]) => Promise<Buffer | string>)(file, options);
    }
    const opts = getOptions(options, { flag: 'r' as unknown });
    const flag = opts.flag || 'r';
    if (FileHandle.isFileHandle(file)) return await readFileOfHandle(file, opts);
    checkAborted(opts.signal);
    const p = validPath(file);
    const flags = openFlagsOf(flag);
    if (flags < 0) return await (nodeFsp.readFile as (...a: unknown[]) => Promise<Buffer | string>)(file, options);
    return await readFileAtPath(ring, p, flags, opts);
  } catch (err) {
    throw withCallerStack(err, readFile);
  }
}

export async function writeFile(file: unknown, data: unknown, options?: unknown): Promise<void> {
  try {
    const ring = fsRing();
    if (ring === null || isObjectPathArg(file) && !FileHandle.isFileHandle(file)) {
      return await (nodeFsp.writeFile as (...a: unknown[]) => Promise<void>)(file, data, options);
    }
    const opts = getOptions(options, { encoding: 'utf8' as BufferEncoding, mode: 0o666 as unknown, flag: 'w' as unknown, flush: false as unknown });
    const flag = opts.flag || 'w';
    const flush = opts.flush ?? false;
    validateBoolean(flush, 'options.flush');
    if (!ArrayBuffer.isView(data) && !isCustomIterable(data)) {
      validateStringAfterArrayBufferView(data, 'data');
      data = Buffer.from(data, (opts.encoding as BufferEncoding) || 'utf8');
    }
    validateAbortSignal(opts.signal, 'options.signal');
    const content = ArrayBuffer.isView(data) ? bytesOf(data) : data as Iterable<unknown>;
    // As given, 'buffer' included: Node encodes an iterable's string chunks with it (and fails as it does).
    const encoding = opts.encoding as BufferEncoding | null | undefined;
    if (FileHandle.isFileHandle(file)) return await writeFileOfHandle(file, content, opts.signal, encoding);
    checkAborted(opts.signal);
    const p = validPath(file);
    const flags = openFlagsOf(flag);
    const mode = parseFileMode(opts.mode, 'mode', 0o666);
    if (flags < 0) return await (nodeFsp.writeFile as (...a: unknown[]) => Promise<void>)(file, data, options);
    return await writeFileAtPath(ring, p, flags, mode & 0o7777, content, flush, opts.signal, encoding);
  } catch (err) {
    throw withCallerStack(err, writeFile);
  }
}

export async function appendFile(file: unknown, data: unknown, options?: unknown): Promise<void> {
  try {
    if (fsRing() === null || isObjectPathArg(file) && !FileHandle.isFileHandle(file)) {
      return await (nodeFsp.appendFile as (...a: unknown[]) => Promise<void>)(file, data, options);
    }
    const opts = getOptions(options, { encoding: 'utf8' as BufferEncoding, mode: 0o666 as unknown, flag: 'a' as unknown });
    const copy: Record<string, unknown> = {};
    for (const key in opts) copy[key] = (opts as Record<string, unknown>)[key];
    copy.flag = copy.flag || 'a';
    return await writeFile(file, data, copy);
  } catch (err) {
    throw withCallerStack(err, appendFile);
  }
}

async function statAt(file: unknown, options: { bigint?: boolean }, noFollow: boolean, syscall: string) {
  const ring = fsRing()!;
  const p = validPath(file);
  const bigint = options.bigint; // null options fail here, as in Node
  if (bigint) await bigIntStatsClass();
  try {
    return await ring.statx(p, { noFollow, [kStatxParse]: bigint ? bigIntStatsFromStatx : statsFromStatx });
  } catch (err) {
    throw asSyscall(err, syscall);
  }
}

export async function stat(file: unknown, options: { bigint?: boolean } = { bigint: false }) {
  try {
    if (fsRing() === null) return await (nodeFsp.stat as (...a: unknown[]) => Promise<unknown>)(file, options);
    return await statAt(file, options, false, 'stat');
  } catch (err) {
    throw withCallerStack(err, stat);
  }
}

export async function lstat(file: unknown, options: { bigint?: boolean } = { bigint: false }) {
  try {
    if (fsRing() === null) return await (nodeFsp.lstat as (...a: unknown[]) => Promise<unknown>)(file, options);
    return await statAt(file, options, true, 'lstat');
  } catch (err) {
    throw withCallerStack(err, lstat);
  }
}

export async function unlink(file: unknown): Promise<void> {
  try {
    const ring = fsRing();
    if (ring === null) return await (nodeFsp.unlink as (...a: unknown[]) => Promise<void>)(file);
    return await ring.unlinkat(validPath(file));
  } catch (err) {
    throw withCallerStack(err, unlink);
  }
}

export async function rename(oldPath: unknown, newPath: unknown): Promise<void> {
  try {
    const ring = fsRing();
    if (ring === null) return await (nodeFsp.rename as (...a: unknown[]) => Promise<void>)(oldPath, newPath);
    const from = validPath(oldPath, 'oldPath');
    const to = validPath(newPath, 'newPath');
    // An empty new path fails in io_uring's prep (ENOENT) before the old one is looked up: Node's rename(2) reports the old path's error first.
    if (to.length === 0) return await (nodeFsp.rename as (...a: unknown[]) => Promise<void>)(oldPath, newPath);
    return await ring.renameat(from, to);
  } catch (err) {
    throw withCallerStack(err, rename);
  }
}

export async function link(existingPath: unknown, newPath: unknown): Promise<void> {
  try {
    const ring = fsRing();
    if (ring === null) return await (nodeFsp.link as (...a: unknown[]) => Promise<void>)(existingPath, newPath);
    const from = validPath(existingPath, 'existingPath');
    const to = validPath(newPath, 'newPath');
    // As rename: io_uring refuses an empty new path before it looks at the existing one.
    if (to.length === 0) return await (nodeFsp.link as (...a: unknown[]) => Promise<void>)(existingPath, newPath);
    return await ring.linkat(from, to);
  } catch (err) {
    throw withCallerStack(err, link);
  }
}

export async function symlink(target: unknown, file: unknown, type?: unknown): Promise<void> {
  try {
    const ring = fsRing();
    // A type other than 'dir', 'file' or 'junction' is Node's to refuse; the type has no effect on Linux.
    const known = typeof type !== 'string' || type === 'dir' || type === 'file' || type === 'junction';
    if (ring === null || !known) return await (nodeFsp.symlink as (...a: unknown[]) => Promise<void>)(target, file, type);
    const to = validPath(target, 'target');
    const at = validPath(file);
    return await ring.symlinkat(to, at);
  } catch (err) {
    throw withCallerStack(err, symlink);
  }
}

export async function rmdir(file: unknown, options?: unknown): Promise<void> {
  try {
    const ring = fsRing();
    // Options (recursive removal, retries) are node:fs/promises' business.
    if (ring === null || options !== undefined) return await (nodeFsp.rmdir as (...a: unknown[]) => Promise<void>)(file, options);
    return await ring.unlinkat(validPath(file), { removeDir: true });
  } catch (err) {
    throw withCallerStack(err, rmdir);
  }
}

export async function rm(file: unknown, options?: unknown): Promise<void> {
  try {
    const ring = fsRing();
    if (ring === null) return await (nodeFsp.rm as (...a: unknown[]) => Promise<void>)(file, options);
    const p = validPath(file);
    return await rmAt(ring, p, rmOptions(options), [file, options]);
  } catch (err) {
    throw withCallerStack(err, rm);
  }
}

export async function mkdir(file: unknown, options?: unknown): Promise<string | undefined> {
  try {
    const ring = fsRing();
    if (ring === null) return await (nodeFsp.mkdir as (...a: unknown[]) => Promise<string | undefined>)(file, options);
    let opts = options;
    if (typeof opts === 'number' || typeof opts === 'string') opts = { mode: opts };
    const { recursive = false, mode = 0o777 } = (opts || {}) as { recursive?: unknown; mode?: unknown };
    const p = validPath(file);
    validateBoolean(recursive, 'options.recursive');
    const m = parseFileMode(mode, 'mode', 0o777) & 0o7777;
    if (!recursive) {
      await ring.mkdirat(p, m);
      return undefined;
    }
    const text = typeof p === 'string' ? p : p.toString();
    return await mkdirp(ring, text, m, text);
  } catch (err) {
    throw withCallerStack(err, mkdir);
  }
}

/**
 * mkdir -p as Node does it: create `dir`, its missing parents first; resolves
 * to the first directory created (undefined if all existed). Failures name
 * the path the caller gave: EEXIST if it is not a directory, ENOTDIR if a
 * parent is not.
 */
async function mkdirp(ring: Ring, dir: string, mode: number, original: string): Promise<string | undefined> {
  try {
    await ring.mkdirat(dir, mode);
    return dir;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') {
      const parent = path.dirname(dir);
      if (parent === dir) throw errnoError((err as SaferRingError).errno!, 'mkdir', original);
      const first = await mkdirp(ring, parent, mode, original);
      try {
        await ring.mkdirat(dir, mode);
      } catch (again) {
        if ((again as { code?: string }).code !== 'EEXIST' || !(await isDirectory(ring, dir))) {
          throw errnoError((again as SaferRingError).errno!, 'mkdir', original);
        }
      }
      return first ?? dir;
    }
    if (code === 'EACCES' || code === 'ENOSPC' || code === 'ENOTDIR' || code === 'EPERM' || code === 'EROFS' ||
        code === 'ENAMETOOLONG' || code === 'ELOOP' || typeof (err as SaferRingError).errno !== 'number') {
      throw typeof (err as SaferRingError).errno === 'number' ? errnoError((err as SaferRingError).errno!, 'mkdir', original) : err;
    }
    // EEXIST and the like: fine if a directory is there.
    if (await isDirectory(ring, dir)) return undefined;
    throw errnoError(dir === original ? -17 /* EEXIST */ : -20 /* ENOTDIR */, 'mkdir', original);
  }
}

async function isDirectory(ring: Ring, dir: string): Promise<boolean> {
  try {
    const { mode } = await ring.statx(dir, { [kStatxParse]: (b: Uint8Array) => ({ mode: b[28] | (b[29] << 8) }) }) as { mode: number };
    return (mode & 0o170000) === 0o040000;
  } catch {
    return false;
  }
}

export async function truncate(file: unknown, len: unknown = 0): Promise<void> {
  try {
    const ring = fsRing();
    let valid = true;
    try {
      validateInteger(len, 'len');
    } catch {
      valid = false; // Node opens the file first, then refuses `len`: its order, its errors
    }
    if (ring === null || !valid || isObjectPathArg(file)) return await (nodeFsp.truncate as (...a: unknown[]) => Promise<void>)(file, len);
    const p = validPath(file);
    return await truncateAt(ring, p, Math.max(0, len as number));
  } catch (err) {
    throw withCallerStack(err, truncate);
  }
}

/** open(path, 'r+') → ftruncate, linked on a direct slot; then the slot's close. */
async function truncateAt(ring: Ring, p: string | Buffer, length: number): Promise<void> {
  const slot = takeSlot();
  if (slot === undefined) {
    const fd = await ring.openat(p, 'r+');
    try {
      await ring.ftruncate(fd, length);
    } finally {
      await ring.closeFd(fd);
    }
    return;
  }
  let opened = false;
  try {
    const [opening, truncating] = ring[kLinkedGroup](() => [
      ring.openat(p, 'r+', 0o666, { fileSlot: slot }),
      ring.ftruncate(slot, length),
    ], ['none', 'link']) as [Promise<number>, Promise<void>];
    truncating.catch(() => {});
    await opening;
    opened = true;
    try {
      await truncating;
    } catch (err) {
      // IORING_OP_FTRUNCATE is Linux 6.9+; before that the kernel answers EINVAL for the opcode.
      if ((err as { code?: string }).code !== 'EINVAL') throw err;
      await nodeFsp.truncate(p, length);
    }
  } finally {
    if (opened) void closeSlot(ring, slot);
    else returnSlot(slot);
  }
}

/** The members of node:fs/promises that run through the ring. */
export const ringMembers = {
  open, readFile, writeFile, appendFile, stat, lstat, unlink, rename, link, symlink, rmdir, rm, mkdir, truncate,
} as unknown as Partial<Fsp>;
