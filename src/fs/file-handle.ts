// FileHandle: node:fs/promises' FileHandle, its I/O served by this thread's ring.
//
// It behaves as Node's: the same methods, argument checks and results, the
// 'close' event, Node's rules for closing a handle that still has operations
// running (the fd stays open until the last one finishes), the warning when
// an unclosed handle is garbage-collected, and Symbol.asyncDispose.
//
// Node's own code must accept it as one of its FileHandles: the streams of
// fs.createReadStream/createWriteStream({ fd: handle }) and worker_threads'
// transfer test `instanceof` Node's internal class. So the class's prototype
// chain runs through Node's FileHandle (taken by node-handle.ts on the first
// open), and it answers Node's reference-count and transfer symbols. Every
// method Node's class has is overridden here: none of Node's runs on it.
//
// Order: operations that use or move the file position (reads and writes
// without a position, writes at any position, truncate, sync, readFile and
// writeFile) run one after another in call order, so concurrent writes
// through one handle land in the order they were made. Reads at a position
// run at once, as many at a time as the caller starts.
import EventEmitter from 'node:events';
import fs from 'node:fs';
import { AsyncResource } from 'node:async_hooks';
import { createInterface } from 'node:readline';
import { ReadableStream, ReadableByteStreamController, ReadableStreamDefaultController, UnderlyingByteSource } from 'node:stream/web';
import type { Ring } from '../ring/ring';
import { kStatxParse } from '../ring/ring';
import {
  asSyscall, getOptions, internalAssertion, invalidArgType, invalidArgValue, invalidState, validateBoolean, validateBuffer, validateBufferArray, validateEncoding,
  validateInteger, validateObject, validateOffsetLengthRead, validateOffsetLengthWrite, validateStringAfterArrayBufferView, validateAbortSignal,
  isCustomIterable, checkAborted, outOfRange,
} from './errors';
import { byteSizeOf, bytesOf, ioBytesOf, ValidPath } from './args';
import { withCallerStack } from './ring-context';
import { bigIntStatsClass, bigIntStatsFromStatx, statsFromStatx } from './stats';
import { checkEncoding, readFileFromFd, ReadFileOptions, RING_BYTES_LIMIT } from './read-file';
import { writeData, WriteData } from './write-file';
import { errnoError } from '../errors';
import { constants as osConstants } from 'node:os';
import { NodeHandleInternals, nodeHandleInternals } from './node-handle';

/**
 * One ring op moves at most this many bytes; larger reads and writes go to
 * Node's own calls on the same fd, straight into or out of the caller's
 * buffer (a copy through the arena costs more than the ring saves there).
 */
const RING_IO_LIMIT = RING_BYTES_LIMIT;

type Result<K extends string, B> = { [key in K]: number } & { buffer: B };

const noop = (): void => {};

/** Set in FileHandle's static block: call() (outside the class) holds a reference while an op runs. */
let refOf: (h: FileHandle, delta: 1 | -1) => void;

/**
 * readFile(handle) and writeFile(handle, ...) as node:fs/promises runs them:
 * not through the method (no closed-handle check: a closed handle fails in
 * the I/O itself), but in the handle's order. Set in the static block.
 */
export let readFileOfHandle: (h: FileHandle, options: ReadFileOptions) => Promise<Buffer | string>;
export let writeFileOfHandle: (h: FileHandle, data: WriteData, signal: AbortSignal | undefined, encoding: BufferEncoding | null | undefined) => Promise<void>;
const EBADF = osConstants.errno.EBADF;

function closedError(syscall: string): Error {
  const err = new Error('file closed') as Error & { code: string; syscall: string };
  err.code = 'EBADF';
  err.syscall = syscall;
  return err;
}

