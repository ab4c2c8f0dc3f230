// The two kinds of handle node:net uses, as libuv defines them: TCPHandle
// (TCPWrap: IPv4/IPv6, socket options, addresses) and PipeHandle (PipeWrap:
// unix domain sockets). Socket setup (socket, bind, listen, options) is a
// synchronous syscall each, as in libuv; the I/O goes through the ring.
import { chmodSync, statSync, unlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { binding, NativeBinding } from '../native';
import { SaferRingError } from '../errors';
import { AF_INET, AF_INET6, AF_UNIX, AddressInfo, decodeAddress, sockaddrIn, sockaddrIn6, sockaddrUn } from './address';
import { StreamHandle, UV_EINVAL } from './handle';

const E = osConstants.errno;
const SOCK_STREAM = 1;
const SHUT_RDWR = 2;
/** libuv's UV_TCP_IPV6ONLY bind flag. */
const UV_TCP_IPV6ONLY = 1;
/** libuv's uv_pipe_chmod modes. */
const UV_READABLE = 1;
const UV_WRITABLE = 2;

/** Native socket option numbers (native/sockets.cc). */
const enum Opt {
  NODELAY = 1,
  KEEPALIVE = 2,
  KEEPIDLE = 3,
  KEEPINTVL = 4,
  KEEPCNT = 5,
  V6ONLY = 6,
  LINGER = 7,
}

/** The addon's socket helpers: handles exist only once the io_uring backend (and so the addon) is in use. */
function sys(): NativeBinding {
  return binding!;
}

/** The negative errno of a failed native call. */
function errnoOf(err: unknown): number {
  const n = (err as SaferRingError).errno;
  if (typeof n === 'number') return n;
  throw err;
}

function newSocket(domain: number): number {
  try {
    return sys().socket(domain, SOCK_STREAM, 0);
  } catch (err) {
    return errnoOf(err);
  }
}

function listenOn(fd: number, backlog: number): number {
  try {
    sys().listen(fd, Math.max(0, Math.min(backlog | 0, 65535)));
    return 0;
  } catch (err) {
    return errnoOf(err);
  }
}

function bindTo(fd: number, sockaddr: Uint8Array): number {
  try {
    sys().bind(fd, sockaddr);
    return 0;
  } catch (err) {
    return errnoOf(err);
  }
}

export class TCPHandle extends StreamHandle {
  /** A bind's EADDRINUSE, reported by listen/connect/getsockname as libuv does. */
  #delayedError = 0;
  #family = 0;
  #noDelay = false;
  #keepAlive = false;
  #keepAliveDelay = 0;

  /** A handle on an accepted or adopted socket fd (IPv4 or IPv6). */
  static fromFd(fd: number): TCPHandle {
    const h = new TCPHandle();
    h.open(fd);
    return h;
  }

  constructor() {
    super('TCPWRAP');
    this.zeroCopy = true;
  }

  protected accepted(fd: number): StreamHandle {
    return TCPHandle.fromFd(fd);
  }

  open(fd: number): number {
    this.adopt(fd);
    return 0;
  }

  /** libuv creates the socket when the address family is known (bind, connect, listen). */
  #ensureSocket(family: number): number {
    if (this.fdValue >= 0) return 0;
    const fd = newSocket(family);
    if (fd < 0) return fd;
    this.adopt(fd);
    this.#family = family;
    if (this.#noDelay) sys().setSocketOption(fd, Opt.NODELAY, 1);
    if (this.#keepAlive) this.#applyKeepAlive(true, this.#keepAliveDelay);
    return 0;
  }

  bind(address: string, port: number): number {
    return this.#bind(AF_INET, sockaddrIn(address, port), 0);
  }

  bind6(address: string, port: number, flags: number): number {
    return this.#bind(AF_INET6, sockaddrIn6(address, port), flags);
  }

  #bind(family: number, sockaddr: Uint8Array | null, flags: number): number {
    if (sockaddr === null) return UV_EINVAL;
    const err = this.#ensureSocket(family);
    if (err) return err;
    if (family === AF_INET6) {
      const r = sys().setSocketOption(this.fdValue, Opt.V6ONLY, flags & UV_TCP_IPV6ONLY ? 1 : 0);
      if (r < 0 && r !== -E.EOPNOTSUPP) return r;
    }
    const r = bindTo(this.fdValue, sockaddr);
    if (r === -E.EADDRINUSE) {
      this.#delayedError = r;
      return 0;
    }
    if (r === -E.EAFNOSUPPORT) return UV_EINVAL;
    return r;
  }

  listen(backlog: number): number {
    const err = this.#ensureSocket(AF_INET);
    if (err) return err;
    if (this.#delayedError) return this.#delayedError;
    return this.startListening(backlog, listenOn);
  }

  connect(req: object, address: string, port: number): number {
    return this.#connect(req, AF_INET, sockaddrIn(address, port));
  }

  connect6(req: object, address: string, port: number): number {
    return this.#connect(req, AF_INET6, sockaddrIn6(address, port));
  }

  #connect(req: object, family: number, sockaddr: Uint8Array | null): number {
    if (sockaddr === null) return UV_EINVAL;
    const err = this.#ensureSocket(family);
    if (err) return err;
    const delayed = this.#delayedError;
    this.#delayedError = 0;
    return this.startConnect(req as never, sockaddr, delayed);
  }

  getsockname(out: Partial<AddressInfo>): number {
    if (this.#delayedError) return this.#delayedError;
    return this.#name(out, false);
  }

  getpeername(out: Partial<AddressInfo>): number {
    if (this.#delayedError) return this.#delayedError;
    return this.#name(out, true);
  }

  #name(out: Partial<AddressInfo>, peer: boolean): number {
    if (this.fdValue < 0) return UV_EINVAL;
    try {
      decodeAddress(peer ? sys().getpeername(this.fdValue) : sys().getsockname(this.fdValue), out);
      return 0;
    } catch (err) {
      return errnoOf(err);
    }
  }

  setNoDelay(enable: boolean): number {
    this.#noDelay = !!enable;
    if (this.fdValue < 0) return 0;
    return sys().setSocketOption(this.fdValue, Opt.NODELAY, enable ? 1 : 0);
  }

  setKeepAlive(enable: boolean, delay: number): number {
    this.#keepAlive = !!enable;
    this.#keepAliveDelay = delay >>> 0;
    if (this.fdValue < 0) return 0;
    return this.#applyKeepAlive(!!enable, this.#keepAliveDelay);
  }

  /** libuv's uv__tcp_keepalive: SO_KEEPALIVE, then idle `delay` s, probes every 1 s, 10 of them. */
  #applyKeepAlive(enable: boolean, delay: number): number {
    const fd = this.fdValue;
    let r = sys().setSocketOption(fd, Opt.KEEPALIVE, enable ? 1 : 0);
    if (r < 0 || !enable) return r;
    if (delay >= 1) r = sys().setSocketOption(fd, Opt.KEEPIDLE, Math.min(delay, 1 << 20));
    if (r === 0) r = sys().setSocketOption(fd, Opt.KEEPINTVL, 1);
    if (r === 0) r = sys().setSocketOption(fd, Opt.KEEPCNT, 10);
    return r;
  }

  /** Closes with SO_LINGER 0, so the peer gets a RST instead of a FIN. */
  reset(callback?: () => void): number {
    if (this.fdValue >= 0) {
      const r = sys().setSocketOption(this.fdValue, Opt.LINGER, 0);
      if (r < 0) return r;
    }
    this.close(callback);
    return 0;
  }

  /** A listener stops taking connections, and frees its port, now. */
  protected onClosing(listening: boolean): void {
    if (listening && this.fdValue >= 0) sys().shutdown(this.fdValue, SHUT_RDWR);
  }

  /** Which family the socket has (AF_INET/AF_INET6), 0 before it exists. */
  get family(): number {
    return this.#family;
  }
}

export class PipeHandle extends StreamHandle {
  /** The path this listener bound, removed when it closes (as libuv does). */
  #boundPath: string | null = null;

  static fromFd(fd: number): PipeHandle {
    const h = new PipeHandle();
    h.open(fd);
    return h;
  }

  constructor() {
    super('PIPEWRAP');
  }

  protected accepted(fd: number): StreamHandle {
    return PipeHandle.fromFd(fd);
  }

  open(fd: number): number {
    this.adopt(fd);
    return 0;
  }

  #ensureSocket(): number {
    if (this.fdValue >= 0) return 0;
    const fd = newSocket(AF_UNIX);
    if (fd < 0) return fd;
    this.adopt(fd);
    return 0;
  }

  bind(path: string): number {
    const { sockaddr, name } = sockaddrUn(String(path));
    if (name.length === 0 || this.fdValue >= 0 || this.closing) return UV_EINVAL;
    const err = this.#ensureSocket();
    if (err) return err;
    const r = bindTo(this.fdValue, sockaddr);
    if (r !== 0) {
      // As libuv: a failed bind leaves the handle without a socket.
      sys().close(this.fdValue);
      this.adopt(-1);
    } else if (name[0] !== '\0') {
      this.#boundPath = name;
    }
    // libuv reports ENOENT as EACCES here, for Windows' sake.
    return r === -E.ENOENT ? -E.EACCES : r;
  }

  listen(backlog: number): number {
    if (this.fdValue < 0) return UV_EINVAL;
    return this.startListening(backlog, listenOn);
  }

  connect(req: object, path: string): number {
    const { sockaddr } = sockaddrUn(String(path));
    const err = this.#ensureSocket();
    if (err) return err;
    return this.startConnect(req as never, sockaddr, 0);
  }

  /** uv_pipe_chmod: make the socket file readable and/or writable by everyone. */
  fchmod(mode: number): number {
    if (this.#boundPath === null || (mode & ~(UV_READABLE | UV_WRITABLE)) !== 0 || mode === 0) return UV_EINVAL;
    try {
      const st = statSync(this.#boundPath);
      let want = 0;
      if (mode & UV_READABLE) want |= 0o444;
      if (mode & UV_WRITABLE) want |= 0o222;
      if ((st.mode & want) !== want) chmodSync(this.#boundPath, (st.mode | want) & 0o7777);
      return 0;
    } catch (err) {
      return typeof (err as NodeJS.ErrnoException).errno === 'number' ? (err as NodeJS.ErrnoException).errno! : UV_EINVAL;
    }
  }

  setPendingInstances(): void {}

  /** libuv removes a bound path when the handle closes: no new connection can find it. */
  protected onClosing(): void {
    if (this.#boundPath === null) return;
    try {
      unlinkSync(this.#boundPath);
    } catch {
      // already removed
    }
    this.#boundPath = null;
  }
}

/** True for the handles above (not node:net's own libuv handles). */
export function isRingHandle(h: unknown): h is TCPHandle | PipeHandle {
  return h instanceof StreamHandle;
}
