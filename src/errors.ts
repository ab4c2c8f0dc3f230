import { getSystemErrorMap } from 'node:util';

/** Codes safer-ring raises itself, beside the system error codes (`EBADF`, `ENOENT`, ...). */
export type SaferRingErrorCode =
  | 'ERR_BUFFER_MOVED'
  | 'ERR_RING_CLOSED'
  | 'ERR_RING_BUSY'
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_UNSUPPORTED_OPERATION'
  | 'ERR_NATIVE_UNAVAILABLE'
  | 'ERR_IO_URING_UNAVAILABLE'
  | 'ERR_INVALID_STATE'
  | 'ERR_WORKER_DIED'
  | 'ERR_BUFFER_BUSY'
  | 'ERR_INTERNAL'
  | 'ABORT_ERR'
  | (string & {});

export interface SaferRingErrorProps {
  errno?: number;
  syscall?: string;
  path?: string;
  cause?: unknown;
}

/**
 * The one error class of safer-ring. Like node:fs errors it carries a `code`
 * and, for failures reported by the kernel, a negative `errno` and the
 * `syscall` that failed. Aborted operations have `code === 'ABORT_ERR'` and
 * `name === 'AbortError'`, as Node's own AbortError does.
 */
export class SaferRingError extends Error {
  readonly code: SaferRingErrorCode;
  // `declare`: no own property unless set, as on Node's errors.
  declare errno?: number;
  declare syscall?: string;
  declare path?: string;
  /** Set by the native layer: which descriptor of a batch was rejected. */
  declare index?: number;

  constructor(code: SaferRingErrorCode, message: string, props: SaferRingErrorProps = {}) {
    super(message, props.cause === undefined ? undefined : { cause: props.cause });
    this.name = code === 'ABORT_ERR' ? 'AbortError' : 'SaferRingError';
    this.code = code;
    if (props.errno !== undefined) this.errno = props.errno;
    if (props.syscall !== undefined) this.syscall = props.syscall;
    if (props.path !== undefined) this.path = props.path;
  }
}

let errorMap: Map<number, [string, string]> | undefined;

/** An error for a negative result from the kernel, shaped like node:fs's (`ENOENT: no such file or directory, open '/x'`). */
export function errnoError(negErrno: number, syscall: string, path?: string): SaferRingError {
  errorMap ??= getSystemErrorMap();
  const [code, description] = errorMap.get(negErrno) ?? [`E${-negErrno}`, 'unknown error'];
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  return new SaferRingError(code, `${code}: ${description}, ${where}`, { errno: negErrno, syscall, path });
}

export function abortError(signal?: AbortSignal): SaferRingError {
  return new SaferRingError('ABORT_ERR', 'The operation was aborted', { cause: signal?.reason });
}

export function closedError(): SaferRingError {
  return new SaferRingError('ERR_RING_CLOSED', 'The ring is closed');
}

export function movedError(): SaferRingError {
  return new SaferRingError('ERR_BUFFER_MOVED', 'This buffer handle was moved into an operation or released; use the buffer the operation returned');
}
