// readFile through the ring.
//
// A path is read with one submit in the common case: open (into a
// direct-descriptor slot) → read the first 64 KiB → statx, linked, so the
// read names the file before the open has completed. statx says what Node's
// fstat would: a regular file of size S is read up to S bytes (stopping at a
// short read), anything else (pipes, /proc, files that report size 0) until a
// read returns 0. Larger files continue with 512 KiB reads, several in flight
// at known positions. The kernel only ever reads into arena scratch slots;
// the bytes are copied into the Buffer the caller gets.
import { Ring, kLinkedGroup, kStatxParse } from '../ring/ring';
import type { FixedFile } from '../ring/registry';
import { constants } from 'node:fs';
import { checkAborted, fileTooLarge } from './errors';
import { typeAndSize } from './stats';
import { Scratch } from './scratch';
import { closeSlot, returnSlot, takeSlot } from './ring-context';
import type { ValidPath } from './args';

/** Node's limit (kIoMaxLength): a larger file is refused with ERR_FS_FILE_TOO_LARGE. */
export const IO_MAX_LENGTH = 2 ** 31 - 1;
/** The first read, and each read of a file whose size is unknown (Node's kReadFileUnknownBufferLength). */
const FIRST_READ = 64 * 1024;
/** Reads of a large file (Node's kReadFileBufferLength). */
const CHUNK = 512 * 1024;
/** Chunks of one large file in flight at once. */
const CHUNKS_IN_FLIGHT = 4;
const LINKS = ['none', 'link', 'hardlink'] as const;

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
  out.set(n === from.byteLength ? from : from.subarray(0, n));
  return out;
}

/** readFile(path): the linked chain when a direct slot is free, else open → fstat → reads → close on a plain fd. */
export async function readFileAtPath(ring: Ring, path: ValidPath, flags: number, options: ReadFileOptions): Promise<Buffer | string> {
  const slot = takeSlot();
  if (slot === undefined) return readFileWithFd(ring, path, flags, options);
  const scratch = new Scratch(FIRST_READ);
  let opened = false;
  try {
    const [open, read, stat] = ring[kLinkedGroup](() => [
      ring.openat(path, flags, 0o666, { fileSlot: slot }),
      ring.read(slot, scratch.bytes, { position: -1 }),
      ring.statx(path, { [kStatxParse]: typeAndSize }),
    ], LINKS) as [Promise<number>, Promise<{ bytesRead: number }>, Promise<Layout>];
    read.catch(swallow);
    stat.catch(swallow);
    await open;
    opened = true;
    const layout = await stat.catch(() => ({ mode: 0, size: 0 })); // unknown: read to the end
    checkAborted(options.signal);
    const { bytesRead } = await read;
    return finish(await collect(ring, slot, scratch, bytesRead, layout, options.signal, true), options.encoding);
  } finally {
    scratch.release(); // deferred by the arena while an op still holds it
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
 * readFile of an open fd (a FileHandle's, or one opened here): fstat, then
 * reads from the current position. `own`: the fd was opened for this call,
 * so its later chunks may be read at known positions, several at once.
 */
export async function readFileFromFd(ring: Ring, fd: number, options: ReadFileOptions, own = false): Promise<Buffer | string> {
  checkAborted(options.signal);
  const layout = await ring.statx(fd, { [kStatxParse]: typeAndSize }) as Layout;
  checkAborted(options.signal);
  const scratch = new Scratch(FIRST_READ);
  try {
    if ((layout.mode & constants.S_IFMT) === constants.S_IFREG && layout.size > IO_MAX_LENGTH) throw fileTooLarge(layout.size);
    const { bytesRead } = await ring.read(fd, scratch.bytes, { position: -1 });
    return finish(await collect(ring, fd, scratch, bytesRead, layout, options.signal, own), options.encoding);
  } finally {
    scratch.release();
  }
}

/** Everything after the first read, by Node's rules for the file's type and size. */
async function collect(
  ring: Ring, target: number | FixedFile, first: Scratch, firstRead: number, layout: Layout,
  signal: AbortSignal | undefined, positional: boolean,
): Promise<Buffer> {
  const regular = (layout.mode & constants.S_IFMT) === constants.S_IFREG;
  const size = regular ? layout.size : 0;
  if (size > IO_MAX_LENGTH) throw fileTooLarge(size);
  if (size > 0) {
    // A known size: done at `size` bytes or at a short read.
    if (firstRead >= size) return copyOut(first.bytes, size);
    if (firstRead < FIRST_READ) return copyOut(first.bytes, firstRead);
    const out = Buffer.allocUnsafeSlow(size);
    out.set(first.bytes.subarray(0, firstRead));
    const total = positional
      ? await readChunksAt(ring, target, out, firstRead, signal)
      : await readChunksInOrder(ring, target, out, firstRead, signal);
    return total === size ? out : out.subarray(0, total);
  }
  // Unknown size: 64 KiB at a time until a read returns nothing.
  if (firstRead === 0) return Buffer.allocUnsafeSlow(0);
  const parts = [copyOut(first.bytes, firstRead)];
  let total = firstRead;
  for (;;) {
    checkAborted(signal);
    const { bytesRead } = await ring.read(target, first.bytes, { position: -1 });
    if (bytesRead === 0) break;
    parts.push(copyOut(first.bytes, bytesRead));
    total += bytesRead;
    if (total > IO_MAX_LENGTH) throw fileTooLarge(total);
  }
  return Buffer.concat(parts, total);
}

/** The rest of a file opened for this call: chunks at their positions, CHUNKS_IN_FLIGHT at a time; stops at the first short chunk. */
async function readChunksAt(ring: Ring, target: number | FixedFile, out: Buffer, start: number, signal: AbortSignal | undefined): Promise<number> {
  const size = out.byteLength;
  let next = start;
  let end = size; // lowered to where a short read found the end of the file
  const lane = async (): Promise<void> => {
    const scratch = new Scratch(CHUNK);
    try {
      while (next < end) {
        checkAborted(signal);
        const at = next;
        const want = Math.min(CHUNK, size - at);
        next += want;
        const { bytesRead } = await ring.read(target, scratch.bytes, { position: at, length: want });
        out.set(scratch.bytes.subarray(0, bytesRead), at);
        if (bytesRead < want) end = Math.min(end, at + bytesRead);
      }
    } finally {
      scratch.release();
    }
  };
  const lanes = Math.min(CHUNKS_IN_FLIGHT, Math.ceil((size - start) / CHUNK));
  await Promise.all(Array.from({ length: lanes }, lane));
  return end;
}

/** The rest of a file read from its current position (a FileHandle's): one chunk at a time, in order. */
async function readChunksInOrder(ring: Ring, target: number | FixedFile, out: Buffer, start: number, signal: AbortSignal | undefined): Promise<number> {
  const size = out.byteLength;
  const scratch = new Scratch(Math.min(CHUNK, size - start));
  try {
    let total = start;
    while (total < size) {
      checkAborted(signal);
      const want = Math.min(scratch.bytes.byteLength, size - total);
      const { bytesRead } = await ring.read(target, scratch.bytes, { position: -1, length: want });
      if (bytesRead === 0) break;
      out.set(scratch.bytes.subarray(0, bytesRead), total);
      total += bytesRead;
    }
    return total;
  } finally {
    scratch.release();
  }
}
