// Synchronous socket and pipe setup (no io_uring opcode needed for these on
// the kernels we support); the I/O itself then goes through a Ring.
import { requireBinding } from '../native';
import { AF_INET, AF_INET6, checkAddress, decodeSockaddr, encodeSockaddr, SocketAddress } from './sockaddr';
import { isIP } from 'node:net';
import { checkInteger, checkOptions } from '../validate';

const SOCK_STREAM = 1;

export interface TcpListener {
  fd: number;
  host: string;
  port: number;
}

/** A TCP socket bound to `host:port` (port 0 picks a free one) and listening. */
export function createTcpListener(options: Partial<SocketAddress> & { backlog?: number } = {}): TcpListener {
  const opts = checkOptions<SocketAddress & { backlog: number }>(options);
  const addr = checkAddress({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const backlog = checkInteger('backlog', opts.backlog ?? 511, 0, 65535);
  const native = requireBinding();
  const fd = native.socket(isIP(addr.host) === 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  const raw = new Uint8Array(28);
  const len = encodeSockaddr(addr, raw);
  try {
    native.bind(fd, raw.subarray(0, len));
    native.listen(fd, backlog);
    const bound = decodeSockaddr(native.getsockname(fd))!;
    return { fd, host: bound.host, port: bound.port };
  } catch (err) {
    require('node:fs').closeSync(fd);
    throw err;
  }
}

/** An unconnected TCP socket for `ring.connect()`. */
export function createTcpSocket(family: 4 | 6 = 4): number {
  return requireBinding().socket(family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
}

/** pipe2(O_CLOEXEC): [readFd, writeFd]. */
export function createPipe(): [number, number] {
  return requireBinding().pipe();
}
