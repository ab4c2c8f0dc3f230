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
// A regular file that goes on past the two reads gets a statx, and the rest
// is read straight into the result: a read result (native/read-result.h), a
// Buffer the native layer allocates and alone refers to until every read into
// it has completed, so no arena copy is needed and the kernel still never
// writes memory the program can reach. Several reads run at once; they go to
// io-wq's kernel threads (IOSQE_ASYNC) when the file needs more than one, or
// when the ring has other work, so the copying is spread over the CPUs as
// libuv's pool spreads Node's, and a lone read of a cached file is done in
// the submit itself (no thread hop). Anything but a regular file (pipes,
// /proc) goes on through arena slots, 64 KiB at a time.
import { constants } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { Ring, kLinkedGroup, kReadIntoResult, kReadResults, kStatxParse, type ReadResults } from '../ring/ring';
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
 * out), the rest once, straight into its read result; the second read only
 * has to find the end of a small file.
 */
const FIRST_READ = 64 * 1024;
const SECOND_READ = 16 * 1024;
/** Each read of a file whose size is unknown (Node's kReadFileUnknownBufferLength). */
const NEXT_READ = 64 * 1024;
/** One read into a read result, and how many run at once. */
const RESULT_READ = 1024 * 1024;
const RESULT_READS_IN_FLIGHT = 4;
/** Other ops on the ring from which a lone read also goes to io-wq (the ring is busy: other calls are running). */
const BUSY_RING_LOAD = 2;
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

/** readFile(path): the linked chain when a direct slot is free, else open → fstat → reads → close on a plain fd. */
export async function readFileAtPath(ring: Ring, path: ValidPath, flags: number, options: ReadFileOptions): Promise<Buffer | string> {
  const slot = takeSlot();
  if (slot === undefined) return readFileWithFd(ring, path, flags, options);
  const first = new Scratch(FIRST_READ);
  const second = new Scratch(SECOND_READ);
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
    if (n2 === 0) return finish(copyOut(first.bytes, n1), options.encoding);
    // Still more: only now do the file's type and size matter.
    const layout = await (ring.statx(path, { [kStatxParse]: typeAndSize }) as Promise<Layout>);
    checkAborted(options.signal);
    return finish(await readRest(ring, slot, [first, n1, second, n2], layout, options.signal, true), options.encoding);
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
  if (isRegular(layout) && layout.size > NEXT_READ && ring[kReadResults] !== null) {
    return finish(await readRest(ring, fd, [], layout, options.signal, own), options.encoding);
  }
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

/** Lets a result go without masking the call's own error: a ring torn down meanwhile took its results with it. */
function releaseQuietly(results: ReadResults, id: number): void {
  try {
    results.releaseResult(id);
  } catch {
    // No such result any more: the ring was closed, and the kernel is done with it.
  }
}

/**
 * A regular file of `size` bytes (from its statx), after the reads in `done`:
 * the rest read by the ring straight into a read result. `positional`: the
 * fd is this call's own, so the reads go at known positions, several at
 * once; else (a FileHandle's fd) one at a time from its current position, as
 * Node reads it. Either way a short read goes on from where it ended, and a
 * read of 0 is the end of the file (it shrank): the result is cut there.
 */
async function readIntoResult(
  ring: Ring, results: ReadResults, target: number | FixedFile, done: (Scratch | number)[], size: number,
  signal: AbortSignal | undefined, positional: boolean,
): Promise<Buffer> {
  let have = 0;
  for (let i = 1; i < done.length; i += 2) have += done[i] as number;
  const id = results.allocResult(size);
  let taken = false;
  try {
    let end = size; // lowered to where a read of 0 found the end of the file
    let next = have;
    const reads = Math.ceil((size - have) / RESULT_READ);
    const lanes = positional ? Math.min(RESULT_READS_IN_FLIGHT, reads) : 1;
    let failed = false; // one lane's error ends the call: the others start no more reads
    const lane = async (): Promise<void> => {
      while (next < end && !failed) {
        let at = next;
        const stop = Math.min(at + RESULT_READ, end);
        next = stop;
        while (at < stop && !failed) {
          checkAborted(signal);
          const async = reads > 1 || ring.load >= BUSY_RING_LOAD;
          const n = await ring[kReadIntoResult](target, id, at, stop - at, positional ? at : -1, { async });
          if (n === 0) {
            end = Math.min(end, at);
            break;
          }
          at += n;
        }
      }
    };
    await Promise.all(Array.from({ length: lanes }, () => lane().catch((err) => {
      failed = true;
      throw err;
    })));
    taken = true;
    const out = results.takeResult(id, end);
    copyDone(out, done);
    return end === size ? out : out.subarray(0, end);
  } finally {
    // A failed or aborted call: the native layer frees it once no read into it is in flight.
    if (!taken) releaseQuietly(results, id);
  }
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
  if (isRegular(layout) && layout.size > IO_MAX_LENGTH) throw fileTooLarge(layout.size);
  const results = ring[kReadResults];
  if (results !== null && isRegular(layout) && layout.size > 0) {
    return readIntoResult(ring, results, target, done, layout.size, signal, positional);
  }
  let have = 0;
  for (let i = 1; i < done.length; i += 2) have += done[i] as number;
  const scratch = new Scratch(NEXT_READ);
  try {
    if (isRegular(layout) && layout.size > 0) {
      const size = layout.size;
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
