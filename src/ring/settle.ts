// Settle functions: turn one completion into the promise's outcome, and hand
// back (or free) the memory the op held. One per result shape; the op
// methods in ring.ts pick one when they build the OpRecord.
import { Arena, Slot } from '../buffers/arena';
import { MovedSlot, restore, discard } from '../buffers/owned-buffer';
import { errnoError, SaferRingError } from '../errors';
import { parseStatx, STATX_SIZE_BYTES } from '../fs/statx';
import { decodeSockaddr } from '../net/sockaddr';
import { ACCEPT_ADDR_OFFSET, OP_SYSCALL } from './descriptor';
import { OpRecord, releaseTemps } from './op-record';

export function fail(rec: OpRecord, res: number, path?: string): void {
  const arena = Arena.forThread();
  if (rec.moved !== null) discard(rec.moved);
  rec.moved = null;
  releaseTemps(rec, arena);
  rec.reject(errnoError(res, OP_SYSCALL[rec.op], path));
}

export function settleOwnedRead(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  const moved = rec.moved as MovedSlot;
  rec.moved = null;
  rec.resolve({ bytesRead: res, buffer: restore(moved) });
}

export function settleOwnedWrite(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  const moved = rec.moved as MovedSlot;
  rec.moved = null;
  rec.resolve({ bytesWritten: res, buffer: restore(moved) });
}

export function settlePlainRead(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  const { buffer, window } = rec.extra as { buffer: Uint8Array; window: Uint8Array };
  const arena = Arena.forThread();
  const temp = rec.temp;
  try {
    if (temp !== null && res > 0) copyBack(window, arena.chunks[temp.chunk].subarray(temp.offset, temp.offset + res));
  } catch (err) {
    return rec.reject(err as Error);
  } finally {
    releaseTemps(rec, arena);
  }
  rec.resolve({ bytesRead: res, buffer });
}

export function settlePlainWrite(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  releaseTemps(rec, Arena.forThread());
  rec.resolve({ bytesWritten: res, buffer: rec.extra.buffer });
}

export function settleReadv(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  const { buffers, parts, lent, sizes } = rec.extra as { buffers: Uint8Array[]; parts: Uint8Array[]; lent: (Slot | undefined)[]; sizes: number[] };
  const arena = Arena.forThread();
  const temp = rec.temp;
  try {
    if (temp !== null) {
      // Copy back what the kernel filled, in iovec order, for the parts that went through the copy slot.
      let remaining = res;
      let at = temp.offset;
      const chunk = arena.chunks[temp.chunk];
      for (let i = 0; i < parts.length && remaining > 0; i++) {
        // The sizes as submitted (the copy slot's layout): a part detached or shrunk since reports 0.
        const size = sizes[i];
        const n = Math.min(size, remaining);
        if (lent[i] === undefined) {
          if (n > 0) copyBack(parts[i], chunk.subarray(at, at + n));
          at += size;
        }
        remaining -= n;
      }
    }
  } catch (err) {
    return rec.reject(err as Error);
  } finally {
    releaseTemps(rec, arena);
  }
  rec.resolve({ bytesRead: res, buffers });
}

/**
 * Copies what the kernel read (in a copy slot) into the caller's memory. That
 * memory is the caller's own view of it, made at submit; if its ArrayBuffer was
 * detached (transferred) meanwhile, there is nowhere to put the bytes.
 */
function copyBack(target: Uint8Array, bytes: Uint8Array): void {
  if (target.byteLength < bytes.byteLength) {
    throw new SaferRingError('ERR_INVALID_STATE', 'the buffer was detached or shrunk while the operation was in flight; the bytes read could not be delivered');
  }
  target.set(bytes);
}

export function settleWritev(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  releaseTemps(rec, Arena.forThread());
  rec.resolve({ bytesWritten: res, buffers: rec.extra.buffers });
}

export function settleFd(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res, typeof rec.extra === 'string' ? rec.extra : undefined);
  releaseTemps(rec, Arena.forThread());
  rec.resolve(res);
}

export function settleAccept(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  const arena = Arena.forThread();
  const slot = rec.temp2!;
  const view = arena.view(slot, ACCEPT_ADDR_OFFSET + 128);
  const len = new DataView(view.buffer, view.byteOffset, 4).getUint32(0, true);
  const address = decodeSockaddr(view.slice(ACCEPT_ADDR_OFFSET, ACCEPT_ADDR_OFFSET + Math.min(len, 128)));
  releaseTemps(rec, arena);
  rec.resolve({ fd: res, address });
}

export function settleStatx(rec: OpRecord, res: number): void {
  const { path, parse } = rec.extra as { path?: string; parse?: (bytes: Uint8Array) => unknown };
  if (res < 0) return fail(rec, res, path);
  const arena = Arena.forThread();
  const bytes = arena.view(rec.temp2!, STATX_SIZE_BYTES);
  let stats: unknown;
  try {
    stats = parse === undefined ? parseStatx(bytes) : parse(bytes);
  } finally {
    releaseTemps(rec, arena);
  }
  rec.resolve(stats);
}

/** Path ops (unlink, mkdir, rename, link, symlink): node:fs's errors name the path, and `dest` where there are two. */
export function settlePathOp(rec: OpRecord, res: number): void {
  const { path, dest, syscall } = rec.extra as { path: string; dest?: string; syscall?: string };
  releaseTemps(rec, Arena.forThread());
  if (res < 0) return rec.reject(errnoError(res, syscall ?? OP_SYSCALL[rec.op], path, dest));
  rec.resolve(undefined);
}

export function settleVoid(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  releaseTemps(rec, Arena.forThread());
  rec.resolve(undefined);
}

export function settleNumber(rec: OpRecord, res: number): void {
  if (res < 0) return fail(rec, res);
  rec.resolve(res);
}

const ETIME = 62;
export function settleTimeout(rec: OpRecord, res: number): void {
  // A pure timeout "fails" with ETIME when it fires: that is its success.
  if (res < 0 && res !== -ETIME) return fail(rec, res);
  rec.resolve(undefined);
}
