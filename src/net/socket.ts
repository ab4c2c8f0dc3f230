// Socket: node:net's Socket, with its libuv handle replaced by an io_uring one.
//
// node:net's Socket is a stream.Duplex whose every I/O goes through
// `this._handle`. This subclass changes only where handles come from:
//  - a handle node:net makes itself for connect() (`new TCP()`/`new Pipe()`,
//    still without a socket) is swapped for a TCPHandle/PipeHandle as it is
//    assigned to `_handle`; the same covers autoSelectFamily's next attempt;
//  - `new Socket({ fd })` on a TCP or unix stream socket adopts the fd;
//  - the `onread` option is served by the handle (node:net's own reader needs
//    libuv's shared state);
//  - resetAndDestroy() accepts an io_uring TCP handle;
//  - arena memory written to it (an OwnedBuffer's bytes) is borrowed from the
//    write() call until its callback, across node:net's own buffering.
// Everything else (events, errors, timeouts, DNS, half-close) is node:net's code.
import nodeNet from 'node:net';
import diagnosticsChannel from 'node:diagnostics_channel';
import { requireBinding } from '../native';
import { AF_INET, AF_INET6, AF_UNIX } from './address';
import { kOwner, kUserRead, StreamHandle, UserRead } from './handle';
import { errInvalidHandleType, errSocketClosed } from './node-errors';
import { isRingHandle, PipeHandle, TCPHandle } from './wraps';
import { netIo } from './io';
import type { Slot } from '../buffers/arena';

const NodeSocket = nodeNet.Socket;
const SOCK_STREAM = 1;
const handleAccessor = Object.getOwnPropertyDescriptor(NodeSocket.prototype, '_handle')!;
const netClientSocketChannel = diagnosticsChannel.channel('net.client.socket');

/**
 * A handle being assigned to a Socket: node:net's fresh libuv handles (no
 * socket yet: fd -1) become io_uring ones; anything else is kept (a handle
 * that already has a socket, such as one a program passed in, keeps working
 * through node:net's own code).
 */
function toRingHandle(value: any): any {
  if (value === null || value === undefined || isRingHandle(value)) return value;
  const kind = value.constructor?.name;
  if ((kind === 'TCP' || kind === 'Pipe') && value.fd === -1 && typeof value.close === 'function') {
    value.close(); // never had a socket: nothing but libuv's bookkeeping to free
    return kind === 'TCP' ? new TCPHandle() : new PipeHandle();
  }
  return value;
}

/** An io_uring handle for a stream socket fd (TCP or unix), or null for anything else. */
export function handleForFd(fd: number): StreamHandle | null {
  const info = requireBinding().socketInfo(fd);
  if (typeof info === 'number' || info[1] !== SOCK_STREAM) return null;
  if (info[0] === AF_INET || info[0] === AF_INET6) return TCPHandle.fromFd(fd);
  if (info[0] === AF_UNIX) return PipeHandle.fromFd(fd);
  return null;
}

