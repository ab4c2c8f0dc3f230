// Server: node:net's Server whose listening handle accepts through io_uring
// (multishot accept) and hands out this module's Sockets.
//
// node:net's Server.listen() validates its arguments, resolves the host and
// then calls `this._listen2(...)` to create, bind and listen on a handle. This
// module's setupListenHandle (below, ported from node:net) does that with an
// io_uring handle, and its onconnection wraps each accepted handle in this
// module's Socket. A handle that is already a libuv one (a cluster worker's
// shared handle, or one a program passed to listen()) goes to node:net's own
// _listen2 and serves node:net sockets.
import nodeNet from 'node:net';
import diagnosticsChannel from 'node:diagnostics_channel';
import { kOwner, StreamHandle, UV_EINVAL } from './handle';
import { errnoException, errServerAlreadyListen, uvExceptionWithHostPort } from './node-errors';
import { callableClass, handleForFd, Socket } from './socket';
import { isRingHandle, PipeHandle, TCPHandle } from './wraps';

const NodeServer = nodeNet.Server;
const nodeListen2: (...args: unknown[]) => void = (NodeServer.prototype as any)._listen2;
const nodeListen: (...args: unknown[]) => unknown = NodeServer.prototype.listen as any;

const DEFAULT_IPV4_ADDR = '0.0.0.0';
const DEFAULT_IPV6_ADDR = '::';

const netServerSocketChannel = diagnosticsChannel.channel('net.server.socket');
const netServerListen = diagnosticsChannel.tracingChannel('net.server.listen');

function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** node:net's createServerHandle: a bound handle, or a negative errno. */
export function createServerHandle(address: string | null, port: number, addressType?: number, fd?: number, flags?: number): StreamHandle | number {
  let err = 0;
  let handle: TCPHandle | PipeHandle;
  let isTCP = false;
  if (typeof fd === 'number' && fd >= 0) {
    const adopted = handleForFd(fd);
    if (adopted === null) return UV_EINVAL; // not a stream socket we can listen on
    handle = adopted as TCPHandle | PipeHandle;
  } else if (port === -1 && addressType === -1) {
    handle = new PipeHandle();
  } else {
    handle = new TCPHandle();
    isTCP = true;
  }
  if (address || port || isTCP) {
    if (!address) {
      // Try binding to IPv6 first, then IPv4.
      err = (handle as TCPHandle).bind6(DEFAULT_IPV6_ADDR, port, flags ?? 0);
      if (err) {
        handle.close();
        return createServerHandle(DEFAULT_IPV4_ADDR, port);
      }
    } else if (handle instanceof PipeHandle) {
      err = handle.bind(address);
    } else if (addressType === 6) {
      err = handle.bind6(address, port, flags ?? 0);
    } else {
      err = handle.bind(address, port);
    }
  }
  if (err) {
    handle.close();
    return err;
  }
  return handle;
}

function emitErrorNT(self: nodeNet.Server, err: Error): void {
  self.emit('error', err);
}

function emitListeningNT(self: any): void {
  if (self._handle) self.emit('listening');
}

/** node:net's setupListenHandle (Server#_listen2), with io_uring handles. */
function setupListenHandle(this: any, address: string | null, port: number, addressType: number, backlog: number, fd?: number, flags?: number): void {
  if (this._handle && !isRingHandle(this._handle)) {
    nodeListen2.call(this, address, port, addressType, backlog, fd, flags);
    return;
  }
  if (!this._handle) {
    let rval: StreamHandle | number | null = null;
    // Try to bind to the unspecified IPv6 address, see if IPv6 is available.
    if (!address && typeof fd !== 'number') {
      rval = createServerHandle(DEFAULT_IPV6_ADDR, port, 6, fd, flags);
      if (typeof rval === 'number') {
        rval = null;
        address = DEFAULT_IPV4_ADDR;
        addressType = 4;
      } else {
        address = DEFAULT_IPV6_ADDR;
        addressType = 6;
      }
    }
    if (rval === null) rval = createServerHandle(address, port, addressType, fd, flags);
    if (typeof rval === 'number') {
      const error = uvExceptionWithHostPort(rval, 'listen', address, port);
      if (netServerListen.hasSubscribers) netServerListen.error.publish({ server: this, error });
      process.nextTick(emitErrorNT, this, error);
      return;
    }
    this._handle = rval;
  }
  this._handle.onconnection = onconnection;
  this._handle[kOwner] = this;
  // Use a backlog of 512 entries (the kernel rounds 511 + 1 up to a power of two).
  const err = this._handle.listen(backlog || 511);
  if (err) {
    const ex = uvExceptionWithHostPort(err, 'listen', address, port);
    this._handle.close();
    this._handle = null;
    if (netServerListen.hasSubscribers) netServerListen.error.publish({ server: this, error: ex });
    process.nextTick(emitErrorNT, this, ex);
    return;
  }
  if (netServerListen.hasSubscribers) netServerListen.asyncEnd.publish({ server: this });
  this._connectionKey = addressType + ':' + address + ':' + port;
  if (this._unref) this.unref();
  process.nextTick(emitListeningNT, this);
}

