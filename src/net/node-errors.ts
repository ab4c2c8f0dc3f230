// Errors shaped exactly as node:net makes them (lib/internal/errors.js of
// Node 20: ErrnoException, ExceptionWithHostPort, UVExceptionWithHostPort and
// the few ERR_* codes the io_uring handles raise themselves). Programs and
// Node's own tests compare `code`, `errno`, `syscall`, `address`, `port` and
// the message text, so every field and word follows Node.
import { getSystemErrorMap, getSystemErrorName } from 'node:util';

let uvMap: Map<number, [string, string]> | undefined;

function uvEntry(err: number): [string, string] {
  uvMap ??= getSystemErrorMap();
  return uvMap.get(err) ?? ['UNKNOWN', 'unknown error'];
}

/** Node's class-less errors claim `Error` as their constructor. */
function asNodeError<E extends Error>(e: E): E {
  Object.defineProperty(e, 'constructor', { value: Error, enumerable: false, configurable: true, writable: true });
  return e;
}

/** `read ECONNRESET`: an errno from a stream operation (ErrnoException). */
export function errnoException(err: number, syscall: string, original?: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(err);
  const e = new Error(original ? `${syscall} ${code} ${original}` : `${syscall} ${code}`) as NodeJS.ErrnoException;
  Error.captureStackTrace(e, errnoException);
  e.errno = err;
  e.code = code;
  e.syscall = syscall;
  return asNodeError(e);
}

/** `listen EADDRINUSE: address already in use :::8080` (UVExceptionWithHostPort). */
export function uvExceptionWithHostPort(err: number, syscall: string, address: string | null, port?: number): NodeJS.ErrnoException {
  const [code, uvmsg] = uvEntry(err);
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  const e = new Error(`${syscall} ${code}: ${uvmsg}${details}`) as NodeJS.ErrnoException & { address?: string | null; port?: number };
  Error.captureStackTrace(e, uvExceptionWithHostPort);
  e.code = code;
  e.errno = err;
  e.syscall = syscall;
  e.address = address;
  if (port) e.port = port;
  return asNodeError(e);
}

/** An internal Node error (`code` ERR_*), e.g. `new TypeError(...)` with `code` and Node's toString. */
export function nodeError<E extends Error>(Base: new (message: string) => E, code: string, message: string): E & { code: string } {
  const e = new Base(message) as E & { code: string };
  Object.defineProperty(e, 'toString', {
    value() {
      return `${this.name} [${code}]: ${this.message}`;
    },
    enumerable: false,
    configurable: true,
    writable: true,
  });
  // Node's stack starts with `Name [CODE]: message`.
  if (typeof e.stack === 'string') e.stack = e.stack.replace(/^(\w*Error)/, `$1 [${code}]`);
  e.code = code;
  return e;
}

export const errSocketClosed = () => nodeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
export const errInvalidHandleType = () => nodeError(TypeError, 'ERR_INVALID_HANDLE_TYPE', 'This handle type cannot be sent');
export const errServerAlreadyListen = () =>
  nodeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
export const errInvalidFdType = (type: string) => nodeError(TypeError, 'ERR_INVALID_FD_TYPE', `Unsupported fd type: ${type}`);
