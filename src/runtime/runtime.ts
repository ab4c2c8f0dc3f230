// Runtime: the main-thread dispatcher over a pool of ring workers.
//
// Each worker thread owns one io_uring (workers/ring-worker.ts). Buffers all
// live in this thread's arena, whose SharedArrayBuffer chunks every worker
// also maps, so an operation crosses threads as a 64-byte descriptor naming
// (chunk, offset, length) and its result as a 16-byte completion: the bytes
// never move. Per worker, the dispatcher runs an ordinary Ring whose native
// ring is a RemoteRing, so every op, check and settle path is Ring's own.
//
// Routing: operations whose meaning depends on the fd's state (writes, reads
// at the current position, fsync, close, socket ops) go to the fd's home
// worker (fd % workers), so one file's ordered writes stay on one ring in
// submission order. Positional reads and ops without an fd go to the
// least-loaded worker.
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Ring, RingOptions, kRingClass, kBackendName, kMetrics, resolveRingConfig, ReadOptions, OpOptions, OpenOptions, StatxOptions } from '../ring/ring';
import { SaferRingConfig, logRingSetup, setupFlagsOf, sinkOf } from '../config';
import { disabledSnapshot, MetricsSnapshot, PerformanceMetrics } from '../metrics';
import type { LogSink } from '../logging';
import type {
  ReadResult, WriteResult, ReadvResult, WritevResult, AcceptResult, RingStats, PathLike, PathOptions, UnlinkOptions, RenameOptions,
  LinkOptions, SpliceOptions,
} from '../ring/ring';
import type { OwnedBuffer } from '../buffers/owned-buffer';
import type { StatxStats } from '../fs/statx';
import type { SocketAddress } from '../net/sockaddr';
import { Batch, BatchResult } from '../ring/batch';
import type { ManyOptions, Positions, ReadManyResult, WriteManyResult } from '../ring/many';
import { SaferRingError, closedError } from '../errors';
import type { NativeRingInfo } from '../native';
import { backend, BackendName } from '../backend/select';
import { checkInteger, checkOptions, invalidType } from '../validate';
import { SharedQueue } from './shared-queue';
import { MAX_SPIN_MICROS } from './spin';
import { CQ_RECORD_WORDS, FromWorker, RingWorkerData, SQ_RECORD_WORDS } from './protocol';
import { remoteRingClass, WorkerChannel } from './remote-ring';
import { warnUnregisteredBuffers } from '../buffers/registration-warning';

export interface RuntimeOptions {
  /** Worker threads, each with its own ring. Default: SAFER_RING_WORKERS, else one less than the CPUs (at least 1). */
  workers?: number;
  /** Ring entries per worker. Default: the config's, else 256. */
  entries?: number;
  /**
   * Ring settings (setup flags, size) for every worker's io_uring, and the
   * logging, metrics and leak warnings of the runtime. Default: the library
   * defaults. Metrics are collected on this thread, per worker, and merged by
   * `metrics()`.
   */
  config?: SaferRingConfig;
  /**
   * The longest a worker watches its queue for more work after serving a
   * batch, before it sleeps, in microseconds (0..10000; 0: sleep at once).
   * Watching spends that worker's CPU to spare the next request a
   * cross-thread wake-up. Default: SAFER_RING_WORKER_SPIN_US, else 50.
   */
  spinMicros?: number;
  /**
   * Watch only while recent watches caught the next request (two misses in a
   * row stop it; a probe every eighth batch brings it back): an idle or slow
   * client then costs almost no spinning. Default true; false watches
   * `spinMicros` after every batch.
   */
  adaptiveSpin?: boolean;
}

export interface RuntimeStats {
  workers: number;
  perWorker: (Omit<RingStats, 'arena'> & {
    threadId: number;
    /** Queue records (ops, and iovec records of vectored ops) published to the worker and not yet taken by it. */
    toWorker: number;
    /** Completions the worker posted that this thread has not yet delivered. */
    fromWorker: number;
    /** Wake-ups between this thread and the worker that never came, found and replaced by the runtime's watchdog (normally 0). */
    lostWakeups: number;
  })[];
  arena: RingStats['arena'];
  workersReplaced: number;
}

