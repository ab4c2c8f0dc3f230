// Node's argument errors and validators, as node:fs/promises raises them:
// the same codes, classes (TypeError, RangeError, Error) and messages, checked
// in the same order. Written from Node 20's documented behaviour; the drop-in
// tests compare every message with node:fs/promises side by side.
import { inspect, types } from 'node:util';
import { SaferRingError } from '../errors';
import { abortError, errnoError } from '../errors';

/** Node's wording for a received value ("type number (5)", "an instance of Object", ...). */
export function describeReceived(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`;
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)';
      return `type number (${value})`; // NaN, Infinity and -Infinity print as themselves
    case 'boolean':
      return `type boolean (${value})`;
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'function':
      return `function ${(value as { name: string }).name}`;
    case 'object': {
      const ctor = (value as { constructor?: { name?: string } }).constructor;
      if (ctor && 'name' in ctor) return `an instance of ${ctor.name}`;
      return inspect(value, { depth: -1 });
    }
    case 'string': {
      const s = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return s.includes("'") ? `type string (${JSON.stringify(s)})` : `type string ('${s}')`;
    }
    default:
      return `type ${typeof value} (${inspect(value, { colors: false })})`;
  }
}

// Node's kTypes: named as `of type ...` (in lower case), 'Function' and 'Object' included.
const PRIMITIVE_TYPES = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];
const CLASS_NAME = /^([A-Z][a-z0-9]*)+$/;

function formatList(items: string[], joiner: string): string {
  if (items.length <= 1) return items.join('');
  if (items.length === 2) return `${items[0]} ${joiner} ${items[1]}`;
  return `${items.slice(0, -1).join(', ')}, ${joiner} ${items[items.length - 1]}`;
}

/** ERR_INVALID_ARG_TYPE with Node's message: `expected` lists types ('string'), classes ('Buffer') or descriptions. */
export function invalidArgType(name: string, expected: string | string[], actual: unknown): SaferRingError {
  const list = Array.isArray(expected) ? expected : [expected];
  let msg = name.endsWith(' argument') ? `The ${name} ` : `The "${name}" ${name.includes('.') ? 'property' : 'argument'} `;
  msg += 'must be ';
  const kinds: string[] = [];
  const classes: string[] = [];
  const other: string[] = [];
  for (const e of list) {
    if (PRIMITIVE_TYPES.includes(e)) kinds.push(e.toLowerCase());
    else if (CLASS_NAME.test(e)) classes.push(e);
    else other.push(e);
  }
  if (classes.length > 0) {
    const i = kinds.indexOf('object');
    if (i !== -1) {
      kinds.splice(i, 1);
      classes.push('Object');
    }
  }
  if (kinds.length > 0) {
    msg += `${kinds.length > 1 ? 'one of type' : 'of type'} ${formatList(kinds, 'or')}`;
    if (classes.length > 0 || other.length > 0) msg += ' or ';
  }
  if (classes.length > 0) {
    msg += `an instance of ${formatList(classes, 'or')}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 1) msg += `one of ${formatList(other, 'or')}`;
    else msg += `${other[0].toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`;
  }
  return SaferRingError.for('ERR_INVALID_ARG_TYPE', `${msg}. Received ${describeReceived(actual)}`);
}

/** ERR_INVALID_ARG_VALUE: "The argument 'name' reason. Received <inspected value>". */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): SaferRingError {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return SaferRingError.for('ERR_INVALID_ARG_VALUE', `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${shown}`);
}

function withSeparators(digits: string): string {
  let out = '';
  let i = digits.length;
  const start = digits[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) out = `_${digits.slice(i - 3, i)}${out}`;
  return `${digits.slice(0, i)}${out}`;
}

/** ERR_OUT_OF_RANGE: "The value of "name" is out of range. It must be <range>. Received <value>". */
export function outOfRange(name: string, range: string, value: unknown): SaferRingError {
  let received: string;
  if (Number.isInteger(value) && Math.abs(value as number) > 2 ** 32) received = withSeparators(String(value));
  else if (typeof value === 'bigint') {
    received = String(value);
    if (value > 2n ** 32n || value < -(2n ** 32n)) received = withSeparators(received);
    received += 'n';
  } else received = inspect(value);
  return SaferRingError.for('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${received}`);
}

/** A plain Error with a Node code, printed as Node prints its own (`Error [CODE]: message`). */
export function nodeError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  err.name = `Error [${code}]`;
  void err.stack; // the stack's first line is formatted now, with this name
  delete (err as { name?: string }).name;
  return err;
}

export function invalidState(what: string): Error & { code: string } {
  return nodeError('ERR_INVALID_STATE', `Invalid state: ${what}`);
}

