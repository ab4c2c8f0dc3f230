// readOwnedMany / writeOwnedMany: N reads (or writes) of one fd at N
// positions, each with its own OwnedBuffer, for one call and one promise.
//
// Each read is still its own kernel op (one descriptor, one CQE), so it goes
// through the same arena checks, the same native range checks and the same
// quarantine until its completion as ring.readOwned. What is paid once per
// call instead of once per read is the JavaScript around it: one promise, one
// result object, one abort listener, one `await` in the caller. The records
// of a call reach the engine's queue together, so a flush writes them into
// the descriptor table back to back and one submit usually carries them all.
//
// Ownership: every buffer moves into the call (its handle goes dead, as with
// readOwned) and comes back as a new live handle in `buffers`, in the same
// order, once the kernel has given back every one of them. If any read fails,
// the call rejects with the first failure's error (by index) and every buffer
// is released to the arena, as readOwned releases the buffer of a failed read.
// A call's buffers go back to the arena together, when the call settles: one
// whose op was cancelled or failed early is held until the last op is over,
// so no new OwnedBuffer shares memory with a call still pending (a rule a
// caller, or a checking program, can rely on without knowing which op ran).
import { discard, MovedSlot, OwnedBuffer, peekSlot, restore, takeSlot, trueLength, untakeSlot } from '../buffers/owned-buffer';
import { errnoError, movedError, SaferRingError } from '../errors';
import { checkInteger, invalidType, invalidValue, outOfRange } from '../validate';
import { Op } from './descriptor';
import type { Engine } from './engine';
import { OpRecord } from './op-record';

export interface ManyOptions {
  signal?: AbortSignal;
}

export interface ReadManyResult<B extends OwnedBuffer = OwnedBuffer> {
  /** Bytes each read returned, in order (less than the buffer's length at end of file). */
  bytesRead: number[];
  /** The buffers, live again, in the order they were given. */
  buffers: B[];
}

export interface WriteManyResult<B extends OwnedBuffer = OwnedBuffer> {
  /** Bytes each write took, in order. */
  bytesWritten: number[];
  /** The buffers, live again, in the order they were given. */
  buffers: B[];
}

/** Positions as an Array or typed array of non-negative integers (numbers or bigints). */
export type Positions = ArrayLike<number | bigint>;

/** The most operations one call takes: beyond this, split the work into several calls. */
export const MAX_MANY = 65536;

/** One readOwnedMany/writeOwnedMany call in flight: what its records report into. */
class ManyCall {
  pending: number;
  readonly counts: number[];
  readonly buffers: OwnedBuffer[];
  /** Buffers of ops that ended without a result, held until the call settles (made on the first). */
  held: MovedSlot[] | null = null;
  readonly keep = (moved: MovedSlot): void => {
    (this.held ??= []).push(moved);
  };
  error: Error | null = null;
  errorIndex = MAX_MANY;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null = null;
  resolve!: (value: ReadManyResult & WriteManyResult) => void;
  reject!: (err: Error) => void;
  readonly write: boolean;
  /**
   * Every record's reject: the engine calls it for a failure it decides
   * itself (abort, close, a dead worker), which is not tied to a position.
   */
  readonly failOne = (err: Error): void => {
    if (this.error === null) this.error = err;
    this.done();
  };

  constructor(n: number, write: boolean) {
    this.pending = n;
    this.counts = new Array<number>(n).fill(0);
    this.buffers = new Array<OwnedBuffer>(n);
    this.write = write;
  }

  /**
   * The op at `index` failed with -errno `res`. The call reports the failure
   * of the lowest index; an abort or close, once seen, is what it reports.
   */
  failAt(index: number, res: number): void {
    if (this.error === null || (this.errorIndex < MAX_MANY && index < this.errorIndex)) {
      this.error = errnoError(res, this.write ? 'write' : 'read');
      (this.error as SaferRingError).index = index;
      this.errorIndex = index;
    }
    this.done();
  }

  /** Every buffer the call holds for ops that ended without a result goes back to the arena. */
  dropHeld(): void {
    if (this.held === null) return;
    for (const moved of this.held) discard(moved);
    this.held = null;
  }

  done(): void {
    if (--this.pending > 0) return;
    if (this.onAbort !== null) {
      this.signal!.removeEventListener('abort', this.onAbort);
      this.onAbort = null;
    }
    if (this.error !== null) {
      // Every op is over: the kernel holds none of these buffers any more.
      for (const b of this.buffers) b?.release();
      this.dropHeld();
      this.reject(this.error);
      return;
    }
    this.resolve(
      this.write
        ? ({ bytesWritten: this.counts, buffers: this.buffers } as unknown as ReadManyResult & WriteManyResult)
        : ({ bytesRead: this.counts, buffers: this.buffers } as unknown as ReadManyResult & WriteManyResult),
    );
  }
}

