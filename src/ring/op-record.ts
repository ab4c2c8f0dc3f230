// One operation's bookkeeping, from the call until its completion is settled.
import type { Arena, Slot } from '../buffers/arena';
import type { MovedSlot } from '../buffers/owned-buffer';

export const enum OpState {
  Queued = 0, // waiting in JavaScript for a submit (or for ring space)
  Submitted = 1, // the kernel owns it; its slots are untouchable until the CQE
  Done = 2,
}

/** Turns a completion into the promise's outcome (and frees what the op used). `flags` are the CQE's. */
export type Settle = (rec: OpRecord, res: number, flags: number) => void;

/** Receives a multishot op's intermediate completions (those with IORING_CQE_F_MORE). */
export type More = (rec: OpRecord, res: number, flags: number) => void;

export class OpRecord {
  id = 0;
  gen = 0;
  state = OpState.Queued;
  // Descriptor fields (see descriptor.ts).
  op = 0;
  fd = -1;
  sqeFlags = 0;
  chunk = -1;
  off = 0;
  len = 0;
  pos = 0;
  /** A second position (fallocate's length, splice's output offset), in descriptor words 12..13. */
  pos2 = 0;
  flags = 0;
  arg = 0;
  chunk2 = -1;
  off2 = 0;
  len2 = 0;
  /** readv/writev: flat (chunk, offset, length) triples. */
  iovs: number[] | null = null;

  settle: Settle;
  /** Multishot ops: called for every CQE that has IORING_CQE_F_MORE; the final one goes to `settle`. */
  more: More | null = null;
  resolve: (value: any) => void = noop;
  reject: (err: Error) => void = noop;

  // Memory the op holds until its completion.
  moved: MovedSlot | null = null; // an OwnedBuffer moved into the op
  /**
   * Where `moved` goes when the op ends without giving it back (failed,
   * aborted, closed): null discards it to the arena at once; a
   * readOwnedMany call keeps its buffers until the whole call settles.
   */
  giveBack: ((moved: MovedSlot) => void) | null = null;
  temp: Slot | null = null; // a copy slot (or path) the op allocated
  temp2: Slot | null = null; // a second one (statx output, socket address)
  borrowed: Slot | null = null; // caller's arena memory lent without a copy
  borrowedParts: Slot[] | null = null; // readv/writev: every lent buffer
  extra: any = null; // op-specific: copy-back target, path for error messages, readv parts

  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | null = null;
  abortRequested = false; // AbortSignal fired while in flight: cancel sent, CQE awaited
  closing = false; // ring.close() cancelled it
  /** Its position in a readOwnedMany/writeOwnedMany call (see many.ts). */
  index = 0;
  /** Cancelled: reject with one shared error instead of a new one (the caller never shows it). */
  quietCancel = false;
  /** The ops of this op's batch, in order (shared by all of them): they go to the kernel in one submit. */
  group: OpRecord[] | null = null;
  /** performance.now() when queued; only set while metrics are collected. */
  t0 = 0;

  constructor(op: number, settle: Settle) {
    this.op = op;
    this.settle = settle;
  }
}

function noop(): void {}

/**
 * Gives back the memory an op used without owning it: its copy slots to the
 * arena, its borrows (lent caller memory) ended. A moved buffer is the
 * caller's business (restored on success, discarded on failure) and is left alone.
 */
export function releaseTemps(rec: OpRecord, arena: Arena): void {
  if (rec.temp !== null) {
    arena.release(rec.temp);
    rec.temp = null;
  }
  if (rec.temp2 !== null) {
    arena.release(rec.temp2);
    rec.temp2 = null;
  }
  if (rec.borrowed !== null) {
    arena.unborrow(rec.borrowed);
    rec.borrowed = null;
  }
  if (rec.borrowedParts !== null) {
    for (const s of rec.borrowedParts) arena.unborrow(s);
    rec.borrowedParts = null;
  }
}