/** What Node's internal assert raises when a FileHandle method is called on something else. */
export function internalAssertion(message: string): Error & { code: string } {
  return nodeError('ERR_INTERNAL_ASSERTION', `${message}\nThis is caused by either a bug in Node.js or incorrect usage of Node.js internals.\n` +
    'Please open an issue with this stack trace at https://github.com/nodejs/node/issues\n');
}

export function fileTooLarge(size: number): SaferRingError {
  return SaferRingError.for('ERR_FS_FILE_TOO_LARGE', `File size (${size}) is greater than 2 GiB`);
}

export function validateInteger(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value);
}

/** validateObject: an object, not an array; null only where `nullable`. */
export function validateObject(value: unknown, name: string, nullable = false): void {
  if (value === null ? !nullable : typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(name, 'Object', value);
}

export function validateAbortSignal(signal: unknown, name: string): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw invalidArgType(name, 'AbortSignal', signal);
  }
}

export function validateBuffer(value: unknown, name = 'buffer'): asserts value is ArrayBufferView {
  if (!ArrayBuffer.isView(value)) throw invalidArgType(name, ['Buffer', 'TypedArray', 'DataView'], value);
}

export function validateStringAfterArrayBufferView(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, ['string', 'Buffer', 'TypedArray', 'DataView'], value);
}

/** A hex string of odd length cannot be written: Node refuses it before any I/O. */
export function validateEncoding(data: string, encoding: unknown): void {
  if (typeof encoding === 'string' && /^hex$/i.test(encoding) && data.length % 2 !== 0) {
    throw invalidArgValue('encoding', encoding, `is invalid for data of length ${data.length}`);
  }
}

export function validateBufferArray(buffers: unknown, name = 'buffers'): asserts buffers is ArrayBufferView[] {
  if (!Array.isArray(buffers)) throw invalidArgType(name, 'ArrayBufferView[]', buffers);
  for (let i = 0; i < buffers.length; i++) {
    if (!ArrayBuffer.isView(buffers[i])) throw invalidArgType(name, 'ArrayBufferView[]', buffers);
  }
}

export function validateOffsetLengthRead(offset: number, length: number, bufferLength: number): void {
  if (offset < 0) throw outOfRange('offset', '>= 0', offset);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  if (offset + length > bufferLength) throw outOfRange('length', `<= ${bufferLength - offset}`, length);
}

export function validateOffsetLengthWrite(offset: number, length: number, byteLength: number): void {
  if (offset > byteLength) throw outOfRange('offset', `<= ${byteLength}`, offset);
  if (length > byteLength - offset) throw outOfRange('length', `<= ${byteLength - offset}`, length);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  validateInteger(length, 'length', 0, 2 ** 31 - 1);
}

const OCTAL = /^[0-7]+$/;

/** A mode as a number or an octal string, defaulting to `def`. */
export function parseFileMode(value: unknown, name: string, def?: number): number {
  value ??= def;
  if (typeof value === 'string') {
    if (!OCTAL.test(value)) throw invalidArgValue(name, value, 'must be a 32-bit unsigned integer or an octal string');
    value = Number.parseInt(value, 8);
  }
  validateInteger(value, name, 0, 2 ** 32 - 1);
  return value;
}

/** Node's options normalisation for fs calls: a string is the encoding; the encoding and signal are checked. */
export function getOptions<T extends object>(options: unknown, defaults: T): T & { encoding?: BufferEncoding | 'buffer' | null; signal?: AbortSignal } {
  if (options == null || typeof options === 'function') return defaults as T;
  let opts: Record<string, unknown>;
  if (typeof options === 'string') opts = { ...defaults, encoding: options };
  else if (typeof options !== 'object') throw invalidArgType('options', ['string', 'Object'], options);
  else opts = options as Record<string, unknown>;
  if (opts.encoding !== 'buffer') assertEncoding(opts.encoding);
  if (opts.signal !== undefined) validateAbortSignal(opts.signal, 'options.signal');
  return opts as T;
}

export function assertEncoding(encoding: unknown): void {
  if (encoding && !Buffer.isEncoding(encoding as string)) throw invalidArgValue('encoding', encoding, 'is invalid encoding');
}

/** Node's between-steps abort check: an AbortError carrying the signal's reason. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** True for Node's "custom iterable" data: iterable, but not a string or a view. */
export function isCustomIterable(data: unknown): data is Iterable<unknown> | AsyncIterable<unknown> {
  if (data == null || typeof data === 'string' || ArrayBuffer.isView(data)) return false;
  return typeof (data as Iterable<unknown>)[Symbol.iterator] === 'function' ||
    typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

export const isDate = types.isDate;

/** The same system error under the syscall name node:fs reports (the ring's statx is Node's stat; its readv Node's read). */
export function asSyscall(err: unknown, syscall: string): unknown {
  const e = err as SaferRingError;
  if (e instanceof SaferRingError && typeof e.errno === 'number' && e.syscall !== syscall) return errnoError(e.errno, syscall, e.path, e.dest);
  return err;
}
