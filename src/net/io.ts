// The io_uring every socket of a thread shares, and the op records the socket
// handles submit through it.
//
// One Engine per thread (an io_uring on this thread's event loop: the
// measurements in docs/net.md say a worker thread would only add a wake-up
// per message here), one provided-buffer group the kernel picks receive
// buffers from, and small builders for the ops a socket needs. Sockets
// complete by callback, not promise: a busy server settles hundreds of
// thousands of ops a second, and each promise would cost an allocation and a
// microtask. This module uses Engine's internal callback seam
// (enqueueCallback) and the native layer's owned buffer groups
// (receive-buffers.ts); nothing else below Ring.
import { constants as osConstants } from 'node:os';
import { backend } from '../backend/select';
import { Arena, Slot } from '../buffers/arena';
import { FeatureDetector } from '../features';
import { Op, SETUP_COOP_TASKRUN, SETUP_DEFER_TASKRUN, SETUP_FIXED_BUFFERS, SETUP_SINGLE_ISSUER, SQE_WEAK } from '../ring/descriptor';
import { Engine } from '../ring/engine';
import { OpRecord } from '../ring/op-record';
import { ReceiveBuffers } from './receive-buffers';

const E = osConstants.errno;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const MSG_WAITALL = 0x100;
const POLLOUT = 0x4;
const IORING_CQE_F_BUFFER = 1 << 0;

/** Bytes of one provided receive buffer, and how many the group has. */
export const RECV_BUFFER_SIZE = 64 * 1024;
export const RECV_BUFFER_COUNT = 256;
/** With SAFER_RING_NET_ZEROCOPY=1, sends this large or larger go out zero-copy where the kernel can (SEND_ZC, 6.0+). */
export const ZERO_COPY_MIN = 64 * 1024;
/** Largest single send: bigger writes go out in pieces of this size, one after another. */
export const MAX_SEND = 256 * 1024;

export type RecvMode = 'multishot' | 'select' | 'plain';

/** What an op reports back to its handle. */
export interface OpTarget {
  /** A CQE of a multishot op that carries IORING_CQE_F_MORE. */
  onMore?(rec: OpRecord, res: number, flags: number): void;
  /** The final CQE (res < 0 is an errno). */
  onFinal(rec: OpRecord, res: number, flags: number): void;
  /** The op was cancelled on request (or the ring closed) before it ran. */
  onCancelled(rec: OpRecord): void;
}

export class NetIo {
  readonly engine: Engine;
  readonly arena: Arena;
  readonly group: ReceiveBuffers | null;
  readonly recvMode: RecvMode;
  readonly multishotAccept: boolean;
  /** Sends of at least this many bytes are zero-copy (Infinity: never). */
  readonly zeroCopyMin: number;
  /** Counters, for tests and debugging: sends made in place from arena memory, zero-copy sends, sends of a copy, waits for room to send. */
  directSends = 0;
  zeroCopySends = 0;
  copiedSends = 0;
  writablePolls = 0;
  /** A Buffer over each arena chunk, so strings can be encoded straight into a send slot. */
  readonly #chunkBuffers: Buffer[] = [];

  constructor() {
    const choice = backend();
    // DEFER_TASKRUN (6.1+): the kernel signals the eventfd as soon as a
    // completion is pending instead of when the thread next enters the
    // kernel; it took a one-connection echo round trip from ~40-60 us to
    // ~20 us here (docs/net.md). Older kernels drop it (and SINGLE_ISSUER,
    // COOP_TASKRUN) one at a time at setup. Arena chunks are registered as
    // fixed buffers where possible: zero-copy sends (opt-in) then skip
    // pinning pages.
    const flags = SETUP_COOP_TASKRUN | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN | SETUP_FIXED_BUFFERS;
    // Every connection keeps a receive (and a server its accept) in flight
    // for as long as it lives, so the number in flight may exceed the
    // completion queue's size: kernels with the opcodes used here (5.11+)
    // never drop a completion (IORING_FEAT_NODROP, 5.5), they hold it back.
    this.engine = new Engine(choice.ringClass, { entries: 1024, setupFlags: flags, sqThreadIdleMs: 0, maxInFlight: 1 << 22 });
    this.arena = this.engine.arena;
    let group: ReceiveBuffers | null = null;
    if (FeatureDetector.supports('bufferRings')) {
      try {
        group = new ReceiveBuffers(this.engine, 1, RECV_BUFFER_COUNT, RECV_BUFFER_SIZE);
      } catch {
        group = null; // the kernel refused the buffer ring (memory limits, or none before 5.19): receive into arena slots instead
      }
    }
    this.group = group;
    this.recvMode = group === null ? 'plain' : FeatureDetector.supports('multishotRecv') ? 'multishot' : 'select';
    this.multishotAccept = FeatureDetector.supports('multishotAccept');
    // Zero-copy sends are opt-in: over loopback the kernel copies the pages
    // anyway when it delivers them (skb_copy_ubufs), so they cost more CPU
    // than a plain send (docs/net.md); where they would pay off, real NICs,
    // could not be measured here.
    const zc = process.env.SAFER_RING_NET_ZEROCOPY === '1' && FeatureDetector.supports('sendZeroCopy') && FeatureDetector.detect().opcodes.SEND_ZC === true;
    this.zeroCopyMin = zc ? ZERO_COPY_MIN : Infinity;
  }

