// Moving a file's bytes.
//
// Small files: one buffer, read then write, until a read comes back short
// (FileIo: synchronous or through the ring).
//
// Large files, two ways, both inside the worker (the main thread hears only
// about bytes done, through a shared counter, never about chunks):
//
//  - 'copy-file-range' (the default): copy_file_range(2) through the addon,
//    KERNEL_CHUNK bytes per call, so the kernel copies page cache to page
//    cache (or shares blocks, on filesystems with reflinks) and the bytes
//    never enter JavaScript's memory. Between chunks the worker checks for an
//    abort, counts progress and steps back to its event loop. Measured here
//    on ext4, it takes about half the CPU of the ring path and is faster
//    (docs/copy.md); it is what GNU cp does too.
//  - 'ring': several lanes over the worker's ring. Each lane takes the next
//    chunk position, reads it into its own registered arena buffer
//    (READ_FIXED) and writes it out at the same position (WRITE_FIXED), so
//    several chunks are in flight at once. The path where copy_file_range
//    cannot be used (EXDEV, EOPNOTSUPP, EINVAL: some filesystems, /proc, no
//    addon), and the one `largeFileIo: 'ring'` asks for.
//
// Sparse files: only the data ranges are copied (SEEK_DATA/SEEK_HOLE through
// the addon's lseek), and the copy gets its full length with ftruncate, so
// holes stay holes and a 5 GiB file with 1 MiB of data costs 1 MiB of I/O.
import fs from 'node:fs';
import { OwnedBuffer } from '../buffers/owned-buffer';
import type { Ring } from '../ring/ring';
import { binding } from '../native';
import { SaferRingError } from '../errors';
import type { FileIo } from './file-io';
import type { Control } from './protocol';

/** Chunk size and lanes for large files (see docs/copy.md for the measurements behind them). */
export const CHUNK_SIZE = 256 * 1024;
export const LANES = 8;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

export function stopError(): Error {
  return new SaferRingError('ABORT_ERR', 'The copy was aborted');
}

/** A worker's reusable chunk buffers: allocated once, lent to one file at a time. */
export class BufferStock {
  readonly #free: OwnedBuffer[] = [];

  take(n: number): OwnedBuffer[] {
    const out: OwnedBuffer[] = [];
    while (out.length < n) out.push(this.#free.pop() ?? new OwnedBuffer(CHUNK_SIZE));
    return out;
  }

  give(buffers: OwnedBuffer[]): void {
    this.#free.push(...buffers);
  }

  /** Gives every buffer back to the arena (all must have been given back here first). */
  releaseAll(): void {
    for (const b of this.#free.splice(0)) b.release();
  }
}

/** Reads `fd` from 0 to the end through `buffer`, writing each piece to `out`. Returns the length copied. */
export async function copySmall(io: FileIo, srcFd: number, dstFd: number, buffer: Uint8Array, control: Control): Promise<number> {
  let position = 0;
  for (;;) {
    const n = await io.read(srcFd, buffer, buffer.length, position);
    if (n === 0) return position;
    await writeAll(n, (off) => io.write(dstFd, off === 0 ? buffer : buffer.subarray(off), n - off, position + off));
    position += n;
    control.addBytes(n);
    if (n < buffer.length) return position; // a short read of a regular file: the end
  }
}

async function writeAll(length: number, write: (offset: number) => Promise<number>): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await write(done);
    if (n <= 0) throw new SaferRingError('EIO', 'EIO: write made no progress', { errno: -5, syscall: 'write' });
    done += n;
  }
}

interface RangeState {
  next: number;
  /** Set when a read found the end of the file earlier than planned. */
  eof: number;
}

/**
 * Copies [start, end) with LANES chunks in flight. Returns where the file
 * ended if that was before `end` (it shrank), else `end`.
 */
async function copyRange(ring: Ring, srcFd: number, dstFd: number, start: number, end: number, buffers: OwnedBuffer[], control: Control): Promise<number> {
  const state: RangeState = { next: start, eof: end };
  const lane = async (owned: OwnedBuffer): Promise<void> => {
    const view = owned.bytes;
    while (state.next < state.eof) {
      if (control.stopped) throw stopError();
      const position = state.next;
      const length = Math.min(CHUNK_SIZE, state.eof - position);
      state.next += length;
      const { bytesRead } = await ring.read(srcFd, view, { length, position });
      if (bytesRead > 0) {
        await writeAll(bytesRead, (off) => ring.write(dstFd, view, { offset: off, length: bytesRead - off, position: position + off }).then((r) => r.bytesWritten));
        control.addBytes(bytesRead);
      }
      if (bytesRead < length) state.eof = Math.min(state.eof, position + bytesRead);
    }
  };
  const settled = await Promise.allSettled(buffers.map(lane));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return state.eof;
}

