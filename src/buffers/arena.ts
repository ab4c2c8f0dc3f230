// The arena: every byte safer-ring lends to the kernel lives here.
//
// Memory comes in chunks, each a whole SharedArrayBuffer. A SharedArrayBuffer
// can never be detached, transferred or resized, so a pointer the native layer
// takes into it stays valid for as long as the chunk is referenced (the arena
// and every ring it was registered with hold it). Chunks are carved into slots
// of one power-of-two size class (a slab allocator); freed slots go back on
// their class's free list, last-in first-out so hot memory is reused first.

import { threadId } from 'node:worker_threads';
import { SaferRingError } from '../errors';
import { geometryOf, sharedByteLength } from './geometry';

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

// Each chunk has a control word per slot in its own SharedArrayBuffer: the
// cross-thread truth about who owns the slot. Changes that can race (a
// transfer being claimed) go through Atomics.compareExchange, so exactly one
// claimant wins. Low 3 bits: the state; the rest: a thread id or a nonce.
const C_FREE = 0;
const C_OWNED = 1; // << 3: owning thread id
const C_IN_FLIGHT = 2; // << 3: thread whose ring holds it
const C_IN_TRANSIT = 3; // << 3: transfer nonce, until claimed
const C_RELEASED_REMOTE = 4; // released on another thread: the origin reclaims it
const ME = threadId;
let nonceCounter = 0;

/** What a buffer travels as between threads: its chunk, its slot, and a one-time claim nonce. */
export interface SlotTransfer {
  /** Which arena and chunk the slot belongs to (a SharedArrayBuffer's object identity does not survive postMessage). */
  origin: { thread: number; arena: number; chunk: number };
  chunk: SharedArrayBuffer;
  control: SharedArrayBuffer;
  slotIndex: number;
  offset: number;
  capacity: number;
  length: number;
  nonce: number;
}

/** One slot: a fixed range of one chunk. Slot objects are created once and reused forever. */
export class Slot {
  state: SlotState = SlotState.Free;
  /** Claimed from another thread's arena: freeing it hands it back to that arena. */
  foreign = false;
  origin: SlotTransfer['origin'] | undefined = undefined;
  /** Operations currently using this slot's memory without owning it (zero-copy `read`/`write`). */
  borrows = 0;
  /** A release asked for while borrowed: it runs when the last borrow ends. */
  deferredRelease: (() => void) | null = null;
  /** Handed out before: its memory may hold an earlier owner's bytes (a fresh slot is all zero). */
  used = false;
  constructor(
    readonly arena: Arena,
    readonly chunk: number,
    readonly offset: number,
    readonly capacity: number,
    readonly classShift: number,
    readonly control: Int32Array,
    readonly index: number,
  ) {}

  // The two marks below run twice per owned-buffer op. Plain stores, not
  // Atomics.store (which V8 does not inline: over 100 instructions each): they
  // change the word of a slot this thread owns, which no other thread writes,
  // and every hand-over to another thread (beginTransfer) is a
  // compareExchange on this thread, which reads this thread's last store.

  /** Records in the shared control word that this thread's ring now holds the slot. */
  markInFlight(): void {
    this.state = SlotState.InFlight;
    this.control[this.index] = (ME << 3) | C_IN_FLIGHT;
  }

  markOwned(): void {
    this.state = SlotState.Owned;
    this.control[this.index] = (ME << 3) | C_OWNED;
  }
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
  /** Per chunk: its control words (one int32 per slot), as a SharedArrayBuffer and as a view. */
  private readonly controls: SharedArrayBuffer[] = [];
  private readonly controlViews: Int32Array[] = [];
  private readonly inTransit = new Set<Slot>(); // our slots handed to other threads
  private readonly imported = new Map<string, number>(); // other arenas' chunks mapped here
  private static nextId = 1;
  readonly id = Arena.nextId++;

  private static current: Arena | undefined;

  /** The arena of the calling thread (each worker thread has its own). */
  static forThread(): Arena {
    return (Arena.current ??= new Arena());
  }

  /** A slot of at least `size` bytes, owned by the caller; its memory may hold an earlier owner's bytes. */
  allocate(size: number): Slot {
    const slot = this.take(size);
    slot.used = true;
    return slot;
  }

  /** Like allocate(), with the slot's first `size` bytes zero (filled only if the slot was used before). */
  allocateZeroed(size: number): Slot {
    const slot = this.take(size);
    if (slot.used) this.view(slot, size).fill(0);
    slot.used = true;
    return slot;
  }

  private take(size: number): Slot {
    const shift = classShift(size);
    const list = (this.freeLists[shift] ??= []);
    let slot = list.pop();
    if (slot === undefined && this.inTransit.size > 0) {
      this.reclaimRemote();
      slot = list.pop();
    }
    if (slot === undefined) {
      this.grow(shift);
      slot = list.pop()!;
    }
    slot.markOwned();
    this.slotsInUse++;
    return slot;
  }

