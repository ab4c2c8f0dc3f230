// Ring: the public, single-thread io_uring API. Each method checks its
// arguments (Node's codes and wording), puts the memory the kernel will touch
// into the arena (moving, borrowing or copying), fills an OpRecord and hands
// it to the Engine. Settle functions (settle.ts) turn the completion into the result.
import { fileURLToPath } from 'node:url';
import { Arena, MAX_BUFFER_SIZE, Slot } from '../buffers/arena';
import { OwnedBuffer, peekSlot, takeSlot, setLeakWarnings, trueLength } from '../buffers/owned-buffer';
import { byteLengthOf, isUint8Array, windowOver } from '../buffers/geometry';
import { SaferRingConfig, logRingSetup, setupFlagNames, setupFlagsOf, sinkOf, validateConfig } from '../config';
import { disabledSnapshot, MetricsSnapshot, PerformanceMetrics } from '../metrics';
import type { LogSink } from '../logging';
import { errnoError, SaferRingError } from '../errors';
import type { NativeRingConstructor } from '../native';
import { backend, BackendName } from '../backend/select';
import { openFlags, O_CLOEXEC } from '../fs/open-flags';
import { StatxStats, STATX_BASIC_STATS, STATX_BTIME, STATX_SIZE_BYTES, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW } from '../fs/statx';
import { checkAddress, encodeSockaddr, PeerAddress, SocketAddress } from '../net/sockaddr';
import {
  checkFd, checkInteger, checkOptions, checkPosition, checkSignal, checkUint8Array, invalidType, invalidValue, outOfRange,
} from '../validate';
import { ACCEPT_ADDR_OFFSET, IORING_FSYNC_DATASYNC, Op, SQE_ASYNC, SQE_FIXED_FILE, SQE_HARDLINK, SQE_LINK, SETUP_FIXED_BUFFERS } from './descriptor';
import { Engine, EngineStats, kEngine } from './engine';
import {
  settleAccept, settleFd, settleNumber, settleOwnedRead, settleOwnedWrite, settlePathOp, settlePlainRead, settlePlainWrite, settleReadv,
  settleStatx, settleTimeout, settleVoid, settleWritev,
} from './settle';
import { BufferGroup, GroupBuffer } from '../buffers/buffer-group';
import { acceptSource, dropGroupBuffer, groupResult, MultiShot, MultiShotConfig, recvSource, RecvMultiResult } from './multishot';
import { constants as osConstants } from 'node:os';
import { Batch, BatchResult } from './batch';
import { FileRegistry, FixedFile } from './registry';
import { OpRecord, OpState } from './op-record';
import { ManyOptions, Positions, ReadManyResult, runMany, WriteManyResult } from './many';

export interface RingOptions {
  /** Submission queue size (1..32768, rounded up to a power of two by the kernel). Default 256. */
  entries?: number;
  /** A kernel thread polls the submission queue (IORING_SETUP_SQPOLL). Costs a CPU; default false. */
  sqpoll?: boolean;
  /** Idle time before the SQPOLL thread sleeps, in ms. Default 1000. */
  sqThreadIdleMs?: number;
  /** IORING_SETUP_COOP_TASKRUN (5.19+). Default true. */
  coopTaskrun?: boolean;
  /** IORING_SETUP_SINGLE_ISSUER (6.0+). Default true: a ring belongs to one thread. */
  singleIssuer?: boolean;
  /** IORING_SETUP_DEFER_TASKRUN (6.1+, needs singleIssuer). Default false. */
  deferTaskrun?: boolean;
  /** Register arena chunks as fixed buffers (READ_FIXED/WRITE_FIXED). Default true; falls back silently. */
  fixedBuffers?: boolean;
  /**
   * A whole configuration (ring settings, logging, metrics, leak warnings);
   * see SaferRingConfig. The ring options above, when also given, override
   * its ring settings. `Ring.withConfig(config)` is the same.
   */
  config?: SaferRingConfig;
}

export interface OpOptions {
  signal?: AbortSignal;
}

export interface ReadOptions extends OpOptions {
  /** Where in `buffer` to start. Default 0. */
  offset?: number;
  /** How many bytes. Default: the rest of the buffer. */
  length?: number;
  /** File position; -1, null or omitted reads from the current position. */
  position?: number | bigint | null;
}

export interface ReadResult<B> {
  bytesRead: number;
  buffer: B;
}

export interface WriteResult<B> {
  bytesWritten: number;
  buffer: B;
}

export interface ReadvResult {
  bytesRead: number;
  buffers: Uint8Array[];
}

export interface WritevResult {
  bytesWritten: number;
  buffers: Uint8Array[];
}

export interface OpenOptions extends OpOptions {
  /** Directory fd for a relative path (default: the current directory). */
  dirfd?: number;
  /**
   * Open straight into this slot of the ring's registered-file table (a
   * direct descriptor, IORING_OP_OPENAT with a file index; see
   * `registerFileSlots`). No fd is created: the promise resolves to the slot's
   * index, and the file is used through the FixedFile and closed with
   * `closeFd(slot)`.
   */
  fileSlot?: FixedFile;
}

export interface StatxOptions extends OpOptions {
  dirfd?: number;
  /** Do not follow a final symlink (lstat). */
  noFollow?: boolean;
  /**
   * @internal (kStatxParse) Builds the result from the raw `struct statx`
   * instead of a StatxStats; the bytes are valid only during the call.
   * src/fs uses it to make node:fs Stats (number or bigint) in one step.
   */
  [kStatxParse]?: (bytes: Uint8Array) => unknown;
}

export interface PathOptions extends OpOptions {
  /** Directory fd a relative path is resolved against (default: the current directory). */
  dirfd?: number;
}

export interface UnlinkOptions extends PathOptions {
  /** rmdir(2) instead of unlink(2). */
  removeDir?: boolean;
}

export interface RenameOptions extends PathOptions {
  /** Directory fd for a relative `newPath` (default: the current directory). */
  newDirfd?: number;
  /** Fail with EEXIST rather than replace an existing `newPath` (RENAME_NOREPLACE). */
  noReplace?: boolean;
  /** Swap the two names atomically (RENAME_EXCHANGE). */
  exchange?: boolean;
}

export interface LinkOptions extends PathOptions {
  newDirfd?: number;
  /** If `existingPath` is a symlink, link to what it points at (AT_SYMLINK_FOLLOW). */
  followSymlinks?: boolean;
}

export interface SpliceOptions extends OpOptions {
  /** Offset in `fdIn` (not for a pipe); omitted: its current position. */
  inOffset?: number | bigint;
  /** Offset in `fdOut` (not for a pipe); omitted: its current position. */
  outOffset?: number | bigint;
  /** SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE. */
  flags?: number;
}

export interface AcceptResult {
  fd: number;
  address: PeerAddress | null;
}

