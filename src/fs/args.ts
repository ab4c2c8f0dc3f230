// Paths, open flags and views as node:fs/promises takes them, with its checks.
import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDataView, isSharedArrayBuffer } from 'node:util/types';
import { byteLengthOf, isUint8Array, windowOver } from '../buffers/geometry';
import { invalidArgType, invalidArgValue, validateInteger } from './errors';

/** A path after Node's checks: a string, or the bytes of a Buffer/Uint8Array path as given. */
export type ValidPath = string | Buffer;

function isURLLike(value: unknown): value is URL {
  const v = value as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null;
  return Boolean(v?.href && v.protocol && v.auth === undefined && v.path === undefined);
}

/** getValidatedPath: a file: URL becomes its path; then a string or bytes without NUL, else Node's errors. */
export function validPath(value: unknown, name = 'path'): ValidPath {
  const path = typeof value === 'string' || !isURLLike(value) ? value : fileURLToPath(value);
  if (typeof path === 'string') {
    if (path.includes('\u0000')) throw invalidArgValue(name, path, 'must be a string, Uint8Array, or URL without null bytes');
    return path;
  }
  if (isUint8Array(path)) {
    const bytes = windowOver(path, 0, byteLengthOf(path)); // its true memory: `length` may have been redefined
    if (bytes.includes(0)) throw invalidArgValue(name, path, 'must be a string, Uint8Array, or URL without null bytes');
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  throw invalidArgType(name, ['string', 'Buffer', 'URL'], path);
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC } = constants;

const FLAGS: Record<string, number> = {
  r: O_RDONLY, rs: O_RDONLY | O_SYNC, sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR, 'rs+': O_RDWR | O_SYNC, 'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY, wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL, xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR, 'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL, 'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY, ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL, xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC, sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR, 'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL, 'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC, 'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** stringToFlags: a flag string or an int32; null/undefined read only. */
export function openFlagsOf(flags: unknown, name = 'flags'): number {
  if (typeof flags === 'number') {
    validateInteger(flags, name, -(2 ** 31), 2 ** 31 - 1);
    return flags;
  }
  if (flags == null) return O_RDONLY;
  const f = typeof flags === 'string' ? FLAGS[flags] : undefined;
  if (f === undefined) throw invalidArgValue(name, flags);
  return f;
}

export const O_APPEND_FLAG = O_APPEND;

const dataViewGetters = {
  buffer: Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer')!.get!,
  byteOffset: Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset')!.get!,
  byteLength: Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')!.get!,
};
const typedArrayBuffer = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer')!.get!;
const typedArrayByteOffset = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteOffset')!.get!;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;
const EMPTY = new Uint8Array(0);

/**
 * A DataView's ArrayBuffer (its engine getter, which works on detached memory
 * too), or null for anything else. Asked of the engine (util.types), not by
 * calling the getter and catching its TypeError: these run on every read and
 * write, and a thrown error (with its stack) costs more than the I/O.
 */
function dataViewBuffer(view: unknown): ArrayBufferLike | null {
  return isDataView(view) ? (dataViewGetters.buffer.call(view) as ArrayBufferLike) : null;
}

/** True when a plain ArrayBuffer holds no bytes (detached, or made empty); a SharedArrayBuffer never is detached. */
function emptyArrayBuffer(buffer: ArrayBufferLike): boolean {
  return !isSharedArrayBuffer(buffer) && (arrayBufferByteLength.call(buffer) as number) === 0;
}

/**
 * The bytes of any ArrayBufferView (TypedArray or DataView) as a Uint8Array,
 * from the engine's own getters: a view whose `length` or `byteOffset` was
 * redefined cannot make a write read past its memory. A detached view throws
 * the TypeError Node's `new Uint8Array(view.buffer, view.byteOffset,
 * view.byteLength)` throws (writeFile's way of taking its data).
 */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  const dvBuffer = dataViewBuffer(view);
  if (dvBuffer !== null) {
    return new Uint8Array(dvBuffer as ArrayBuffer, dataViewGetters.byteOffset.call(view) as number, dataViewGetters.byteLength.call(view) as number);
  }
  return new Uint8Array(typedArrayBuffer.call(view) as ArrayBuffer, typedArrayByteOffset.call(view) as number, byteLengthOf(view));
}

/**
 * bytesOf for a FileHandle's read/readv/write/writev: memory that was
 * detached is an empty view, as Node's native calls see it (they read 0
 * bytes into it, or write 0 bytes from it).
 */
export function ioBytesOf(view: ArrayBufferView): Uint8Array {
  const buffer = dataViewBuffer(view) ?? (typedArrayBuffer.call(view) as ArrayBufferLike);
  return emptyArrayBuffer(buffer) ? EMPTY : bytesOf(view);
}

/**
 * A view's size in bytes, where Node reads `buffer.byteLength`, through the
 * engine's getter: 0 for a detached typed array, and for a detached DataView
 * the TypeError Node's own read of the property throws.
 */
export function byteSizeOf(view: ArrayBufferView): number {
  if (dataViewBuffer(view) !== null) return dataViewGetters.byteLength.call(view) as number;
  return byteLengthOf(view);
}