function defaultWorkers(): number {
  const env = process.env.SAFER_RING_WORKERS;
  if (env !== undefined && env !== '') return checkInteger('SAFER_RING_WORKERS', Number(env), 1, 256);
  return Math.max(1, os.availableParallelism() - 1);
}

function defaultSpinMicros(): number {
  const env = process.env.SAFER_RING_WORKER_SPIN_US;
  if (env !== undefined && env !== '') return checkInteger('SAFER_RING_WORKER_SPIN_US', Number(env), 0, MAX_SPIN_MICROS);
  return 50;
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}

const workerFile = path.join(__dirname, '..', '..', 'workers', 'ring-worker.js');

interface Slot {
  channel: WorkerChannel;
  ring: Ring;
  /** Set when the worker's ring failed to set up, or the thread died before it was ready. */
  startError?: SaferRingError;
  /** The worker reported its ring ready. */
  ready?: boolean;
  /** What the thread died of (its 'error' event), if anything. */
  exitError?: unknown;
}

export class Runtime {
  readonly backend: BackendName;
  readonly workerCount: number;
  #entries: number;
  #spinMicros: number;
  #adaptiveSpin: boolean;
  #config: SaferRingConfig;
  #log: LogSink;
  #retiredMetrics: PerformanceMetrics[] = [];
  #slots: Slot[] = [];
  #closing: Promise<void> | null = null;
  #replaced = 0;

  constructor(options: RuntimeOptions = {}) {
    const opts = checkOptions<RuntimeOptions>(options);
    this.workerCount = opts.workers === undefined ? defaultWorkers() : checkInteger('workers', opts.workers, 1, 256);
    this.#config = resolveRingConfig({ config: opts.config, entries: opts.entries });
    this.#entries = this.#config.ring.entries;
    this.#spinMicros = opts.spinMicros === undefined ? defaultSpinMicros() : checkInteger('spinMicros', opts.spinMicros, 0, MAX_SPIN_MICROS);
    if (opts.adaptiveSpin !== undefined && typeof opts.adaptiveSpin !== 'boolean') throw invalidType('adaptiveSpin', 'of type boolean', opts.adaptiveSpin);
    this.#adaptiveSpin = opts.adaptiveSpin ?? true;
    this.#log = sinkOf(this.#config);
    this.backend = backend().name; // workers follow this thread's choice
    for (let i = 0; i < this.workerCount; i++) this.#slots.push(this.#spawn(i));
  }

