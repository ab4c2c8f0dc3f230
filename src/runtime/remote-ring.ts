// RemoteRing: the dispatcher's stand-in for a worker's native ring. It has the
// NativeRing interface, so an Engine (and the Ring API on top of it) runs on
// the main thread unchanged while the io_uring itself lives in the worker:
// submit() copies descriptors into the worker's submission queue, and a
// completion pump feeds the worker's completions back to the engine.
import type { Worker } from 'node:worker_threads';
import type { NativeRing, NativeRingConstructor, NativeRingInfo } from '../native';
import { SaferRingError } from '../errors';
import { D_CHUNK2, D_LEN2, D_OP, DESC_WORDS, IOV_WORDS, IORING_CQE_F_MORE, COMPLETION_WORDS, Op } from '../ring/descriptor';
import { SharedQueue, USER_WORD } from './shared-queue';
import { CQ_OVERFLOW_WORD, CQ_RECORD_WORDS, IOVS_INLINE, SQ_FLAGS_WORD, SQ_RECORD_WORDS } from './protocol';

/** The dispatcher's end of one worker: its thread and its two queues. */
export interface WorkerChannel {
  worker: Worker;
  sq: SharedQueue;
  cq: SharedQueue;
  info: NativeRingInfo;
  /** Cross-thread wake-ups that never came, found and replaced by the watchdog (either direction). */
  lostWakeups: number;
}

/** Completions delivered per step of the pump (see #pump). */
const DELIVERY_CHUNK = 16;

/**
 * The watchdog for lost wake-ups (see shared-queue.ts): while any ring has
 * ops in flight, it looks every WATCH_MS. A wait that is still pending on
 * records already published at two looks in a row is ended: the event loop
 * turned in between (this check runs from a timer), so a wake-up posted
 * before the first look would have run; the wake-up was lost, or its
 * producer has not sent it yet (see lookForLostWakeups).
 */
const WATCH_MS = 50;
const watched = new Set<RemoteRing>();
let watchdog: ReturnType<typeof setInterval> | null = null;

function watch(ring: RemoteRing): void {
  watched.add(ring);
  if (watchdog === null) {
    watchdog = setInterval(look, WATCH_MS);
    watchdog.unref();
  }
}

/** The timer stops at its first look with nothing to watch, not when a pump ends: at one op in flight a pump ends per op. */
function unwatch(ring: RemoteRing): void {
  watched.delete(ring);
}

function look(): void {
  if (watched.size === 0) {
    clearInterval(watchdog!);
    watchdog = null;
    return;
  }
  for (const r of watched) r.lookForLostWakeups();
}

export function remoteRingClass(channel: WorkerChannel): NativeRingConstructor {
  return class extends RemoteRing {
    constructor(entries: number, _flags: number, _idle: number, desc: Int32Array, comps: Int32Array, iovs: Int32Array, onComplete: (n: number) => void) {
      super(channel, desc, comps, iovs, onComplete);
    }
  };
}

class RemoteRing implements NativeRing {
  #channel: WorkerChannel;
  #desc: Int32Array;
  #comps: Int32Array;
  #iovs: Int32Array;
  #onComplete: (n: number) => void;
  #inFlight = 0;
  #pumping = false;
  #live = true;
  /**
   * At the watchdog's previous look: the pump's overdue wait (0: none), and
   * whether its producer had notified by then; the head the worker had not
   * taken records past (-1: none).
   */
  #cqOverdue = 0;
  #cqNotified = false;
  #sqStuckAt = -1;

  constructor(channel: WorkerChannel, desc: Int32Array, comps: Int32Array, iovs: Int32Array, onComplete: (n: number) => void) {
    this.#channel = channel;
    this.#desc = desc;
    this.#comps = comps;
    this.#iovs = iovs;
    this.#onComplete = onComplete;
  }

  addChunk(index: number, view: Uint8Array, slotSize: number): boolean {
    // Announce first: the worker then knows a descriptor naming this chunk must wait for the message.
    const { sq, worker } = this.#channel;
    Atomics.store(sq.header, USER_WORD, Math.max(Atomics.load(sq.header, USER_WORD), index + 1));
    worker.postMessage({ type: 'chunk', index, view, slotSize });
    return false;
  }