/** Settle for each op of a call: its result into the call's arrays, its buffer back as a live handle. */
function settleMany(rec: OpRecord, res: number): void {
  const call = rec.extra as ManyCall;
  const moved = rec.moved as MovedSlot;
  rec.moved = null;
  if (res < 0) {
    call.keep(moved);
    call.failAt(rec.index, res);
    return;
  }
  call.counts[rec.index] = res;
  call.buffers[rec.index] = restore(moved);
  call.done();
}

function positionAt(positions: Positions, i: number): number {
  const p = positions[i] as unknown;
  if (typeof p === 'number' && Number.isSafeInteger(p) && p >= 0) return p; // the common case, without building a name
  return checkInteger(`positions[${i}]`, typeof p === 'bigint' ? Number(p) : p, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Checks a call's arguments and moves every buffer into a record. An argument
 * error moves nothing: the buffers moved before it are put back in their own
 * handles. `fd` is already checked (a plain fd, or a fixed-file index with
 * `sqeFlags` saying so).
 */
function buildRecords(op: Op, fd: number, sqeFlags: number, buffers: readonly OwnedBuffer[], positions: Positions): OpRecord[] {
  if (!Array.isArray(buffers)) throw invalidType('buffers', 'an Array of OwnedBuffer', buffers);
  const n = buffers.length;
  if (positions === null || typeof positions !== 'object' || typeof (positions as { length?: unknown }).length !== 'number') {
    throw invalidType('positions', 'an Array or a typed array of positions', positions);
  }
  if (positions.length !== n) throw invalidValue('positions', `must hold one position per buffer (${n})`, positions);
  if (n > MAX_MANY) throw outOfRange('buffers.length', `<= ${MAX_MANY}`, n);
  const recs = new Array<OpRecord>(n);
  let i = 0;
  try {
    for (; i < n; i++) {
      const b = buffers[i];
      if (!(b instanceof OwnedBuffer)) throw invalidType(`buffers[${i}]`, 'an instance of OwnedBuffer', b);
      const length = trueLength(b);
      const slot = peekSlot(b);
      if (slot === null) {
        // Listed twice: the first mention moved it.
        if (buffers.indexOf(b) < i) throw invalidValue('buffers', `holds the same buffer twice (index ${i})`);
        throw movedError();
      }
      // The slot's own geometry is the last word, as in readOwned.
      if (length > slot.capacity) throw outOfRange(`buffers[${i}].length`, `<= ${slot.capacity}`, length);
      const position = positionAt(positions, i);
      const moved = takeSlot(b);
      const rec = new OpRecord(op, settleMany);
      rec.fd = fd;
      rec.sqeFlags = sqeFlags;
      rec.moved = moved;
      rec.chunk = moved.slot.chunk;
      rec.off = moved.slot.offset;
      rec.len = length;
      rec.pos = position;
      rec.index = i;
      recs[i] = rec;
    }
  } catch (err) {
    for (let j = i - 1; j >= 0; j--) untakeSlot(buffers[j], recs[j].moved!);
    throw err;
  }
  return recs;
}

/**
 * Runs one readOwnedMany (op READ) or writeOwnedMany (op WRITE) call on
 * `engine`. Argument errors reject before anything moves.
 */
export function runMany(
  engine: Engine, op: Op, fd: number, sqeFlags: number, buffers: readonly OwnedBuffer[], positions: Positions, signal: AbortSignal | undefined,
): Promise<ReadManyResult & WriteManyResult> {
  let recs: OpRecord[];
  try {
    recs = buildRecords(op, fd, sqeFlags, buffers, positions);
  } catch (err) {
    return Promise.reject(err);
  }
  const n = recs.length;
  if (n === 0) return Promise.resolve({ bytesRead: [], bytesWritten: [], buffers: [] });
  const call = new ManyCall(n, op === Op.WRITE);
  const promise = new Promise<ReadManyResult & WriteManyResult>((resolve, reject) => {
    call.resolve = resolve;
    call.reject = reject;
  });
  for (const rec of recs) {
    rec.extra = call;
    rec.reject = call.failOne;
    rec.signal = signal;
    rec.giveBack = call.keep; // an op that ends without a result leaves its buffer with the call
  }
  const refused = engine.enqueueMany(recs, signal);
  if (refused !== null) {
    // Nothing was queued, and nothing will settle the call: its buffers go back now.
    call.dropHeld();
    return Promise.reject(refused);
  }
  if (signal !== undefined) {
    // One listener for the whole call: queued ops are dropped, in-flight ones
    // cancelled in the kernel; the call rejects once every op is over.
    call.signal = signal;
    call.onAbort = () => {
      for (const rec of recs) if (engine.holds(rec)) engine.abort(rec);
    };
    signal.addEventListener('abort', call.onAbort, { once: true });
  }
  return promise;
}

