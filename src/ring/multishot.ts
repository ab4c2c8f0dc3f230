// Multishot operations as async iterators: one SQE, many CQEs.
//
// The iterator arms one kernel op (multishot accept or recv). Each CQE with
// IORING_CQE_F_MORE arrives through OpRecord.more and is queued as an item;
// the final CQE (no F_MORE) goes through settle. A final CQE that is a result,
// not an error or a cancellation, means the kernel ended the multishot early
// (CQ overflow, a poll retry limit...): the iterator re-arms it. ENOBUFS means
// the caller holds every buffer of the group: the iterator re-arms at the next
// release. A kernel without the multishot variant answers EINVAL before any
// F_MORE: the iterator falls back to single-shot ops, re-armed after each one.
//
// Ending: `break` / return() cancels the op and resolves once its final CQE
// has arrived (items that arrive meanwhile are disposed of: fds closed,
// buffers released). An AbortSignal does the same and rejects the pending
// next() with ABORT_ERR. Closing the ring ends the iterator cleanly: the
// items already queued are still delivered, then `done`.
import { FeatureDetector } from '../features';
import { closeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { abortError, errnoError, SaferRingError } from '../errors';
import { checkInteger, checkOptions, checkSignal } from '../validate';
import type { Engine } from './engine';
import { IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, Op } from './descriptor';
import { OpRecord } from './op-record';
import type { BufferGroup, GroupBuffer } from '../buffers/buffer-group';
import { restore } from '../buffers/owned-buffer';

const EINVAL = osConstants.errno.EINVAL;
const ENOBUFS = osConstants.errno.ENOBUFS;
const SOCK_CLOEXEC = 0o2000000;

export interface MultiShotConfig {
  /** Aborting ends the iteration: the kernel op is cancelled and the pending next() rejects with ABORT_ERR. */
  signal?: AbortSignal;
  /** End (cleanly) after this many items. Default: no limit. */
  maxItems?: number;
  /**
   * Queue high-water mark: when this many items wait unconsumed, the kernel op
   * is cancelled (connections wait in the listen backlog, bytes in the socket
   * buffer) and re-armed once the consumer has taken half of them. Default 64.
   */
  highWaterMark?: number;
  /** Use re-armed single-shot ops even where the kernel has multishot (the degraded path). Default false. */
  singleShot?: boolean;
}

export interface MultiShotStats {
  /** 'multishot' while the kernel's multishot op is used; 'single-shot' on the degraded path. */
  mode: 'multishot' | 'single-shot';
  /** Items produced (delivered or queued). */
  items: number;
  /** SQEs submitted for this iterator. */
  arms: number;
  /** Re-arms after the kernel ended a multishot op early with a result (not an error or cancel). */
  rearms: number;
  /** Re-arms after ENOBUFS, once a buffer came back. */
  bufferWaits: number;
  /** Times the op was cancelled because the queue reached the high-water mark. */
  pauses: number;
  /** CQEs seen with IORING_CQE_F_MORE. */
  moreCqes: number;
}

export interface RecvMultiResult {
  bytesRead: number;
  /** The group's buffer: `release()` hands it back to the group (and the kernel). */
  buffer: GroupBuffer;
  /** Its buffer id (the kernel's, from the CQE, when the group is a kernel buffer ring). */
  bufferId: number;
}

/** What one kind of multishot op plugs into the iterator. */
interface Source<T> {
  syscall: string;
  /** The kernel feature its multishot form needs (FeatureDetector decides if it is used). */
  feature: 'multishotAccept' | 'multishotRecv';
  /** A record for one arming, or null when a resource (a buffer) must come back first. */
  arm(multishot: boolean): OpRecord | null;
  /** A CQE with res >= 0 as an item, or 'eof' (the stream ended; its buffer is already back). */
  item(rec: OpRecord, res: number, flags: number): T | 'eof';
  /** Frees an item nobody will consume. */
  dispose(item: T): void;
  /** Frees what a failed CQE left (a lent buffer). */
  drop(rec: OpRecord, flags: number): void;
  /** ENOBUFS: call `wake` once a buffer is back. Absent when ENOBUFS is a plain error. */
  whenResource?(wake: () => void): void;
  /** Multishot is impossible for this source (plain buffers). */
  singleOnly?: boolean;
}

type Stop = 'return' | 'abort' | 'limit' | 'pause';

export class MultiShot<T> implements AsyncIterableIterator<T> {
  readonly #engine: Engine;
  readonly #source: Source<T>;
  readonly #signal: AbortSignal | undefined;
  readonly #maxItems: number;
  readonly #highWater: number;
  #onAbort: (() => void) | null = null;
  #queue: T[] = [];
  #waiters: { resolve(r: IteratorResult<T>): void; reject(e: Error): void }[] = [];
  #rec: OpRecord | null = null;
  #multishot: boolean;
  #sawMore = false;
  #started = false;
  #stopping: Stop | null = null;
  #paused = false;
  #waitingForResource = false;
  #ended = false;
  #endError: Error | null = null;
  #endWaiters: (() => void)[] = [];
  #stats: MultiShotStats;

  /** @internal Built by Ring.acceptMulti / Ring.recvMulti. */
  constructor(engine: Engine, source: Source<T>, config: MultiShotConfig | undefined) {
    const opts = checkOptions<MultiShotConfig>(config, 'config');
    this.#signal = checkSignal(opts.signal);
    this.#maxItems = opts.maxItems === undefined ? Infinity : checkInteger('config.maxItems', opts.maxItems, 1, Number.MAX_SAFE_INTEGER);
    this.#highWater = checkInteger('config.highWaterMark', opts.highWaterMark ?? 64, 1, 1 << 20);
    this.#engine = engine;
    this.#source = source;
    this.#multishot = !opts.singleShot && !source.singleOnly && FeatureDetector.supports(source.feature);
    this.#stats = { mode: this.#multishot ? 'multishot' : 'single-shot', items: 0, arms: 0, rearms: 0, bufferWaits: 0, pauses: 0, moreCqes: 0 };
    if (this.#signal !== undefined) {
      if (this.#signal.aborted) {
        this.#ended = true;
        this.#endError = abortError(this.#signal);
      } else {
        this.#onAbort = () => this.#stop('abort');
        this.#signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  stats(): MultiShotStats {
    return { ...this.#stats, mode: this.#multishot ? 'multishot' : 'single-shot' };
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#queue.length > 0) {
      const value = this.#queue.shift()!;
      this.#maybeResume();
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      const err = this.#endError;
      this.#endError = null;
      return err !== null ? Promise.reject(err) : Promise.resolve({ value: undefined, done: true });
    }
    if (!this.#started) {
      this.#started = true;
      if (this.#engine.closed) {
        this.#end(null); // the same as a close while iterating
        return this.next();
      }
      this.#arm();
      if (this.#ended) return this.next();
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** `break` lands here: cancels the kernel op and resolves once its final CQE has arrived. */
  async return(): Promise<IteratorResult<T>> {
    this.#stop('return');
    if (!this.#ended) await new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    this.#endError = null;
    return { value: undefined, done: true };
  }

  async throw(err?: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw err;
  }

  #stop(why: Stop): void {
    if (this.#ended) return;
    if (why !== 'pause') {
      // Nobody will consume what is queued: free it now.
      if (why !== 'limit') for (const item of this.#queue.splice(0)) this.#source.dispose(item);
      if (this.#stopping === null || this.#stopping === 'pause') this.#stopping = why;
    } else {
      if (this.#stopping !== null) return;
      this.#stopping = 'pause';
      this.#stats.pauses++;
    }
    if (this.#rec !== null) {
      this.#engine.abort(this.#rec); // the final CQE finishes the stop
    } else if (why !== 'pause') {
      this.#finishStop();
    }
  }

  #arm(): void {
    if (this.#ended || this.#rec !== null) return;
    if (this.#stopping !== null && this.#stopping !== 'pause') return this.#finishStop();
    if (this.#engine.closed) return this.#end(null);
    let rec: OpRecord | null;
    try {
      rec = this.#source.arm(this.#multishot);
    } catch (err) {
      return this.#end(err as Error);
    }
    if (rec === null) {
      this.#waitForResource();
      return;
    }
    rec.more = (r, res, flags) => this.#onCqe(r, res, flags, false);
    rec.settle = (r, res, flags) => {
      r.resolve(undefined);
      this.#onCqe(r, res, flags, true);
    };
    this.#rec = rec;
    this.#stats.arms++;
    this.#engine.enqueue(rec).catch((err: Error) => this.#onCancelled(rec!, err));
  }

  #waitForResource(): void {
    if (this.#waitingForResource) return;
    this.#waitingForResource = true;
    this.#stats.bufferWaits++;
    this.#source.whenResource!(() => {
      this.#waitingForResource = false;
      if (!this.#ended && !this.#paused) this.#arm();
    });
  }

  #onCqe(rec: OpRecord, res: number, flags: number, final: boolean): void {
    if (final && rec === this.#rec) this.#rec = null;
    if (flags & IORING_CQE_F_MORE) {
      this.#sawMore = true;
      this.#stats.moreCqes++;
    }
    let eof = false;
    if (res >= 0) {
      let item: T | 'eof';
      try {
        item = this.#source.item(rec, res, flags);
      } catch (err) {
        this.#source.drop(rec, flags);
        if (final) this.#end(err as Error);
        return;
      }
      if (item === 'eof') {
        eof = true;
      } else if (this.#ended || (this.#stopping !== null && this.#stopping !== 'pause') || this.#stats.items >= this.#maxItems) {
        this.#source.dispose(item);
      } else {
        this.#stats.items++;
        this.#deliver(item);
        if (this.#stats.items >= this.#maxItems) this.#stop('limit');
        else if (this.#queue.length >= this.#highWater) this.#stop('pause');
      }
    } else {
      this.#source.drop(rec, flags);
    }
    if (!final) return;
    if (eof) return this.#end(null);
    if (res < 0) {
      if (this.#stopping !== null && this.#stopping !== 'pause') return this.#finishStop();
      if (res === -ENOBUFS && this.#source.whenResource !== undefined) {
        // The caller holds every buffer. The data waits in the socket; go on at the next release.
        if (this.#stopping === 'pause') return this.#pausedNow();
        return this.#waitForResource();
      }
      if (res === -EINVAL && this.#multishot && !this.#sawMore) {
        // This kernel has no multishot variant of the op: re-armed single shots instead.
        this.#multishot = false;
        if (this.#stopping === 'pause') return this.#pausedNow();
        return this.#arm();
      }
      return this.#end(errnoError(res, this.#source.syscall));
    }
    if (this.#stopping === 'pause') return this.#pausedNow();
    if (this.#stopping !== null) return this.#finishStop();
    if (this.#queue.length >= this.#highWater) {
      this.#stats.pauses++;
      return this.#pausedNow();
    }
    // A result without F_MORE: the kernel ended the multishot early (or this is the single-shot path).
    if (this.#multishot) this.#stats.rearms++;
    this.#arm();
  }

  /** The engine rejected the op: a cancel we asked for was confirmed, or the ring closed. */
  #onCancelled(rec: OpRecord, err: Error): void {
    if (rec === this.#rec) this.#rec = null;
    if ((err as SaferRingError).code === 'ERR_RING_CLOSED') return this.#end(null);
    switch (this.#stopping) {
      case 'pause':
        return this.#pausedNow();
      case 'return':
      case 'abort':
      case 'limit':
        return this.#finishStop();
      default:
        return this.#end(err);
    }
  }

  #pausedNow(): void {
    this.#stopping = null;
    this.#paused = true;
    this.#maybeResume();
  }

  #maybeResume(): void {
    if (this.#paused && !this.#ended && this.#queue.length <= this.#highWater >> 1) {
      this.#paused = false;
      this.#arm();
    }
  }

  #finishStop(): void {
    const why = this.#stopping;
    this.#end(why === 'abort' ? abortError(this.#signal) : null);
  }

  #deliver(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve({ value: item, done: false });
    else this.#queue.push(item);
  }

  #end(err: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#onAbort !== null) {
      this.#signal!.removeEventListener('abort', this.#onAbort);
      this.#onAbort = null;
    }
    const waiters = this.#waiters.splice(0);
    if (err !== null && waiters.length > 0) waiters.shift()!.reject(err);
    else if (err !== null) this.#endError = err;
    for (const w of waiters) w.resolve({ value: undefined, done: true });
    for (const wake of this.#endWaiters.splice(0)) wake();
  }
}

// ---- sources ----

export function acceptSource(fd: number): Source<number> {
  return {
    syscall: 'accept',
    feature: 'multishotAccept',
    arm(multishot) {
      const rec = new OpRecord(multishot ? Op.ACCEPT_MULTISHOT : Op.ACCEPT, noSettle);
      rec.fd = fd;
      rec.flags = SOCK_CLOEXEC;
      return rec;
    },
    item: (_rec, res) => res,
    dispose(acceptedFd) {
      try {
        closeSync(acceptedFd);
      } catch {
        // already closed: nothing to free
      }
    },
    drop() {},
  };
}

export function recvSource(engine: Engine, fd: number, group: BufferGroup): Source<RecvMultiResult> {
  const plain = group.mode === 'plain';
  return {
    syscall: 'recv',
    feature: 'multishotRecv',
    singleOnly: plain,
    arm(multishot) {
      group.checkUsable(engine);
      if (plain) {
        const moved = group.lendPlain();
        if (moved === null) return null;
        const rec = new OpRecord(Op.RECV, noSettle);
        rec.fd = fd;
        rec.moved = moved;
        rec.chunk = moved.slot.chunk;
        rec.off = moved.slot.offset;
        rec.len = group.size;
        return rec;
      }
      const rec = new OpRecord(multishot ? Op.RECV_MULTISHOT : Op.RECV_SELECT, noSettle);
      rec.fd = fd;
      rec.arg = group.id;
      rec.len = multishot ? 0 : group.size;
      return rec;
    },
    item(rec, res, flags) {
      return groupResult(group, rec, res, flags) ?? 'eof';
    },
    dispose(item) {
      item.buffer.release();
    },
    drop(rec, flags) {
      dropGroupBuffer(engine, group, rec, flags);
    },
    whenResource: (wake) => group.whenReleased(wake),
  };
}

/**
 * A successful recv CQE as a result: the kernel's buffer (from the CQE flags)
 * or the buffer the group lent. Null at end of stream (0 bytes), after
 * handing the buffer straight back.
 */
export function groupResult(group: BufferGroup, rec: OpRecord, res: number, flags: number): RecvMultiResult | null {
  let buffer: GroupBuffer;
  if (rec.moved !== null) {
    buffer = restore(rec.moved) as GroupBuffer;
    rec.moved = null;
  } else if (flags & IORING_CQE_F_BUFFER) {
    buffer = group.takeKernelBuffer(flags);
  } else {
    if (res === 0) return null;
    throw new SaferRingError('ERR_INTERNAL', 'a buffer-select recv completed without a buffer');
  }
  if (res === 0) {
    buffer.release();
    return null;
  }
  return { bytesRead: res, buffer, bufferId: buffer.bufferId };
}

/** A failed recv: the buffer it was lent or given goes back to the group. */
export function dropGroupBuffer(engine: Engine, group: BufferGroup, rec: OpRecord, flags: number): void {
  if (rec.moved !== null) engine.releaseAll(rec, false);
  else if (flags & IORING_CQE_F_BUFFER) group.takeKernelBuffer(flags).release();
}

function noSettle(): void {}