/** recv with a BufferGroup: the buffer the kernel (or, degraded, the group) picked. */
export interface GroupRecvResult {
  bytesRead: number;
  /** The group's buffer; null at end of stream (0 bytes), when it went straight back. */
  buffer: GroupBuffer | null;
  /** Its buffer id; -1 with no buffer. */
  bufferId: number;
}

export interface RingStats extends EngineStats {
  sqEntries: number;
  cqEntries: number;
  setupFlags: string[];
  /** Arena chunks are registered with the kernel (IORING_REGISTER_BUFFERS2, sparse). */
  fixedBuffers: boolean;
  /** SQEs that used a registered buffer (READ_FIXED/WRITE_FIXED) and a registered file (IOSQE_FIXED_FILE). */
  fixedBufferOps: number;
  fixedFileOps: number;
  registeredFiles: number;
  arena: ReturnType<Arena['stats']>;
}

/** @internal Lets the runtime back a Ring with a worker thread's ring instead of a local one. */
export const kRingClass = Symbol('safer-ring.ringClass');
export const kBackendName = Symbol('safer-ring.backendName');
/** @internal The runtime reads (and merges) its rings' metrics through this. */
export const kMetrics = Symbol('safer-ring.metrics');
/**
 * @internal The seam src/fs builds its linked chains on: `ring[kLinkedGroup](start, links)`
 * runs `start`, which starts ops on this ring; they go to the kernel in one
 * submit, in order, op i linked to op i-1 as `links[i]` says. See linkedGroup below.
 */
export const kLinkedGroup = Symbol('safer-ring.linkedGroup');
/** @internal Completions only from the event loop, never at submit (EngineOptions.loopDelivery): src/fs's ring. */
export const kLoopDelivery = Symbol('safer-ring.loopDelivery');
/** @internal See StatxOptions. */
export const kStatxParse = Symbol('safer-ring.statxParse');
/**
 * @internal The seam readFile reads large files through: `ring[kReadResults]`
 * is this ring's read results (native/read-result.h), or null where the ring
 * has none (a worker-backed ring, the fallback backend); `ring[kReadIntoResult]`
 * reads into one of them.
 */
export const kReadResults = Symbol('safer-ring.readResults');
/** @internal See kReadResults. */
export const kReadIntoResult = Symbol('safer-ring.readIntoResult');

/** @internal Memory the native layer allocates and alone refers to until taken: the kernel reads into it by id. */
export interface ReadResults {
  /** A new result of `length` bytes; throws a RangeError when out of memory. */
  allocResult(length: number): number;
  /** The whole result, bytes past `length` zeroed; throws while a read into it is in flight. */
  takeResult(id: number, length: number): Buffer;
  /** Lets it go (now, or after the reads into it in flight). */
  releaseResult(id: number): void;
}

interface InternalRingOptions extends RingOptions {
  [kRingClass]?: NativeRingConstructor;
  [kBackendName]?: BackendName;
  [kLoopDelivery]?: boolean;
}

const RING_KEYS = ['entries', 'sqpoll', 'sqThreadIdleMs', 'coopTaskrun', 'singleIssuer', 'deferTaskrun', 'fixedBuffers'] as const;

/**
 * @internal Turns Ring options into a validated config: `options.config`
 * (default: the library defaults) with any ring option given beside it
 * applied on top. Corrections are logged through the config's logger.
 */
export function resolveRingConfig(options: RingOptions): SaferRingConfig {
  let cfg: SaferRingConfig;
  if (options.config !== undefined) {
    if (!(options.config instanceof SaferRingConfig)) throw invalidType('options.config', 'an instance of SaferRingConfig', options.config);
    cfg = options.config.clone();
  } else {
    cfg = new SaferRingConfig();
    // SQPOLL rings cannot have COOP_TASKRUN: default it off there rather than correct it.
    if (options.sqpoll) cfg.ring.coopTaskrun = false;
  }
  const r = cfg.ring;
  if (options.entries !== undefined) r.entries = checkInteger('entries', options.entries, 1, 32768);
  if (options.sqThreadIdleMs !== undefined) r.sqThreadIdleMs = checkInteger('sqThreadIdleMs', options.sqThreadIdleMs, 0, 600_000);
  for (const key of RING_KEYS) {
    if (key === 'entries' || key === 'sqThreadIdleMs') continue;
    if (options[key] !== undefined) r[key] = !!options[key];
  }
  return validateConfig(cfg).config;
}

const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const AT_SYMLINK_FOLLOW = 0x400;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;
const FALLOCATE_MODES = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
const ENOBUFS = osConstants.errno.ENOBUFS;
const kRecord = Symbol('safer-ring.op');

/** An open file descriptor, or a FixedFile from ring.registerFiles(). */
export type Fd = number | FixedFile;

/** An fd, or a FixedFile (resolved to its table index when the op is submitted). */
function checkTarget(fd: unknown): number | FixedFile {
  return fd instanceof FixedFile ? fd : checkFd(fd);
}

function dirfdOf(value: unknown, name = 'options.dirfd'): number {
  return value === undefined ? AT_FDCWD : checkFd(value, name);
}

/** A path as node:fs accepts one. */
export type PathLike = string | Buffer | URL;

interface CheckedPath {
  bytes: Buffer;
  text: string;
}

const EMPTY_PATH: CheckedPath = { bytes: Buffer.alloc(0), text: '' };

function pathBytes(path: unknown, name = 'path'): CheckedPath {
  if (typeof path === 'string') {
    // The common case, without decoding the bytes back for `text` (paths are hot: every open, stat, unlink).
    if (path.includes('\u0000')) {
      throw SaferRingError.for('ERR_INVALID_ARG_VALUE', `The argument '${name}' must be a string, Uint8Array, or URL without null bytes. Received '${path}'`);
    }
    return { bytes: Buffer.from(path), text: path };
  }
  let bytes: Buffer;
  if (path instanceof URL) bytes = Buffer.from(fileURLToPath(path));
  // A copy made from the view's true geometry: its own `length` may lie.
  else if (isUint8Array(path)) bytes = Buffer.from(windowOver(path, 0, byteLengthOf(path)));
  else throw invalidType(name, 'of type string or an instance of Buffer or URL', path);
  const text = bytes.toString();
  if (bytes.includes(0)) {
    throw SaferRingError.for('ERR_INVALID_ARG_VALUE', `The argument '${name}' must be a string, Uint8Array, or URL without null bytes. Received '${text}'`);
  }
  return { bytes, text };
}

/**
 * Resolves the {offset, length} window an op uses, with node:fs's checks,
 * against `size`: the buffer's true length (from the slot or the intrinsic
 * getters, never from a property the caller could redefine).
 */
function windowOf(size: number, options: ReadOptions): { offset: number; length: number } {
  const offset = options.offset === undefined ? 0 : checkInteger('offset', options.offset, 0, size);
  const length =
    options.length === undefined ? size - offset : checkInteger('length', options.length, 0, 2 ** 31 - 1);
  if (offset + length > size) throw outOfRange('length', `<= ${size - offset}`, length);
  return { offset, length };
}

