// readFile through the ring.
//
// A path is read with one submit in the common case: open (into a
// direct-descriptor slot) → read up to 1 MiB → read again, linked, so the
// reads name the file before the open has completed. The second read
// returning 0 means the first one reached the end of the file, whatever kind
// of file it is; no fstat is needed. (For a regular file that is what Node's
// fstat-sized read gives; pipes, /proc files and files that report size 0 are
// read until a read returns 0, as Node reads them.) A file that goes on past
// the two reads gets a statx and continues: a regular one with 512 KiB reads
// at known positions, several in flight in the kernel's workers; anything
// else 64 KiB at a time until a read returns 0.
//
// The kernel only ever reads into arena scratch slots; the bytes are copied
// into the Buffer the caller gets.
import { Ring, kForceAsync, kLinkedGroup, kStatxParse } from '../ring/ring';
import type { FixedFile } from '../ring/registry';
import { constants } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { checkAborted, fileTooLarge } from './errors';
import { typeAndSize } from './stats';
import { Scratch } from './scratch';
import { closeSlot, returnSlot, takeSlot } from './ring-context';
import type { ValidPath } from './args';

/** Node's limit (kIoMaxLength): a larger file is refused with ERR_FS_FILE_TOO_LARGE. */
export const IO_MAX_LENGTH = 2 ** 31 - 1;
/** The first read of a path: files up to this size take one submit. */
const FIRST_READ = 1024 * 1024;
/** The read after it, and each read of a file whose size is unknown (Node's kReadFileUnknownBufferLength). */
const NEXT_READ = 64 * 1024;
/** Reads of the rest of a large file (Node's kReadFileBufferLength). */
const CHUNK = 512 * 1024;
/** Chunks of one large file in flight at once. */
const CHUNKS_IN_FLIGHT = 4;
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
function checkEncoding(encoding: ReadFileOptions['encoding']): void {
  if (encoding === 'buffer') void new StringDecoder(encoding as BufferEncoding);
}

function isRegular(layout: Layout): boolean {
  return (layout.mode & constants.S_IFMT) === constants.S_IFREG;
}

/** readFile(path): the linked chain when a direct slot is free, else open → fstat → reads → close on a plain fd. */
export async function readFileAtPath(ring: Ring, path: ValidPath, flags: number, options: ReadFileOptions): Promise<Buffer | string> {
  const slot = takeSlot();
  if (slot === undefined) return readFileWithFd(ring, path, flags, options);
  const first = new Scratch(FIRST_READ);
  const second = new Scratch(NEXT_READ);
  let opened = false;
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
    let bytes: Buffer;
    if (n2 === 0) {
      bytes = copyOut(first.bytes, n1);
    } else {
      // Still more: only now does the file's type and size matter.
      const layout = await ring.statx(path, { [kStatxParse]: typeAndSize }) as Layout;
      bytes = await readRest(ring, slot, [first, n1, second, n2], layout, options.signal, true);
    }
    return finish(bytes, options.encoding);
  } finally {
    first.release(); // deferred by the arena while an op still holds it
    second.release();
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

/**
 * The rest of a file after the reads already done (`done`: scratch, count
 * pairs, in file order, from position 0 of this read): a regular file up to
 * its size (stopping early at the end of the file), anything else until a
 * read returns 0.
 */
async function readRest(
  ring: Ring, target: number | FixedFile, done: (Scratch | number)[], layout: Layout,
  signal: AbortSignal | undefined, positional: boolean,
): Promise<Buffer> {
  checkAborted(signal);
  let have = 0;
  for (let i = 1; i < done.length; i += 2) have += done[i] as number;
  const copyDone = (out: Buffer): void => {
    let at = 0;
    for (let i = 0; i < done.length; i += 2) {
      const n = Math.min(done[i + 1] as number, out.byteLength - at);
      if (n > 0) out.set((done[i] as Scratch).bytes.subarray(0, n), at);
      at += n;
    }
  };
  if (isRegular(layout) && layout.size > 0) {
    const size = layout.size;
    if (size > IO_MAX_LENGTH) throw fileTooLarge(size);
    if (have >= size) {
      const out = Buffer.allocUnsafeSlow(size);
      copyDone(out);
      return out;
    }
    const out = Buffer.allocUnsafeSlow(size);
    copyDone(out);
    const total = positional
      ? await readChunksAt(ring, target, out, have, signal)
      : await readChunksInOrder(ring, target, out, have, signal);
    return total === size ? out : out.subarray(0, total);
  }
  // Unknown size: 64 KiB at a time until a read returns nothing.
  const parts: Buffer[] = [];
  if (have > 0) {
    const head = Buffer.allocUnsafeSlow(have);
    copyDone(head);
    parts.push(head);
  }
  const scratch = new Scratch(NEXT_READ);
  try {
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

/**
 * The rest of a file opened for this call: chunks at their positions,
 * CHUNKS_IN_FLIGHT at a time, each run by the kernel's workers (IOSQE_ASYNC)
 * so the kernel's copies overlap this thread's; stops at the first short chunk.
 */
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
        const { bytesRead } = await ring.read(target, scratch.bytes, { position: at, length: want, [kForceAsync]: true });
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
