// What the dispatcher (main thread) and a ring worker share.
import { DESC_WORDS, COMPLETION_WORDS } from '../ring/descriptor';

/** Submission records are descriptors (16 words); readv/writev iovecs follow inline in extra records. */
export const SQ_RECORD_WORDS = DESC_WORDS;
/** Completion records: id, generation, result, flags. */
export const CQ_RECORD_WORDS = COMPLETION_WORDS;
/** D_CHUNK2 value meaning "this descriptor's iovec triples follow in the next records". */
export const IOVS_INLINE = -2;

export interface RingWorkerData {
  sq: SharedArrayBuffer;
  sqCapacity: number;
  cq: SharedArrayBuffer;
  cqCapacity: number;
  entries: number;
  setupFlags: number;
  sqThreadIdleMs: number;
  backend: 'io_uring' | 'fallback';
  /** The longest the worker watches its queue for more work after a batch, in µs (0: never). */
  spinMicros: number;
  /** Watch only about as long as work has recently taken to come (src/runtime/spin.ts). */
  adaptiveSpin: boolean;
  /** Publish the ring's kernel counters (CQ overflow, SQ flags) in the completion queue's header after each batch. */
  kernelCounters: boolean;
}

/** Completion-queue header words the worker publishes its kernel counters in (when asked to). */
export const CQ_OVERFLOW_WORD = 48;
export const SQ_FLAGS_WORD = 49;

export type ToWorker =
  | { type: 'chunk'; index: number; view: Uint8Array; slotSize: number }
  | { type: 'close' }
  /** The dispatcher's watchdog saw published records stay untaken: end the queue wait if its wake-up was lost. */
  | { type: 'wake' };

export type FromWorker =
  | { type: 'ready'; flags: number; sqEntries: number; cqEntries: number; fixedBufferSlots: number }
  | { type: 'failed'; code: string; message: string }
  /** The kernel refused to register an arena chunk as a fixed buffer (positive errno): the dispatcher warns once. */
  | { type: 'unregistered'; errno: number }
  /** A 'wake' found the worker waiting on records already there: its wake-up had been lost. */
  | { type: 'rescued' };
