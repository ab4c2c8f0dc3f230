// FallbackRing: the NativeRing interface implemented with node:fs, for
// systems where io_uring cannot be used (old kernels, seccomp in containers,
// kernel.io_uring_disabled, or an addon that did not build). The Engine, Ring
// and Runtime above it run unchanged, so the API, the checks and the buffer
// ownership rules are the same on both backends.
//
// Memory safety without the kernel's help: libuv's thread pool never touches
// arena memory. Reads land in a private Buffer and are copied into the arena
// slot on completion; writes copy the slot's bytes out when submitted. So a
// cancelled operation can complete (ECANCELED) at once while its thread-pool
// call is still running: it can no longer write into memory that is freed.
// Data a cancelled stream read brings back later is kept for the next read
// of that fd, so cancelling never loses bytes from a pipe or socket.
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { NativeRing, NativeRingInfo } from '../native';
import { SaferRingError } from '../errors';
import {
  DESC_WORDS, D_ARG, D_CHUNK, D_CHUNK2, D_FD, D_FLAGS, D_GEN, D_ID, D_LEN, D_LEN2, D_OFF, D_OFF2,
  D_OP, D_POS_F64, D_SQE_FLAGS, IORING_FSYNC_DATASYNC, IOV_WORDS, Op, SQE_FIXED_FILE, SQE_HARDLINK, SQE_LINK,
} from '../ring/descriptor';
import { AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, STATX_SIZE_BYTES } from '../fs/statx';

const E = osConstants.errno;
const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const AT_SYMLINK_FOLLOW = 0x400;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;

/**
 * rename without replacing, from node:fs calls: a hard link fails with EEXIST
 * if `to` exists, atomically, then the old name goes. Directories cannot be
 * hard-linked: for them (EPERM) the check and the rename are two steps.
 */
function renameNoReplace(from: Buffer, to: Buffer, cb: (err: NodeJS.ErrnoException | null) => void): void {
  fs.link(from, to, (err) => {
    if (err === null) return fs.unlink(from, cb);
    if (err.code !== 'EPERM') return cb(err);
    fs.lstat(to, (statErr) => {
      if (statErr === null) return cb(Object.assign(new Error('EEXIST'), { errno: -E.EEXIST, code: 'EEXIST' }));
      fs.rename(from, to, cb);
    });
  });
}

interface Pending {
  id: number;
  gen: number;
  op: number;
  fd: number;
  cancelled: boolean;
  timer?: NodeJS.Timeout;
  /** Runs once this op's outcome is known (the next op of its fd's stream may start). */
  onSettled?: () => void;
  /** For linked ops: the op that waits for this one, and whether it runs even if this one fails (hard link). */
  next?: Task;
  hardLink?: boolean;
  /** Bytes asked for: a short read or write breaks a link chain, as in the kernel. */
  expect?: number;
  /** A cancelled stream read: the file its fd named at the cancel (fileIdentity). */
  file?: string;
  /** The stream (per fd and thread) this op runs in, if it is a stream op. */
  stream?: Stream;
}

type Task = { run: () => void; pending: Pending };

/**
 * Bytes a cancelled stream read brought back, by fd, for the next stream read
 * of that fd. One map per thread (a module instance is per thread), shared by
 * every ring of the thread: the bytes outlive the ring whose read took them,
 * so closing that ring, or reading on with another, loses nothing.
 */
const pushback = new Map<number, { file: string; bytes: Buffer }>();

/**
 * Ops at an fd's current position (streams, position -1) run one at a time
 * per fd, in submission order, as the kernel serialises them; the thread pool
 * would otherwise reorder them. Per thread, like `pushback`: a read through
 * one ring waits while a cancelled read of another ring of the thread is still
 * in the pool, then gets the bytes that read took, in order.
 */
const streams = new Map<number, Stream>();

interface Stream {
  /** Ops waiting for the one running now. */
  queue: (() => void)[];
  /**
   * The file the fd named when the stream began (fileIdentity). If the fd is
   * closed behind our back while an op still holds the stream (a cancelled
   * read still in the pool, a read blocked on a pipe nobody writes to) and
   * its number is reused, a new op on that number is another file's: it must
   * not wait for this stream.
   */
  file: string;
}

