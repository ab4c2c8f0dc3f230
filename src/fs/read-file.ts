// readFile through the ring.
//
// A path is read with one submit in the common case: open (into a
// direct-descriptor slot) → read up to 64 KiB → read again, linked, so the
// reads name the file before the open has completed. The second read
// returning 0 means the first one reached the end of the file, whatever kind
// of file it is; no fstat is needed. (For a regular file that is what Node's
// fstat-sized read gives; pipes, /proc files and files that report size 0 are
// read until a read returns 0, as Node reads them.)
//
// A file that goes on past the two reads gets a statx and an ordinary fd for
// the same open file (IORING_OP_FIXED_FD_INSTALL), in one submit. Its bulk
// is read by Node's own reads on that fd, on libuv's thread pool, straight
// into the result, several at once: the kernel may only write arena memory,
// so a ring read costs a second copy, which for large reads costs more than
// the ring saves (docs/fs.md has the figures). Anything but a regular file
// (pipes, /proc) goes on through the ring, 64 KiB at a time.
//
// The kernel only ever reads into arena scratch slots on the ring path; the
// bytes are copied into the Buffer the caller gets.
import fs, { constants } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { Ring, kLinkedGroup, kStatxParse } from '../ring/ring';
import type { FixedFile } from '../ring/registry';
import { checkAborted, fileTooLarge } from './errors';
import { typeAndSize } from './stats';
import { Scratch } from './scratch';
import { closeSlot, returnSlot, takeSlot } from './ring-context';
import type { ValidPath } from './args';

/** Node's limit (kIoMaxLength): a larger file is refused with ERR_FS_FILE_TOO_LARGE. */
export const IO_MAX_LENGTH = 2 ** 31 - 1;
/**
 * Transfers up to this size go through the ring (a copy through the arena);
 * larger ones through Node's own calls on the thread pool, straight into or
 * out of the caller's memory. Measured: a 256 KiB read is 1.3–2x faster
 * through the ring, a 1 MiB read slower (docs/fs.md).
 */
export const RING_BYTES_LIMIT = 256 * 1024;
/**
 * The reads of the linked chain: files up to FIRST_READ take one submit. Kept
 * small: a larger file's first bytes are copied twice (into the arena, then
 * out), the rest once, by Node's reads; the second read only has to find the
 * end of a small file.
 */
const FIRST_READ = 64 * 1024;
const SECOND_READ = 16 * 1024;
/** Each read of a file whose size is unknown (Node's kReadFileUnknownBufferLength). */
const NEXT_READ = 64 * 1024;
/** One of Node's reads of a large file, and how many run at once. */
const BULK_CHUNK = 2 * 1024 * 1024;
const BULK_IN_FLIGHT = 4;
const CHAIN = ['none', 'link', 'hardlink'] as const;

export interface ReadFileOptions {
  encoding?: BufferEncoding | 'buffer' | null;
  signal?: AbortSignal;
}

interface Layout {
  mode: number;
  size: number;
}

function swallow(): void {}

function finish(bytes: Buffer, encoding: ReadFileOptions['encoding']): Buffer | string {
  return encoding && encoding !== 'buffer' ? bytes.toString(encoding) : bytes;
}

function copyOut(from: Uint8Array, n: number): Buffer {
  const out = Buffer.allocUnsafeSlow(n);
  if (n > 0) out.set(n === from.byteLength ? from : from.subarray(0, n));
  return out;
}

/** 'buffer' passes Node's option check but not its decoder: Node fails once the file is open, and so does this. */
export function checkEncoding(encoding: ReadFileOptions['encoding']): void {
  if (encoding === 'buffer') void new StringDecoder(encoding as BufferEncoding);
}

function isRegular(layout: Layout): boolean {
  return (layout.mode & constants.S_IFMT) === constants.S_IFREG;
}