  /** Submits `rec` (built by the functions below); false if the ring is closed. */
  submit(rec: OpRecord): boolean {
    return this.engine.enqueueCallback(rec);
  }

  /**
   * Submits `rec` now rather than with the rest of this turn's ops. For
   * connects: a program that opens thousands of connections in one turn
   * would otherwise send all its SYNs in one burst, overflowing the
   * listener's backlog (the kernel then drops them and the clients retry a
   * second later), where node:net sends them one by one as it goes.
   */
  submitNow(rec: OpRecord): boolean {
    if (!this.engine.enqueueCallback(rec)) return false;
    this.engine.flush();
    return true;
  }

  /** Cancels `rec` (dropped if still queued, IORING_OP_ASYNC_CANCEL if in flight). */
  cancel(rec: OpRecord): void {
    this.engine.abort(rec);
  }

  // ---- receive ----

  /** One arming of a socket's receive, in the best mode this kernel has. */
  recv(target: OpTarget, fd: number, weak: boolean): OpRecord {
    let rec: OpRecord;
    if (this.recvMode === 'plain') {
      rec = record(Op.RECV, target, fd, weak);
      const slot = this.arena.allocate(RECV_BUFFER_SIZE);
      rec.temp = slot;
      rec.chunk = slot.chunk;
      rec.off = slot.offset;
      rec.len = RECV_BUFFER_SIZE;
    } else {
      rec = record(this.recvMode === 'multishot' ? Op.RECV_MULTISHOT : Op.RECV_SELECT, target, fd, weak);
      rec.arg = this.group!.id;
      rec.len = this.recvMode === 'multishot' ? 0 : RECV_BUFFER_SIZE;
    }
    return rec;
  }

  /**
   * The `res` bytes a successful receive CQE delivered, as a new Buffer: a
   * kernel-picked buffer is handed over or copied out (see
   * receive-buffers.ts); a plain slot's bytes are copied, and the slot is
   * freed with the op.
   */
  received(rec: OpRecord, res: number, flags: number): Buffer {
    if (flags & IORING_CQE_F_BUFFER) return this.group!.consume(flags, res);
    const out = Buffer.allocUnsafe(res);
    const slot = rec.temp!;
    out.set(this.arena.chunks[slot.chunk].subarray(slot.offset, slot.offset + res));
    return out;
  }

  /** A CQE that failed or ended the stream may still carry a kernel buffer: give it back. */
  dropBuffer(flags: number): void {
    if (flags & IORING_CQE_F_BUFFER) this.group!.drop(flags);
  }

  // ---- send ----

  /** An arena slot of `length` bytes for the next send (freed when the send completes). */
  sendSlot(length: number): Slot {
    return this.arena.allocate(length);
  }