/**
 * Which open file an fd names now, '' if none. Kept bytes are tagged with it:
 * an fd number closed behind our back (fs.closeSync) and reused for another
 * pipe or socket must not get the old one's bytes.
 */
function fileIdentity(fd: number): string {
  try {
    const st = fs.fstatSync(fd);
    return `${st.dev}:${st.ino}`;
  } catch {
    return '';
  }
}

function errnoOf(err: NodeJS.ErrnoException): number {
  return typeof err.errno === 'number' ? err.errno : -E.EIO;
}

export class FallbackRing implements NativeRing {
  #entries: number;
  #desc: Int32Array;
  #descF64: Float64Array;
  #comps: Int32Array;
  #iovs: Int32Array;
  #onComplete: (n: number) => void;
  #chunks: Uint8Array[] = [];
  #slotSizes: number[] = [];
  #pending = new Map<string, Pending>();
  #live = true;

  constructor(entries: number, _flags: number, _idle: number, desc: Int32Array, comps: Int32Array, iovs: Int32Array, onComplete: (n: number) => void) {
    this.#entries = entries;
    this.#desc = desc;
    this.#descF64 = new Float64Array(desc.buffer, desc.byteOffset, desc.length / 2);
    this.#comps = comps;
    this.#iovs = iovs;
    this.#onComplete = onComplete;
  }

  addChunk(index: number, view: Uint8Array, slotSize: number): boolean {
    if (!(view.buffer instanceof SharedArrayBuffer)) {
      throw SaferRingError.for('ERR_INVALID_ARG_TYPE', 'arena chunks must be non-empty SharedArrayBuffer views');
    }
    if (!Number.isInteger(slotSize) || slotSize <= 0 || (slotSize & (slotSize - 1)) !== 0 || view.byteLength % slotSize !== 0) {
      throw SaferRingError.for('ERR_INVALID_ARG_VALUE', 'slotSize must be a power of two that divides the chunk\'s length');
    }
    this.#chunks[index] = view;
    this.#slotSizes[index] = slotSize;
    return false;
  }

