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
}

export type ToWorker =
  | { type: 'chunk'; index: number; view: Uint8Array }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; flags: number; sqEntries: number; cqEntries: number; fixedBufferSlots: number }
  | { type: 'failed'; code: string; message: string };