  submit(count: number): number {
    if (!this.#live) throw new SaferRingError('ERR_RING_CLOSED', 'the worker ring is closed');
    const { sq } = this.#channel;
    const d = this.#desc;
    let records = 0;
    for (let i = 0; i < count; i++) records += 1 + this.#iovRecords(i);
    let tail = sq.tail;
    if (sq.freeSlots(tail) < records) throw new SaferRingError('ERR_RING_BUSY', 'the worker submission queue is full');
    const data = sq.data;
    for (let i = 0; i < count; i++) {
      const base = i * DESC_WORDS;
      const at = sq.offsetOf(tail);
      // Word by word: a subarray per descriptor would allocate, and cost more than the copy.
      for (let w = 0; w < DESC_WORDS; w++) data[at + w] = d[base + w];
      tail++;
      const extra = this.#iovRecords(i);
      if (extra > 0) {
        // iovec triples travel inline, in the records after their descriptor.
        const words = d[base + D_LEN2] * IOV_WORDS;
        const start = d[base + D_CHUNK2] * IOV_WORDS;
        sq.data[at + D_CHUNK2] = IOVS_INLINE;
        for (let w = 0; w < words; w++) {
          const c = tail + Math.floor(w / SQ_RECORD_WORDS);
          sq.data[sq.offsetOf(c) + (w % SQ_RECORD_WORDS)] = this.#iovs[start + w];
        }
        tail += extra;
      }
    }
    sq.publish(tail);
    this.#inFlight += count;
    if (!this.#pumping) void this.#pump();
    return count;
  }

  #iovRecords(i: number): number {
    const base = i * DESC_WORDS;
    const op = this.#desc[base + D_OP];
    if (op !== Op.READV && op !== Op.WRITEV) return 0;
    return Math.ceil((this.#desc[base + D_LEN2] * IOV_WORDS) / SQ_RECORD_WORDS);
  }

  /** Delivers the worker's completions while anything is in flight; holds the process open meanwhile. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    const { cq, worker } = this.#channel;
    worker.ref();
    watch(this);
    // Never deliver from inside submit(): the engine is mid-flush there.
    await null;
    const capacity = this.#comps.length / COMPLETION_WORDS;
    while (this.#live && this.#inFlight > 0) {
      let head = cq.head;
      let n = cq.available(head);
      if (n === 0) {
        await cq.waitForData(head);
        continue;
      }
      while (n > 0 && this.#live) {
        const k = Math.min(n, capacity, DELIVERY_CHUNK);
        const comps = this.#comps;
        const data = cq.data;
        for (let i = 0; i < k; i++) {
          const at = cq.offsetOf(head + i);
          const c = i * COMPLETION_WORDS;
          comps[c] = data[at];
          comps[c + 1] = data[at + 1];
          comps[c + 2] = data[at + 2];
          comps[c + 3] = data[at + 3];
          if (!(comps[c + 3] & IORING_CQE_F_MORE)) this.#inFlight--;
        }
        head += k;
        n -= k;
        cq.release(head);
        this.#onComplete(k);
        // Let this chunk's continuations run, and the ops they start go out
        // to the worker, before the next chunk: the worker then has work
        // while this thread delivers the rest.
        if (n > 0) await null;
      }
    }
    this.#pumping = false;
    unwatch(this);
    worker.unref();
  }

  /** The watchdog's look (see WATCH_MS): ends a wait whose wake-up was lost, or has the worker end its own. */
  lookForLostWakeups(): void {
    const { cq, sq, worker } = this.#channel;
    const overdue = cq.overdueWait();
    if (overdue !== 0 && overdue === this.#cqOverdue) {
      // Ended either way. Lost for certain only if the worker's notify had
      // returned by the previous look: a turn of the loop since would have run
      // its wake-up. (Otherwise the worker may have been descheduled between
      // publishing and notifying, and the wake-up may be on its way.)
      if (cq.rescue(overdue) && this.#cqNotified) this.#channel.lostWakeups++;
      this.#cqOverdue = 0;
      this.#cqNotified = false;
    } else {
      this.#cqOverdue = overdue;
      this.#cqNotified = overdue !== 0 && cq.notifiedDuringWait();
    }
    // Records the worker has not taken, at the same head as at the last look:
    // if it sleeps on them, only it can end its wait (it answers 'rescued').
    const head = sq.head;
    if (sq.available(head) === 0) this.#sqStuckAt = -1;
    else if (this.#sqStuckAt !== head) this.#sqStuckAt = head;
    else if (this.#live) {
      this.#sqStuckAt = -1;
      worker.postMessage({ type: 'wake' });
    }
  }

  destroy(): void {
    if (!this.#live) return;
    this.#live = false;
    this.#channel.worker.postMessage({ type: 'close' });
  }

  /** The worker is gone: stop delivering (the runtime fails the engine's ops). */
  abandon(): void {
    this.#live = false;
  }

  registerFiles(): number {
    throw new SaferRingError('ERR_UNSUPPORTED_OPERATION', 'registered files are per ring; use a Ring on the thread that owns the fds');
  }

  updateFiles(): number {
    return this.registerFiles();
  }

  unregisterFiles(): void {
    this.registerFiles();
  }

  inFlight(): number {
    return this.#inFlight;
  }

  info(): NativeRingInfo {
    const { cq } = this.#channel;
    return {
      ...this.#channel.info,
      live: this.#live,
      cqOverflow: Atomics.load(cq.header, CQ_OVERFLOW_WORD) >>> 0,
      sqFlags: Atomics.load(cq.header, SQ_FLAGS_WORD),
    };
  }
}