/**
 * Copies a large file: the planned `size` with lanes, then (if the file grew
 * meanwhile) on to its current end. Returns the length copied.
 */
export async function copyLarge(ring: Ring, srcFd: number, dstFd: number, size: number, stock: BufferStock, control: Control, inKernel: boolean): Promise<number> {
  if (inKernel && canCopyInKernel()) {
    const r = await copyInKernel(srcFd, dstFd, 0, size, true, control);
    if (typeof r === 'number') return r;
    return copyLargeOnRing(ring, srcFd, dstFd, r.fallback, size, stock, control);
  }
  return copyLargeOnRing(ring, srcFd, dstFd, 0, size, stock, control);
}

async function copyLargeOnRing(ring: Ring, srcFd: number, dstFd: number, start: number, size: number, stock: BufferStock, control: Control): Promise<number> {
  const buffers = stock.take(LANES);
  try {
    let end = start >= size ? start : await copyRange(ring, srcFd, dstFd, start, size, buffers, control);
    if (end < size) return end;
    for (;;) {
      const more = await copyRange(ring, srcFd, dstFd, end, end + CHUNK_SIZE * buffers.length, buffers, control);
      if (more === end) return end;
      const full = more === end + CHUNK_SIZE * buffers.length;
      end = more;
      if (!full) return end;
    }
  } finally {
    stock.give(buffers);
  }
}

export const KERNEL_CHUNK = 16 * 1024 * 1024;

/** Errors after which copy_file_range is given up for this file and the ring path takes over. */
const NO_KERNEL_COPY = new Set(['EXDEV', 'ENOSYS', 'EOPNOTSUPP', 'ENOTSUP', 'EINVAL', 'EBADF']);

export function canCopyInKernel(): boolean {
  return binding !== null && typeof binding.copyFileRange === 'function';
}

/**
 * Copies [start, end) with copy_file_range, chunk by chunk; with `toEof`,
 * goes on past `end` until the input ends (a file that grew). Returns where
 * it stopped: `end` (or the new end), where the input ended if earlier, or,
 * as `{ fallback }`, the offset from which the ring path must take over.
 */
export async function copyInKernel(srcFd: number, dstFd: number, start: number, end: number, toEof: boolean, control: Control): Promise<number | { fallback: number }> {
  const copyFileRange = binding!.copyFileRange;
  let at = start;
  while (toEof || at < end) {
    if (control.stopped) throw stopError();
    const want = toEof ? KERNEL_CHUNK : Math.min(KERNEL_CHUNK, end - at);
    let n: number;
    try {
      n = copyFileRange(srcFd, at, dstFd, at, want);
    } catch (err) {
      if (NO_KERNEL_COPY.has((err as { code?: string }).code ?? '')) return { fallback: at };
      throw err;
    }
    if (n === 0) break; // the end of the input
    at += n;
    control.addBytes(n);
    await new Promise<void>((resolve) => setImmediate(resolve)); // let other work on this worker move
  }
  return at;
}

/** Whether holes can be found here (the addon's lseek); without it a sparse file is copied whole. */
export function canSeekData(): boolean {
  return binding !== null && typeof binding.lseek === 'function';
}

/**
 * Copies only the data ranges of a sparse file, then sets the copy's length,
 * so the holes stay holes. Returns the file's length.
 */
export async function copySparse(ring: Ring, srcFd: number, dstFd: number, size: number, stock: BufferStock, control: Control, inKernel: boolean): Promise<number> {
  const lseek = binding!.lseek;
  const buffers = stock.take(LANES);
  try {
    let position = 0;
    let length = size;
    while (position < length) {
      const data = lseek(srcFd, position, SEEK_DATA);
      if (data < 0) break; // only a hole is left
      let hole = lseek(srcFd, data, SEEK_HOLE);
      if (hole < 0) hole = length;
      let end: number;
      const kernel = inKernel && canCopyInKernel() ? await copyInKernel(srcFd, dstFd, data, hole, false, control) : { fallback: data };
      if (typeof kernel === 'number') end = kernel;
      else end = await copyRange(ring, srcFd, dstFd, kernel.fallback, hole, buffers, control);
      if (end < hole) {
        length = end; // the file shrank while we copied it
        break;
      }
      position = hole;
      if (position >= length) length = Math.max(length, fs.fstatSync(srcFd).size);
    }
    fs.ftruncateSync(dstFd, length);
    return length;
  } finally {
    stock.give(buffers);
  }
}
