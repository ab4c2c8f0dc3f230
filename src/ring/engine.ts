// The submission/completion engine behind Ring: one native io_uring, the
// operation table, the JavaScript-side queue, and the completion dispatch.
//
// Data path: an op method fills an OpRecord and calls enqueue(); the first
// enqueue of a turn schedules flush() as a microtask, so everything queued in
// that turn goes to the kernel in one submit. The native layer watches the
// ring's eventfd on this thread's libuv loop and calls onComplete(n) with a
// batch of CQEs copied into `completions`; each is matched to its record by
// (id, generation) and settled.
import { constants as osConstants } from 'node:os';
import { Arena } from '../buffers/arena';
import { discard } from '../buffers/owned-buffer';
import { abortError, closedError, errnoError, SaferRingError } from '../errors';
import type { NativeRing, NativeRingConstructor, NativeRingInfo } from '../native';
import {
  COMPLETION_WORDS, DESC_WORDS, D_ARG, D_CHUNK, D_CHUNK2, D_FD, D_FLAGS, D_GEN, D_ID, D_LEN, D_LEN2,
  D_OFF, D_OFF2, D_OP, D_POS_F64, D_POS2_F64, D_SQE_FLAGS, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, IOV_WORDS, Op, OP_SYSCALL,
} from './descriptor';
import { OpRecord, OpState, releaseTemps } from './op-record';
import type { PerformanceMetrics } from '../metrics';
import { LogLevel, LogSink, SILENT } from '../logging';
import { warnUnregisteredBuffers } from '../buffers/registration-warning';

const ECANCELED = osConstants.errno.ECANCELED;
const EINTR = osConstants.errno.EINTR;
const IOV_CAPACITY_WORDS = 4096 * IOV_WORDS;
/**
 * Completions flush() may deliver straight after its submit before the event
 * loop must turn again. Page-cached reads complete inside io_uring_submit, and
 * their continuations submit again at once: without a bound, such a chain
 * would run in one microtask checkpoint forever and starve timers and I/O.
 */
const INLINE_BUDGET = Number(process.env.SAFER_RING_INLINE_BUDGET ?? 1024);
/** Schedules a microtask without queueMicrotask's per-call AsyncResource. */
const resolved = Promise.resolve();

/** @internal How a Ring hands its Engine to the pieces built on it (buffer groups). */
export const kEngine = Symbol('safer-ring.engine');

export interface EngineOptions {
  entries: number;
  setupFlags: number;
  sqThreadIdleMs: number;
  /** Collects per-op metrics when set; null: no timestamps are taken at all. */
  metrics?: PerformanceMetrics | null;
  /** Where op-level records go (trace: every completion; debug: failures and full-ring flushes). */
  log?: LogSink;
  /**
   * Most ops in flight at once. Default: the completion queue's size, so the
   * kernel never has to hold a completion back. A layer whose ops live long
   * (a socket's multishot recv) raises it on kernels that keep overflowing
   * completions instead of dropping them (IORING_FEAT_NODROP, 5.5+).
   */
  maxInFlight?: number;
  /**
   * Every completion comes from the event loop (the ring's eventfd), never at
   * submit: for a layer that promises node's own ordering, where each
   * operation takes at least one turn of the loop, as libuv's do (an abort
   * from a setImmediate between two steps of readFile must be seen).
   */
  loopDelivery?: boolean;
}

export interface EngineStats {
  /** Submitted to the kernel, completion not yet reaped. */
  inFlight: number;
  /** Waiting in JavaScript for ring space. */
  queued: number;
  /** Aborted or closed while in flight: their memory stays quarantined until the kernel answers. */
  orphans: number;
  submitted: number;
  completed: number;
  submitCalls: number;
  /** Flushes that left ops waiting in JavaScript because the ring (SQ or CQ) had no room. */
  sqFull: number;
}

export class Engine {
  readonly native: NativeRing;
  readonly arena = Arena.forThread();
  readonly sqEntries: number;
  readonly cqEntries: number;
  readonly maxInFlight: number;
  closed = false;
  /** Buffer groups registered on this ring, by group id. */
  readonly groups = new Map<number, import('../buffers/buffer-group').BufferGroup>();