  #spawn(index: number): Slot {
    const entries = this.#entries;
    const sq = new SharedQueue(SQ_RECORD_WORDS, nextPow2(entries * 8));
    const cq = new SharedQueue(CQ_RECORD_WORDS, nextPow2(entries * 8));
    const setupFlags = setupFlagsOf(this.#config.ring);
    const data: RingWorkerData = {
      sq: sq.sab, sqCapacity: sq.capacity, cq: cq.sab, cqCapacity: cq.capacity, entries, setupFlags,
      sqThreadIdleMs: this.#config.ring.sqThreadIdleMs, kernelCounters: this.#config.logging.metrics,
      spinMicros: this.#spinMicros, adaptiveSpin: this.#adaptiveSpin,
      backend: this.backend,
    };
    // trackUnmanagedFds off: an fd a worker opens (the fallback's fs.open)
    // belongs to the caller, not to the worker. Tracked, Node would close it
    // when the worker exits, under the caller still using it (or under
    // whatever file got the number since), and warn when another worker
    // closes it.
    const worker = new Worker(workerFile, { workerData: data, stdout: false, stderr: false, trackUnmanagedFds: false });
    const info: NativeRingInfo = {
      live: true, flags: setupFlags, sqEntries: entries, cqEntries: entries * 2, fixedBufferSlots: 0, registeredFiles: 0,
    };
    const channel: WorkerChannel = { worker, sq, cq, info, lostWakeups: 0 };
    const ring = new Ring({ config: this.#config, [kRingClass]: remoteRingClass(channel), [kBackendName]: this.backend } as RingOptions);
    const slot: Slot = { channel, ring };
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        slot.ready = true;
        Object.assign(info, { flags: msg.flags, fixedBufferSlots: msg.fixedBufferSlots });
        logRingSetup(this.#log, 'worker ring', setupFlags, msg.flags, { worker: index, threadId: worker.threadId, entries: msg.sqEntries });
      } else if (msg.type === 'unregistered') {
        warnUnregisteredBuffers(msg.errno);
      } else if (msg.type === 'rescued') {
        channel.lostWakeups++;
      } else if (msg.type === 'failed') {
        this.#log.error('worker ring failed to start', { worker: index, code: msg.code, message: msg.message });
        slot.startError = new SaferRingError(msg.code, msg.message);
        slot.ring.failAll(() => slot.startError!);
      }
    });
    // Reported through 'exit' (an uncaught error in a worker must not take the process down), with this as the cause.
    worker.on('error', (err) => { slot.exitError = err; });
    worker.on('exit', () => this.#onExit(index, slot));
    // After the listeners (adding a 'message' listener refs the worker again):
    // the ring behind it refs the worker only while ops are in flight.
    worker.unref();
    return slot;
  }

  /**
   * A worker is gone. Its ring was torn down in its exit path (cancelled and
   * drained before the thread ended), so the kernel holds none of our memory:
   * fail its ops, free their slots, and start a replacement unless closing.
   */
  #onExit(index: number, slot: Slot): void {
    if (this.#slots[index] !== slot) return;
    const closing = this.#closing !== null;
    // A thread that died of an error before its ring was ready (it could not
    // even load, e.g. EMFILE) would die the same way again: a start failure.
    if (!slot.ready && slot.exitError !== undefined && slot.startError === undefined) slot.startError = startFailure(slot.exitError);
    slot.ring.failAll(() =>
      closing ? closedError()
        : slot.startError ?? new SaferRingError('ERR_WORKER_DIED', 'the ring worker thread exited while the operation was in flight', { cause: slot.exitError }),
    );
    const m = slot.ring[kMetrics];
    if (m !== null) this.#retiredMetrics.push(m);
    // A ring that could not even start would fail the same way again: no replacement loop.
    if (!closing && slot.startError === undefined) {
      this.#log.warn('ring worker exited; starting a replacement', { worker: index });
      this.#replaced++;
      this.#slots[index] = this.#spawn(index);
    }
  }

  #home(fd: number): Ring {
    if (this.#closing !== null) return this.#slots[0].ring; // rejects with ERR_RING_CLOSED
    const slots = this.#slots;
    return slots[(Number.isInteger(fd) && fd >= 0 ? fd : 0) % slots.length].ring;
  }

  #leastLoaded(): Ring {
    const slots = this.#slots;
    let best = slots[0].ring;
    let load = best.load;
    for (let i = 1; i < slots.length && load > 0; i++) {
      const l = slots[i].ring.load;
      if (l < load) {
        best = slots[i].ring;
        load = l;
      }
    }
    return best;
  }