  /** Returns a slot to its free list. Callers go through releaseWhenIdle() first. */
  release(slot: Slot): void {
    if (slot.state === SlotState.Free) return;
    if (slot.state === SlotState.InFlight) throw new Error('internal: freeing a slot the kernel owns');
    slot.state = SlotState.Free;
    if (slot.foreign) {
      // Another thread's memory: mark it and let its arena take it back.
      Atomics.store(slot.control, slot.index, C_RELEASED_REMOTE);
      return;
    }
    Atomics.store(slot.control, slot.index, C_FREE);
    this.slotsInUse--;
    this.freeLists[slot.classShift].push(slot);
  }

  /**
   * Starts moving an owned slot to another thread. The slot's control word
   * goes from "owned by this thread" to "in transit (nonce)"; only one
   * claim() of that nonce, on any thread, can take it.
   */
  beginTransfer(slot: Slot, length: number): SlotTransfer {
    // A view of this memory is lent to an op in flight (ring.read(fd, buf.bytes)): the
    // slot must stay here until that op completes, or its next owner would see the kernel's writes.
    if (slot.borrows > 0) {
      throw new SaferRingError('ERR_BUFFER_BUSY', 'the buffer\'s memory is still lent to an operation in flight; transfer it after that completes');
    }
    const nonce = (++nonceCounter * 1024 + (ME & 1023)) & 0x0fffffff;
    const was = Atomics.compareExchange(slot.control, slot.index, (ME << 3) | C_OWNED, (nonce << 3) | C_IN_TRANSIT);
    if (was !== ((ME << 3) | C_OWNED)) throw new SaferRingError('ERR_BUFFER_MOVED', 'the buffer is not owned by this thread');
    slot.state = SlotState.Free; // not ours any more until it comes back
    if (!slot.foreign) this.inTransit.add(slot);
    const origin = slot.foreign ? slot.origin! : { thread: ME, arena: this.id, chunk: slot.chunk };
    return {
      origin,
      chunk: this.chunks[slot.chunk].buffer as SharedArrayBuffer,
      control: slot.control.buffer as SharedArrayBuffer,
      slotIndex: slot.index, offset: slot.offset, capacity: slot.capacity, length, nonce,
    };
  }

  /**
   * Takes ownership of a transferred slot on this thread. A second claim of
   * the same transfer is refused. Nothing in the token is trusted: the memory
   * and the control word come from the chunk as this thread first knew it
   * (its own chunk, or the one first imported under that origin), the slot's
   * offset and capacity from that chunk's geometry, and the length must fit.
   */
  claim(token: unknown): { slot: Slot; length: number } {
    const t = checkToken(token);
    const own = t.origin.thread === ME && t.origin.arena === this.id;
    const key = `${t.origin.thread}:${t.origin.arena}:${t.origin.chunk}`;
    let index: number;
    if (own) {
      if (t.origin.chunk >= this.chunkSlots.length || this.slabClass[t.origin.chunk] < 0) throw badToken('names no chunk of this arena');
      index = t.origin.chunk;
    } else {
      index = this.imported.get(key) ?? -1;
    }
    // The chunk's real memory and control words, when this thread already knows them.
    const chunkSab = index >= 0 ? (this.chunks[index].buffer as SharedArrayBuffer) : t.chunk;
    const controlSab = index >= 0 ? this.controls[index] : t.control;
    const chunkBytes = sharedByteLength(chunkSab);
    const slots = sharedByteLength(controlSab) / 4;
    const slotBytes = chunkBytes / slots;
    if (!Number.isInteger(slots) || slots < 1 || !Number.isInteger(slotBytes) || slotBytes < 2 ** MIN_CLASS_SHIFT || (slotBytes & (slotBytes - 1)) !== 0) {
      throw badToken('does not describe an arena chunk');
    }
    if (t.slotIndex >= slots) throw badToken('names a slot outside its chunk');
    if (t.length > slotBytes) throw badToken(`claims ${t.length} bytes of a ${slotBytes}-byte slot`);
    const control = index >= 0 ? this.controlViews[index] : new Int32Array(controlSab);
    const was = Atomics.compareExchange(control, t.slotIndex, (t.nonce << 3) | C_IN_TRANSIT, (ME << 3) | C_OWNED);
    if (was !== ((t.nonce << 3) | C_IN_TRANSIT)) {
      throw new SaferRingError('ERR_BUFFER_MOVED', 'this buffer transfer was already claimed');
    }
    if (own) {
      // Our own slot coming home.
      const slot = this.chunkSlots[index][t.slotIndex];
      this.inTransit.delete(slot);
      slot.state = SlotState.Owned;
      return { slot, length: t.length };
    }
    if (index < 0) {
      index = this.importChunk(chunkSab, controlSab);
      this.imported.set(key, index);
    }
    const slot = new Slot(this, index, t.slotIndex * slotBytes, slotBytes, -1, control, t.slotIndex);
    slot.foreign = true;
    slot.used = true;
    slot.origin = { ...t.origin };
    slot.state = SlotState.Owned;
    return { slot, length: t.length };
  }

