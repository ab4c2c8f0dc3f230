// Arena scratch memory for the fs layer: the kernel reads into (and writes
// from) arena slots only, never into the caller's or Node's memory; the bytes
// are copied out (or in) on this thread. A scratch slot is lent to an op by
// view (Ring borrows arena views in place) and released after the op settles.
import { Arena, Slot } from '../buffers/arena';
import { releaseWhenIdle } from '../buffers/arena';

export class Scratch {
  readonly slot: Slot;
  readonly bytes: Uint8Array;
  readonly #arena: Arena;

  constructor(size: number) {
    this.#arena = Arena.forThread();
    this.slot = this.#arena.allocate(size);
    this.bytes = this.#arena.view(this.slot, size);
  }

  release(): void {
    const arena = this.#arena;
    const slot = this.slot;
    releaseWhenIdle(slot, () => arena.release(slot));
  }
}
