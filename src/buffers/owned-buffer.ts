// OwnedBuffer: a handle on one arena slot, with move semantics.
//
// Passing a handle to an operation moves it: the handle goes dead (its `bytes`
// throws ERR_BUFFER_MOVED) and the slot is the ring's until the kernel's
// completion arrives; the operation's result then carries a new, live handle
// on the same slot. So at any moment exactly one party may touch the memory.
import { Arena, MAX_BUFFER_SIZE, Slot, SlotTransfer, releaseWhenIdle } from './arena';

/** A buffer in transit between threads (plain data: post it with postMessage). */
export type BufferTransfer = SlotTransfer;
import { movedError, SaferRingError } from '../errors';
import { checkInteger, invalidType } from '../validate';
import { byteLengthOf, geometryOf } from './geometry';
import { AllocationSite, allocationSite, reportLeak } from './leak-report';

/** Where a slot goes back to when its handle is released: the arena, or a pool. */
export interface SlotHome {
  /** `view` is null when the handle was garbage-collected (its view with it). */
  releaseSlot(slot: Slot, view: Uint8Array | null): void;
  /** Builds a live handle of the right class for a slot coming back from an operation. */
  revive(slot: Slot, view: Uint8Array): OwnedBuffer;
}

export { setLeakWarnings } from './leak-report';

// A buffer dropped without release() is reclaimed when its view is collected,
// as Buffer.alloc memory would be. The view (not the handle) is the key: the
// same view object travels with the slot through every move, so the slot is
// reused only once no code can still reach its memory through that view.
interface Reclaimable {
  slot: Slot;
  home: SlotHome;
  site: AllocationSite;
}

const reclaim = new FinalizationRegistry<Reclaimable>(({ slot, home, site }) => {
  reportLeak(slot.capacity, site);
  releaseWhenIdle(slot, () => home.releaseSlot(slot, null));
});

/** Tracks a view handed out with a slot, so the slot comes back if the view is dropped. */
export function track(view: Uint8Array, slot: Slot, home: SlotHome): void {
  reclaim.register(view, { slot, home, site: allocationSite() }, view);
}

function untrack(view: Uint8Array): void {
  reclaim.unregister(view);
}

const arenaHome: SlotHome = {
  releaseSlot(slot) {
    slot.arena.release(slot);
  },
  revive(slot, view) {
    return adopt(slot, view, arenaHome);
  },
};

const INTERNAL = Symbol('safer-ring.internal');

/** Moves a live handle's slot out (the handle goes dead). Throws ERR_BUFFER_MOVED on a dead one. */
// eslint-disable-next-line prefer-const
export let takeSlot: (buf: OwnedBuffer) => MovedSlot;
/** Wraps a slot in a new live handle. */
// eslint-disable-next-line prefer-const
export let adopt: (slot: Slot, view: Uint8Array, home: SlotHome) => OwnedBuffer;
/** The slot of a live handle, without moving it. */
// eslint-disable-next-line prefer-const
export let peekSlot: (buf: OwnedBuffer) => Slot | null;
/** The buffer's length as recorded when the handle was made (a subclass's `length` getter cannot change it). */
// eslint-disable-next-line prefer-const
export let trueLength: (buf: OwnedBuffer) => number;

export class OwnedBuffer {
  #slot: Slot | null;
  #view: Uint8Array | null;
  #home: SlotHome;
  #length: number;

  /** Allocates `size` bytes (0 ..= MAX_BUFFER_SIZE) of zero-filled arena memory. */
  constructor(size: number);
  /** @internal */
  constructor(size: typeof INTERNAL, slot: Slot, view: Uint8Array, home: SlotHome);
  constructor(size: number | typeof INTERNAL, slot?: Slot, view?: Uint8Array, home?: SlotHome) {
    if (size === INTERNAL) {
      this.#slot = slot!;
      this.#view = view!;
      this.#home = home!;
      this.#length = byteLengthOf(view!); // the view may carry a redefined `length`
      return;
    }
    checkInteger('size', size, 0, MAX_BUFFER_SIZE);
    const arena = Arena.forThread();
    // Slots are reused: never hand out another buffer's bytes (fresh memory
    // is zero already, and is not touched: filling it would commit every page).
    const s = arena.allocateZeroed(size);
    const v = arena.view(s, size);
    this.#slot = s;
    this.#view = v;
    this.#home = arenaHome;
    this.#length = size;
    track(v, s, arenaHome);
  }

