// PinnedBuffer: kept for parity with the Rust crate's educational API.
//
// NOT RECOMMENDED. A pinned buffer never moves: you pass its `bytes` to
// `ring.read()`/`ring.write()`, which lend that memory to the kernel without a
// copy. Nothing stops your code from reading or writing the same bytes while
// the operation runs (a data race on your own data), which is exactly what the
// OwnedBuffer API rules out. The library still guarantees the memory is not
// freed or reused while the kernel holds it: release() during an operation is
// deferred until its completion.
import { OwnedBuffer } from './owned-buffer';

export class PinnedBuffer {
  #inner: OwnedBuffer;

  private constructor(inner: OwnedBuffer) {
    this.#inner = inner;
  }

  static withCapacity(size: number): PinnedBuffer {
    return new PinnedBuffer(new OwnedBuffer(size));
  }

  static from(data: ArrayLike<number> | ArrayBufferView): PinnedBuffer {
    return new PinnedBuffer(OwnedBuffer.from(data));
  }

  get length(): number {
    return this.#inner.length;
  }

  /** The pinned memory (arena memory, so ring.read/ring.write use it without copying). */
  get bytes(): Uint8Array {
    return this.#inner.bytes;
  }

  /** Same as `bytes`, named after the Rust API. */
  asMutSlice(): Uint8Array {
    return this.#inner.bytes;
  }

  release(): void {
    this.#inner.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