  submit(count: number): number {
    if (!this.#live) throw new SaferRingError('ERR_RING_CLOSED', 'the ring is closed');
    if (!Number.isInteger(count) || count < 0 || count * DESC_WORDS > this.#desc.length) {
      throw SaferRingError.for('ERR_INVALID_ARG_VALUE', 'descriptor count out of range');
    }
    // Snapshot every descriptor first (the array is reused as soon as we
    // return), all or nothing like the native layer: a bad one rejects the
    // batch, naming its index, before any op starts.
    const tasks: Task[] = [];
    for (let i = 0; i < count; i++) {
      try {
        tasks.push(this.#prepare(i));
      } catch (err) {
        for (const t of tasks) this.#pending.delete(`${t.pending.id}:${t.pending.gen}`);
        this.#pending.delete(`${this.#desc[i * DESC_WORDS + D_ID]}:${this.#desc[i * DESC_WORDS + D_GEN]}`);
        (err as SaferRingError).index = i;
        throw err;
      }
    }
    let previous: Task | null = null;
    tasks.forEach((task, i) => {
      // IOSQE_IO_LINK on an op: the next one runs after it, and is cancelled
      // (ECANCELED) if it fails; IOSQE_IO_HARDLINK: the next one runs regardless.
      if (previous !== null) previous.pending.next = task;
      else setImmediate(task.run);
      const flags = this.#desc[i * DESC_WORDS + D_SQE_FLAGS];
      task.pending.hardLink = (flags & SQE_HARDLINK) !== 0;
      previous = flags & (SQE_LINK | SQE_HARDLINK) ? task : null;
    });
    return count;
  }

  #prepare(i: number): Task {
    const d = this.#desc;
    const b = i * DESC_WORDS;
    const pending: Pending = { id: d[b + D_ID], gen: d[b + D_GEN], op: d[b + D_OP], fd: d[b + D_FD], cancelled: false };
    const op = pending.op;
    if (op === Op.READ || op === Op.WRITE || op === Op.RECV || op === Op.SEND) pending.expect = d[b + D_LEN];
    this.#pending.set(`${pending.id}:${pending.gen}`, pending);
    if (d[b + D_SQE_FLAGS] & SQE_FIXED_FILE) return this.#task(pending, () => this.#complete(pending, -E.EBADF));
    const fd = d[b + D_FD];
    const pos = this.#descF64[(b >> 1) + D_POS_F64];
    const position = pos < 0 ? null : pos;
    const chunk = d[b + D_CHUNK], off = d[b + D_OFF], len = d[b + D_LEN];
    const flags = d[b + D_FLAGS], arg = d[b + D_ARG];
    const chunk2 = d[b + D_CHUNK2], off2 = d[b + D_OFF2], len2 = d[b + D_LEN2];
    const done = (res: number) => this.#complete(pending, res);
    const fail = (err: NodeJS.ErrnoException | null) => done(err ? errnoOf(err) : 0);
    switch (pending.op) {
      case Op.NOP:
        return this.#task(pending, () => done(0));
      case Op.READ:
      case Op.RECV: {
        this.#bytes(chunk, off, len); // range checked now, not in a thread-pool callback
        const stream = position === null || pending.op === Op.RECV;
        return this.#task(pending, this.#inOrder(fd, stream, pending, () =>
          this.#read(pending, fd, len, position, (from, n) => this.#bytes(chunk, off, n).set(from.subarray(0, n)))));
      }
      case Op.WRITE:
      case Op.SEND: {
        const copy = Buffer.from(this.#bytes(chunk, off, len)); // the slot is not read again after submit
        const stream = position === null || pending.op === Op.SEND;
        return this.#task(pending, this.#inOrder(fd, stream, pending, () =>
          fs.write(fd, copy, 0, len, position, (err, n) => (err ? fail(err) : done(n)))));
      }
      case Op.READV:
      case Op.WRITEV: {
        const parts: { chunk: number; off: number; len: number }[] = [];
        for (let k = 0; k < len2; k++) {
          const t = (chunk2 + k) * IOV_WORDS;
          parts.push({ chunk: this.#iovs[t], off: this.#iovs[t + 1], len: this.#iovs[t + 2] });
          this.#bytes(this.#iovs[t], this.#iovs[t + 1], this.#iovs[t + 2]);
        }
        if (pending.op === Op.WRITEV) {
          const bufs = parts.map((p) => Buffer.from(this.#bytes(p.chunk, p.off, p.len)));
          return this.#task(pending, () => fs.writev(fd, bufs, position, (err, n) => (err ? fail(err) : done(n))));
        }
        // A vectored read is one read into the parts in order: at the current
        // position it is a stream read like READ's (in order with the fd's
        // other stream ops, kept bytes first, its bytes kept if it is
        // cancelled while libuv still runs it), scattered on delivery.
        const total = parts.reduce((t, p) => t + p.len, 0);
        const scatter = (from: Uint8Array, n: number) => {
          let at = 0;
          for (const part of parts) {
            const m = Math.min(n - at, part.len);
            if (m <= 0) break;
            this.#bytes(part.chunk, part.off, m).set(from.subarray(at, at + m));
            at += m;
          }
        };
        return this.#task(pending, this.#inOrder(fd, position === null, pending, () => this.#read(pending, fd, total, position, scatter)));
      }
      case Op.OPENAT: {
        const file = this.#path(fd, chunk, off, len);
        return this.#task(pending, () => fs.open(file, flags, arg, (err, newFd) => (err ? fail(err) : done(newFd))));
      }
      case Op.CLOSE:
        // Bytes kept for this fd belong to the file being closed, not to whatever gets the number next.
        return this.#task(pending, () => { pushback.delete(fd); fs.close(fd, fail); });
      case Op.FSYNC:
        return this.#task(pending, () => (flags & IORING_FSYNC_DATASYNC ? fs.fdatasync(fd, fail) : fs.fsync(fd, fail)));
      case Op.STATX: {
        const out = this.#bytes(chunk2, off2, Math.min(len2, STATX_SIZE_BYTES));
        const byFd = (flags & AT_EMPTY_PATH) !== 0 && this.#bytes(chunk, off, 1)[0] === 0;
        const file = byFd ? '' : this.#path(fd, chunk, off, len);
        const cb = (err: NodeJS.ErrnoException | null, st?: fs.BigIntStats) => {
          if (err) return fail(err);
          if (!pending.cancelled) encodeStatx(st!, out);
          done(0);
        };
        return this.#task(pending, () => {
          if (byFd) fs.fstat(fd, { bigint: true }, cb);
          else if (flags & AT_SYMLINK_NOFOLLOW) fs.lstat(file, { bigint: true }, cb);
          else fs.stat(file, { bigint: true }, cb);
        });
      }
      case Op.TIMEOUT:
        return this.#task(pending, () => {
          pending.timer = setTimeout(() => done(-E.ETIME), pos / 1e6);
        });
      case Op.CANCEL:
        return this.#task(pending, () => done(this.#cancel(off2, len2)));
      case Op.UNLINKAT: {
        const file = this.#path(fd, chunk, off, len);
        return this.#task(pending, () => (flags & AT_REMOVEDIR ? fs.rmdir(file, fail) : fs.unlink(file, fail)));
      }
      case Op.MKDIRAT: {
        const file = this.#path(fd, chunk, off, len);
        return this.#task(pending, () => fs.mkdir(file, { mode: arg }, fail));
      }
      case Op.RENAMEAT: {
        const from = this.#path(fd, chunk, off, len);
        const to = this.#path(arg, chunk2, off2, len2);
        if (flags & RENAME_EXCHANGE) return this.#task(pending, () => done(-E.EINVAL)); // node:fs has no exchange
        if (flags & RENAME_NOREPLACE) return this.#task(pending, () => renameNoReplace(from, to, fail));
        return this.#task(pending, () => fs.rename(from, to, fail));
      }
      case Op.LINKAT: {
        const from = this.#path(fd, chunk, off, len);
        const to = this.#path(arg, chunk2, off2, len2);
        // link(2) never follows a final symlink; AT_SYMLINK_FOLLOW links its target.
        return this.#task(pending, () => (flags & AT_SYMLINK_FOLLOW
          ? fs.realpath(from, (err, real) => (err ? fail(err) : fs.link(real, to, fail)))
          : fs.link(from, to, fail)));
      }
      case Op.SYMLINKAT: {
        const target = this.#cString(chunk, off, len);
        const to = this.#path(fd, chunk2, off2, len2);
        return this.#task(pending, () => fs.symlink(target, to, fail));
      }
      case Op.FTRUNCATE:
        return this.#task(pending, () => fs.ftruncate(fd, pos, fail));
      case Op.FALLOCATE:
      case Op.SPLICE:
        // node:fs has neither: answered as a kernel without the opcode would, so callers degrade.
        return this.#task(pending, () => done(-E.EINVAL));
      case Op.ACCEPT:
      case Op.CONNECT:
        // Node has no way to accept or connect on a raw socket fd: say so honestly.
        return this.#task(pending, () => done(-E.EOPNOTSUPP));
      default:
        // What an older kernel answers for an opcode it lacks: callers degrade on it
        // (multishot falls back to re-armed single-shot ops).
        return this.#task(pending, () => done(-E.EINVAL));
    }
  }

  /** Wraps `start` so stream ops on one fd run one after another. */
  #inOrder(fd: number, stream: boolean, pending: Pending, start: () => void): () => void {
    if (!stream) return start;
    return () => {
      const file = fileIdentity(fd);
      let current = streams.get(fd);
      if (current !== undefined && current.file !== file) current = undefined;
      const go = (st: Stream) => {
        pending.stream = st;
        pending.onSettled = () => nextInStream(fd, st);
        start();
      };
      if (current === undefined) {
        const st: Stream = { queue: [], file };
        streams.set(fd, st);
        go(st);
      } else {
        const st = current;
        st.queue.push(() => go(st));
      }
    };
  }

  #task(pending: Pending, run: () => void): Task {
    return { pending, run: () => (pending.cancelled ? undefined : run()) };
  }

  /**
   * A read of `len` bytes, handed to `deliver` (into the op's slot or slots).
   * A stream read (position -1) first returns what a cancelled read left behind.
   */
  #read(pending: Pending, fd: number, len: number, position: number | null, deliver: (from: Uint8Array, n: number) => void): void {
    let kept = position === null ? pushback.get(fd) : undefined;
    if (kept !== undefined && kept.file !== fileIdentity(fd)) {
      pushback.delete(fd); // another file has this number now
      kept = undefined;
    }
    if (kept !== undefined) {
      const n = Math.min(len, kept.bytes.length);
      deliver(kept.bytes, n);
      if (n === kept.bytes.length) pushback.delete(fd);
      else pushback.set(fd, { file: kept.file, bytes: kept.bytes.subarray(n) });
      setImmediate(() => this.#complete(pending, n));
      return;
    }
    const private_ = Buffer.alloc(len);
    fs.read(fd, private_, 0, len, position, (err, n) => {
      if (err) return this.#complete(pending, errnoOf(err));
      if (pending.cancelled) {
        if (position === null && n > 0) {
          const prev = pushback.get(fd);
          const file = pending.file ?? fileIdentity(fd);
          const bytes = private_.subarray(0, n);
          pushback.set(fd, prev !== undefined && prev.file === file ? { file, bytes: Buffer.concat([prev.bytes, bytes]) } : { file, bytes });
        }
        this.#settle(pending);
        return;
      }
      deliver(private_, n);
      this.#complete(pending, n);
    });
  }

  #cancel(id: number, gen: number): number {
    const target = this.#pending.get(`${id}:${gen}`);
    if (target === undefined || target.cancelled) return -E.ENOENT;
    // Ops with side effects cannot be recalled once libuv runs them: like the kernel, report EALREADY.
    if (target.op === Op.WRITE || target.op === Op.SEND || target.op === Op.WRITEV || target.op === Op.OPENAT ||
        target.op === Op.CLOSE || target.op === Op.FSYNC) return -E.EALREADY;
    if (target.timer !== undefined) clearTimeout(target.timer);
    const read = target.op === Op.READ || target.op === Op.RECV || target.op === Op.READV;
    if (read) target.file = target.stream?.file ?? fileIdentity(target.fd);
    this.#complete(target, -E.ECANCELED, true);
    target.cancelled = true;
    if (!read) this.#settle(target);
    return 0;
  }

  /**
   * Reports an op's completion. A cancelled stream read keeps its place at the
   * head of its fd's stream until its thread-pool read really returns (its
   * bytes then go to the next read), so reads never race for a pipe's data.
   */
  #complete(p: Pending, res: number, byCancel = false): void {
    if (p.cancelled || !this.#pending.delete(`${p.id}:${p.gen}`)) return;
    if (!byCancel) this.#settle(p);
    const next = p.next;
    if (next !== undefined) {
      const ok = res >= 0 && (p.expect === undefined || res >= p.expect);
      if (ok || p.hardLink) setImmediate(next.run);
      else this.#chainCancel(next);
    }
    if (!this.#live) return;
    this.#comps[0] = p.id;
    this.#comps[1] = p.gen;
    this.#comps[2] = res;
    this.#comps[3] = 0;
    this.#onComplete(1);
  }

  #settle(p: Pending): void {
    const settled = p.onSettled;
    p.onSettled = undefined;
    settled?.();
  }

  /** A failed link cancels the rest of its chain, as the kernel does. */
  #chainCancel(task: Task): void {
    this.#complete(task.pending, -E.ECANCELED);
    task.pending.cancelled = true;
  }

  /** The bytes of one range, which must lie inside one slot of a known chunk (as the native layer checks). */
  #bytes(chunk: number, off: number, len: number): Uint8Array {
    const c = this.#chunks[chunk];
    if (c === undefined || off < 0 || len < 0 || off + len > c.length) {
      throw SaferRingError.for('ERR_INVALID_ARG_VALUE', 'buffer range out of bounds');
    }
    const slot = this.#slotSizes[chunk];
    if (len > 0 && Math.floor(off / slot) !== Math.floor((off + len - 1) / slot)) {
      throw SaferRingError.for('ERR_INVALID_ARG_VALUE', 'buffer range out of bounds (crosses an arena slot boundary)');
    }
    return c.subarray(off, off + len);
  }

  /**
   * The NUL-terminated string in a slot, as bytes (a copy): a path or link
   * target need not be UTF-8, and decoding it to text would change it.
   */
  #cString(chunk: number, off: number, len: number): Buffer {
    const bytes = this.#bytes(chunk, off, len);
    const end = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, end < 0 ? len : end));
  }

  /** The NUL-terminated path in a slot, resolved against a directory fd the way openat(2) does. */
  #path(dirfd: number, chunk: number, off: number, len: number): Buffer {
    const bytes = this.#cString(chunk, off, len);
    if (dirfd === AT_FDCWD || bytes[0] === 0x2f /* '/' */) return bytes;
    return Buffer.concat([Buffer.from(`/proc/self/fd/${dirfd}/`), bytes]);
  }

  destroy(): void {
    this.#live = false;
    for (const p of this.#pending.values()) if (p.timer !== undefined) clearTimeout(p.timer);
  }

  registerFiles(): number {
    throw new SaferRingError('ERR_UNSUPPORTED_OPERATION', 'registered files need io_uring');
  }

  /** No provided-buffer rings here: answered as a kernel before 5.19 would, so buffer groups pick buffers themselves. */
  registerBufferRing(): number {
    throw new SaferRingError('EINVAL', 'EINVAL: invalid argument, io_uring_register (no buffer rings on the fallback backend)', { errno: -E.EINVAL, syscall: 'io_uring_register' });
  }

  updateFiles(): number {
    return this.registerFiles();
  }

  unregisterFiles(): void {
    this.registerFiles();
  }

  inFlight(): number {
    return this.#pending.size;
  }

  reap(): number {
    return 0;
  }

  info(): NativeRingInfo {
    return { live: this.#live, flags: 0, sqEntries: this.#entries, cqEntries: this.#entries * 2, fixedBufferSlots: 0, registeredFiles: 0 };
  }
}

const NS = 1_000_000_000n;

/** Writes a struct statx (the fields parseStatx reads) from node:fs BigIntStats. */
function encodeStatx(st: fs.BigIntStats, out: Uint8Array): void {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.fill(0);
  const major = (dev: bigint) => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = (dev: bigint) => Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  const time = (at: number, ns: bigint) => {
    v.setBigInt64(at, ns / NS, true);
    v.setUint32(at + 8, Number(ns % NS), true);
  };
  v.setUint32(0, 0xfff, true);
  v.setUint32(4, Number(st.blksize), true);
  v.setUint32(16, Number(st.nlink), true);
  v.setUint32(20, Number(st.uid), true);
  v.setUint32(24, Number(st.gid), true);
  v.setUint16(28, Number(st.mode), true);
  v.setBigUint64(32, st.ino, true);
  v.setBigUint64(40, st.size, true);
  v.setBigUint64(48, st.blocks, true);
  time(64, st.atimeNs);
  time(80, st.birthtimeNs);
  time(96, st.ctimeNs);
  time(112, st.mtimeNs);
  v.setUint32(128, major(st.rdev), true);
  v.setUint32(132, minor(st.rdev), true);
  v.setUint32(136, major(st.dev), true);
  v.setUint32(140, minor(st.dev), true);
}

/** The op running in `st` settled: the next one of that stream starts. */
function nextInStream(fd: number, st: Stream): void {
  const next = st.queue.shift();
  if (next !== undefined) next();
  else if (streams.get(fd) === st) streams.delete(fd);
}