  /** Copies `data` into a new buffer of the same length. */
  static from(data: ArrayLike<number> | ArrayBufferView): OwnedBuffer {
    if (data === null || (typeof data !== 'object' && typeof data !== 'string')) {
      throw invalidType('data', 'an array-like object or an ArrayBufferView', data);
    }
    // A view's true memory (its own properties may lie); anything else is copied element by element.
    const bytes = ArrayBuffer.isView(data)
      ? (() => { const g = geometryOf(data); return new Uint8Array(g.buffer, g.byteOffset, g.byteLength); })()
      : Uint8Array.from(data as ArrayLike<number>);
    const buf = new OwnedBuffer(bytes.byteLength);
    buf.bytes.set(bytes);
    return buf;
  }

  /** Size in bytes. Readable even after a move. */
  get length(): number {
    return this.#length;
  }

  /** False once the handle was moved into an operation or released. */
  get isValid(): boolean {
    return this.#slot !== null;
  }

  /**
   * The buffer's memory. Throws ERR_BUFFER_MOVED once the handle was moved or
   * released. Do not keep the view past that point: the memory then belongs to
   * an operation, or to the next buffer that reuses the slot.
   */
  get bytes(): Uint8Array {
    if (this.#view === null || this.#slot === null) throw movedError();
    return this.#view;
  }

  /** Gives the memory back (to the arena or the buffer's pool). A moved handle's release is a no-op. */
  release(): void {
    const slot = this.#slot;
    if (slot === null) return;
    this.#slot = null;
    const view = this.#view!;
    untrack(view);
    this.#view = null;
    const home = this.#home;
    releaseWhenIdle(slot, () => home.releaseSlot(slot, view));
  }

  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Moves this buffer to another thread: the handle goes dead here and the
   * returned token (post it to a worker) is claimed there with
   * `OwnedBuffer.claim(token)`. The bytes are not copied: both threads map the
   * same shared memory, and the slot's control word says who owns it. Only
   * the first claim succeeds. Pooled buffers cannot be transferred.
   */
  transfer(): BufferTransfer {
    const slot = this.#slot;
    const view = this.#view;
    if (slot === null || view === null) throw movedError();
    if (this.#home !== arenaHome) throw new SaferRingError('ERR_INVALID_STATE', 'pooled buffers stay on their pool\'s thread');
    const t = slot.arena.beginTransfer(slot, view.length);
    untrack(view);
    this.#slot = null;
    this.#view = null;
    return t;
  }

  /** Takes ownership of a transferred buffer on this thread. Throws ERR_BUFFER_MOVED if it was already claimed. */
  static claim(transfer: BufferTransfer): OwnedBuffer {
    // The arena checks every field of the token against the slot's real
    // geometry and owner; the view is built from what it returns, never from
    // the token's own offset or length alone.
    const { slot, length } = Arena.forThread().claim(transfer);
    const view = Arena.forThread().view(slot, length);
    track(view, slot, arenaHome);
    return new OwnedBuffer(INTERNAL, slot, view, arenaHome);
  }

  static {
    takeSlot = (buf: OwnedBuffer): MovedSlot => {
      const slot = buf.#slot;
      if (slot === null || buf.#view === null) throw movedError();
      const moved: MovedSlot = { slot, view: buf.#view, home: buf.#home };
      buf.#slot = null;
      buf.#view = null;
      slot.markInFlight();
      return moved;
    };
    adopt = (slot: Slot, view: Uint8Array, home: SlotHome): OwnedBuffer => {
      slot.markOwned();
      return new OwnedBuffer(INTERNAL, slot, view, home);
    };
    peekSlot = (buf: OwnedBuffer): Slot | null => buf.#slot;
    trueLength = (buf: OwnedBuffer): number => buf.#length;
  }
}

/** What a moved handle leaves with the operation: enough to revive it afterwards. */
export interface MovedSlot {
  slot: Slot;
  view: Uint8Array;
  home: SlotHome;
}


/** Hands a moved slot back as a live handle after its operation completed. */
export function restore(moved: MovedSlot): OwnedBuffer {
  return moved.home.revive(moved.slot, moved.view);
}

/** Frees a moved slot whose operation failed (the caller no longer holds it). */
export function discard(moved: MovedSlot): void {
  const { slot, view, home } = moved;
  slot.markOwned();
  untrack(view);
  // The same memory may also be lent to another op (a view of it passed to
  // ring.read): free it only once that op is done too.
  releaseWhenIdle(slot, () => home.releaseSlot(slot, view));
}

/** For subclasses in this package (pools, pinned buffers). */
export { INTERNAL };