function isUint8Array(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** %TypedArray%.prototype.buffer: which memory a chunk is over, whatever the object claims. */
const bufferOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer')!.get! as (this: unknown) => ArrayBufferLike;

/** The arena slot a written chunk lies in (an OwnedBuffer's bytes), if it is arena memory. */
function arenaSlotOf(chunk: unknown): Slot | undefined {
  if (!ArrayBuffer.isView(chunk)) return undefined;
  let memory: ArrayBufferLike;
  try {
    memory = bufferOf.call(chunk);
  } catch {
    return undefined; // a DataView: node:net refuses it
  }
  return memory instanceof SharedArrayBuffer ? netIo().arena.slotOf(chunk as Uint8Array) : undefined;
}

/**
 * Borrows `slot` until `callback`'s wrapper runs (once). node:net keeps a
 * written chunk in its own buffer while an earlier write is in flight or the
 * socket is connecting, and hands it to the handle later: the slot must not be
 * released to a new owner in between, or the kernel would send that owner's
 * bytes. A release asked for meanwhile waits (guarantee 3 in docs/safety.md).
 */
function borrowUntil(slot: Slot, callback: unknown): (err?: Error | null) => void {
  const arena = netIo().arena;
  arena.borrow(slot);
  let done = false;
  return (err?: Error | null) => {
    if (!done) {
      done = true;
      arena.unborrow(slot);
    }
    if (typeof callback === 'function') callback(err);
  };
}

/** The `onread` option, if it is one node:net would use. */
function userReadOf(onread: any): UserRead | undefined {
  if (onread === null || typeof onread !== 'object' || typeof onread.callback !== 'function') return undefined;
  if (typeof onread.buffer === 'function') return { callback: onread.callback, generate: onread.buffer };
  if (isUint8Array(onread.buffer)) return { callback: onread.callback, generate: null };
  return undefined;
}

/** `new Socket({ fd })` on a TCP or unix stream socket: the fd becomes an io_uring handle. */
function adoptFd(options: any): any {
  const fd = typeof options === 'number' ? options : options !== null && typeof options === 'object' ? options.fd : undefined;
  if (!Number.isInteger(fd) || fd < 0 || (options !== null && typeof options === 'object' && options.handle)) return options;
  const handle = handleForFd(fd);
  if (handle === null) return options; // not a stream socket: node:net's own handle serves it
  const opts = typeof options === 'number' ? {} : { ...options };
  delete opts.fd;
  opts.handle = handle;
  return opts;
}

class RingSocket extends NodeSocket {
  constructor(options?: nodeNet.SocketConstructorOpts | number) {
    const opts = adoptFd(options);
    super(opts);
    const user = userReadOf(opts?.onread);
    if (user !== undefined) (this as any)[kUserRead] = user;
  }

  get _handle(): any {
    return handleAccessor.get!.call(this);
  }

  set _handle(value: any) {
    const handle = toRingHandle(value);
    if (isRingHandle(handle)) handle[kOwner] = this;
    handleAccessor.set!.call(this, handle);
  }

  override write(chunk: any, encoding?: any, callback?: any): boolean {
    const slot = arenaSlotOf(chunk);
    if (slot === undefined) return super.write(chunk, encoding, callback);
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    return super.write(chunk, encoding, borrowUntil(slot, callback));
  }

  override connect(...args: any[]): this {
    (NodeSocket.prototype.connect as (...a: any[]) => unknown).apply(this, args);
    // node:net sets `this.write` back to its own on every connect (to undo an earlier
    // writeAfterFIN), which would hide the override above: the prototype's again.
    if (Object.prototype.hasOwnProperty.call(this, 'write') && (this as any).write === NodeSocket.prototype.write) delete (this as any).write;
    return this;
  }

  override end(chunk?: any, encoding?: any, callback?: any): this {
    const slot = arenaSlotOf(chunk);
    if (slot === undefined) return super.end(chunk, encoding, callback);
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    // end(chunk) is write(chunk) then end(): the write gets the borrow's callback.
    super.write(chunk, encoding, borrowUntil(slot, undefined));
    return super.end(callback);
  }

  override resetAndDestroy(this: any): this {
    if (this._handle) {
      if (!(this._handle instanceof TCPHandle) && this._handle.constructor?.name !== 'TCP') throw errInvalidHandleType();
      if (this.connecting) this.once('connect', () => this._reset());
      else this._reset();
    } else {
      this.destroy(errSocketClosed());
    }
    return this;
  }
}

/**
 * A class called without `new` (node:net's Socket and Server allow it) through
 * a Proxy: a constructor function with a hand-set prototype would also do,
 * but V8 then cannot cache property lookups on its instances (measured: ~30x
 * slower loads), and a socket's properties are read on every event.
 */
export function callableClass<C extends new (...args: any[]) => any>(cls: C): C {
  const proxy: C = new Proxy(cls, {
    apply: (_target, _self, args) => new cls(...args),
    construct: (_target, args, newTarget) => (newTarget === proxy ? new cls(...args) : Reflect.construct(cls, args, newTarget)),
  });
  return proxy;
}

export interface Socket extends nodeNet.Socket {}

/** node:net's Socket on io_uring. Callable with or without `new`, as node:net's. */
export const Socket = callableClass(RingSocket) as unknown as typeof nodeNet.Socket;

/** net.connect / net.createConnection, making this module's Socket. */
export function connect(...args: unknown[]): nodeNet.Socket {
  const normalized = (nodeNet as any)._normalizeArgs(args);
  const options = normalized[0];
  const socket = new Socket(options);
  if (netClientSocketChannel.hasSubscribers) netClientSocketChannel.publish({ socket });
  if (options.timeout) socket.setTimeout(options.timeout);
  return (socket as any).connect(normalized);
}
