// The arena: every byte safer-ring lends to the kernel lives here.
//
// Memory comes in chunks, each a whole SharedArrayBuffer. A SharedArrayBuffer
// can never be detached, transferred or resized, so a pointer the native layer
// takes into it stays valid for as long as the chunk is referenced (the arena
// and every ring it was registered with hold it). Chunks are carved into slots
// of one power-of-two size class (a slab allocator); freed slots go back on
// their class's free list, last-in first-out so hot memory is reused first.

/** Largest buffer `new OwnedBuffer(size)` accepts: 1 GiB. */
export const MAX_BUFFER_SIZE = 2 ** 30;

const MIN_CLASS_SHIFT = 6; // 64 B: the smallest slot (paths, addresses, timespecs)
const SLAB_BYTES = 2 ** 20; // classes up to SLAB_BYTES / 4 share 1 MiB chunks
const MAX_SLAB_CLASS_SHIFT = 18; // 256 KiB
const MAX_CLASS_SHIFT = 30;

export const enum SlotState {
  Free = 0,
  Owned = 1, // held by a live handle (OwnedBuffer, PooledBuffer, PinnedBuffer) or a temporary copy
  InFlight = 2, // moved into an operation: only the ring may touch it until its completion
}

/** One slot: a fixed range of one chunk. Slot objects are created once and reused forever. */
export class Slot {
  state: SlotState = SlotState.Free;
  /** Operations currently using this slot's memory without owning it (zero-copy `read`/`write`). */
  borrows = 0;
  /** A release asked for while borrowed: it runs when the last borrow ends. */
  deferredRelease: (() => void) | null = null;
  constructor(
    readonly arena: Arena,
    readonly chunk: number,
    readonly offset: number,
    readonly capacity: number,
    readonly classShift: number,
  ) {}
}

export interface ArenaStats {
  chunks: number;
  bytesReserved: number;
  slotsInUse: number;
}

export class Arena {
  /** Whole-chunk views, index = chunk id as the native layer knows it. */
  readonly chunks: Uint8Array[] = [];
  private readonly chunkBySab = new Map<SharedArrayBuffer, number>();
  private readonly slabClass: number[] = []; // class shift of each chunk
  private readonly freeLists: Slot[][] = [];
  private readonly chunkSlots: Slot[][] = [];
  private bytesReserved = 0;
  private slotsInUse = 0;

  private static current: Arena | undefined;

  /** The arena of the calling thread (each worker thread has its own). */
  static forThread(): Arena {
    return (Arena.current ??= new Arena());
  }

  allocate(size: number): Slot {
    const shift = classShift(size);
    const list = (this.freeLists[shift] ??= []);
    let slot = list.pop();
    if (slot === undefined) {
      this.grow(shift);
      slot = list.pop()!;
    }
    slot.state = SlotState.Owned;
    this.slotsInUse++;
    return slot;
  }

  /** Returns a slot to its free list. Callers go through releaseWhenIdle() first. */
  release(slot: Slot): void {
    if (slot.state === SlotState.Free) return;
    if (slot.state === SlotState.InFlight) throw new Error('internal: freeing a slot the kernel owns');
    slot.state = SlotState.Free;
    this.slotsInUse--;
    this.freeLists[slot.classShift].push(slot);
  }

  /** Borrowing pins a slot under an operation that does not own it (zero-copy read/write). */
  borrow(slot: Slot): void {
    slot.borrows++;
  }

  unborrow(slot: Slot): void {
    if (--slot.borrows === 0 && slot.deferredRelease !== null) {
      const release = slot.deferredRelease;
      slot.deferredRelease = null;
      release();
    }
  }

  /** A view of a slot's first `length` bytes. */
  view(slot: Slot, length: number): Uint8Array {
    const c = this.chunks[slot.chunk];
    return new Uint8Array(c.buffer, slot.offset, length);
  }

  /**
   * The owned slot that wholly contains `bytes`, if `bytes` is arena memory.
   * Such a view can be lent to the kernel without a copy.
   */
  slotOf(bytes: Uint8Array): Slot | undefined {
    const chunk = this.chunkBySab.get(bytes.buffer as SharedArrayBuffer);
    if (chunk === undefined) return undefined;
    const shift = this.slabClass[chunk];
    const slot = this.chunkSlots[chunk][Math.floor(bytes.byteOffset / 2 ** shift)];
    if (slot === undefined || slot.state === SlotState.Free) return undefined;
    if (bytes.byteOffset + bytes.byteLength > slot.offset + slot.capacity) return undefined;
    return slot;
  }

  stats(): ArenaStats {
    return { chunks: this.chunks.length, bytesReserved: this.bytesReserved, slotsInUse: this.slotsInUse };
  }

  private grow(shift: number): void {
    const slotBytes = 2 ** shift;
    const chunkBytes = shift <= MAX_SLAB_CLASS_SHIFT ? SLAB_BYTES : slotBytes;
    const sab = new SharedArrayBuffer(chunkBytes);
    const index = this.chunks.length;
    this.chunks.push(new Uint8Array(sab));
    this.chunkBySab.set(sab, index);
    this.slabClass.push(shift);
    this.bytesReserved += chunkBytes;
    const slots: Slot[] = [];
    for (let off = 0; off < chunkBytes; off += slotBytes) slots.push(new Slot(this, index, off, slotBytes, shift));
    this.chunkSlots.push(slots);
    // Reversed so pop() hands out the lowest offsets first.
    const list = this.freeLists[shift];
    for (let i = slots.length - 1; i >= 0; i--) list.push(slots[i]);
  }
}

/** Runs `release` now, or once no operation borrows the slot any more. */
export function releaseWhenIdle(slot: Slot, release: () => void): void {
  if (slot.borrows > 0) slot.deferredRelease = release;
  else release();
}

function classShift(size: number): number {
  let shift = MIN_CLASS_SHIFT;
  while (2 ** shift < size) shift++;
  if (shift > MAX_CLASS_SHIFT) throw new RangeError('size exceeds MAX_BUFFER_SIZE');
  return shift;
}
