// StreamHandle: what node:net's JavaScript calls a "handle" (libuv's TCPWrap /
// PipeWrap), implemented on io_uring. node:net's Socket and Server drive a
// handle through a small, long-stable protocol: readStart/readStop,
// writeBuffer/writev/write*String with a WriteWrap, shutdown with a
// ShutdownWrap, connect with a ConnectWrap, listen + onconnection, close(cb),
// ref/unref, getsockname/getpeername, bytesRead/bytesWritten/writeQueueSize.
// Implementing that protocol lets node:net's own state machine (events,
// ordering, errors, timeouts, half-close, DNS, autoSelectFamily) run unchanged
// over io_uring; see docs/net.md for the parts node:net reaches past it.
//
// Per handle, at most one op of each kind is in flight: a receive (multishot
// where the kernel has it), a send, a connect, an accept. Reads
// are delivered the way node:net's onStreamRead does it (push, pause the
// receive when the stream is full); writes complete their WriteWrap when the
// kernel has taken every byte.
import { AsyncResource } from 'node:async_hooks';
import { constants as osConstants } from 'node:os';
import { binding } from '../native';
import { Op } from '../ring/descriptor';
import type { OpRecord } from '../ring/op-record';
import type { Slot } from '../buffers/arena';
import { MAX_SEND, netIo, NetIo, OpTarget } from './io';
import { errnoException } from './node-errors';

const E = osConstants.errno;
export const UV_EOF = -4095;
export const UV_ECANCELED = -E.ECANCELED;
export const UV_EINVAL = -E.EINVAL;
export const UV_EBADF = -E.EBADF;
export const UV_ENOTCONN = -E.ENOTCONN;
export const UV_EALREADY = -E.EALREADY;
const SHUT_WR = 1;
/** Marks a zero-copy send whose result completion has been handled (OpRecord.arg is free for sends). */
const ZC_RESULT_SEEN = 1;

/** The Socket or Server a handle belongs to (node:net keeps its own owner_symbol too). */
export const kOwner = Symbol('safer-ring.net.owner');
/** On a Socket: its `onread: { buffer, callback }` option, which the handle serves. */
export const kUserRead = Symbol('safer-ring.net.onread');

export interface UserRead {
  callback: (nread: number, buf: Uint8Array) => unknown;
  generate: (() => Uint8Array) | null;
}

/** node:net's WriteWrap / ShutdownWrap / ConnectWrap, as far as a handle touches them. */
interface Req {
  oncomplete?: ((...args: any[]) => void) | undefined;
  callback?: unknown;
  [key: string]: unknown;
}

interface WriteJob {
  req: Req;
  /** req.callback, held back so node:net does not complete the write at once (see #queue). */
  callback: unknown;
  bufs: Buffer[];
  bytes: number;
  /**
   * A string write kept as a string: encoded straight into the send slot, so
   * its bytes are copied once. Turned into `bufs` when it cannot go out whole.
   */
  str: string | null;
  enc: BufferEncoding;
  /**
   * The arena slots this job's buffers lie in (an OwnedBuffer's bytes, written
   * as they are), borrowed from the write until the job completes: a release
   * meanwhile waits, so the slot cannot change owner while its bytes are queued.
   */
  borrowed: Slot[] | null;
}

const NO_BUFFERS: Buffer[] = [];
/** %TypedArray%.prototype.buffer: which memory a Buffer is over, whatever the object claims. */
const bufferOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer')!.get! as (this: Uint8Array) => ArrayBufferLike;
/** Arena memory is sent in place from this size on (smaller writes are coalesced by copying). */
const IN_PLACE_MIN = 16 * 1024;
const IN_PLACE_MAX = 1 << 30;
/** A plain Buffer from this size on is offered to the socket at once before any copy (see #sendNow). */
const SEND_NOW_MIN = 16 * 1024;
const UV_EAGAIN = -E.EAGAIN;

/** Encodings whose bytes for characters below 0x80 are the characters themselves. */
const ASCII_COMPATIBLE = new Set(['utf8', 'utf-8', 'latin1', 'binary', 'ascii']);
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * writev's [chunk, encoding, ...] as one string with one encoding, when every
 * chunk is a string and the non-empty ones share an encoding, or else are all
 * ASCII in encodings that agree on ASCII; null otherwise. (node:http ends a
 * response with an empty latin1 string behind its utf8 head and body: the
 * first case, which needs no scan of the text.)
 */