/** node:net's onconnection: a connection accepted on a listening handle (`this`). */
function onconnection(this: StreamHandle, err: number, clientHandle?: StreamHandle): void {
  const self = this[kOwner];
  if (err) {
    self.emit('error', errnoException(err, 'accept'));
    return;
  }
  const client = clientHandle as TCPHandle | PipeHandle;
  if (self.maxConnections && self._connections >= self.maxConnections) {
    if (client instanceof TCPHandle) {
      const data: Record<string, unknown> = { __proto__: null };
      const local: Record<string, unknown> = { __proto__: null };
      client.getsockname(local);
      data.localAddress = local.address;
      data.localPort = local.port;
      data.localFamily = local.family;
      const remote: Record<string, unknown> = { __proto__: null };
      client.getpeername(remote);
      data.remoteAddress = remote.address;
      data.remotePort = remote.port;
      data.remoteFamily = remote.family;
      self.emit('drop', data);
    } else {
      self.emit('drop');
    }
    client.close();
    return;
  }
  const socket: any = new Socket({
    handle: client as never,
    allowHalfOpen: self.allowHalfOpen,
    pauseOnCreate: self.pauseOnConnect,
    readable: true,
    writable: true,
    readableHighWaterMark: self.highWaterMark,
    writableHighWaterMark: self.highWaterMark,
  } as never);
  // Through the public setters, which also record the state node:net keeps for them.
  if (self.noDelay && client instanceof TCPHandle) socket.setNoDelay(true);
  if (self.keepAlive && client instanceof TCPHandle) socket.setKeepAlive(true, self.keepAliveInitialDelay * 1000);
  self._connections++;
  socket.server = self;
  socket._server = self;
  self.emit('connection', socket);
  if (netServerSocketChannel.hasSubscribers) netServerSocketChannel.publish({ socket });
}

/**
 * Server#listen: node:net's, plus listen(handle) for a handle of this module
 * (node:net only recognises its own libuv handles there).
 */
function listen(this: any, ...args: unknown[]): unknown {
  const normalized = (nodeNet as any)._normalizeArgs(args);
  const options = normalized[0];
  const candidate = options?._handle || options?.handle || options;
  if (!isRingHandle(candidate)) return nodeListen.apply(this, args);
  if (this._handle) throw errServerAlreadyListen();
  const cb = normalized[1];
  if (netServerListen.hasSubscribers) netServerListen.asyncStart.publish({ server: this, options });
  if (cb !== null) this.once('listening', cb);
  const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
  this._listeningId++;
  this._handle = candidate;
  this._listen2(null, -1, -1, backlogFromArgs || 0);
  return this;
}

/** Installs io_uring listening on a Server class (this module's, or an http.Server subclass). */
export function useRingListen(proto: object): void {
  Object.defineProperty(proto, '_listen2', { value: setupListenHandle, writable: true, configurable: true });
  Object.defineProperty(proto, 'listen', { value: listen, writable: true, configurable: true });
}

class RingServer extends NodeServer {}
useRingListen(RingServer.prototype);

export interface Server extends nodeNet.Server {}

/** node:net's Server, accepting through io_uring. Callable with or without `new`. */
export const Server = callableClass(RingServer) as unknown as typeof nodeNet.Server;

export function createServer(options?: unknown, connectionListener?: unknown): nodeNet.Server {
  return new (Server as any)(options, connectionListener);
}