export class Ring {
  /** Which implementation serves this ring: 'io_uring', or 'fallback' (node:fs). */
  readonly backend: BackendName;
  readonly #engine: Engine;
  readonly #arena: Arena;
  readonly #files = new FileRegistry();
  /** While submitBatch prepares its operations, #submit collects them here instead of queueing them. */
  #capture: { rec: OpRecord; signal?: AbortSignal }[] | null = null;
  readonly #config: SaferRingConfig;
  readonly #metrics: PerformanceMetrics | null;
  readonly #log: LogSink;

  /** `new Ring(32)`, `new Ring({ entries: 32, ... })` or `new Ring({ config })`. */
  constructor(options: number | RingOptions = {}) {
    const opts: RingOptions = typeof options === 'number' ? { entries: options } : checkOptions<RingOptions>(options);
    const config = resolveRingConfig(opts);
    const r = config.ring;
    this.#config = config;
    this.#log = sinkOf(config);
    this.#metrics = config.logging.metrics ? new PerformanceMetrics() : null;
    if (config.leakWarnings) setLeakWarnings(true);
    const flags = setupFlagsOf(r);
    const internal = (opts as InternalRingOptions)[kRingClass];
    const chosen = internal === undefined ? backend() : null;
    this.backend = (opts as InternalRingOptions)[kBackendName] ?? chosen!.name;
    const ringClass = internal ?? chosen!.ringClass;
    this.#engine = new Engine(ringClass, {
      entries: r.entries, setupFlags: flags, sqThreadIdleMs: r.sqThreadIdleMs, metrics: this.#metrics, log: this.#log,
      loopDelivery: (opts as InternalRingOptions)[kLoopDelivery] === true,
    });
    this.#arena = this.#engine.arena;
    // A worker's ring reports its flags later; the runtime logs those.
    if (internal === undefined) {
      logRingSetup(this.#log, 'ring', flags, this.#engine.info().flags, { entries: this.#engine.sqEntries, cqEntries: this.#engine.cqEntries });
    }
  }

  /** A ring set up from a configuration (a preset, a builder's result, or your own). */
  static withConfig(config: SaferRingConfig): Ring {
    return new Ring({ config });
  }

  /** The validated configuration this ring was created with (a copy). */
  get config(): SaferRingConfig {
    return this.#config.clone();
  }

  /**
   * A snapshot of this ring's PerformanceMetrics: per-opcode counts, bytes,
   * errors and latency percentiles (when the config enabled metrics; else
   * `enabled: false` and no ops), plus the SQ-full count and the kernel's CQ
   * overflow counter, which are always reported.
   */
  metrics(): MetricsSnapshot {
    const info = this.#engine.info();
    const extra = {
      sqFull: this.#engine.stats().sqFull,
      cqOverflow: info.cqOverflow ?? 0,
      cqOverflowPending: ((info.sqFlags ?? 0) & IORING_SQ_CQ_OVERFLOW) !== 0,
    };
    return this.#metrics !== null ? this.#metrics.snapshot(extra) : disabledSnapshot(extra);
  }

  /** Starts the metrics over (no-op without metrics). */
  resetMetrics(): void {
    this.#metrics?.reset();
  }

  /** @internal */
  get [kMetrics](): PerformanceMetrics | null {
    return this.#metrics;
  }

  get entries(): number {
    return this.#engine.sqEntries;
  }

  /** @internal */
  get [kEngine](): Engine {
    return this.#engine;
  }

  get closed(): boolean {
    return this.#engine.closed;
  }

  stats(): RingStats {
    const info = this.#engine.info();
    return {
      ...this.#engine.stats(),
      sqEntries: this.#engine.sqEntries,
      cqEntries: this.#engine.cqEntries,
      setupFlags: setupFlagNames(info.flags),
      fixedBuffers: (info.flags & SETUP_FIXED_BUFFERS) !== 0,
      fixedBufferOps: info.fixedBufferOps ?? 0,
      fixedFileOps: info.fixedFileOps ?? 0,
      registeredFiles: info.registeredFiles,
      arena: this.#arena.stats(),
    };
  }

  // ---- reads and writes with owned buffers (the recommended API) ----

  /** Reads into `buffer`, which moves into the op; the result carries it back as a live handle. */
  readOwned<B extends OwnedBuffer>(fd: Fd, buffer: B, options?: ReadOptions): Promise<ReadResult<B>> {
    return this.#owned(Op.READ, settleOwnedRead, fd, buffer, options);
  }

  /** Writes from `buffer`, which moves into the op; the result carries it back as a live handle. */
  writeOwned<B extends OwnedBuffer>(fd: Fd, buffer: B, options?: ReadOptions): Promise<WriteResult<B>> {
    return this.#owned(Op.WRITE, settleOwnedWrite, fd, buffer, options);
  }

  /**
   * Reads into each of `buffers` at the matching position of `positions`
   * (one read per buffer, of its whole length): one call, one promise, one
   * result. Every buffer moves in and comes back live in `buffers`, in order,
   * with `bytesRead[i]` for each. If any read fails, the call rejects with the
   * error of the first failed read (its `index` names it) and every buffer is
   * released. See docs/ring.md.
   */
  readOwnedMany<B extends OwnedBuffer>(fd: Fd, buffers: readonly B[], positions: Positions, options?: ManyOptions): Promise<ReadManyResult<B>> {
    return this.#many(Op.READ, fd, buffers, positions, options);
  }

  /** Writes each of `buffers` at the matching position: readOwnedMany's counterpart, with `bytesWritten`. */
  writeOwnedMany<B extends OwnedBuffer>(fd: Fd, buffers: readonly B[], positions: Positions, options?: ManyOptions): Promise<WriteManyResult<B>> {
    return this.#many(Op.WRITE, fd, buffers, positions, options);
  }

  #many(op: Op, fd: Fd, buffers: readonly OwnedBuffer[], positions: Positions, options?: ManyOptions): Promise<any> {
    let target: number;
    let sqeFlags = 0;
    let signal: AbortSignal | undefined;
    try {
      const opts = options === undefined ? EMPTY : checkOptions<ManyOptions>(options);
      const t = checkTarget(fd);
      signal = opts.signal === undefined ? undefined : checkSignal(opts.signal);
      if (t instanceof FixedFile) {
        target = this.#files.indexOf(t);
        sqeFlags = SQE_FIXED_FILE;
      } else {
        target = t;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return runMany(this.#engine, op, target, sqeFlags, buffers, positions, signal);
  }

  #owned(op: Op, settle: (rec: OpRecord, res: number) => void, fd: Fd, buffer: OwnedBuffer, options?: ReadOptions & { flags?: number }): Promise<any> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      const opts = options === undefined ? EMPTY : checkOptions<ReadOptions & { flags?: number }>(options);
      checkTarget(fd);
      if (!(buffer instanceof OwnedBuffer)) throw invalidType('buffer', 'an instance of OwnedBuffer', buffer);
      const { offset, length } = windowOf(trueLength(buffer), opts);
      // The slot's own geometry is the last word: the window must lie inside it.
      const slot = peekSlot(buffer);
      if (slot !== null && offset + length > slot.capacity) throw outOfRange('length', `<= ${slot.capacity - offset}`, length);
      const isFile = op === Op.READ || op === Op.WRITE;
      const position = isFile ? checkPosition(opts.position) : 0;
      const flags = !isFile && opts.flags !== undefined ? checkInteger('options.flags', opts.flags, 0, 2 ** 31 - 1) : 0;
      signal = opts.signal === undefined ? undefined : checkSignal(opts.signal);
      const moved = takeSlot(buffer); // throws ERR_BUFFER_MOVED on a dead handle
      rec = new OpRecord(op, settle);
      rec.fd = fd as number; // a FixedFile is resolved in #submit
      rec.moved = moved;
      rec.chunk = moved.slot.chunk;
      rec.off = moved.slot.offset + offset;
      rec.len = length;
      rec.pos = position;
      rec.flags = flags;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  // ---- reads and writes with caller memory (copied unless it is arena memory) ----

  /** Reads into a caller's Uint8Array. Arena memory is used in place; other memory goes through a copy slot. */
  read<B extends Uint8Array>(fd: Fd, buffer: B, options?: ReadOptions): Promise<ReadResult<B>> {
    return this.#plain(Op.READ, fd, buffer, options);
  }

  /** Writes from a caller's Uint8Array (copied into the arena unless it already is arena memory). */
  write<B extends Uint8Array>(fd: Fd, buffer: B, options?: ReadOptions): Promise<WriteResult<B>> {
    return this.#plain(Op.WRITE, fd, buffer, options);
  }

  /**
   * Receives into a Uint8Array (copied) or an OwnedBuffer (moved, returned in
   * the result); or, given a BufferGroup, into a buffer the kernel selects
   * from the group (IOSQE_BUFFER_SELECT), returned as the group's
   * GroupBuffer. With every buffer of the group held, that recv rejects with ENOBUFS.
   */
  recv(fd: Fd, group: BufferGroup, options?: OpOptions & { flags?: number }): Promise<GroupRecvResult>;
  recv<B extends Uint8Array | OwnedBuffer>(fd: Fd, buffer: B, options?: ReadOptions & { flags?: number }): Promise<ReadResult<B>>;
  recv(fd: Fd, buffer: Uint8Array | OwnedBuffer | BufferGroup, options?: ReadOptions & { flags?: number }): Promise<unknown> {
    if (buffer instanceof BufferGroup) return this.#recvGroup(fd, buffer, options);
    if (buffer instanceof OwnedBuffer) return this.#owned(Op.RECV, settleOwnedRead, fd, buffer, options);
    return this.#plain(Op.RECV, fd, buffer as Uint8Array, options);
  }

  #recvGroup(fd: Fd, group: BufferGroup, options?: OpOptions & { flags?: number }): Promise<GroupRecvResult> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      const opts = checkOptions<OpOptions & { flags?: number }>(options);
      checkTarget(fd);
      group.checkUsable(this.#engine);
      signal = checkSignal(opts.signal);
      const flags = opts.flags === undefined ? 0 : checkInteger('options.flags', opts.flags, 0, 2 ** 31 - 1);
      const engine = this.#engine;
      const settle = (r: OpRecord, res: number, cqeFlags: number): void => {
        if (res < 0) {
          dropGroupBuffer(engine, group, r, cqeFlags);
          r.reject(errnoError(res, 'recv'));
          return;
        }
        const result = groupResult(group, r, res, cqeFlags);
        r.resolve(result ?? { bytesRead: 0, buffer: null, bufferId: -1 });
      };
      if (group.mode === 'plain') {
        const moved = group.lendPlain();
        if (moved === null) return Promise.reject(errnoError(-ENOBUFS, 'recv'));
        rec = new OpRecord(Op.RECV, settle);
        rec.moved = moved;
        rec.chunk = moved.slot.chunk;
        rec.off = moved.slot.offset;
        rec.len = group.size;
      } else {
        rec = new OpRecord(Op.RECV_SELECT, settle);
        rec.arg = group.id;
        rec.len = group.size;
      }
      rec.fd = fd as number;
      rec.flags = flags;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /**
   * Accepts connections on a listening socket as an async iterator of fds
   * (O_CLOEXEC): one multishot accept (5.19+) serves them all, re-armed by
   * the library if the kernel ends it early. `break`, an abort or a ring
   * close ends it; see docs/multishot.md.
   */
  acceptMulti(fd: number, config?: MultiShotConfig): MultiShot<number> {
    checkFd(fd);
    return new MultiShot(this.#engine, acceptSource(fd), config);
  }

  /**
   * Receives on a socket as an async iterator of `{ bytesRead, buffer }`, the
   * kernel picking each buffer from `group`: one multishot recv (6.0+),
   * re-armed when the kernel ends it early, and after ENOBUFS once a buffer
   * is released. Ends at end of stream, on `break`, abort or ring close.
   */
  recvMulti(fd: number, group: BufferGroup, config?: MultiShotConfig): MultiShot<RecvMultiResult> {
    checkFd(fd);
    if (!(group instanceof BufferGroup)) throw invalidType('group', 'an instance of BufferGroup', group);
    group.checkUsable(this.#engine);
    return new MultiShot(this.#engine, recvSource(this.#engine, fd, group), config);
  }

  /** Sends from a Uint8Array (copied) or an OwnedBuffer (moved, returned in the result). */
  send<B extends Uint8Array | OwnedBuffer>(fd: Fd, buffer: B, options?: ReadOptions & { flags?: number }): Promise<WriteResult<B>> {
    if (buffer instanceof OwnedBuffer) return this.#owned(Op.SEND, settleOwnedWrite, fd, buffer, options);
    return this.#plain(Op.SEND, fd, buffer as Uint8Array, options) as Promise<WriteResult<B>>;
  }

  #plain(op: Op, fd: Fd, buffer: Uint8Array, options?: ReadOptions & { flags?: number }): Promise<any> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      const opts = options === undefined ? EMPTY : checkOptions<ReadOptions & { flags?: number }>(options);
      checkTarget(fd);
      checkUint8Array('buffer', buffer);
      const { offset, length } = windowOf(byteLengthOf(buffer), opts);
      if (length > MAX_BUFFER_SIZE) throw outOfRange('length', `<= ${MAX_BUFFER_SIZE}`, length);
      const isFile = op === Op.READ || op === Op.WRITE;
      const position = isFile ? checkPosition(opts.position) : 0;
      signal = opts.signal === undefined ? undefined : checkSignal(opts.signal);
      const incoming = op === Op.READ || op === Op.RECV;
      rec = new OpRecord(op, incoming ? settlePlainRead : settlePlainWrite);
      rec.fd = fd as number;
      rec.pos = position;
      rec.len = length;
      if (!isFile && opts.flags !== undefined) rec.flags = checkInteger('options.flags', opts.flags, 0, 2 ** 31 - 1);
      // Our own view of exactly the checked bytes: every later step (the
      // borrow check, the copy, the length the kernel gets) uses this one.
      const window = windowOver(buffer, offset, length);
      const lent = this.#arena.slotOf(window);
      if (lent !== undefined) {
        this.#arena.borrow(lent);
        rec.borrowed = lent;
        rec.chunk = lent.chunk;
        rec.off = window.byteOffset;
      } else {
        const temp = this.#arena.allocate(length);
        rec.temp = temp;
        rec.chunk = temp.chunk;
        rec.off = temp.offset;
        if (!incoming && length > 0) this.#arena.chunks[temp.chunk].set(window, temp.offset);
      }
      rec.extra = { buffer, window };
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /** Scatter read into several buffers at once. */
  readv(fd: Fd, buffers: Uint8Array[], options?: Omit<ReadOptions, 'offset' | 'length'>): Promise<ReadvResult> {
    return this.#vectored(Op.READV, fd, buffers, options);
  }

  /** Gather write from several buffers at once. */
  writev(fd: Fd, buffers: Uint8Array[], options?: Omit<ReadOptions, 'offset' | 'length'>): Promise<WritevResult> {
    return this.#vectored(Op.WRITEV, fd, buffers, options);
  }

  #vectored(op: Op, fd: Fd, buffers: Uint8Array[], options?: ReadOptions): Promise<any> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      const opts = options === undefined ? EMPTY : checkOptions<ReadOptions>(options);
      checkTarget(fd);
      if (!Array.isArray(buffers)) throw invalidType('buffers', 'an instance of Array', buffers);
      const count = buffers.length;
      if (count === 0 || count > 1024) throw outOfRange('buffers.length', '>= 1 && <= 1024', count);
      // Each element is read once, and replaced by our own view of its true
      // memory: an index getter or a lying view cannot change what the kernel gets.
      const parts: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const b = buffers[i];
        checkUint8Array(`buffers[${i}]`, b);
        parts.push(windowOver(b, 0, byteLengthOf(b)));
      }
      const position = checkPosition(opts.position);
      signal = opts.signal === undefined ? undefined : checkSignal(opts.signal);
      rec = new OpRecord(op, op === Op.READV ? settleReadv : settleWritev);
      rec.fd = fd as number;
      rec.pos = position;
      rec.len2 = count;
      // Arena views are lent in place; everything else shares one copy slot.
      const lent = parts.map((b) => this.#arena.slotOf(b));
      const copied = lent.some((slot) => slot === undefined);
      const copyBytes = parts.reduce((n, b, i) => (lent[i] === undefined ? n + b.byteLength : n), 0);
      if (copyBytes > MAX_BUFFER_SIZE) throw outOfRange('total length of buffers', `<= ${MAX_BUFFER_SIZE}`, copyBytes);
      // Zero-length parts still need an address: they get the (empty) copy slot's.
      const temp = copied ? this.#arena.allocate(copyBytes) : null;
      const iovs: number[] = [];
      const borrowed: Slot[] = [];
      let at = temp?.offset ?? 0;
      parts.forEach((b, i) => {
        const slot = lent[i];
        if (slot !== undefined) {
          this.#arena.borrow(slot);
          borrowed.push(slot);
          iovs.push(slot.chunk, b.byteOffset, b.byteLength);
        } else {
          if (op === Op.WRITEV) this.#arena.chunks[temp!.chunk].set(b, at);
          iovs.push(temp!.chunk, at, b.byteLength);
          at += b.byteLength;
        }
      });
      rec.temp = temp;
      rec.iovs = iovs;
      rec.extra = { buffers, parts, lent, sizes: parts.map((b) => b.byteLength) };
      rec.borrowedParts = borrowed;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  // ---- files ----

  /** open(2) through the ring. `flags` as node:fs ('r', 'w+', ...) or a number; O_CLOEXEC is always set. */
  openat(path: PathLike, flags: string | number = 'r', mode = 0o666, options?: OpenOptions): Promise<number> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      const opts = checkOptions<OpenOptions>(options);
      const p = pathBytes(path);
      rec = new OpRecord(Op.OPENAT, settleFd);
      rec.fd = dirfdOf(opts.dirfd);
      if (opts.fileSlot !== undefined) {
        if (!(opts.fileSlot instanceof FixedFile)) throw invalidType('options.fileSlot', 'an instance of FixedFile', opts.fileSlot);
        rec.op = Op.OPENAT_DIRECT;
        rec.off2 = this.#files.indexOf(opts.fileSlot);
        rec.settle = settleDirectOpen;
      }
      rec.flags = openFlags(flags);
      // A direct open creates no fd, so nothing can leak into a child: the kernel refuses O_CLOEXEC there.
      if (rec.op === Op.OPENAT_DIRECT) rec.flags &= ~O_CLOEXEC;
      rec.arg = checkInteger('mode', mode, 0, 0o7777);
      signal = checkSignal(opts.signal);
      rec.extra = this.#putPath(rec, p);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /**
   * `close(fd)` closes a file descriptor through the ring; `close()` with no
   * argument closes the ring itself (see closeRing). `closeFd` is the
   * unambiguous name for the former.
   */
  close(): Promise<void>;
  close(fd: number, options?: OpOptions): Promise<void>;
  close(fd?: number, options?: OpOptions): Promise<void> {
    if (arguments.length === 0) return this.closeRing();
    return this.closeFd(fd as number, options);
  }

  /** close(2) of an fd; given a FixedFile, empties that slot of the registered-file table (a direct descriptor's close). */
  closeFd(fd: number | FixedFile, options?: OpOptions): Promise<void> {
    if (!(fd instanceof FixedFile)) return this.#simple(Op.CLOSE, fd, options, (rec) => rec);
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      signal = checkSignal(checkOptions<OpOptions>(options).signal);
      rec = new OpRecord(Op.CLOSE_DIRECT, settleVoid);
      rec.fd = this.#files.indexOf(fd); // the slot itself: no IOSQE_FIXED_FILE on this op
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /** statx(2): a path (relative to options.dirfd), or an open fd. */
  statx(target: PathLike | number, options?: StatxOptions): Promise<StatxStats> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      const opts = checkOptions<StatxOptions>(options);
      rec = new OpRecord(Op.STATX, settleStatx);
      const byFd = typeof target === 'number';
      const p = byFd ? EMPTY_PATH : pathBytes(target);
      rec.fd = byFd ? checkFd(target) : dirfdOf(opts.dirfd);
      rec.flags = byFd ? AT_EMPTY_PATH : 0;
      if (opts.noFollow) rec.flags |= AT_SYMLINK_NOFOLLOW;
      rec.arg = STATX_BASIC_STATS | STATX_BTIME;
      signal = checkSignal(opts.signal);
      const text = this.#putPath(rec, p);
      rec.extra = { path: byFd ? undefined : text, parse: opts[kStatxParse] };
      const out = this.#arena.allocate(STATX_SIZE_BYTES);
      rec.temp2 = out;
      rec.chunk2 = out.chunk;
      rec.off2 = out.offset;
      rec.len2 = STATX_SIZE_BYTES;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /** fsync(2), or fdatasync(2) with `{ datasync: true }`. */
  fsync(fd: Fd, options?: OpOptions & { datasync?: boolean }): Promise<void> {
    return this.#simple(Op.FSYNC, fd, options, (rec, opts) => {
      if ((opts as { datasync?: boolean }).datasync) rec.flags = IORING_FSYNC_DATASYNC;
      return rec;
    });
  }

  // ---- files: names and sizes ----

  /** unlink(2) through the ring, or rmdir(2) with `{ removeDir: true }` (IORING_OP_UNLINKAT). */
  unlinkat(path: PathLike, options?: UnlinkOptions): Promise<void> {
    return this.#pathOp(Op.UNLINKAT, options, (rec, opts) => {
      const p = pathBytes(path);
      if (opts.removeDir) rec.flags = AT_REMOVEDIR;
      rec.extra = { path: this.#putPath(rec, p), syscall: opts.removeDir ? 'rmdir' : 'unlink' };
    });
  }

  /** mkdir(2) through the ring (IORING_OP_MKDIRAT). */
  mkdirat(path: PathLike, mode = 0o777, options?: PathOptions): Promise<void> {
    return this.#pathOp(Op.MKDIRAT, options, (rec) => {
      const p = pathBytes(path);
      rec.arg = checkInteger('mode', mode, 0, 0o7777);
      rec.extra = { path: this.#putPath(rec, p) };
    });
  }

  /** rename(2) / renameat2(2) through the ring; `noReplace` fails with EEXIST instead of replacing (IORING_OP_RENAMEAT). */
  renameat(oldPath: PathLike, newPath: PathLike, options?: RenameOptions): Promise<void> {
    return this.#pathOp(Op.RENAMEAT, options, (rec, opts) => {
      const from = pathBytes(oldPath, 'oldPath');
      const to = pathBytes(newPath, 'newPath');
      rec.arg = dirfdOf(opts.newDirfd, 'options.newDirfd');
      if (opts.noReplace) rec.flags |= RENAME_NOREPLACE;
      if (opts.exchange) rec.flags |= RENAME_EXCHANGE;
      rec.extra = { path: this.#putPath(rec, from), dest: this.#putPath2(rec, to) };
    });
  }

  /** link(2) through the ring: `newPath` becomes another name of `existingPath` (IORING_OP_LINKAT). */
  linkat(existingPath: PathLike, newPath: PathLike, options?: LinkOptions): Promise<void> {
    return this.#pathOp(Op.LINKAT, options, (rec, opts) => {
      const from = pathBytes(existingPath, 'existingPath');
      const to = pathBytes(newPath, 'newPath');
      rec.arg = dirfdOf(opts.newDirfd, 'options.newDirfd');
      if (opts.followSymlinks) rec.flags = AT_SYMLINK_FOLLOW;
      rec.extra = { path: this.#putPath(rec, from), dest: this.#putPath2(rec, to) };
    });
  }

  /** symlink(2) through the ring: a link at `linkPath` whose contents are `target` (IORING_OP_SYMLINKAT). */
  symlinkat(target: PathLike, linkPath: PathLike, options?: PathOptions): Promise<void> {
    return this.#pathOp(Op.SYMLINKAT, options, (rec) => {
      const from = pathBytes(target, 'target');
      const to = pathBytes(linkPath, 'path');
      rec.extra = { path: this.#putPath(rec, from), dest: this.#putPath2(rec, to) };
    });
  }

  /** ftruncate(2) through the ring (IORING_OP_FTRUNCATE, Linux 6.9+; EINVAL on older kernels). */
  ftruncate(fd: Fd, length = 0, options?: OpOptions): Promise<void> {
    return this.#simple(Op.FTRUNCATE, fd, options, (rec) => {
      rec.pos = checkInteger('len', typeof length === 'bigint' ? Number(length) : length, 0, Number.MAX_SAFE_INTEGER);
      return rec;
    });
  }

  /** fallocate(2) through the ring: reserve (or, with `mode`, zero or punch) `length` bytes at `offset`. */
  fallocate(fd: Fd, offset: number, length: number, options?: OpOptions & { mode?: number }): Promise<void> {
    return this.#simple(Op.FALLOCATE, fd, options, (rec, opts) => {
      rec.pos = checkInteger('offset', offset, 0, Number.MAX_SAFE_INTEGER);
      rec.pos2 = checkInteger('length', length, 1, Number.MAX_SAFE_INTEGER);
      const mode = (opts as { mode?: number }).mode;
      if (mode !== undefined) {
        rec.flags = checkInteger('options.mode', mode, 0, 0x7fffffff);
        if (rec.flags & ~FALLOCATE_MODES) throw invalidValue('options.mode', 'may only combine FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE', mode);
        if ((rec.flags & FALLOC_FL_PUNCH_HOLE) && !(rec.flags & FALLOC_FL_KEEP_SIZE)) {
          throw invalidValue('options.mode', 'must include FALLOC_FL_KEEP_SIZE with FALLOC_FL_PUNCH_HOLE', mode);
        }
      }
      return rec;
    });
  }

  /**
   * splice(2) through the ring: moves up to `length` bytes from `fdIn` to
   * `fdOut` inside the kernel (one of them must be a pipe). Resolves to the
   * bytes moved; 0 at end of input.
   */
  splice(fdIn: number, fdOut: number, length: number, options?: SpliceOptions): Promise<number> {
    return this.#simple(Op.SPLICE, fdIn, options, (rec, o) => {
      const opts = o as SpliceOptions;
      rec.arg = checkFd(fdOut, 'fdOut');
      rec.len = checkInteger('length', length, 0, 2 ** 31 - 1);
      rec.pos = opts.inOffset === undefined ? -1 : checkPosition(opts.inOffset);
      rec.pos2 = opts.outOffset === undefined ? -1 : checkPosition(opts.outOffset);
      if (opts.flags !== undefined) rec.flags = checkInteger('options.flags', opts.flags, 0, 0x7fffffff);
      rec.settle = settleNumber;
      return rec;
    });
  }

  /** Builds a path op: arguments checked, paths copied into arena slots, errors shaped as node:fs's. */
  #pathOp<O extends PathOptions>(op: Op, options: O | undefined, fill: (rec: OpRecord, opts: Partial<O>) => void): Promise<void> {
    let rec: OpRecord | undefined;
    let signal: AbortSignal | undefined;
    try {
      const opts = checkOptions<O>(options);
      rec = new OpRecord(op, settlePathOp);
      rec.fd = dirfdOf(opts.dirfd);
      signal = checkSignal(opts.signal);
      fill(rec, opts);
    } catch (err) {
      if (rec !== undefined) this.#engine.releaseAll(rec, false);
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  // ---- sockets ----

  /** accept4(2) on a listening socket; resolves to the new connection's fd (O_CLOEXEC). */
  accept(fd: Fd, options?: OpOptions): Promise<number> {
    return this.#simple(Op.ACCEPT, fd, options, (rec) => {
      rec.flags = 0o2000000; // SOCK_CLOEXEC
      rec.settle = settleFd;
      return rec;
    });
  }

  /** Like accept(), also reporting the peer's address. */
  acceptWithAddress(fd: Fd, options?: OpOptions): Promise<AcceptResult> {
    return this.#simple(Op.ACCEPT, fd, options, (rec) => {
      rec.flags = 0o2000000;
      const slot = this.#arena.allocate(ACCEPT_ADDR_OFFSET + 128);
      rec.temp2 = slot;
      rec.chunk2 = slot.chunk;
      rec.off2 = slot.offset;
      rec.len2 = ACCEPT_ADDR_OFFSET + 128;
      rec.settle = settleAccept;
      return rec;
    });
  }

  /** connect(2) to an IP address literal and port. */
  connect(fd: Fd, address: SocketAddress, options?: OpOptions): Promise<void> {
    return this.#simple(Op.CONNECT, fd, options, (rec) => {
      const addr = checkAddress(address);
      const slot = this.#arena.allocate(28);
      rec.temp = slot;
      rec.chunk = slot.chunk;
      rec.off = slot.offset;
      rec.len = encodeSockaddr(addr, this.#arena.view(slot, 28));
      return rec;
    });
  }

  // ---- the rest ----

  /** Resolves after `ms` milliseconds, timed by the kernel (IORING_OP_TIMEOUT). */
  timeout(ms: number, options?: OpOptions): Promise<void> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) throw outOfRange('ms', 'a finite number >= 0', ms);
      const opts = checkOptions<OpOptions>(options);
      rec = new OpRecord(Op.TIMEOUT, settleTimeout);
      rec.pos = Math.round(ms * 1e6);
      signal = checkSignal(opts.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /** A no-op round trip through the kernel; resolves to its result (0). */
  nop(options?: OpOptions): Promise<number> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      signal = checkSignal(checkOptions<OpOptions>(options).signal);
      rec = new OpRecord(Op.NOP, settleNumber);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /**
   * Cancels the operation behind `promise` (a promise this ring returned).
   * Resolves true if the operation was still pending here: a queued one is
   * dropped, an in-flight one gets an IORING_OP_ASYNC_CANCEL. Its own promise
   * rejects with ABORT_ERR once the kernel confirms (or resolves normally if
   * it completed first); its memory stays quarantined until then. Resolves
   * false for a settled operation or a promise from elsewhere.
   */
  cancel(promise: Promise<unknown>): Promise<boolean> {
    const rec = (promise as unknown as Record<symbol, OpRecord | undefined>)?.[kRecord];
    if (rec === undefined || !this.#engine.holds(rec)) return Promise.resolve(false);
    this.#engine.abort(rec);
    return Promise.resolve(true);
  }

  /** Closes the ring: new ops reject with ERR_RING_CLOSED, queued ones too, in-flight ones are cancelled. Settles when the kernel holds no buffer of ours. */
  closeRing(): Promise<void> {
    return this.#engine.close();
  }

  /** @internal Like closeRing, but lets accepted work finish instead of cancelling it. */
  drainAndClose(): Promise<void> {
    return this.#engine.close(true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeRing();
  }

  #simple(op: Op, fd: Fd, options: OpOptions | undefined, fill: (rec: OpRecord, opts: OpOptions) => OpRecord): Promise<any> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      const opts = checkOptions<OpOptions>(options);
      rec = new OpRecord(op, settleVoid);
      rec.fd = checkTarget(fd) as number;
      signal = checkSignal(opts.signal);
      fill(rec, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /** Copies a checked path (pathBytes) into an arena slot named by the op's first buffer. Returns the path as text. */
  #putPath(rec: OpRecord, { bytes, text }: CheckedPath): string {
    const slot = this.#copyPath(bytes);
    rec.temp = slot;
    rec.chunk = slot.chunk;
    rec.off = slot.offset;
    rec.len = bytes.length + 1;
    return text;
  }

  /** The same for the op's second path (rename's, link's and symlink's new name). */
  #putPath2(rec: OpRecord, { bytes, text }: CheckedPath): string {
    const slot = this.#copyPath(bytes);
    rec.temp2 = slot;
    rec.chunk2 = slot.chunk;
    rec.off2 = slot.offset;
    rec.len2 = bytes.length + 1;
    return text;
  }

  #copyPath(bytes: Uint8Array): Slot {
    const slot = this.#arena.allocate(bytes.length + 1);
    const chunk = this.#arena.chunks[slot.chunk];
    chunk.set(bytes, slot.offset);
    chunk[slot.offset + bytes.length] = 0;
    return slot;
  }

  /**
   * Submits a batch: all its operations reach the kernel in one submit, in
   * order, linked where `dependsOnPrevious` says so. Resolves once every
   * operation has completed, with one settled result per operation. If any
   * operation's arguments are invalid, nothing is submitted and the batch rejects.
   */
  async submitBatch<R extends unknown[]>(batch: Batch<R>): Promise<BatchResult<R>> {
    if (!(batch instanceof Batch)) throw invalidType('batch', 'an instance of Batch', batch);
    const captured: { rec: OpRecord; signal?: AbortSignal }[] = [];
    const placeholders: Promise<unknown>[] = [];
    let failure: unknown = null;
    this.#capture = captured;
    try {
      for (const op of batch.operations) {
        const before = captured.length;
        const p = op.apply(this);
        if (captured.length === before) {
          failure = await p.then(() => new Error('internal: operation was not captured'), (err) => err);
          break;
        }
        placeholders.push(p);
      }
    } finally {
      this.#capture = null;
    }
    if (failure !== null) {
      for (const { rec } of captured) this.#engine.releaseAll(rec, false);
      throw failure;
    }
    batch.operations.forEach((op, i) => {
      if (op.dependency !== 'none') captured[i - 1].rec.sqeFlags |= op.dependency === 'hardlink' ? SQE_HARDLINK : SQE_LINK;
    });
    const promises = this.#engine.enqueueGroup(captured);
    // One settled entry per operation, in order: what BatchResult<R> describes.
    return { results: await Promise.allSettled(promises) } as BatchResult<R>;
  }

  /**
   * @internal (kLinkedGroup) Runs `start`, which must start ops on this ring
   * and return their promises in order; they reach the kernel together in one
   * submit, op i linked to op i-1 as `links[i]` says ('link': runs only if the
   * previous one succeeded, else ECANCELED; 'hardlink': runs regardless). If
   * an op's arguments are invalid, none of them is submitted: every promise
   * rejects, the invalid op's with its own error.
   */
  [kLinkedGroup](start: () => Promise<unknown>[], links: readonly ('none' | 'link' | 'hardlink')[]): Promise<unknown>[] {
    const captured: { rec: OpRecord; signal?: AbortSignal }[] = [];
    let started: Promise<unknown>[];
    this.#capture = captured;
    try {
      started = start();
    } finally {
      this.#capture = null;
    }
    const failed = started.findIndex((p) => p !== CAPTURED);
    if (failed !== -1 || captured.length !== started.length) {
      for (const { rec } of captured) this.#engine.releaseAll(rec, false);
      const cancelled = () => Promise.reject(errnoError(-osConstants.errno.ECANCELED, 'submit'));
      return started.map((p, i) => (i === failed ? p : cancelled()));
    }
    for (let i = 1; i < captured.length; i++) {
      const link = links[i];
      if (link === 'link') captured[i - 1].rec.sqeFlags |= SQE_LINK;
      else if (link === 'hardlink') captured[i - 1].rec.sqeFlags |= SQE_HARDLINK;
    }
    return this.#engine.enqueueGroup(captured);
  }

  /** @internal This ring's read results, or null where it has none (see kReadResults). */
  get [kReadResults](): ReadResults | null {
    const native = this.#engine.native as Partial<ReadResults> | undefined;
    return typeof native?.allocResult === 'function' ? native as ReadResults : null;
  }

  /**
   * @internal read(2) of `length` bytes at `position` into read result `id`
   * at `offset`; resolves with the count. The native layer checks the id and
   * that the range lies inside the result.
   */
  [kReadIntoResult](fd: Fd, id: number, offset: number, length: number, position: number, options?: OpOptions & { async?: boolean }): Promise<number> {
    return this.#simple(Op.READ_RESULT, fd, options, (rec, opts) => {
      rec.settle = settleNumber;
      rec.arg = checkInteger('id', id, 1, 2 ** 31 - 1);
      rec.off = checkInteger('offset', offset, 0, 2 ** 31 - 1);
      rec.len = checkInteger('length', length, 1, 2 ** 31 - 1);
      rec.pos = checkPosition(position);
      if ((opts as { async?: boolean }).async) rec.sqeFlags |= SQE_ASYNC;
      return rec;
    });
  }

  /** Ops in flight or queued on this ring (what the runtime's routing compares). */
  get load(): number {
    return this.#engine.load;
  }

  /** @internal The runtime fails a dead worker's ops through this. */
  failAll(error: () => Error): void {
    this.#engine.failAll(error);
  }

  // ---- registered files ----

  /**
   * Registers `fds` as this ring's fixed-file table (IOSQE_FIXED_FILE) and
   * returns one FixedFile per fd, usable wherever an op takes an fd (not
   * close: unregister instead). The kernel holds its own reference: the
   * original fds may be closed afterwards.
   */
  registerFiles(fds: number[]): FixedFile[] {
    if (!Array.isArray(fds) || fds.length === 0) throw invalidType('fds', 'a non-empty Array of fds', fds);
    const table = Int32Array.from(fds.map((fd) => checkFd(fd)));
    this.#engine.native.registerFiles(table);
    return this.#files.issue(fds.length);
  }

  /**
   * An ordinary fd for the file in a registered-file slot (a direct
   * descriptor, or a registered fd): IORING_OP_FIXED_FD_INSTALL, Linux 6.8+
   * (older kernels answer EINVAL). The fd is O_CLOEXEC; the slot keeps its
   * file until closeFd(slot).
   */
  installFd(slot: FixedFile, options?: OpOptions): Promise<number> {
    let rec: OpRecord;
    let signal: AbortSignal | undefined;
    try {
      signal = checkSignal(checkOptions<OpOptions>(options).signal);
      if (!(slot instanceof FixedFile)) throw invalidType('slot', 'an instance of FixedFile', slot);
      rec = new OpRecord(Op.FIXED_FD_INSTALL, settleFd);
      rec.fd = this.#files.indexOf(slot); // the slot itself; the native layer marks the SQE IOSQE_FIXED_FILE
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(rec, signal);
  }

  /**
   * Registers an empty file table of `count` slots (1..32768) and returns a
   * FixedFile per slot. A slot is filled by `openat(path, flags, mode, {
   * fileSlot })` (a direct descriptor: the kernel's file, no fd number) and
   * emptied by `closeFd(slot)`. Because the slot is known before the open
   * completes, ops linked after the open in one submit can already use it.
   */
  registerFileSlots(count: number): FixedFile[] {
    checkInteger('count', count, 1, 32768);
    this.#engine.native.registerFiles(new Int32Array(count).fill(-1));
    return this.#files.issue(count);
  }

  /** Replaces table entries from `offset` on (-1 empties one). Existing FixedFile handles keep their indexes. */
  updateFiles(offset: number, fds: number[]): void {
    checkInteger('offset', offset, 0, Math.max(0, this.#files.size - 1));
    if (!Array.isArray(fds)) throw invalidType('fds', 'an Array of fds', fds);
    const table = Int32Array.from(fds.map((fd) => (fd === -1 ? -1 : checkFd(fd))));
    this.#engine.native.updateFiles(offset, table);
  }

  /** Drops the table; every FixedFile from it goes invalid. */
  unregisterFiles(): void {
    this.#engine.native.unregisterFiles();
    this.#files.retire();
  }

  #submit(rec: OpRecord, signal: AbortSignal | undefined): Promise<any> {
    if ((rec.fd as unknown) instanceof FixedFile) {
      try {
        rec.fd = this.#files.indexOf(rec.fd as unknown as FixedFile);
        rec.sqeFlags |= SQE_FIXED_FILE;
      } catch (err) {
        this.#engine.releaseAll(rec, false);
        return Promise.reject(err);
      }
    }
    if (this.#capture !== null) {
      this.#capture.push({ rec, signal });
      return CAPTURED;
    }
    const promise = this.#engine.enqueue<any>(rec, signal);
    if (rec.state !== OpState.Done) (promise as unknown as Record<symbol, OpRecord>)[kRecord] = rec;
    return promise;
  }
}

const EMPTY: ReadOptions & { flags?: number } = {};

/** A direct open completes with 0 (the kernel made no fd): the result is the slot's index. */
function settleDirectOpen(rec: OpRecord, res: number): void {
  if (res < 0) return settleFd(rec, res);
  settleFd(rec, rec.off2);
}
const IORING_SQ_CQ_OVERFLOW = 1 << 1;
const CAPTURED: Promise<never> = new Promise(() => {});