function joinStrings(chunks: unknown[]): { s: string; enc: BufferEncoding } | null {
  let s = '';
  let enc: BufferEncoding | undefined;
  let same = true;
  for (let i = 0; i < chunks.length; i += 2) {
    const chunk = chunks[i];
    if (typeof chunk !== 'string') return null;
    if (chunk.length === 0) continue;
    const e = chunks[i + 1] as BufferEncoding;
    enc ??= e;
    if (e !== enc) same = false;
    s += chunk;
  }
  if (same) return { s, enc: enc ?? 'latin1' };
  for (let i = 0; i < chunks.length; i += 2) {
    const chunk = chunks[i] as string;
    if (chunk.length > 0 && (!ASCII_COMPATIBLE.has(chunks[i + 1] as string) || NON_ASCII.test(chunk))) return null;
  }
  return { s, enc: 'latin1' };
}

function isUint8Array(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

export abstract class StreamHandle implements OpTarget {
  /** Set by node:net: whether it wants data. */
  reading = false;
  /** Set by node:net (onStreamRead); reads are delivered by this class instead. */
  onread: unknown = null;
  /** Set by node:net's Server on a listening handle. */
  onconnection: ((err: number, handle?: StreamHandle) => void) | null = null;
  bytesRead = 0;
  bytesWritten = 0;
  /** Bytes handed to write*() that the kernel has not taken yet. */
  writeQueueSize = 0;
  /** Large sends may go out zero-copy (TCP sockets; unix sockets cannot). */
  protected zeroCopy = false;
  [kOwner]: any = null;

  protected readonly io: NetIo;
  protected fdValue = -1;
  readonly #resource: AsyncResource;
  #ref = true;
  #closing = false;
  #closed = false;
  #closeCallback: (() => void) | null = null;
  // receive
  #recv: OpRecord | null = null;
  #recvCancelling = false;
  #wantRead = false;
  #eof = false;
  #userBuffer: Uint8Array | null = null;
  #userRead: UserRead | null | undefined = undefined;
  /** Bytes a user buffer (onread) could not take yet, delivered at the next readStart. */
  #leftover: Buffer | null = null;
  #leftoverEof = false;
  // send
  #jobs: WriteJob[] = [];
  /** Where the first job's unacknowledged bytes start: buffer index and offset in it. */
  #ackBuf = 0;
  #ackOff = 0;
  #send: OpRecord | null = null;
  #sendLength = 0;
  #shutdownReq: Req | null = null;
  // connect and listen
  #connect: OpRecord | null = null;
  #connectReq: Req | null = null;
  #accept: OpRecord | null = null;
  #acceptCancelling = false;
  #listening = false;

  /** `provider`: the async resource type libuv's handle would have (TCPWRAP, PIPEWRAP). */
  constructor(provider: string) {
    this.io = netIo();
    // Created now, in the caller's async context (as libuv's handles are), so
    // callbacks see the AsyncLocalStorage of whoever made the socket.
    this.#resource = new AsyncResource(provider, { requireManualDestroy: true });
  }

  /** The socket's file descriptor (-1 before one exists, and after close). */
  get fd(): number {
    return this.fdValue;
  }

  /** The async resource node:net's callbacks run in (as with libuv's handles). */
  protected get resource(): AsyncResource {
    return this.#resource;
  }

  /** A handle of the same kind for an accepted connection. */
  protected abstract accepted(fd: number): StreamHandle;

  getAsyncId(): number {
    return this.resource.asyncId();
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** @internal A receive is armed (in flight and not being cancelled): for tests and debugging. */
  get receiving(): boolean {
    return this.#recv !== null && !this.#recvCancelling;
  }

  /** @internal Adopts a socket fd this handle will own from now on. */
  protected adopt(fd: number): void {
    this.fdValue = fd;
  }

  // ---- reading ----

  useUserBuffer(buffer: Uint8Array): void {
    this.#userBuffer = buffer;
  }

  readStart(): number {
    if (this.#closing) return UV_EINVAL;
    this.#wantRead = true;
    if (this.#leftover !== null) {
      setImmediate(() => this.resource.runInAsyncScope(this.#deliverLeftover, this));
      return 0;
    }
    this.#armRecv();
    return 0;
  }

  readStop(): number {
    this.#wantRead = false;
    if (this.#recv !== null && !this.#recvCancelling) {
      this.#recvCancelling = true;
      this.io.cancel(this.#recv);
    }
    return 0;
  }

  #armRecv(): void {
    if (!this.#wantRead || this.#recv !== null || this.#eof || this.#closing || this.fdValue < 0 || this.#leftover !== null) return;
    const rec = this.io.recv(this, this.fdValue, !this.#ref);
    this.#recv = rec;
    if (!this.io.submit(rec)) this.#recv = null;
  }

  #onData(rec: OpRecord, res: number, flags: number): void {
    const data = this.io.received(rec, res, flags);
    this.bytesRead += res;
    if (this.#closing) return;
    this.#push(data);
  }

  /** node:net's onStreamRead for nread > 0. */
  #push(data: Buffer): void {
    const stream = this[kOwner];
    stream._unrefTimer();
    if (stream.destroyed) return;
    // The onread option of the socket this handle serves (read once: it never changes).
    const user = this.#userBuffer === null ? undefined : (this.#userRead ??= (stream[kUserRead] as UserRead | undefined) ?? null);
    let more: boolean;
    if (user) more = this.#fillUserBuffers(stream, user, data);
    else more = stream.push(data);
    if (!more) {
      this.reading = false;
      if (!stream.destroyed) this.readStop();
    }
  }

  /** The onread option: bytes go into the caller's buffer, at most its length per callback. */
  #fillUserBuffers(stream: unknown, user: UserRead, data: Buffer): boolean {
    if (!this.#wantRead || this.#leftover !== null) {
      // Paused (bytes can still land while the receive is being cancelled): keep them, in order.
      this.#leftover = this.#leftover === null ? data : Buffer.concat([this.#leftover, data]);
      return true;
    }
    let at = 0;
    let more = true;
    while (at < data.length && this.#userBuffer !== null && this.#userBuffer.length > 0) {
      const target = this.#userBuffer;
      const n = Math.min(target.length, data.length - at);
      target.set(data.subarray(at, at + n));
      at += n;
      more = user.callback.call(stream, n, target) !== false;
      if (user.generate !== null) {
        const next = user.generate();
        if (isUint8Array(next)) this.#userBuffer = next;
      }
      // A callback that returned false or paused the socket gets nothing more until it resumes.
      if (!more || !this.#wantRead) break;
    }
    if (at < data.length) this.#leftover = data.subarray(at);
    return more;
  }

  #deliverLeftover(): void {
    const data = this.#leftover;
    if (data === null || !this.#wantRead || this.#closing) return;
    this.#leftover = null;
    this.#push(data);
    if (this.#leftover === null) {
      if (this.#leftoverEof) this.#pushEof();
      else this.#armRecv();
    }
  }

  /** node:net's onStreamRead for UV_EOF. */
  #pushEof(): void {
    if (this.#leftover !== null) {
      this.#leftoverEof = true;
      return;
    }
    const stream = this[kOwner];
    stream._unrefTimer();
    if (!stream._readableState.endEmitted) {
      stream.push(null);
      stream.read(0);
    }
  }

  #readError(res: number): void {
    const stream = this[kOwner];
    stream._unrefTimer();
    stream.destroy(errnoException(res, 'read'));
  }

  #recvDone(rec: OpRecord, res: number, flags: number): void {
    if (rec === this.#recv) {
      this.#recv = null;
      this.#recvCancelling = false;
    }
    if (res > 0) {
      this.#onData(rec, res, flags);
      this.#armRecv(); // the kernel ended a multishot early, or single-shot mode
    } else {
      this.io.dropBuffer(flags);
      if (this.#closing) {
        // Whatever it says, nobody reads it now.
      } else if (res === 0) {
        this.#eof = true;
        this.#pushEof();
      } else if (res === -E.ENOBUFS || res === UV_ECANCELED || res === -E.EINTR) {
        // Every group buffer was taken when the kernel looked (they come back
        // as soon as their bytes are copied out), or a cancel we asked for: go on.
        this.#armRecv();
      } else {
        this.#readError(res);
      }
    }
    this.#maybeFinishClose();
  }

  // ---- writing ----

  writeBuffer(req: Req, data: Buffer): number {
    return this.#write(req, [data]);
  }

  writev(req: Req, chunks: unknown[], allBuffers: boolean): number {
    let bufs: Buffer[];
    if (allBuffers) {
      bufs = chunks as Buffer[];
    } else {
      // node:http writes a response as strings: encoded straight into the
      // send slot as one, they skip a Buffer each.
      const joined = joinStrings(chunks);
      if (joined !== null) return this.#writeString(req, joined.s, joined.enc);
      bufs = [];
      for (let i = 0; i < chunks.length; i += 2) {
        const chunk = chunks[i];
        bufs.push(typeof chunk === 'string' ? Buffer.from(chunk, chunks[i + 1] as BufferEncoding) : (chunk as Buffer));
      }
    }
    return this.#write(req, bufs);
  }

  writeUtf8String(req: Req, s: string): number {
    return this.#writeString(req, s, 'utf8');
  }

  writeLatin1String(req: Req, s: string): number {
    return this.#writeString(req, s, 'latin1');
  }

  writeAsciiString(req: Req, s: string): number {
    return this.#writeString(req, s, 'ascii');
  }

  writeUcs2String(req: Req, s: string): number {
    return this.#writeString(req, s, 'ucs2');
  }

  #writeString(req: Req, s: string, enc: BufferEncoding): number {
    // A string too big for one send goes the general way, as a Buffer.
    if (s.length > MAX_SEND / 3) return this.#write(req, [Buffer.from(s, enc)]);
    const bytes = enc === 'utf8' ? Buffer.byteLength(s, 'utf8') : enc === 'ucs2' ? s.length * 2 : s.length;
    return this.#queue(req, NO_BUFFERS, bytes, s, enc);
  }

  #write(req: Req, bufs: Buffer[]): number {
    let bytes = 0;
    for (let i = 0; i < bufs.length; i++) bytes += bufs[i].length;
    return this.#queue(req, bufs, bytes, null, 'utf8');
  }

  /**
   * Queues a write; its WriteWrap completes when the kernel has every byte.
   * node:net decides right after this call whether the write already
   * finished (libuv's synchronous try_write) by calling `req.callback` unless
   * a flag in libuv's shared state says "async", a flag only libuv sets. So
   * the callback is held back here and put back just before `oncomplete`:
   * node:net then sees an asynchronous write, which is what this is.
   */
  #queue(req: Req, bufs: Buffer[], bytes: number, str: string | null, enc: BufferEncoding): number {
    if (this.#closing || this.fdValue < 0) return UV_EBADF;
    const job: WriteJob = { req, callback: req.callback, bufs, bytes, str, enc, borrowed: this.#borrowArena(bufs) };
    req.callback = null;
    this.bytesWritten += bytes;
    this.writeQueueSize += bytes;
    this.#jobs.push(job);
    if (this.#send === null) this.#pumpSends();
    return 0;
  }

  /**
   * Borrows the arena slot of every buffer that lies in one (arena memory is
   * shared memory: anything else is skipped at the cost of one getter call).
   * From here until the job completes, whether its bytes are later copied
   * into a send slot or sent in place, the slot cannot be freed and reused.
   */
  #borrowArena(bufs: Buffer[]): Slot[] | null {
    let borrowed: Slot[] | null = null;
    for (let i = 0; i < bufs.length; i++) {
      if (!(bufferOf.call(bufs[i]) instanceof SharedArrayBuffer)) continue;
      const slot = this.io.arena.slotOf(bufs[i]);
      if (slot === undefined) continue;
      this.io.arena.borrow(slot);
      (borrowed ??= []).push(slot);
    }
    return borrowed;
  }

  /** A string job as bytes, for when it cannot go out whole in one send. */
  #materialize(job: WriteJob): void {
    if (job.str === null) return;
    job.bufs = [Buffer.from(job.str, job.enc)];
    job.str = null;
  }

  /** Starts the next send: up to MAX_SEND bytes from the front of the queue, copied into one arena slot. */
  #pumpSends(): void {
    if (this.#send !== null || this.#closing) return;
    // Zero-byte writes at the front complete without a send (libuv does the same).
    while (this.#jobs.length > 0 && this.#jobs[0].bytes === 0) {
      const job = this.#jobs.shift()!;
      queueMicrotask(() => this.#complete(job, 0));
    }
    if (this.#sendNow()) {
      // The rest of a large plain Buffer waits for room in the socket and goes
      // out the same way then, instead of through a copy into the arena.
      this.#startSend(this.io.pollWritable(this, this.fdValue, !this.#ref), 0);
      return;
    }
    let pending = 0;
    for (let j = 0; j < this.#jobs.length && pending < MAX_SEND; j++) pending += this.#jobs[j].bytes;
    if (pending === 0) return;
    if (this.#sendInPlace()) return;
    // The first job's acknowledged bytes are behind the cursor.
    const firstDone = this.#ackedOfFirst();
    const room = Math.min(pending - firstDone, MAX_SEND);
    const slot = this.io.sendSlot(room);
    const target = this.io.chunkBuffer(slot);
    let at = slot.offset;
    let left = room;
    let bi = this.#ackBuf;
    let bo = this.#ackOff;
    for (let j = 0; j < this.#jobs.length && left > 0; j++) {
      const job = this.#jobs[j];
      if (job.str !== null) {
        if (job.bytes <= left && bi === 0 && bo === 0) {
          at += target.write(job.str, at, job.bytes, job.enc);
          left -= job.bytes;
          continue;
        }
        if (at > slot.offset) break; // send what is copied; this string starts the next send
        this.#materialize(job);
      }
      const bufs = job.bufs;
      for (; bi < bufs.length && left > 0; bi++, bo = 0) {
        const b = bufs[bi];
        const n = Math.min(b.length - bo, left);
        if (n === 0) continue;
        if (bo === 0 && n === b.length) target.set(b, at);
        else target.set(b.subarray(bo, bo + n), at);
        at += n;
        left -= n;
        if (bo + n < b.length) break;
      }
      bi = 0;
      bo = 0;
    }
    const length = at - slot.offset;
    this.#startSend(this.io.send(this, this.fdValue, !this.#ref, slot, 0, length, this.zeroCopy), length);
  }

  /** Submits the socket's one op in the send direction (a send of `length` bytes, or a wait for room). */
  #startSend(rec: OpRecord, length: number): void {
    this.#send = rec;
    this.#sendLength = length;
    if (!this.io.submit(rec)) this.#send = null;
  }

  /**
   * Large plain Buffers at the front of the queue are first offered to the
   * socket at once: one send(2) with MSG_DONTWAIT each, as libuv's try-write.
   * The kernel copies from the Buffer during the call, which saves the copy
   * into an arena slot that a ring send needs (the ring's send runs later, so
   * it may only read arena memory). Returns true when the socket took part or
   * none of such a Buffer for want of room: the caller then waits for room
   * (a POLLOUT poll) and offers the rest again, as libuv does. An error
   * leaves the bytes to the ring's send, which reports it. Writes finished
   * here complete asynchronously, as node:net expects.
   */
  #sendNow(): boolean {
    if (this.fdValue < 0) return false;
    while (this.#jobs.length > 0) {
      const head = this.#jobs[0];
      if (head.str !== null || this.#ackBuf >= head.bufs.length) return false;
      const b = head.bufs[this.#ackBuf];
      const left = b.length - this.#ackOff;
      if (left < SEND_NOW_MIN || bufferOf.call(b) instanceof SharedArrayBuffer) return false;
      const n = binding!.trySend(this.fdValue, b, this.#ackOff);
      if (n === UV_EAGAIN) return true;
      if (n <= 0) return false;
      const completed: [WriteJob, number][] = [];
      this.#advance(n, completed);
      if (completed.length > 0) queueMicrotask(() => { for (const [job, status] of completed) this.#complete(job, status); });
      if (n < left) return true;
    }
    return false;
  }

  /**
   * Arena memory the program owns (an OwnedBuffer's bytes written to the
   * socket) goes out in place, borrowed for the send, instead of through a
   * copy: the one write path where the kernel reads the caller's bytes.
   */
  #sendInPlace(): boolean {
    const head = this.#jobs[0];
    if (head.str !== null || this.#ackBuf >= head.bufs.length) return false;
    const b = head.bufs[this.#ackBuf];
    if (b.length - this.#ackOff < IN_PLACE_MIN || !(b.buffer instanceof SharedArrayBuffer)) return false;
    const slot = this.io.arena.slotOf(b);
    if (slot === undefined) return false;
    const length = Math.min(b.length - this.#ackOff, IN_PLACE_MAX);
    this.#startSend(this.io.sendBorrowed(this, this.fdValue, !this.#ref, slot, b.byteOffset + this.#ackOff, length, this.zeroCopy), length);
    return true;
  }

  #ackedOfFirst(): number {
    if (this.#jobs.length === 0) return 0;
    const bufs = this.#jobs[0].bufs; // a string job is never partly acknowledged (see #advance)
    let n = this.#ackOff;
    for (let i = 0; i < this.#ackBuf; i++) n += bufs[i].length;
    return n;
  }

  #sendDone(rec: OpRecord, res: number): void {
    if (rec === this.#send) this.#send = null;
    const completed: [WriteJob, number][] = [];
    if (rec.op === Op.POLL_ADD) {
      // Room in the socket (or an error the next send will report), or cancelled by close: nothing was sent.
    } else if (rec.op === Op.SEND_ZC && (res === -E.EOPNOTSUPP || res === -E.ENOTSUP)) {
      // This socket cannot send zero-copy after all: nothing was sent; send the same bytes the plain way.
      this.zeroCopy = false;
    } else if (res < 0) {
      // The jobs this send carried bytes of fail with its error; the rest are tried next.
      let covered = this.#sendLength + this.#ackedOfFirst();
      while (this.#jobs.length > 0 && covered > 0) {
        const job = this.#jobs.shift()!;
        covered -= job.bytes;
        this.writeQueueSize -= job.bytes;
        completed.push([job, res]);
      }
      this.#ackBuf = 0;
      this.#ackOff = 0;
    } else {
      // MSG_WAITALL: all of it, unless a signal cut it short; a short send resumes where it stopped.
      this.#advance(res, completed);
    }
    if (!this.#closing) this.#pumpSends();
    for (const [job, status] of completed) this.#complete(job, status);
    this.#shutdownWhenSent();
    this.#maybeFinishClose();
  }

  /** A shutdown waiting for the queued bytes goes now if they are all sent. */
  #shutdownWhenSent(): void {
    if (this.#shutdownReq !== null && this.#jobs.length === 0 && this.#send === null && !this.#closing) this.#shutdownNow();
  }

  /** Moves the acknowledgement cursor `n` bytes on, collecting the jobs it passes the end of. */
  #advance(n: number, completed: [WriteJob, number][]): void {
    this.writeQueueSize -= n;
    while (this.#jobs.length > 0) {
      const job = this.#jobs[0];
      if (job.str !== null) {
        if (n >= job.bytes) {
          n -= job.bytes;
          this.#jobs.shift();
          completed.push([job, 0]);
          if (n === 0) break;
          continue;
        }
        this.#materialize(job); // sent in part (a short send): resume from its bytes
      }
      const bufs = job.bufs;
      while (this.#ackBuf < bufs.length && n > 0) {
        const room = bufs[this.#ackBuf].length - this.#ackOff;
        if (n >= room) {
          n -= room;
          this.#ackBuf++;
          this.#ackOff = 0;
        } else {
          this.#ackOff += n;
          n = 0;
        }
      }
      // Skip empty buffers at the end of the job.
      while (this.#ackBuf < bufs.length && bufs[this.#ackBuf].length === 0) this.#ackBuf++;
      if (this.#ackBuf < bufs.length) break;
      this.#jobs.shift();
      this.#ackBuf = 0;
      this.#ackOff = 0;
      completed.push([job, 0]);
      if (n === 0 && (this.#jobs.length === 0 || this.#jobs[0].bytes > 0)) break;
    }
  }

  #complete(job: WriteJob, status: number): void {
    if (job.borrowed !== null) {
      for (const slot of job.borrowed) this.io.arena.unborrow(slot);
      job.borrowed = null;
    }
    const req = job.req;
    req.callback = job.callback;
    if (typeof req.oncomplete === 'function') this.resource.runInAsyncScope(req.oncomplete, req, status);
  }

  /**
   * Half-closes the socket (SHUT_WR) once every queued byte is sent. This is
   * a plain shutdown(2), as libuv does it: it never blocks, and the peer's
   * EOF must not overtake this side's completion (io_uring's SHUTDOWN op runs
   * on a kernel worker thread, so its completion can arrive after the peer's).
   * With nothing queued it happens now and node:net is told it finished
   * synchronously (the `1` its _final expects for that).
   */
  shutdown(req: Req): number {
    if (this.#closing || this.fdValue < 0) return UV_ENOTCONN;
    if (this.#shutdownReq !== null) return UV_EALREADY;
    if (this.#jobs.length === 0 && this.#send === null) {
      const r = this.shutdownSocket(this.fdValue);
      return r < 0 ? r : 1;
    }
    this.#shutdownReq = req;
    return 0;
  }

  #shutdownNow(): void {
    const req = this.#shutdownReq!;
    this.#shutdownReq = null;
    const r = this.shutdownSocket(this.fdValue);
    if (typeof req.oncomplete === 'function') this.resource.runInAsyncScope(req.oncomplete, req, r < 0 ? r : 0);
  }

  /** shutdown(fd, SHUT_WR): 0 or a negative errno. */
  private shutdownSocket(fd: number): number {
    return binding!.shutdown(fd, SHUT_WR);
  }

  // ---- connecting ----

  /** Starts connecting to `sockaddr` (the socket exists). Completion: req.oncomplete(status, handle, req, readable, writable). */
  protected startConnect(req: Req, sockaddr: Uint8Array, delayedError: number): number {
    if (this.#connect !== null || this.#connectReq !== null) return UV_EALREADY;
    this.#connectReq = req;
    if (delayedError !== 0) {
      // libuv reports an earlier bind's EADDRINUSE as the connect's result.
      setImmediate(() => this.#connectDone(delayedError));
      return 0;
    }
    const rec = this.io.connect(this, this.fdValue, !this.#ref, sockaddr);
    this.#connect = rec;
    if (!this.io.submitNow(rec)) {
      this.#connect = null;
      this.#connectReq = null;
      return UV_EINVAL;
    }
    return 0;
  }

  #connectDone(res: number): void {
    this.#connect = null;
    const req = this.#connectReq;
    if (req === null) return;
    if (this.#closing) {
      this.#maybeFinishClose(); // reported as cancelled when the close finishes
      return;
    }
    this.#connectReq = null;
    this.onConnected(res);
    if (typeof req.oncomplete === 'function') this.resource.runInAsyncScope(req.oncomplete, req, res < 0 ? res : 0, this, req, true, true);
  }

  /** Hook: the connect finished (res 0 or a negative errno), before node:net hears of it. */
  protected onConnected(_res: number): void {}

  // ---- listening ----

  /** listen(2) on the bound socket, then accept connections for node:net's onconnection. */
  protected startListening(backlog: number, listen: (fd: number, backlog: number) => number): number {
    if (this.#closing) return UV_EINVAL;
    const err = listen(this.fdValue, backlog);
    if (err !== 0) return err;
    this.#listening = true;
    this.#armAccept();
    return 0;
  }

  #armAccept(): void {
    if (!this.#listening || this.#accept !== null || this.#closing) return;
    const rec = this.io.accept(this, this.fdValue, !this.#ref);
    this.#accept = rec;
    if (!this.io.submit(rec)) this.#accept = null;
  }

  /**
   * An accepted connection. Its handle is made outside the listener's async
   * scope, as libuv's are (so it does not inherit the listener's
   * AsyncLocalStorage); node:net's onconnection then runs inside it.
   */
  #onAccepted(fd: number): void {
    if (this.#closing || this.onconnection === null) {
      binding!.close(fd);
      return;
    }
    const client = this.accepted(fd);
    this.resource.runInAsyncScope(this.onconnection, this, 0, client);
  }

  #acceptDone(rec: OpRecord, res: number): void {
    if (rec === this.#accept) {
      this.#accept = null;
      this.#acceptCancelling = false;
    }
    if (res >= 0) {
      this.#onAccepted(res);
      this.#armAccept();
    } else if (res === UV_ECANCELED || res === -E.EINTR || this.#closing) {
      this.#armAccept();
    } else {
      // Report it (node:net emits 'error' on the server) and keep listening,
      // one turn later so a lasting error (EMFILE) cannot spin the loop.
      if (this.onconnection !== null) this.resource.runInAsyncScope(this.onconnection, this, res);
      setImmediate(() => this.#armAccept());
    }
    this.#maybeFinishClose();
  }

  // ---- OpTarget: completions from the ring ----

  onMore(rec: OpRecord, res: number, flags: number): void {
    if (rec.op === Op.ACCEPT_MULTISHOT) {
      this.#onAccepted(res);
    } else if (rec.op === Op.SEND_ZC) {
      // A zero-copy send's result; its slot stays the kernel's until the notification.
      rec.arg = ZC_RESULT_SEEN;
      this.#sendDone(rec, res);
    } else {
      this.resource.runInAsyncScope(this.#onData, this, rec, res, flags);
    }
  }

  onFinal(rec: OpRecord, res: number, flags: number): void {
    switch (rec.op) {
      case Op.SEND:
      case Op.POLL_ADD:
        return this.#sendDone(rec, res);
      case Op.SEND_ZC:
        // The notification after the result, or the result itself when no notification follows.
        if (rec.arg !== ZC_RESULT_SEEN) this.#sendDone(rec, res);
        return;
      case Op.CONNECT:
        return this.#connectDone(res);
      case Op.ACCEPT:
      case Op.ACCEPT_MULTISHOT:
        return this.#acceptDone(rec, res);
      default:
        return this.resource.runInAsyncScope(this.#recvDone, this, rec, res, flags);
    }
  }

  onCancelled(rec: OpRecord): void {
    this.onFinal(rec, UV_ECANCELED, 0);
  }

  // ---- life cycle ----

  ref(): void {
    if (this.#ref) return;
    this.#ref = true;
    this.#reweigh();
  }

  unref(): void {
    if (!this.#ref) return;
    this.#ref = false;
    this.#reweigh();
  }

  hasRef(): boolean {
    return this.#ref;
  }

  /**
   * Whether an op keeps the event loop alive is fixed when it is submitted
   * (SQE_WEAK): the long-lived ones (receive, accept) are cancelled and armed
   * again with the new setting. Nothing is lost: data that arrives meanwhile
   * waits in the socket.
   */
  #reweigh(): void {
    if (this.#recv !== null && !this.#recvCancelling) {
      this.#recvCancelling = true;
      this.io.cancel(this.#recv);
    }
    if (this.#accept !== null && !this.#acceptCancelling) {
      this.#acceptCancelling = true;
      this.io.cancel(this.#accept);
    }
  }

  /**
   * Closes the handle: every op in flight is cancelled, and once the kernel
   * has answered them all the fd is closed and `callback` runs (writes that
   * never went out complete with ECANCELED first, as with libuv).
   */
  close(callback?: () => void): void {
    if (this.#closing) return;
    this.#closing = true;
    if (typeof callback === 'function') this.#closeCallback = callback;
    this.reading = false;
    this.#wantRead = false;
    // libuv closes the socket at once: a listener's port is free by the time
    // close() returns. Here the fd is closed once every op has answered its
    // cancel, so what must happen now happens in this hook.
    this.onClosing(this.#listening);
    this.#listening = false;
    for (const rec of [this.#recv, this.#send, this.#connect, this.#accept]) {
      if (rec !== null) this.io.cancel(rec);
    }
    this.#maybeFinishClose();
  }

  #maybeFinishClose(): void {
    if (!this.#closing || this.#closed) return;
    if (this.#recv !== null || this.#send !== null || this.#connect !== null || this.#accept !== null) return;
    this.#closed = true;
    const fd = this.fdValue;
    this.fdValue = -1;
    if (fd >= 0) binding!.close(fd);
    // libuv runs close callbacks in a later phase of the loop, after the
    // cancelled requests' callbacks: so do we.
    setImmediate(() => {
      const scope = this.resource;
      for (const job of this.#jobs.splice(0)) this.#complete(job, UV_ECANCELED);
      this.writeQueueSize = 0;
      const connectReq = this.#connectReq;
      this.#connectReq = null;
      if (connectReq !== null && typeof connectReq.oncomplete === 'function') {
        scope.runInAsyncScope(connectReq.oncomplete, connectReq, UV_ECANCELED, this, connectReq, false, false);
      }
      const shutdownReq = this.#shutdownReq;
      this.#shutdownReq = null;
      if (shutdownReq !== null && typeof shutdownReq.oncomplete === 'function') {
        scope.runInAsyncScope(shutdownReq.oncomplete, shutdownReq, UV_ECANCELED);
      }
      const cb = this.#closeCallback;
      this.#closeCallback = null;
      if (cb !== null) scope.runInAsyncScope(cb, this);
      scope.emitDestroy();
    });
  }

  /** Hook: close() was called (the fd closes once every op has answered). */
  protected abstract onClosing(listening: boolean): void;
}