/** Node's callback API on an fd, as a promise (its errors get the caller's stack in call()). */
function viaNode<T>(call: (cb: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    call((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}

/** Warns (as Node does) when a handle left open is collected, and closes its fd. */
let closeWarningGiven = false;
const collected = new FinalizationRegistry<number>((fd) => {
  process.emitWarning(`Closing file descriptor ${fd} on garbage collection`);
  if (!closeWarningGiven) {
    closeWarningGiven = true;
    process.emitWarning(
      'Closing a FileHandle object on garbage collection is deprecated. Please close FileHandle objects explicitly using ' +
      'FileHandle.prototype.close(). In the future, an error will be thrown if a file descriptor is closed during garbage collection.',
      'DeprecationWarning', 'DEP0137');
  }
  fs.close(fd, noop);
});

let nativeFileHandle: (new (fd: number) => { fd: number }) | null | undefined;

/**
 * A native handle for `fd` of the kind Node's own FileHandles wrap: the one
 * object worker_threads can move to another thread. Node has no public way
 * to make one for an fd it did not open, so this uses the legacy binding;
 * where that is unavailable, a transfer fails with DataCloneError.
 */
function nativeHandleFor(fd: number): { fd: number } {
  if (nativeFileHandle === undefined) {
    try {
      const binding = (process as unknown as { binding(name: string): { FileHandle?: new (fd: number) => { fd: number } } }).binding('fs');
      nativeFileHandle = typeof binding.FileHandle === 'function' ? binding.FileHandle : null;
    } catch {
      nativeFileHandle = null;
    }
  }
  if (nativeFileHandle === null) throw new DOMException('This FileHandle cannot be transferred here', 'DataCloneError');
  return new nativeFileHandle(fd);
}

export class FileHandle extends EventEmitter {
  #fd: number;
  #ring: Ring;
  #refs = 1;
  #closePromise: Promise<void> | null | undefined = null;
  #closeResolve: (() => void) | undefined;
  #closeReject: ((err: Error) => void) | undefined;
  #locked = false;
  #asyncResource: AsyncResource | undefined;
  /** Ordered operations: the one running, then those waiting, in call order. */
  #busy = false;
  #waiting: (() => void)[] = [];
  /** A native handle made for a transfer (see nativeHandleFor). */
  #transferred: { fd: number } | null = null;
  declare close: () => Promise<void>;

  /** @internal Use open(). */
  constructor(fd: number, ring: Ring) {
    super();
    this.#fd = fd;
    this.#ring = ring;
    // An own property, as on Node's handles: `const { close } = handle; await close()` works.
    this.close = () => this.#close();
    collected.register(this, fd, this);
  }

  static isFileHandle(value: unknown): value is FileHandle {
    return typeof value === 'object' && value !== null && #fd in value;
  }

  get fd(): number {
    return this.#fd;
  }

  getAsyncId(): number {
    this.#asyncResource ??= new AsyncResource('FILEHANDLE');
    return this.#asyncResource.asyncId();
  }

  // ---- reads ----

  read(buffer?: unknown, offset?: unknown, length?: unknown, position?: unknown): Promise<Result<'bytesRead', any>> {
    return call(this, 'read', (h) => h.#read(buffer, offset, length, position));
  }

  readv(buffers: unknown, position?: unknown): Promise<{ bytesRead: number; buffers: any[] }> {
    return call(this, 'readv', (h) => h.#readv(buffers, position));
  }

  readFile(options?: unknown): Promise<any> {
    return call(this, 'readFile', (h) => h.#readFile(options));
  }

  readLines(options?: unknown): import('node:readline').Interface {
    return createInterface({ input: this.createReadStream(options as never), crlfDelay: Infinity });
  }

  stat(options: { bigint?: boolean } = { bigint: false }): Promise<any> {
    return call(this, 'fstat', async (h) => {
      const bigint = options.bigint;
      if (bigint) await bigIntStatsClass();
      return h.#ring.statx(h.#fd, { [kStatxParse]: bigint ? bigIntStatsFromStatx : statsFromStatx });
    });
  }

  // ---- writes ----

  write(buffer: unknown, offsetOrOptions?: unknown, length?: unknown, position?: unknown): Promise<Result<'bytesWritten', any>> {
    return call(this, 'write', (h) => h.#write(buffer, offsetOrOptions, length, position));
  }

  writev(buffers: unknown, position?: unknown): Promise<{ bytesWritten: number; buffers: any[] }> {
    return call(this, 'writev', (h) => h.#writev(buffers, position));
  }

  writeFile(data: unknown, options?: unknown): Promise<void> {
    return call(this, 'writeFile', (h) => h.#writeFile(data, options));
  }

  appendFile(data: unknown, options?: unknown): Promise<void> {
    return call(this, 'writeFile', (h) => h.#writeFile(data, options));
  }

  truncate(len: unknown = 0): Promise<void> {
    return call(this, 'ftruncate', (h) => {
      validateInteger(len, 'len');
      const length = Math.max(0, len);
      return h.#ordered(() => h.#ring.ftruncate(h.#fd, length).catch((err: { code?: string }) => {
        // IORING_OP_FTRUNCATE is Linux 6.9+: older kernels answer EINVAL for the opcode.
        if (err.code === 'EINVAL') return viaNode<void>((cb) => fs.ftruncate(h.#fd, length, cb));
        throw err;
      }));
    });
  }

  sync(): Promise<void> {
    return call(this, 'fsync', (h) => h.#ordered(() => h.#ring.fsync(h.#fd)));
  }

  datasync(): Promise<void> {
    return call(this, 'fdatasync', (h) => h.#ordered(() => h.#ring.fsync(h.#fd, { datasync: true })));
  }

  // ---- metadata: io_uring has no op for these; Node's calls on the thread pool ----

  chmod(mode: unknown): Promise<void> {
    return call(this, 'fchmod', (h) => viaNode<void>((cb) => fs.fchmod(h.#fd, mode as number, cb)));
  }

  chown(uid: unknown, gid: unknown): Promise<void> {
    return call(this, 'fchown', (h) => viaNode<void>((cb) => fs.fchown(h.#fd, uid as number, gid as number, cb)));
  }

  utimes(atime: unknown, mtime: unknown): Promise<void> {
    return call(this, 'futimes', (h) => viaNode<void>((cb) => fs.futimes(h.#fd, atime as number, mtime as number, cb)));
  }

  // ---- streams ----

  createReadStream(options?: Record<string, unknown>): fs.ReadStream {
    const ReadStream = fs.ReadStream as unknown as new (path: undefined, options: object) => fs.ReadStream;
    return new ReadStream(undefined, { ...options, fd: this });
  }

  createWriteStream(options?: Record<string, unknown>): fs.WriteStream {
    const WriteStream = fs.WriteStream as unknown as new (path: undefined, options: object) => fs.WriteStream;
    return new WriteStream(undefined, { ...options, fd: this });
  }

  /** A web ReadableStream of the file's bytes from the current position (a byte stream with `type: 'bytes'`). */
  readableWebStream(options: { type?: string } = {}): ReadableStream {
    if (this.#fd === -1) throw invalidState('The FileHandle is closed');
    if (this.#closePromise) throw invalidState('The FileHandle is closing');
    if (this.#locked) throw invalidState('The FileHandle is locked');
    this.#locked = true;
    if (options.type !== undefined && typeof options.type !== 'string') {
      throw invalidArgType('options.type', 'string', options.type);
    }
    const read = (view: Uint8Array) => this.read(view, 0, view.byteLength);
    const done = () => this.#unref();
    let controller: { close(): void } | undefined;
    const bytes = options.type === 'bytes';
    const readable = new ReadableStream<Uint8Array>((bytes ? {
      type: 'bytes',
      autoAllocateChunkSize: 16384,
      start(c) { controller = c as never; },
      async pull(c) {
        const request = (c as ReadableByteStreamController).byobRequest!;
        const view = request.view as Uint8Array;
        const { bytesRead } = await read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
        if (bytesRead === 0) {
          done();
          (c as ReadableByteStreamController).close();
        }
        request.respond(bytesRead);
      },
      cancel() { done(); },
    } as UnderlyingByteSource : {
      start(c: ReadableStreamDefaultController<Uint8Array>) { controller = c; },
      async pull(c: ReadableStreamDefaultController<Uint8Array>) {
        const { bytesRead, buffer } = await read(new Uint8Array(65536));
        if (bytesRead === 0) {
          done();
          c.close();
        } else {
          c.enqueue(buffer.subarray(0, bytesRead));
        }
      },
      cancel() { done(); },
    }) as never);
    this.#ref();
    this.once('close', () => {
      try {
        controller?.close();
      } catch {
        // already closed or errored
      }
    });
    return readable;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- Node's close rules ----

  #close(): Promise<void> {
    if (this.#fd === -1) return Promise.resolve();
    if (this.#closePromise) return this.#closePromise;
    this.#refs--;
    if (this.#refs === 0) {
      this.#closePromise = this.#closeFd().finally(() => {
        this.#closePromise = undefined;
      });
    } else {
      this.#closePromise = new Promise<void>((resolve, reject) => {
        this.#closeResolve = resolve;
        this.#closeReject = reject;
      }).finally(() => {
        this.#closePromise = undefined;
        this.#closeResolve = undefined;
        this.#closeReject = undefined;
      });
    }
    this.emit('close');
    return this.#closePromise;
  }

  /** The fd goes back to the kernel: once, when the last reference is dropped. */
  #closeFd(): Promise<void> {
    const fd = this.#fd;
    this.#fd = -1;
    collected.unregister(this);
    return this.#ring.closeFd(fd).catch((err) => {
      throw withCallerStack(err, FileHandle.prototype.close);
    });
  }

  #ref(): void {
    this.#refs++;
  }

  #unref(): void {
    this.#refs--;
    if (this.#refs === 0) {
      this.#closeFd().then(this.#closeResolve, this.#closeReject);
    }
  }

  /** Runs `op` after every ordered operation started before it has finished. */
  #ordered<T>(op: () => Promise<T>): Promise<T> {
    if (!this.#busy) {
      this.#busy = true;
      return op().finally(() => this.#next());
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push(() => {
        op().then(resolve, reject).finally(() => this.#next());
      });
    });
  }

  #next(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#busy = false;
  }

  // ---- the operations (Node's argument rules, then the ring) ----

  async #read(bufferOrParams: unknown, offsetArg: unknown, lengthArg: unknown, positionArg: unknown): Promise<Result<'bytesRead', any>> {
    let buffer = bufferOrParams as ArrayBufferView;
    let offset = offsetArg as any;
    let length = lengthArg as any;
    let position = positionArg as any;
    if (!ArrayBuffer.isView(buffer)) {
      if (bufferOrParams !== undefined) validateObject(bufferOrParams, 'options', true);
      ({
        buffer = Buffer.alloc(16384),
        offset = 0,
        length = (buffer as ArrayBufferView).byteLength - offset,
        position = null,
      } = (bufferOrParams ?? {}) as Record<string, any>);
      validateBuffer(buffer);
    }
    if (offset !== null && typeof offset === 'object') {
      ({ offset = 0, length = buffer.byteLength - offset, position = null } = offset);
    }
    if (offset == null) offset = 0;
    else validateInteger(offset, 'offset', 0);
    // Node's order: the size is only read where Node reads `buffer.byteLength` (a detached DataView throws there).
    length ??= byteSizeOf(buffer) - offset;
    if (length === 0) return { __proto__: null, bytesRead: length, buffer } as never;
    const size = byteSizeOf(buffer);
    if (size === 0) throw invalidArgValue('buffer', buffer, 'is empty and cannot be written');
    validateOffsetLengthRead(offset, length, size);
    if (!Number.isSafeInteger(position)) position = -1;
    const window = ioBytesOf(buffer).subarray(offset, offset + length);
    const fd = this.#fd;
    const run = (): Promise<number> => window.byteLength > RING_IO_LIMIT || !Number.isInteger(length)
      ? viaNode<number>((cb) => fs.read(fd, window, 0, length, position === -1 ? null : position, cb))
      : this.#ring.read(fd, window, { position }).then((r) => r.bytesRead);
    const bytesRead = position === -1 ? await this.#ordered(run) : await run();
    return { __proto__: null, bytesRead, buffer } as never;
  }

  async #readv(buffers: unknown, positionArg: unknown): Promise<{ bytesRead: number; buffers: any[] }> {
    validateBufferArray(buffers);
    const position = typeof positionArg === 'number' ? positionArg : null;
    const parts = buffers.map(ioBytesOf);
    const total = parts.reduce((n, b) => n + b.byteLength, 0);
    const fd = this.#fd;
    const run = (): Promise<number> => parts.length === 0 || parts.length > 1024 || total > RING_IO_LIMIT || !validPosition(position)
      ? viaNode<number>((cb) => fs.readv(fd, buffers as NodeJS.ArrayBufferView[], position, cb))
      : this.#ring.readv(fd, parts, { position }).then((r) => r.bytesRead, (err) => { throw asSyscall(err, 'read'); });
    const bytesRead = (position === null ? await this.#ordered(run) : await run()) || 0;
    return { __proto__: null, bytesRead, buffers } as never;
  }

  async #write(buffer: unknown, offsetOrOptions: unknown, lengthArg: unknown, positionArg: unknown): Promise<Result<'bytesWritten', any>> {
    if ((buffer as { byteLength?: unknown } | null | undefined)?.byteLength === 0) return { __proto__: null, bytesWritten: 0, buffer } as never;
    const fd = this.#fd;
    if (ArrayBuffer.isView(buffer)) {
      let offset = offsetOrOptions as any;
      let length = lengthArg as any;
      let position = positionArg as any;
      if (typeof offset === 'object') {
        ({ offset = 0, length = buffer.byteLength - offset, position = null } = (offsetOrOptions ?? {}) as Record<string, any>);
      }
      if (offset == null) offset = 0;
      else validateInteger(offset, 'offset', 0);
      const size = byteSizeOf(buffer);
      if (typeof length !== 'number') length = size - offset;
      if (typeof position !== 'number') position = null;
      validateOffsetLengthWrite(offset, length, size);
      const window = ioBytesOf(buffer).subarray(offset, offset + length);
      const bytesWritten = await this.#ordered(() => window.byteLength > RING_IO_LIMIT || !validPosition(position)
        ? viaNode<number>((cb) => fs.write(fd, window, 0, length, position, cb))
        : this.#ring.write(fd, window, { position: position ?? -1 }).then((r) => r.bytesWritten));
      return { __proto__: null, bytesWritten: bytesWritten || 0, buffer } as never;
    }
    validateStringAfterArrayBufferView(buffer, 'buffer');
    validateEncoding(buffer, lengthArg);
    // write(string, position, encoding): an unknown encoding is UTF-8, a non-number position the current one.
    const encoding = typeof lengthArg === 'string' && Buffer.isEncoding(lengthArg) ? lengthArg : 'utf8';
    const position = typeof offsetOrOptions === 'number' ? offsetOrOptions : null;
    const bytes = Buffer.from(buffer, encoding);
    const bytesWritten = await this.#ordered(() => bytes.byteLength > RING_IO_LIMIT || !validPosition(position)
      ? viaNode<number>((cb) => fs.write(fd, buffer, position, encoding, cb))
      : this.#ring.write(fd, bytes, { position: position ?? -1 }).then((r) => r.bytesWritten));
    return { __proto__: null, bytesWritten: bytesWritten || 0, buffer } as never;
  }

  async #writev(buffers: unknown, positionArg: unknown): Promise<{ bytesWritten: number; buffers: any[] }> {
    validateBufferArray(buffers);
    const position = typeof positionArg === 'number' ? positionArg : null;
    if (buffers.length === 0) return { __proto__: null, bytesWritten: 0, buffers } as never;
    const parts = buffers.map(ioBytesOf);
    const total = parts.reduce((n, b) => n + b.byteLength, 0);
    const fd = this.#fd;
    const bytesWritten = await this.#ordered(() => parts.length > 1024 || total > RING_IO_LIMIT || !validPosition(position)
      ? viaNode<number>((cb) => fs.writev(fd, buffers as NodeJS.ArrayBufferView[], position, cb))
      : this.#ring.writev(fd, parts, { position: position ?? -1 }).then((r) => r.bytesWritten, (err) => { throw asSyscall(err, 'write'); }));
    return { __proto__: null, bytesWritten: bytesWritten || 0, buffers } as never;
  }

  async #readFile(options: unknown): Promise<any> {
    const opts = getOptions(options, { flag: 'r' });
    return this.#ordered(() => readFileFromFd(this.#ring, this.#fd, opts));
  }

  async #writeFile(data: unknown, options: unknown): Promise<void> {
    const opts = getOptions(options, { encoding: 'utf8' as BufferEncoding, mode: 0o666, flag: 'w', flush: false }) as Record<string, any>;
    const flush = opts.flush ?? false;
    validateBoolean(flush, 'options.flush');
    if (!ArrayBuffer.isView(data) && !isCustomIterable(data)) {
      validateStringAfterArrayBufferView(data, 'data');
      data = Buffer.from(data, opts.encoding || 'utf8');
    }
    validateAbortSignal(opts.signal, 'options.signal');
    const bytes = ArrayBuffer.isView(data) ? bytesOf(data) : data;
    return this.#ordered(() => writeData(this.#ring, this.#fd, bytes as never, opts.signal, opts.encoding));
  }

  /** @internal Answers Node's reference-count and transfer symbols; called once, when they are known. */
  static adoptNodeInternals(n: NodeHandleInternals): void {
    Object.setPrototypeOf(FileHandle.prototype, n.FileHandle.prototype);
    Object.setPrototypeOf(FileHandle, n.FileHandle);
    const proto = FileHandle.prototype as unknown as Record<symbol, (this: FileHandle, ...args: unknown[]) => unknown>;
    proto[n.kRef] = function ref() { this.#ref(); };
    proto[n.kUnref] = function unref() { this.#unref(); };
    proto[n.kTransferList] = function transferList() {
      return [this.#nativeForTransfer()];
    };
    proto[n.kTransfer] = function transfer() {
      const handle = this.#nativeForTransfer();
      // The native handle owns the fd now: this one lets go of it without closing it.
      this.#fd = -1;
      this.#refs = 0;
      this.#transferred = null;
      collected.unregister(this);
      return { data: { handle }, deserializeInfo: 'internal/fs/promises:FileHandle' };
    };
    proto[n.kDeserialize] = function deserialize() {
      throw new Error('internal: a safer-ring FileHandle is received as a node:fs/promises FileHandle');
    };
  }

  static {
    refOf = (h, delta) => (delta === 1 ? h.#ref() : h.#unref());
    // A closed handle's fd is -1: Node's fstat refuses it as an argument, its
    // write fails with EBADF (once there is something to write).
    readFileOfHandle = async (h, opts) => {
      // Node's readFileHandle: the decoder first, then the signal.
      checkEncoding(opts.encoding);
      checkAborted(opts.signal);
      if (h.#fd === -1) throw outOfRange('fd', '>= 0 && <= 2147483647', -1);
      return h.#ordered(() => readFileFromFd(h.#ring, h.#fd, opts));
    };
    writeFileOfHandle = async (h, data, signal, encoding) => {
      checkAborted(signal);
      if (h.#fd === -1) {
        if (ArrayBuffer.isView(data) && data.byteLength === 0) return;
        throw errnoError(-EBADF, 'write');
      }
      return h.#ordered(() => writeData(h.#ring, h.#fd, data, signal, encoding));
    };
  }

  #nativeForTransfer(): { fd: number } {
    if (this.#closePromise || this.#refs > 1) throw new DOMException('Cannot transfer FileHandle while in use', 'DataCloneError');
    return (this.#transferred ??= nativeHandleFor(this.#fd));
  }
}

function validPosition(position: number | null): boolean {
  return position === null || (Number.isSafeInteger(position) && position >= -1);
}

/**
 * Node's fsCall: the receiver must be a FileHandle (else ERR_INTERNAL_ASSERTION),
 * an open one (else EBADF 'file closed'); a reference is held while the
 * operation runs, so close() waits for it. Errors from the ring get the
 * caller's stack.
 */
async function call<T>(handle: unknown, syscall: string, op: (h: FileHandle) => Promise<T>): Promise<T> {
  if (!FileHandle.isFileHandle(handle)) throw internalAssertion('handle must be an instance of FileHandle');
  if (handle.fd === -1) throw closedError(syscall);
  refOf(handle, 1);
  try {
    return await op(handle);
  } catch (err) {
    throw withCallerStack(err, call);
  } finally {
    refOf(handle, -1);
  }
}

let adopted = false;

/** open() after Node's checks: openat through the ring, a FileHandle around the fd. */
export async function openFileHandle(ring: Ring, path: ValidPath, flags: number, mode: number): Promise<FileHandle> {
  if (!adopted) {
    const internals = await nodeHandleInternals();
    if (!adopted) {
      adopted = true;
      FileHandle.adoptNodeInternals(internals);
    }
  }
  // The kernel keeps only the permission bits of a mode (S_IALLUGO), as Node's open leaves it to.
  const fd = await ring.openat(path, flags, mode & 0o7777);
  return new FileHandle(fd, ring);
}
