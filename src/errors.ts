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
  /** The second path of a two-path call (rename, link, copyFile, symlink), as node:fs reports it. */
  dest?: string;
  cause?: unknown;
}

// Every error safer-ring raises is `instanceof SaferRingError` and carries a
// `code`. Beyond that it has the shape Node gives the same failure, so code
// written against node:fs keeps working: argument errors are TypeErrors or
// RangeErrors (`TypeError [ERR_INVALID_ARG_TYPE]: ...`), system errors are
// plain-named Errors with `errno`, `syscall` and `path`, aborts are AbortErrors.
const branded = new WeakSet<object>();

/** Codes Node raises as TypeError / RangeError; safer-ring does the same. */
const TYPE_ERROR_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_RETURN_VALUE', 'ERR_MISSING_ARGS']);
const RANGE_ERROR_CODES = new Set(['ERR_OUT_OF_RANGE', 'ERR_FS_FILE_TOO_LARGE', 'ERR_FS_CP_EINVAL']);

/**
 * The error class of safer-ring. Like node:fs errors it carries a `code`
 * and, for failures reported by the kernel, a negative `errno` and the
 * `syscall` that failed. Aborted operations have `code === 'ABORT_ERR'` and
 * `name === 'AbortError'`, as Node's own AbortError does. Argument errors are
 * created by `SaferRingError.for(code, message)` as TypeError/RangeError
 * instances, which `instanceof SaferRingError` also recognises.
 */
export class SaferRingError extends Error {
  readonly code: SaferRingErrorCode;
  // `declare`: no own property unless set, as on Node's errors.
  declare errno?: number;
  declare syscall?: string;
  declare path?: string;
  declare dest?: string;
  /** Set by the native layer: which descriptor of a batch was rejected. */
  declare index?: number;

  constructor(code: SaferRingErrorCode, message: string, props: SaferRingErrorProps = {}) {
    super(message, props.cause === undefined ? undefined : { cause: props.cause });
    this.name = code === 'ABORT_ERR' ? 'AbortError' : props.errno !== undefined ? 'Error' : 'SaferRingError';
    this.code = code;
    branded.add(this);
    assignProps(this, props);
  }

  /**
   * An error for `code` with Node's class for it: a TypeError for
   * ERR_INVALID_ARG_TYPE/VALUE, a RangeError for ERR_OUT_OF_RANGE, else a
   * SaferRingError. Every one of them is `instanceof SaferRingError`.
   */
  static for(code: SaferRingErrorCode, message: string, props: SaferRingErrorProps = {}): SaferRingError {
    if (TYPE_ERROR_CODES.has(code)) return new SaferRingTypeError(code, message, props) as unknown as SaferRingError;
    if (RANGE_ERROR_CODES.has(code)) return new SaferRingRangeError(code, message, props) as unknown as SaferRingError;
    return new SaferRingError(code, message, props);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses keep ordinary instanceof; SaferRingError itself recognises every error of ours.
    if (this !== SaferRingError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && branded.has(value);
  }
}

function assignProps(err: Error & { errno?: number; syscall?: string; path?: string; dest?: string }, props: SaferRingErrorProps): void {
  if (props.errno !== undefined) err.errno = props.errno;
  if (props.syscall !== undefined) err.syscall = props.syscall;
  if (props.path !== undefined) err.path = props.path;
  if (props.dest !== undefined) err.dest = props.dest;
}

/** Node's own rendering: the stack and toString() read `TypeError [CODE]: message`, while `name` stays 'TypeError'. */
function nodeStyle(err: Error & { code: string }, base: string): void {
  err.name = `${base} [${err.code}]`;
  void err.stack; // V8 formats the stack's first line now, with this name
  delete (err as { name?: string }).name;
}

class SaferRingTypeError extends TypeError {
  readonly code: SaferRingErrorCode;
  constructor(code: SaferRingErrorCode, message: string, props: SaferRingErrorProps) {
    super(message, props.cause === undefined ? undefined : { cause: props.cause });
    this.code = code;
    branded.add(this);
    nodeStyle(this, 'TypeError');
    assignProps(this, props);
  }
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

class SaferRingRangeError extends RangeError {
  readonly code: SaferRingErrorCode;
  constructor(code: SaferRingErrorCode, message: string, props: SaferRingErrorProps) {
    super(message, props.cause === undefined ? undefined : { cause: props.cause });
    this.code = code;
    branded.add(this);
    nodeStyle(this, 'RangeError');
    assignProps(this, props);
  }
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

let errorMap: Map<number, [string, string]> | undefined;

/** An error for a negative result from the kernel, shaped like node:fs's (`ENOENT: no such file or directory, open '/x'`). */
export function errnoError(negErrno: number, syscall: string, path?: string, dest?: string): SaferRingError {
  errorMap ??= getSystemErrorMap();
  const [code, description] = errorMap.get(negErrno) ?? [`E${-negErrno}`, 'unknown error'];
  let where = path === undefined ? syscall : `${syscall} '${path}'`;
  if (dest !== undefined) where += ` -> '${dest}'`;
  return new SaferRingError(code, `${code}: ${description}, ${where}`, { errno: negErrno, syscall, path, dest });
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