  /** Another thread's chunk becomes addressable here (rings on this thread register it), never allocatable. */
  private importChunk(sab: SharedArrayBuffer, control: SharedArrayBuffer): number {
    const index = this.chunks.length;
    this.chunks.push(new Uint8Array(sab));
    this.chunkBySab.set(sab, index);
    this.slabClass.push(-1);
    this.chunkSlots.push([]);
    this.controls.push(control);
    this.controlViews.push(new Int32Array(control));
    return index;
  }

  /**
   * The slot size of chunk `index`: every range an op names must lie inside
   * one slot of this size (the native layer checks it again).
   */
  slotSizeOf(index: number): number {
    return this.chunks[index].byteLength / (this.controls[index].byteLength / 4);
  }

  /** Takes back slots that other threads released. */
  private reclaimRemote(): void {
    for (const slot of this.inTransit) {
      if (Atomics.compareExchange(slot.control, slot.index, C_RELEASED_REMOTE, C_FREE) === C_RELEASED_REMOTE) {
        this.inTransit.delete(slot);
        this.slotsInUse--;
        this.freeLists[slot.classShift].push(slot);
      }
    }
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
    const { buffer, byteOffset, byteLength } = geometryOf(bytes);
    const chunk = this.chunkBySab.get(buffer as SharedArrayBuffer);
    if (chunk === undefined) return undefined;
    const shift = this.slabClass[chunk];
    if (shift < 0) return undefined; // an imported chunk: only claimed slots, which are not lent by view
    const slot = this.chunkSlots[chunk][Math.floor(byteOffset / 2 ** shift)];
    if (slot === undefined || slot.state === SlotState.Free) return undefined;
    if (byteOffset + byteLength > slot.offset + slot.capacity) return undefined;
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
    const control = new Int32Array(new SharedArrayBuffer(4 * (chunkBytes / slotBytes)));
    this.controls.push(control.buffer as SharedArrayBuffer);
    this.controlViews.push(control);
    const slots: Slot[] = [];
    for (let off = 0, i = 0; off < chunkBytes; off += slotBytes, i++) slots.push(new Slot(this, index, off, slotBytes, shift, control, i));
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

/** The smallest class whose slots hold `size` bytes: log2 rounded up, from the leading zeros (every allocation asks). */
function classShift(size: number): number {
  if (size > 2 ** MAX_CLASS_SHIFT) {
    throw SaferRingError.for('ERR_OUT_OF_RANGE', `The value of "size" is out of range. It must be <= ${MAX_BUFFER_SIZE}. Received ${size}`);
  }
  return size <= 2 ** MIN_CLASS_SHIFT ? MIN_CLASS_SHIFT : Math.max(MIN_CLASS_SHIFT, 32 - Math.clz32(Math.ceil(size) - 1));
}

function badToken(why: string): SaferRingError {
  return SaferRingError.for('ERR_INVALID_ARG_VALUE', `The "transfer" token ${why}; pass a token from OwnedBuffer#transfer() unchanged`);
}

function isIndex(v: unknown, max = 0x7fffffff): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** Reads each field of a transfer token once, checking its type; the result is ours, not the caller's object. */
function checkToken(token: unknown): SlotTransfer {
  if (token === null || typeof token !== 'object') {
    throw SaferRingError.for('ERR_INVALID_ARG_TYPE', 'The "transfer" argument must be a token from OwnedBuffer#transfer()');
  }
  const t = token as Record<string, unknown>;
  const origin = t.origin as Record<string, unknown> | null;
  const chunk = t.chunk, control = t.control, slotIndex = t.slotIndex, length = t.length, nonce = t.nonce;
  if (origin === null || typeof origin !== 'object') throw badToken('has no origin');
  const thread = origin.thread, arena = origin.arena, chunkIndex = origin.chunk;
  if (!isIndex(thread) || !isIndex(arena) || !isIndex(chunkIndex)) throw badToken('has a malformed origin');
  if (sharedByteLength(chunk) <= 0 || sharedByteLength(control) <= 0) throw badToken('does not carry SharedArrayBuffers');
  if (!isIndex(slotIndex) || !isIndex(length, MAX_BUFFER_SIZE) || !isIndex(nonce, 0x0fffffff)) throw badToken('has malformed fields');
  return {
    origin: { thread, arena, chunk: chunkIndex },
    chunk: chunk as SharedArrayBuffer,
    control: control as SharedArrayBuffer,
    slotIndex, offset: 0, capacity: 0, length, nonce,
  };
}
