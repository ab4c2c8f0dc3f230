// writeFile and appendFile through the ring.
//
// Bytes to a path: open (into a direct-descriptor slot) → write, linked in
// one submit; `flush` adds an fsync; then the slot's close. Iterables and
// streams are written chunk by chunk as they come, as Node does. Each ring
// write copies its bytes into an arena slot first: the kernel never reads the
// caller's memory, which the caller may change or free.
//
// More than RING_BYTES_LIMIT at once goes to Node's own writes on the thread
// pool instead: the copy through the arena costs more than the ring saves for
// large writes. Such a file is also opened by Node's open on the pool, and
// synced and closed through the ring: an open that creates or truncates
// (writeFile's 'w') is never done in the submit, it always goes to one of
// io-wq's kernel threads, and waking that thread took about 120 µs on an idle
// vCPU against 13–40 µs for the pool's (docs/fs.md has the figures).
import { Ring, kLinkedGroup } from '../ring/ring';
import type { FixedFile } from '../ring/registry';
import { checkAborted } from './errors';
import { byteSizeOf, ioBytesOf, ValidPath } from './args';
import { closeSlot, returnSlot, takeSlot } from './ring-context';
import { RING_BYTES_LIMIT } from './read-file';
import fs from 'node:fs';

/** One of Node's writes of a large buffer. */
const BULK_CHUNK = 2 * 1024 * 1024;

function nodeWrite(fd: number, data: Uint8Array, at: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, data, at, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

export type WriteData = Uint8Array | Iterable<unknown> | AsyncIterable<unknown>;

function swallow(): void {}

/**
 * Writes all of `data` at the current position, a chunk at a time, checking
 * the signal between chunks: through the ring, or (more than
 * RING_BYTES_LIMIT, on an fd) through Node's writes.
 */
async function writeBytes(ring: Ring, target: number | FixedFile, data: Uint8Array, signal: AbortSignal | undefined, from = 0): Promise<void> {
  let at = from;
  const total = data.byteLength;
  const bulk = typeof target === 'number' && total - from > RING_BYTES_LIMIT;
  while (at < total) {
    checkAborted(signal);
    const length = Math.min(bulk ? BULK_CHUNK : RING_BYTES_LIMIT, total - at);
    at += bulk
      ? await nodeWrite(target as number, data, at, length)
      : (await ring.write(target, data, { offset: at, length, position: -1 })).bytesWritten;
  }
}

/** Node's writeFileHandle: bytes, or each chunk of an iterable (strings encoded with `encoding`). */
export async function writeData(
  ring: Ring, target: number | FixedFile, data: WriteData, signal: AbortSignal | undefined, encoding: BufferEncoding | null | undefined,
): Promise<void> {
  checkAborted(signal);
  if (ArrayBuffer.isView(data)) {
    if (data.byteLength === 0) return;
    return writeBytes(ring, target, data as Uint8Array, signal);
  }
  for await (const chunk of data as AsyncIterable<unknown>) {
    checkAborted(signal);
    // A view's size is read first, where Node reads `toWrite.byteLength` (a detached DataView throws there).
    const bytes = ArrayBuffer.isView(chunk) ? (byteSizeOf(chunk), ioBytesOf(chunk)) : Buffer.from(chunk as string, encoding || 'utf8');
    await writeBytes(ring, target, bytes, signal);
    checkAborted(signal);
  }
}

/** writeFile(path): open → write (→ fsync with `flush`) → close, the open and the first write linked where a slot is free. */
export async function writeFileAtPath(
  ring: Ring, path: ValidPath, flags: number, mode: number, data: WriteData, flush: boolean,
  signal: AbortSignal | undefined, encoding: BufferEncoding | null | undefined,
): Promise<void> {
  const large = ArrayBuffer.isView(data) && data.byteLength > RING_BYTES_LIMIT;
  const slot = large ? undefined : takeSlot();
  if (slot === undefined) return writeFileWithFd(ring, path, flags, mode, data, flush, signal, encoding, large);
  let opened = false;
  try {
    if (ArrayBuffer.isView(data) && data.byteLength > 0) {
      const bytes = data as Uint8Array;
      const length = Math.min(RING_BYTES_LIMIT, bytes.byteLength);
      const [open, write] = ring[kLinkedGroup](() => [
        ring.openat(path, flags, mode, { fileSlot: slot }),
        ring.write(slot, bytes, { offset: 0, length, position: -1 }),
      ], ['none', 'link']) as [Promise<number>, Promise<{ bytesWritten: number }>];
      write.catch(swallow);
      await open;
      opened = true;
      checkAborted(signal);
      const { bytesWritten } = await write;
      await writeBytes(ring, slot, bytes, signal, bytesWritten);
    } else {
      await ring.openat(path, flags, mode, { fileSlot: slot });
      opened = true;
      await writeData(ring, slot, data, signal, encoding);
    }
    if (flush) await ring.fsync(slot);
  } finally {
    if (opened) void closeSlot(ring, slot);
    else returnSlot(slot);
  }
}

function nodeOpen(path: ValidPath, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** writeFile on a plain fd: opened on the ring, or (`large`: Node's writes follow) by Node's open on the pool. */
async function writeFileWithFd(
  ring: Ring, path: ValidPath, flags: number, mode: number, data: WriteData, flush: boolean,
  signal: AbortSignal | undefined, encoding: BufferEncoding | null | undefined, large = false,
): Promise<void> {
  const fd = large ? await nodeOpen(path, flags, mode) : await ring.openat(path, flags, mode);
  try {
    await writeData(ring, fd, data, signal, encoding);
    if (flush) await ring.fsync(fd);
  } catch (err) {
    await ring.closeFd(fd).catch(swallow);
    throw err;
  }
  await ring.closeFd(fd);
}