  /** Buffer view of a slot's chunk (for Buffer#write/copy into the slot). */
  chunkBuffer(slot: Slot): Buffer {
    let b = this.#chunkBuffers[slot.chunk];
    if (b === undefined) {
      const view = this.arena.chunks[slot.chunk];
      b = this.#chunkBuffers[slot.chunk] = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    }
    return b;
  }

  /**
   * A send of `length` bytes from `slot` at `offset`: all or an error
   * (MSG_WAITALL), never SIGPIPE. From `zeroCopyMin` bytes on, on a socket
   * that can (`zeroCopy`: TCP), it is a zero-copy send: its result comes as
   * an F_MORE completion, and the slot
   * stays in flight until the kernel's notification (the final completion).
   */
  send(target: OpTarget, fd: number, weak: boolean, slot: Slot, offset: number, length: number, zeroCopy: boolean): OpRecord {
    const rec = record(zeroCopy && length >= this.zeroCopyMin ? Op.SEND_ZC : Op.SEND, target, fd, weak);
    if (rec.op === Op.SEND_ZC) this.zeroCopySends++;
    this.copiedSends++;
    rec.temp = slot;
    rec.chunk = slot.chunk;
    rec.off = slot.offset + offset;
    rec.len = length;
    rec.flags = MSG_NOSIGNAL | MSG_WAITALL;
    return rec;
  }

  /**
   * A send straight from arena memory the caller owns (an OwnedBuffer's
   * bytes): the slot is borrowed for the op (it cannot be freed or reused
   * before the completion) instead of copied.
   */
  sendBorrowed(target: OpTarget, fd: number, weak: boolean, slot: Slot, chunkOffset: number, length: number, zeroCopy: boolean): OpRecord {
    const rec = record(zeroCopy && length >= this.zeroCopyMin ? Op.SEND_ZC : Op.SEND, target, fd, weak);
    if (rec.op === Op.SEND_ZC) this.zeroCopySends++;
    this.arena.borrow(slot);
    rec.borrowed = slot;
    rec.chunk = slot.chunk;
    rec.off = chunkOffset;
    rec.len = length;
    rec.flags = MSG_NOSIGNAL | MSG_WAITALL;
    this.directSends++;
    return rec;
  }

  /** A one-shot wait until the socket has room to send (POLLOUT); its result is the events seen. */
  pollWritable(target: OpTarget, fd: number, weak: boolean): OpRecord {
    const rec = record(Op.POLL_ADD, target, fd, weak);
    rec.flags = POLLOUT;
    this.writablePolls++;
    return rec;
  }

  // ---- connection management ----

  connect(target: OpTarget, fd: number, weak: boolean, sockaddr: Uint8Array): OpRecord {
    const rec = record(Op.CONNECT, target, fd, weak);
    const slot = this.arena.allocate(sockaddr.byteLength);
    this.arena.chunks[slot.chunk].set(sockaddr, slot.offset);
    rec.temp = slot;
    rec.chunk = slot.chunk;
    rec.off = slot.offset;
    rec.len = sockaddr.byteLength;
    return rec;
  }

  /** One arming of a listening socket's accept: multishot where the kernel has it. */
  accept(target: OpTarget, fd: number, weak: boolean): OpRecord {
    const rec = record(this.multishotAccept ? Op.ACCEPT_MULTISHOT : Op.ACCEPT, target, fd, weak);
    rec.flags = SOCK_CLOEXEC;
    return rec;
  }
}

/**
 * node's own "run the nextTick queue and microtasks now" (what its timers call
 * between two timer callbacks). libuv delivers each socket event in its own
 * callback, and node runs the tick queue after each one; programs and
 * node:net itself rely on that order (a 'finish' seen before the peer's 'end').
 * The ring delivers a batch of completions in one call, so each completion
 * drains the queue itself when it is done.
 */
const runNextTicks: () => void = (process as unknown as { _tickCallback?: () => void })._tickCallback ?? (() => {});

function drainTicks(): void {
  try {
    runNextTicks();
  } catch (err) {
    // A tick threw: the program's uncaught exception, raised once this batch is delivered.
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** Settle functions shared by every op: the record's `extra` is its target. */
function settleFinal(rec: OpRecord, res: number, flags: number): void {
  try {
    (rec.extra as OpTarget).onFinal(rec, res, flags);
  } catch (err) {
    // A listener threw (a 'data' handler, a write callback): that is the
    // program's uncaught exception, not this op's failure, which the Engine
    // would make of it.
    queueMicrotask(() => {
      throw err;
    });
  } finally {
    // After onFinal: a plain receive copies its bytes out of this slot there.
    if (rec.temp !== null) {
      Arena.forThread().release(rec.temp);
      rec.temp = null;
    }
    if (rec.borrowed !== null) {
      Arena.forThread().unborrow(rec.borrowed);
      rec.borrowed = null;
    }
  }
  drainTicks();
}

function moreCqe(rec: OpRecord, res: number, flags: number): void {
  try {
    (rec.extra as OpTarget).onMore!(rec, res, flags);
  } finally {
    drainTicks();
  }
}

function record(op: Op, target: OpTarget, fd: number, weak: boolean): OpRecord {
  const rec = new OpRecord(op, settleFinal);
  rec.fd = fd;
  rec.extra = target;
  if (weak) rec.sqeFlags = SQE_WEAK;
  if (target.onMore !== undefined) rec.more = moreCqe;
  rec.reject = rejectCancelled;
  rec.quietCancel = true;
  return rec;
}

/** The Engine rejects a cancelled op (after freeing its memory) through here, as `rec.reject(err)`. */
function rejectCancelled(this: OpRecord): void {
  (this.extra as OpTarget).onCancelled(this);
}

let perThread: NetIo | undefined;

/** This thread's NetIo, set up on first use. */
export function netIo(): NetIo {
  return (perThread ??= new NetIo());
}

export const errno = E;