  #forRead(fd: number, options?: ReadOptions): Ring {
    const p = options?.position;
    return p !== undefined && p !== null && p !== -1 ? this.#leastLoaded() : this.#home(fd);
  }

  // ---- the Ring API, routed ----

  read<B extends Uint8Array>(fd: number, buffer: B, options?: ReadOptions): Promise<ReadResult<B>> {
    return this.#forRead(fd, options).read(fd, buffer, options);
  }
  readOwned<B extends OwnedBuffer>(fd: number, buffer: B, options?: ReadOptions): Promise<ReadResult<B>> {
    return this.#forRead(fd, options).readOwned(fd, buffer, options);
  }
  /** Positional reads: the whole call goes to the least-loaded worker (one submission queue, one completion path). */
  readOwnedMany<B extends OwnedBuffer>(fd: number, buffers: readonly B[], positions: Positions, options?: ManyOptions): Promise<ReadManyResult<B>> {
    return this.#leastLoaded().readOwnedMany(fd, buffers, positions, options);
  }
  /** Writes stay on the fd's home worker, in order with its other writes. */
  writeOwnedMany<B extends OwnedBuffer>(fd: number, buffers: readonly B[], positions: Positions, options?: ManyOptions): Promise<WriteManyResult<B>> {
    return this.#home(fd).writeOwnedMany(fd, buffers, positions, options);
  }
  write<B extends Uint8Array>(fd: number, buffer: B, options?: ReadOptions): Promise<WriteResult<B>> {
    return this.#home(fd).write(fd, buffer, options);
  }
  writeOwned<B extends OwnedBuffer>(fd: number, buffer: B, options?: ReadOptions): Promise<WriteResult<B>> {
    return this.#home(fd).writeOwned(fd, buffer, options);
  }
  readv(fd: number, buffers: Uint8Array[], options?: Omit<ReadOptions, 'offset' | 'length'>): Promise<ReadvResult> {
    return this.#forRead(fd, options).readv(fd, buffers, options);
  }
  writev(fd: number, buffers: Uint8Array[], options?: Omit<ReadOptions, 'offset' | 'length'>): Promise<WritevResult> {
    return this.#home(fd).writev(fd, buffers, options);
  }
  openat(file: string | Buffer | URL, flags?: string | number, mode?: number, options?: OpenOptions): Promise<number> {
    return this.#leastLoaded().openat(file, flags, mode, options);
  }
  closeFd(fd: number, options?: OpOptions): Promise<void> {
    return this.#home(fd).closeFd(fd, options);
  }
  statx(target: string | Buffer | URL | number, options?: StatxOptions): Promise<StatxStats> {
    return (typeof target === 'number' ? this.#home(target) : this.#leastLoaded()).statx(target, options);
  }
  fsync(fd: number, options?: OpOptions & { datasync?: boolean }): Promise<void> {
    return this.#home(fd).fsync(fd, options);
  }
  unlinkat(path: PathLike, options?: UnlinkOptions): Promise<void> {
    return this.#leastLoaded().unlinkat(path, options);
  }
  mkdirat(path: PathLike, mode?: number, options?: PathOptions): Promise<void> {
    return this.#leastLoaded().mkdirat(path, mode, options);
  }
  renameat(oldPath: PathLike, newPath: PathLike, options?: RenameOptions): Promise<void> {
    return this.#leastLoaded().renameat(oldPath, newPath, options);
  }
  linkat(existingPath: PathLike, newPath: PathLike, options?: LinkOptions): Promise<void> {
    return this.#leastLoaded().linkat(existingPath, newPath, options);
  }
  symlinkat(target: PathLike, linkPath: PathLike, options?: PathOptions): Promise<void> {
    return this.#leastLoaded().symlinkat(target, linkPath, options);
  }
  ftruncate(fd: number, length?: number, options?: OpOptions): Promise<void> {
    return this.#home(fd).ftruncate(fd, length, options);
  }
  fallocate(fd: number, offset: number, length: number, options?: OpOptions & { mode?: number }): Promise<void> {
    return this.#home(fd).fallocate(fd, offset, length, options);
  }
  splice(fdIn: number, fdOut: number, length: number, options?: SpliceOptions): Promise<number> {
    return this.#home(fdIn).splice(fdIn, fdOut, length, options);
  }
  accept(fd: number, options?: OpOptions): Promise<number> {
    return this.#home(fd).accept(fd, options);
  }
  acceptWithAddress(fd: number, options?: OpOptions): Promise<AcceptResult> {
    return this.#home(fd).acceptWithAddress(fd, options);
  }
  connect(fd: number, address: SocketAddress, options?: OpOptions): Promise<void> {
    return this.#home(fd).connect(fd, address, options);
  }
  recv<B extends Uint8Array | OwnedBuffer>(fd: number, buffer: B, options?: ReadOptions & { flags?: number }): Promise<ReadResult<B>> {
    return this.#home(fd).recv(fd, buffer, options);
  }
  send<B extends Uint8Array | OwnedBuffer>(fd: number, buffer: B, options?: ReadOptions & { flags?: number }): Promise<WriteResult<B>> {
    return this.#home(fd).send(fd, buffer, options);
  }
  timeout(ms: number, options?: OpOptions): Promise<void> {
    return this.#leastLoaded().timeout(ms, options);
  }
  nop(options?: OpOptions): Promise<number> {
    return this.#leastLoaded().nop(options);
  }

  /** Runs a batch on one worker: the home worker of its first fd, else the least-loaded one. */
  submitBatch<R extends unknown[]>(batch: Batch<R>): Promise<BatchResult<R>> {
    if (!(batch instanceof Batch)) return Promise.reject(invalidType('batch', 'an instance of Batch', batch));
    const fd = batch.operations.find((op) => op.fdForRouting !== undefined)?.fdForRouting;
    return (fd === undefined ? this.#leastLoaded() : this.#home(fd)).submitBatch(batch);
  }

  /**
   * `close()` with no argument: stop accepting work, let everything already
   * accepted finish, then stop the workers. `close(fd)`: close an fd.
   */
  close(): Promise<void>;
  close(fd: number, options?: OpOptions): Promise<void>;
  close(fd?: number, options?: OpOptions): Promise<void> {
    if (arguments.length === 0) return this.#shutdown(true);
    return this.closeFd(fd as number, options);
  }

  /** Stops now: queued ops reject, in-flight ops are cancelled in the kernel, then the workers stop. */
  terminate(): Promise<void> {
    return this.#shutdown(false);
  }

  #shutdown(drain: boolean): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closing = (async () => {
      const slots = [...this.#slots];
      const exited = slots.map(({ channel }) => new Promise<void>((resolve) => {
        if (channel.worker.threadId === -1) resolve();
        else channel.worker.once('exit', () => resolve());
      }));
      await Promise.all(slots.map(({ ring }) => (drain ? ring.drainAndClose() : ring.closeRing())));
      // Each worker closes its ring and ends when told (RemoteRing.destroy); a worker that is stuck is stopped.
      const timer = setTimeout(() => slots.forEach(({ channel }) => void channel.worker.terminate()), 5000);
      await Promise.all(exited);
      clearTimeout(timer);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  stats(): RuntimeStats {
    const per = this.#slots.map(({ ring, channel }) => {
      const { arena: _arena, ...rest } = ring.stats();
      // Where ops in flight stand between the threads: a stall shows which side holds them.
      // The completion queue is read first: the worker frees an op's record
      // before its completion can be posted, so an op counted in fromWorker is
      // never also counted in toWorker (read the other way round, a worker
      // running between the two reads made one op show on both sides).
      const { sq, cq } = channel;
      const fromWorker = cq.available(cq.head);
      const toWorker = sq.available(sq.head);
      return { ...rest, threadId: channel.worker.threadId, toWorker, fromWorker, lostWakeups: channel.lostWakeups };
    });
    return { workers: this.#slots.length, perWorker: per, arena: this.#slots[0].ring.stats().arena, workersReplaced: this.#replaced };
  }

  /**
   * PerformanceMetrics of all workers merged (percentiles from the merged
   * histograms), including workers that were replaced. `sqFull` and
   * `cqOverflow` are summed over the workers' rings.
   */
  metrics(): MetricsSnapshot {
    const snaps = this.#slots.map(({ ring }) => ring.metrics());
    const extra = {
      sqFull: snaps.reduce((n, s) => n + s.sqFull, 0),
      cqOverflow: snaps.reduce((n, s) => n + s.cqOverflow, 0),
      cqOverflowPending: snaps.some((s) => s.cqOverflowPending),
    };
    if (!this.#config.logging.metrics) return disabledSnapshot(extra);
    const parts = [...this.#retiredMetrics, ...this.#slots.map(({ ring }) => ring[kMetrics]!)];
    return PerformanceMetrics.merge(parts).snapshot(extra);
  }

  /** Starts every worker's metrics over. */
  resetMetrics(): void {
    this.#retiredMetrics = [];
    for (const { ring } of this.#slots) ring.resetMetrics();
  }

  /** The validated configuration the runtime runs with (a copy). */
  get config(): SaferRingConfig {
    return this.#config.clone();
  }

  /** The worker threads, for diagnostics (and for tests that kill one). */
  workerThreads(): readonly Worker[] {
    return this.#slots.map((s) => s.channel.worker);
  }
}

/** The error for a worker thread that died before its ring was ready: the system error's code when there is one. */
function startFailure(cause: unknown): SaferRingError {
  const e = cause as { code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown; message?: unknown } | null;
  const system = typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && typeof e.errno === 'number';
  return new SaferRingError(system ? (e!.code as string) : 'ERR_WORKER_DIED', `the ring worker thread could not start: ${String(e?.message ?? cause)}`, {
    cause,
    ...(system ? { errno: e!.errno as number, syscall: typeof e!.syscall === 'string' ? e!.syscall : undefined, path: typeof e!.path === 'string' ? e!.path : undefined } : {}),
  });
}
