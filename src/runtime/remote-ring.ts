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
    for (let i = 0; i < count; i++) {
      const base = i * DESC_WORDS;
      const at = sq.offsetOf(tail);
      sq.data.set(d.subarray(base, base + DESC_WORDS), at);
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
        const k = Math.min(n, capacity);
        for (let i = 0; i < k; i++) {
          const at = cq.offsetOf(head + i);
          this.#comps.set(cq.data.subarray(at, at + CQ_RECORD_WORDS), i * COMPLETION_WORDS);
          if (!(this.#comps[i * COMPLETION_WORDS + 3] & IORING_CQE_F_MORE)) this.#inFlight--;
        }
        head += k;
        n -= k;
        cq.release(head);
        this.#onComplete(k);
      }
    }
    this.#pumping = false;
    worker.unref();
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