  private readonly desc: Int32Array;
  private readonly descF64: Float64Array;
  private readonly completions: Int32Array;
  private readonly iovs: Int32Array;
  private readonly table: (OpRecord | undefined)[] = [];
  private readonly gens: number[] = [];
  private readonly freeIds: number[] = [];
  /** Ops waiting for the kernel from queueHead on; the slots before it are emptied as ops are taken (see takeHead). */
  private queue: (OpRecord | undefined)[] = [];
  private queueHead = 0;
  private urgent: OpRecord[] = []; // cancels: never wait behind ordinary work
  private inFlight = 0;
  private orphans = 0;
  private knownChunks = 0;
  private flushScheduled = false;
  private closePromise: Promise<void> | null = null;
  private closeResolve: (() => void) | null = null;
  private destroyed = false;
  private retryAfterCompletion = false;
  /** Inside onComplete: flushes wait for the end of the batch (see scheduleFlush). */
  private dispatching = false;
  private counters = { submitted: 0, completed: 0, submitCalls: 0, sqFull: 0 };
  private readonly metrics: PerformanceMetrics | null;
  private readonly log: LogSink;
  /** Log level at which completions are logged: Trace (all), Debug (failures), or Off. */
  private readonly opLog: LogLevel;
  /** Run once the native ring is destroyed (the kernel holds nothing of ours any more). */
  private readonly destroyHooks: (() => void)[] = [];
  private readonly flushBound = () => this.flush();
  /**
   * The native ring can hand over completions already posted (submitAndReap):
   * the inline io_uring ring, until it carries callback-based ops (see
   * enqueueCallback).
   */
  private canReap: boolean;
  /** Completions flush() may still deliver itself before the event loop turns (see INLINE_BUDGET). */
  private inlineLeft = INLINE_BUDGET;
  // The native ring holds this callback weakly while idle (so an unreferenced
  // Ring can be collected); the engine's own reference keeps it alive. It runs
  // from the event loop (the ring's eventfd), so the loop has turned: the
  // inline budget starts over.
  private readonly completionHandler = (n: number) => {
    this.inlineLeft = INLINE_BUDGET;
    this.onComplete(n);
  };