/** Node's read on the thread pool, as a promise of the count. */
function nodeRead(fd: number, into: Buffer, at: number, length: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, into, at, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** readFile(path): the linked chain when a direct slot is free, else open → fstat → reads → close on a plain fd. */
export async function readFileAtPath(ring: Ring, path: ValidPath, flags: number, options: ReadFileOptions): Promise<Buffer | string> {
  const slot = takeSlot();
  if (slot === undefined) return readFileWithFd(ring, path, flags, options);
  const first = new Scratch(FIRST_READ);
  const second = new Scratch(SECOND_READ);
  let opened = false;
  let installing: Promise<number> | null = null;
  try {
    const [open, read1, read2] = ring[kLinkedGroup](() => [
      ring.openat(path, flags, 0o666, { fileSlot: slot }),
      ring.read(slot, first.bytes, { position: -1 }),
      ring.read(slot, second.bytes, { position: -1 }),
    ], CHAIN) as [Promise<number>, Promise<{ bytesRead: number }>, Promise<{ bytesRead: number }>];
    read1.catch(swallow);
    read2.catch(swallow);
    await open;
    opened = true;
    checkEncoding(options.encoding);
    checkAborted(options.signal);
    const n1 = (await read1).bytesRead;
    const n2 = (await read2).bytesRead;
    if (n2 === 0) return finish(copyOut(first.bytes, n1), options.encoding);
    // Still more: only now do the file's type and size matter. The fd is for Node's reads of the bulk.
    // (Both go to the kernel in the same submit: the ring submits once per turn.)
    const stat = ring.statx(path, { [kStatxParse]: typeAndSize }) as Promise<Layout>;
    const install = ring.installFd(slot);
    installing = install;
    install.catch(swallow);
    const layout = await stat;
    const fd = await install.catch(() => -1); // before Linux 6.8 there is no fd to be had: the ring reads the rest
    checkAborted(options.signal);
    const done = [first, n1, second, n2];
    const bytes = fd >= 0 && isRegular(layout) && layout.size > 0
      ? await readBulk(fd, done, layout.size, options.signal, true)
      : await readRest(ring, slot, done, layout, options.signal, true);
    return finish(bytes, options.encoding);
  } finally {
    first.release(); // deferred by the arena while an op still holds it
    second.release();
    if (installing !== null) void installing.then((fd) => ring.closeFd(fd)).catch(swallow);
    if (opened) void closeSlot(ring, slot);
    else returnSlot(slot); // the open failed: the slot is still empty
  }
}

/** readFile(path) without a direct slot: Node's sequence of calls, each through the ring. */
async function readFileWithFd(ring: Ring, path: ValidPath, flags: number, options: ReadFileOptions): Promise<Buffer | string> {
  const fd = await ring.openat(path, flags, 0o666);
  let result: Buffer | string;
  try {
    result = await readFileFromFd(ring, fd, options, true);
  } catch (err) {
    await ring.closeFd(fd).catch(swallow);
    throw err;
  }
  await ring.closeFd(fd);
  return result;
}

/**
 * readFile of an open fd (a FileHandle's, or one opened here), as Node does
 * it: fstat, then reads from the current position. `own`: the fd was opened
 * for this call, so a large file's chunks may be read at known positions.
 */
export async function readFileFromFd(ring: Ring, fd: number, options: ReadFileOptions, own = false): Promise<Buffer | string> {
  checkEncoding(options.encoding);
  checkAborted(options.signal);
  const layout = await ring.statx(fd, { [kStatxParse]: typeAndSize }) as Layout;
  checkAborted(options.signal);
  if (isRegular(layout) && layout.size > IO_MAX_LENGTH) throw fileTooLarge(layout.size);
  if (isRegular(layout) && layout.size > RING_BYTES_LIMIT) return finish(await readBulk(fd, [], layout.size, options.signal, own), options.encoding);
  const first = new Scratch(NEXT_READ);
  try {
    const { bytesRead } = await ring.read(fd, first.bytes, { position: -1 });
    if (isRegular(layout) && layout.size > 0 && (bytesRead >= layout.size || bytesRead < NEXT_READ)) {
      // Node's rule for a file of known size: done at that size, or at a short read.
      return finish(copyOut(first.bytes, Math.min(bytesRead, layout.size)), options.encoding);
    }
    return finish(await readRest(ring, fd, [first, bytesRead], layout, options.signal, own), options.encoding);
  } finally {
    first.release();
  }
}

/** Copies the reads already done (`done`: scratch, count pairs, in file order) to the start of `out`; returns their total. */
function copyDone(out: Buffer, done: (Scratch | number)[]): number {
  let at = 0;
  for (let i = 0; i < done.length; i += 2) {
    const n = Math.min(done[i + 1] as number, out.byteLength - at);
    if (n > 0) out.set((done[i] as Scratch).bytes.subarray(0, n), at);
    at += n;
  }
  return at;
}

/**
 * A regular file of `size` bytes, after the reads in `done`: the rest read by
 * Node's reads straight into the result, BULK_IN_FLIGHT at a time at known
 * positions when the fd is ours (`positional`), else in order from the
 * current position. Stops early at the end of the file, as Node does.
 */
async function readBulk(fd: number, done: (Scratch | number)[], size: number, signal: AbortSignal | undefined, positional: boolean): Promise<Buffer> {
  if (size > IO_MAX_LENGTH) throw fileTooLarge(size);
  const out = Buffer.allocUnsafeSlow(size);
  const start = copyDone(out, done);
  if (start >= size) return out;
  let end = size; // lowered to where a short read found the end of the file
  if (positional) {
    let next = start;
    const lane = async (): Promise<void> => {
      while (next < end) {
        checkAborted(signal);
        const at = next;
        const want = Math.min(BULK_CHUNK, size - at);
        next += want;
        const n = await nodeRead(fd, out, at, want, at);
        if (n < want) end = Math.min(end, at + n);
      }
    };
    await Promise.all(Array.from({ length: Math.min(BULK_IN_FLIGHT, Math.ceil((size - start) / BULK_CHUNK)) }, lane));
  } else {
    let at = start;
    while (at < size) {
      checkAborted(signal);
      const n = await nodeRead(fd, out, at, Math.min(BULK_CHUNK, size - at), null);
      if (n === 0) break;
      at += n;
    }
    end = at;
  }
  return end === size ? out : out.subarray(0, end);
}

/**
 * The rest of a file through the ring, after the reads already done: a
 * regular file up to its size (where no fd could be made for Node's reads),
 * anything else until a read returns 0.
 */
async function readRest(
  ring: Ring, target: number | FixedFile, done: (Scratch | number)[], layout: Layout,
  signal: AbortSignal | undefined, positional: boolean,
): Promise<Buffer> {
  checkAborted(signal);
  let have = 0;
  for (let i = 1; i < done.length; i += 2) have += done[i] as number;
  const scratch = new Scratch(NEXT_READ);
  try {
    if (isRegular(layout) && layout.size > 0) {
      const size = layout.size;
      if (size > IO_MAX_LENGTH) throw fileTooLarge(size);
      const out = Buffer.allocUnsafeSlow(size);
      let at = copyDone(out, done);
      while (at < size) {
        checkAborted(signal);
        const want = Math.min(NEXT_READ, size - at);
        const { bytesRead } = await ring.read(target, scratch.bytes, { position: positional ? at : -1, length: want });
        if (bytesRead === 0) break;
        out.set(scratch.bytes.subarray(0, bytesRead), at);
        at += bytesRead;
      }
      return at === size ? out : out.subarray(0, at);
    }
    // Unknown size: 64 KiB at a time until a read returns nothing.
    const parts: Buffer[] = [];
    if (have > 0) {
      const head = Buffer.allocUnsafeSlow(have);
      copyDone(head, done);
      parts.push(head);
    }
    let total = have;
    for (;;) {
      checkAborted(signal);
      const { bytesRead } = await ring.read(target, scratch.bytes, { position: -1 });
      if (bytesRead === 0) break;
      parts.push(copyOut(scratch.bytes, bytesRead));
      total += bytesRead;
      if (total > IO_MAX_LENGTH) throw fileTooLarge(total);
    }
    return Buffer.concat(parts, total);
  } finally {
    scratch.release();
  }
}
