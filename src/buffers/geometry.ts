// The true geometry of a caller's view, read through the engine's own
// TypedArray getters.
//
// `view.length`, `view.byteOffset`, `view.buffer` and `view.subarray()` are
// ordinary properties: a subclass getter or `Object.defineProperty` on the
// view can make them lie. A length that lies would size a kernel read past the
// memory that was checked. The getters below are the ones on
// %TypedArray%.prototype, captured when this module loads, called on the view
// itself: they read the view's internal slots and throw on anything that is not
// a real typed array (a Proxy included), so nothing the caller controls can
// change what they report.
import { SaferRingError } from '../errors';

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

function intrinsicGetter(name: string): (this: unknown) => unknown {
  const get = Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)?.get;
  if (get === undefined) throw new Error(`internal: %TypedArray%.prototype.${name} has no getter`);
  return get as (this: unknown) => unknown;
}

const getTag = intrinsicGetter(Symbol.toStringTag as unknown as string);
const getBuffer = intrinsicGetter('buffer');
const getByteOffset = intrinsicGetter('byteOffset');
const getByteLength = intrinsicGetter('byteLength');
const sabByteLength = Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength')!.get!;

/** A view's memory as the engine knows it. */
export interface ViewGeometry {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
}

/** True for a real Uint8Array (Buffer and other subclasses included); never consults the value's own properties. */
export function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && getTag.call(value) === 'Uint8Array';
}

/** The geometry of a real typed array. Call only on a value isUint8Array() (or ArrayBuffer.isView) accepted. */
export function geometryOf(view: ArrayBufferView): ViewGeometry {
  return {
    buffer: getBuffer.call(view) as ArrayBufferLike,
    byteOffset: getByteOffset.call(view) as number,
    byteLength: getByteLength.call(view) as number,
  };
}

/** The view's true length in bytes. */
export function byteLengthOf(view: ArrayBufferView): number {
  return getByteLength.call(view) as number;
}

/**
 * A fresh Uint8Array over `[offset, offset + length)` of `view`'s memory,
 * built from its true geometry (never through the caller's `subarray`).
 */
export function windowOver(view: ArrayBufferView, offset: number, length: number): Uint8Array {
  const g = geometryOf(view);
  if (offset < 0 || length < 0 || offset + length > g.byteLength) {
    throw SaferRingError.for('ERR_OUT_OF_RANGE', `The window [${offset}, ${offset + length}) is out of the buffer's ${g.byteLength} bytes`);
  }
  // An empty window needs no memory: a detached view (0 bytes) cannot be wrapped again.
  if (length === 0) return new Uint8Array(0);
  return new Uint8Array(g.buffer, g.byteOffset + offset, length);
}

/** The true byte length of a SharedArrayBuffer, or -1 for anything else. */
export function sharedByteLength(value: unknown): number {
  try {
    return sabByteLength.call(value) as number;
  } catch {
    return -1;
  }
}