  /** `ringClass` is the addon's NativeRing, or a RemoteRing that forwards to a worker thread. */
  constructor(ringClass: NativeRingConstructor, options: EngineOptions) {
    // The descriptor array holds one SQ's worth; completions one CQ's worth.
    // SharedArrayBuffers, though no other thread sees them: they can never be
    // detached or moved, so the native ring takes their addresses once
    // instead of looking them up on every call.
    const descBuffer = new SharedArrayBuffer(options.entries * DESC_WORDS * 4);
    this.desc = new Int32Array(descBuffer);
    this.descF64 = new Float64Array(descBuffer);
    this.completions = new Int32Array(new SharedArrayBuffer(options.entries * 2 * COMPLETION_WORDS * 4));
    this.iovs = new Int32Array(new SharedArrayBuffer(IOV_CAPACITY_WORDS * 4));
    this.metrics = options.metrics ?? null;
    this.log = options.log ?? SILENT;
    this.opLog = this.log.enabled(LogLevel.Trace) ? LogLevel.Trace : this.log.enabled(LogLevel.Debug) ? LogLevel.Debug : LogLevel.Off;
    this.native = new ringClass(
      options.entries, options.setupFlags, options.sqThreadIdleMs,
      this.desc, this.completions, this.iovs, this.completionHandler,
    );
    const info = this.native.info();
    this.sqEntries = Math.min(info.sqEntries!, options.entries);
    this.cqEntries = info.cqEntries!;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? this.cqEntries);
    this.canReap = typeof this.native.submitAndReap === 'function' && typeof this.native.reap === 'function' && INLINE_BUDGET > 0 &&
      options.loopDelivery !== true;
  }

  info(): NativeRingInfo {
    return this.native.info();
  }

  stats(): EngineStats {
    return {
      inFlight: this.inFlight,
      queued: this.queue.length - this.queueHead,
      orphans: this.orphans,
      ...this.counters,
    };
  }

  /** Registers `hook` to run when the native ring is torn down (at once if it already is). */
  onDestroy(hook: () => void): void {
    if (this.destroyed) hook();
    else this.destroyHooks.push(hook);
  }

  /** True while the native ring is up (closing or not). */
  get live(): boolean {
    return !this.destroyed;
  }

  /** Makes every arena chunk known to the native ring (before naming one outside a descriptor). */
  ensureChunks(): void {
    if (this.knownChunks < this.arena.chunks.length) this.syncChunks();
  }

  /** Ops submitted or waiting: what routing compares to find the least-loaded ring. */
  get load(): number {
    return this.inFlight + this.queue.length - this.queueHead;
  }

  /**
   * Queues ops that must reach the kernel in one submit, in order (a batch,
   * possibly linked with IOSQE_IO_LINK). The flush never splits a group.
   */
  enqueueGroup(recs: { rec: OpRecord; signal?: AbortSignal }[]): Promise<unknown>[] {
    if (recs.length > this.sqEntries) {
      for (const { rec } of recs) this.releaseAll(rec, false);
      const err = SaferRingError.for('ERR_OUT_OF_RANGE', `a batch holds at most ${this.sqEntries} operations (the ring's entries)`);
      return recs.map(() => Promise.reject(err));
    }
    const group = recs.map(({ rec }) => rec);
    for (const rec of group) rec.group = group;
    return recs.map(({ rec, signal }) => this.enqueue(rec, signal));
  }

  /** Fails every op this engine holds, e.g. when the worker thread behind it died. Its ring must already be torn down. */
  failAll(error: () => Error): void {
    for (const rec of [...this.table]) {
      if (rec === undefined || rec.state === OpState.Done) continue;
      const wasSubmitted = rec.state === OpState.Submitted;
      this.finish(rec);
      if (wasSubmitted) this.inFlight--;
      if (rec.abortRequested) this.orphans--;
      this.releaseAll(rec, false);
      rec.reject(error());
    }
    this.queue = [];
    this.queueHead = 0;
    this.urgent = [];
    this.closed = true;
    this.destroyed = true;
    this.runDestroyHooks();
    if (this.closeResolve !== null) {
      this.closeResolve();
      this.closeResolve = null;
    }
  }

  /** Queues an op and returns the promise its completion settles. */
  enqueue<T>(rec: OpRecord, signal?: AbortSignal): Promise<T> {
    if (this.closed) {
      this.releaseAll(rec, false);
      return Promise.reject(closedError());
    }
    if (signal !== undefined && signal.aborted) {
      this.releaseAll(rec, false);
      return Promise.reject(abortError(signal));
    }
    this.assignId(rec);
    if (this.metrics !== null) rec.t0 = performance.now();
    const promise = new Promise<T>((resolve, reject) => {
      rec.resolve = resolve;
      rec.reject = reject;
    });
    if (signal !== undefined) {
      rec.signal = signal;
      rec.onAbort = () => this.abort(rec);
      signal.addEventListener('abort', rec.onAbort, { once: true });
    }
    this.queue.push(rec);
    this.scheduleFlush();
    return promise;
  }

  /**
   * Queues independent ops that share one caller-made promise (readOwnedMany):
   * each record's `reject` (and `settle`) report into it, and its `signal`
   * only names the abort reason, the caller listening once for all of them.
   * Returns null, or the error the call must reject with when the engine
   * takes nothing (closed, or the signal already aborted); then the records'
   * memory is released.
   */
  enqueueMany(recs: OpRecord[], signal?: AbortSignal): Error | null {
    if (this.closed || (signal !== undefined && signal.aborted)) {
      for (const rec of recs) this.releaseAll(rec, false);
      return this.closed ? closedError() : abortError(signal);
    }
    const t0 = this.metrics !== null ? performance.now() : 0;
    for (const rec of recs) {
      this.assignId(rec);
      rec.t0 = t0;
      this.queue.push(rec);
    }
    this.scheduleFlush();
    return null;
  }

  /**
   * @internal Queues an op that reports by callback, without a promise: the
   * caller sets `rec.resolve`/`rec.reject` (and `settle`, `more`) before. For
   * layers that complete many ops per turn (sockets). Returns false, having
   * freed the op's memory, if the engine is closed.
   */
  enqueueCallback(rec: OpRecord): boolean {
    if (this.closed) {
      this.releaseAll(rec, false);
      return false;
    }
    // Such a layer (sockets) runs its handlers expecting node's I/O callback
    // context, draining the tick queue between completions: its ring keeps
    // to eventfd delivery, from the event loop, instead of completions at submit.
    this.canReap = false;
    this.assignId(rec);
    if (this.metrics !== null) rec.t0 = performance.now();
    this.queue.push(rec);
    this.scheduleFlush();
    return true;
  }

  /** True while `rec` is one of this engine's live ops. */
  holds(rec: OpRecord): boolean {
    return rec.state !== OpState.Done && this.table[rec.id] === rec;
  }

  /** Cancels one op: dropped if still queued, IORING_OP_ASYNC_CANCEL if in flight. */
  abort(rec: OpRecord): void {
    if (rec.state === OpState.Queued) {
      this.finish(rec);
      this.releaseAll(rec, false);
      rec.reject(rec.quietCancel ? QUIET_CANCEL : abortError(rec.signal));
    } else if (rec.state === OpState.Submitted && !rec.abortRequested) {
      rec.abortRequested = true;
      this.orphans++;
      this.submitCancel(rec);
    }
  }

  /**
   * Stops accepting work and settles once the kernel is done with every
   * buffer. By default queued ops are rejected and in-flight ones cancelled;
   * with `drain`, everything already accepted runs to completion first.
   */
  close(drain = false): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closed = true;
    this.closePromise = new Promise<void>((resolve) => {
      this.closeResolve = resolve;
    });
    if (drain) {
      this.maybeFinishClose();
      return this.closePromise;
    }
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const rec = this.queue[i]!;
      if (rec.state !== OpState.Queued) continue;
      this.finish(rec);
      this.releaseAll(rec, false);
      rec.reject(closedError());
    }
    this.queue = [];
    this.queueHead = 0;
    for (const rec of this.table) {
      if (rec === undefined || rec.state !== OpState.Submitted || rec.op === Op.CANCEL) continue;
      rec.closing = true;
      if (!rec.abortRequested) this.orphans++;
      rec.abortRequested = true;
      this.submitCancel(rec);
    }
    this.maybeFinishClose();
    return this.closePromise;
  }

  /** Frees the memory an op held: moved buffers go home (the caller gave them up), copies back to the arena. */
  releaseAll(rec: OpRecord, keepMoved: boolean): void {
    if (rec.moved !== null && !keepMoved) {
      if (rec.giveBack !== null) rec.giveBack(rec.moved);
      else discard(rec.moved);
    }
    rec.moved = null;
    releaseTemps(rec, this.arena);
  }

  private assignId(rec: OpRecord): void {
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.table.length;
      this.table.push(undefined);
      this.gens.push(0);
    }
    rec.id = id;
    rec.gen = this.gens[id] = (this.gens[id] + 1) | 0;
    this.table[id] = rec;
  }

  private finish(rec: OpRecord): void {
    rec.state = OpState.Done;
    this.table[rec.id] = undefined;
    this.freeIds.push(rec.id);
    if (rec.onAbort !== null) {
      rec.signal!.removeEventListener('abort', rec.onAbort);
      rec.onAbort = null;
    }
  }

  private submitCancel(target: OpRecord): void {
    const rec = new OpRecord(Op.CANCEL, settleInternalCancel);
    rec.off2 = target.id;
    rec.len2 = target.gen;
    this.assignId(rec);
    if (this.metrics !== null) rec.t0 = performance.now();
    this.urgent.push(rec);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // While a batch of completions is being delivered, ops its callbacks
      // start (directly, or from ticks and microtasks a caller runs in
      // between) go out in one submit at the end of the batch. Otherwise a
      // microtask: a resolved promise's then(), not queueMicrotask, which
      // builds an AsyncResource per call.
      if (!this.dispatching) void resolved.then(this.flushBound);
    }
  }

  /**
   * Writes queued ops as descriptors and submits them: one submit per batch
   * of up to sqEntries. Then delivers what completed during the submits
   * (completions at submit), and goes round again while that delivery queued
   * more work and the inline budget lasts: a loop, not a recursion through
   * onComplete. (Measured against delivering them from a process.nextTick:
   * 2.35 against 3.18 us per read at one read in flight.)
   */
  flush(): void {
    for (;;) {
      this.flushScheduled = false;
      const n = this.submitQueued();
      if (n <= 0) return;
      this.inlineLeft -= n;
      this.dispatching = true;
      try {
        this.dispatch(n);
      } finally {
        this.dispatching = false;
      }
      if (!this.flushScheduled) return;
    }
  }

  /** flush()'s submits; returns how many completions the last one reaped with it (0: none, or not asked). */
  private submitQueued(): number {
    if (this.destroyed) return 0;
    if (this.knownChunks < this.arena.chunks.length) this.syncChunks();
    // Whether this flush delivers what completes during its submits itself.
    const reapAfter = this.canReap && this.inlineLeft > 0;
    let submitted = false;
    let reaped = -1; // completions the last submit of this flush reaped with it
    for (;;) {
      const batch: OpRecord[] = [];
      let iovWords = 0;
      while (batch.length < this.sqEntries && this.urgent.length > 0) batch.push(this.urgent.shift()!);
      while (
        batch.length < this.sqEntries &&
        this.queueHead < this.queue.length &&
        this.inFlight + batch.length < this.maxInFlight
      ) {
        const rec = this.queue[this.queueHead]!;
        if (rec.state !== OpState.Queued) {
          this.takeHead();
          continue;
        }
        if (rec.group !== null) {
          // A batch goes to the kernel whole, or waits for completions to make
          // room, even when it would start an empty submit: cut in two, its
          // links would not hold. Its ops sit together in the queue.
          const members = rec.group.filter((r) => r.state === OpState.Queued);
          const need = members.reduce((n, r) => n + (r.iovs === null ? 0 : r.iovs.length), 0);
          if (batch.length + members.length > this.sqEntries || this.inFlight + batch.length + members.length > this.maxInFlight ||
              iovWords + need > IOV_CAPACITY_WORDS) break;
          for (const m of members) iovWords = this.take(batch, m, iovWords);
          const group = rec.group;
          while (this.queueHead < this.queue.length &&
                 (this.queue[this.queueHead]!.group === group || this.queue[this.queueHead]!.state !== OpState.Queued)) this.takeHead();
          continue;
        }
        const need = rec.iovs === null ? 0 : rec.iovs.length;
        // The constant, not this.iovs.length: V8 does not inline the length of a
        // view over a SharedArrayBuffer, and this runs once per op.
        if (iovWords + need > IOV_CAPACITY_WORDS) break;
        this.takeHead();
        iovWords = this.take(batch, rec, iovWords);
      }
      if (batch.length === 0) break;
      for (let i = 0; i < batch.length; i++) this.writeDescriptor(i, batch[i]);
      // Marked before the submit: a completion must find its record in the
      // Submitted state however soon it arrives.
      for (const rec of batch) rec.state = OpState.Submitted;
      this.inFlight += batch.length;
      // The last submit of the flush reaps in the same native call.
      const reapNow = reapAfter && this.queueHead >= this.queue.length && this.urgent.length === 0;
      const r = this.submitBatch(batch, reapNow);
      if (r < 0) {
        this.inFlight -= batch.length;
        for (const rec of batch) if (rec.state === OpState.Submitted) rec.state = OpState.Queued;
        if (this.retryAfterCompletion) {
          // Nothing in flight means no completion will come to retry on: poll for room instead.
          if (this.inFlight === 0) setTimeout(this.flushBound, 1);
          break;
        }
        continue;
      }
      this.counters.submitted += batch.length;
      this.counters.submitCalls++;
      submitted = true;
      if (reapNow) reaped = r;
    }
    if (this.queueHead < this.queue.length) {
      // Work left behind: the SQ, the CQ budget (cqEntries in flight) or the
      // worker's queue is full. It goes out as completions free room.
      this.counters.sqFull++;
      if (this.opLog !== LogLevel.Off) {
        this.log.debug('ring full: ops wait for completions', { inFlight: this.inFlight, queued: this.queue.length - this.queueHead });
      }
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    // Completions at submit: a page-cached read, a nop or an open usually
    // completes inside io_uring_submit, its CQE already posted. flush()
    // delivers those now rather than after a trip round the event loop to
    // the eventfd. That runs in the flush microtask (or at the end of a batch
    // of completions), after the submit returned and never inside a caller's
    // own call: settling resolves promises, whose reactions run later, so
    // results still arrive asynchronously. Last in the flush: a settle may
    // close the ring. A layer that promises node's own ordering opts out
    // (loopDelivery, and callback-based ops: see enqueueCallback).
    if (!reapAfter || !submitted) return 0;
    return reaped >= 0 ? reaped : this.native.reap!();
  }

  /**
   * Moves past the queue's head, letting go of its record. The queue array
   * lives long (it is old in V8's heap), so a record it still pointed at
   * would survive every minor collection, and with it the op's promise,
   * closures and the caller's async frame: with a thousand of them held, V8
   * promotes what lives through a scavenge wholesale, and large results
   * (readFile's 1 MiB Buffers) then wait for full collections
   * (docs/benchmarks.md).
   */
  private takeHead(): void {
    this.queue[this.queueHead++] = undefined;
  }

  /** Adds `rec` to the submit being built, its iovec triples (if any) after those already there. */
  private take(batch: OpRecord[], rec: OpRecord, iovWords: number): number {
    if (rec.iovs !== null && rec.iovs.length > 0) {
      rec.chunk2 = iovWords / IOV_WORDS;
      this.iovs.set(rec.iovs, iovWords);
      iovWords += rec.iovs.length;
    }
    batch.push(rec);
    return iovWords;
  }

  /**
   * Hands one batch to the native layer. If it rejects a descriptor (which the
   * checks in Ring make unreachable, but the native layer checks regardless),
   * that op fails with the native error and the rest go back to the queue front.
   * Returns -1 when nothing was submitted, else the completions reaped with
   * the submit (0 unless `reap`).
   */
  private submitBatch(batch: OpRecord[], reap: boolean): number {
    try {
      if (reap) return this.native.submitAndReap!(batch.length);
      this.native.submit(batch.length);
      return 0;
    } catch (err) {
      if ((err as SaferRingError).code === 'ERR_RING_BUSY') {
        // The ring behind us has no room right now (a worker's queue is full): retry after completions.
        this.queue.splice(this.queueHead, 0, ...batch.filter((r) => r.op !== Op.CANCEL));
        this.urgent.unshift(...batch.filter((r) => r.op === Op.CANCEL));
        this.retryAfterCompletion = true;
        return -1;
      }
      const index = (err as SaferRingError).index;
      const bad = typeof index === 'number' ? batch[index] : batch[0];
      // A refused op of a batch takes the whole batch with it: "nothing of a
      // batch runs unless all of it can".
      const failed = bad.group ?? [bad];
      for (const r of failed) {
        if (r.state === OpState.Done) continue;
        this.finish(r);
        this.releaseAll(r, false);
        r.reject(r === bad ? (err as Error) : errnoError(-ECANCELED, OP_SYSCALL[r.op]));
      }
      const rest = batch.filter((r) => r.state !== OpState.Done);
      this.queue.splice(this.queueHead, 0, ...rest.filter((r) => r.op !== Op.CANCEL));
      this.urgent.unshift(...rest.filter((r) => r.op === Op.CANCEL));
      return -1;
    }
  }

  private writeDescriptor(i: number, rec: OpRecord): void {
    const d = this.desc;
    const b = i * DESC_WORDS;
    d[b + D_OP] = rec.op;
    d[b + D_FD] = rec.fd;
    d[b + D_ID] = rec.id;
    d[b + D_GEN] = rec.gen;
    d[b + D_SQE_FLAGS] = rec.sqeFlags;
    d[b + D_CHUNK] = rec.chunk;
    d[b + D_OFF] = rec.off;
    d[b + D_LEN] = rec.len;
    this.descF64[(b >> 1) + D_POS_F64] = rec.pos;
    d[b + D_FLAGS] = rec.flags;
    d[b + D_ARG] = rec.arg;
    d[b + D_LEN2] = rec.len2;
    if (rec.op === Op.FALLOCATE || rec.op === Op.SPLICE) {
      this.descF64[(b >> 1) + D_POS2_F64] = rec.pos2; // words 12..13 carry a position for these
    } else {
      d[b + D_CHUNK2] = rec.chunk2;
      d[b + D_OFF2] = rec.off2;
    }
  }

  private syncChunks(): void {
    const chunks = this.arena.chunks;
    let unregistered = false;
    for (let i = this.knownChunks; i < chunks.length; i++) {
      if (!this.native.addChunk(i, chunks[i], this.arena.slotSizeOf(i))) unregistered = true;
    }
    this.knownChunks = chunks.length;
    // A chunk the kernel refused to pin (RLIMIT_MEMLOCK): still usable, say so once.
    if (unregistered) warnUnregisteredBuffers(this.native.info().fixedBufferError ?? 0);
  }

  /** Called by the native layer with `n` CQEs in `completions`. */
  private onComplete(n: number): void {
    this.dispatching = true;
    try {
      this.dispatch(n);
    } finally {
      this.dispatching = false;
      if (this.flushScheduled) this.flush();
    }
  }

  private dispatch(n: number): void {
    const c = this.completions;
    const metrics = this.metrics;
    // One clock read per batch: every completion in it reached JavaScript now.
    const now = metrics !== null ? performance.now() : 0;
    for (let i = 0; i < n; i++) {
      const b = i * COMPLETION_WORDS;
      const rec = this.table[c[b]];
      if (rec === undefined || rec.gen !== c[b + 1] || rec.state !== OpState.Submitted) continue;
      const res = c[b + 2];
      const flags = c[b + 3];
      if (flags & IORING_CQE_F_MORE) {
        // A multishot op's intermediate result: the op stays in flight (and
        // its memory quarantined) until the CQE without F_MORE.
        if (rec.more !== null) {
          try {
            rec.more(rec, res, flags);
          } catch (err) {
            queueMicrotask(() => { throw err; });
          }
        }
        continue;
      }
      if (metrics !== null) metrics.record(rec.op, res, now - rec.t0);
      if (this.opLog !== LogLevel.Off && (res < 0 || this.opLog === LogLevel.Trace)) this.logCompletion(rec, res, now);
      this.finish(rec);
      this.inFlight--;
      this.counters.completed++;
      if (rec.abortRequested) {
        this.orphans--;
        // A CQE that carries a kernel-selected buffer goes to the op's own
        // settle, which owns handing that buffer back.
        if ((res === -ECANCELED || res === -EINTR) && !(flags & IORING_CQE_F_BUFFER)) {
          this.releaseAll(rec, false);
          rec.reject(rec.quietCancel ? QUIET_CANCEL : rec.closing ? closedError() : abortError(rec.signal));
          continue;
        }
      }
      try {
        rec.settle(rec, res, flags);
      } catch (err) {
        // A settle function that throws must still give back what the op held.
        this.releaseAll(rec, false);
        rec.reject(err as Error);
      }
    }
    this.retryAfterCompletion = false;
    if (this.queueHead < this.queue.length || this.urgent.length > 0) this.scheduleFlush();
    if (this.closed) this.maybeFinishClose();
  }

  private logCompletion(rec: OpRecord, res: number, now: number): void {
    const fields: Record<string, unknown> = { op: OP_SYSCALL[rec.op], res };
    if (this.metrics !== null) fields.latencyUs = Math.round((now - rec.t0) * 1000) / 1000;
    if (res < 0) this.log.debug('op failed', fields);
    else this.log.trace('op completed', fields);
  }

  private runDestroyHooks(): void {
    for (const hook of this.destroyHooks.splice(0)) {
      try {
        hook();
      } catch (err) {
        queueMicrotask(() => { throw err; });
      }
    }
  }

  private maybeFinishClose(): void {
    if (this.closeResolve === null || this.inFlight > 0 || this.urgent.length > 0) return;
    if (this.queueHead < this.queue.length) return; // draining: accepted work still to run
    this.native.destroy();
    this.destroyed = true;
    this.runDestroyHooks();
    const resolve = this.closeResolve;
    this.closeResolve = null;
    resolve();
  }
}

/**
 * What a cancelled `quietCancel` op is rejected with: one shared error, for
 * layers that cancel ops as a matter of course (a socket pausing its receive)
 * and never show the error to anyone. Building an Error (its stack) per
 * cancel costs microseconds.
 */
const QUIET_CANCEL: Error = Object.freeze(new SaferRingError('ABORT_ERR', 'The operation was cancelled')) as Error;

function settleInternalCancel(rec: OpRecord, res: number): void {
  rec.resolve(res);
}
