// BufferGroup: buffers the kernel picks from (provided buffer ring, 5.19+).
//
// The group's buffers are arena slots, one per buffer id, so they live in
// SharedArrayBuffer chunks the ring already holds. The native layer registers
// a ring of (address, length, id) entries pointing at them; a recv that names
// the group lets the kernel take the next free buffer, and its CQE says which
// (IORING_CQE_F_BUFFER, id in the upper 16 bits of the flags). That buffer is
// then the caller's, as a GroupBuffer, until `release()` puts it back in the
// kernel's ring. A buffer id is never handed to the kernel again before that.
//
// Without buffer rings (kernels before 5.19, or `plainBuffers: true`), the
// group keeps the same buffers and hands one to each recv itself: the same
// API and results, one buffer per recv picked in JavaScript instead of by the kernel.
import { FeatureDetector } from '../features';
import { constants as osConstants } from 'node:os';
import { Arena, MAX_BUFFER_SIZE, Slot } from './arena';
import { INTERNAL, MovedSlot, OwnedBuffer, track } from './owned-buffer';
import { SaferRingError } from '../errors';
import { checkInteger, checkOptions, invalidType } from '../validate';
import { Engine, kEngine } from '../ring/engine';
import { IORING_CQE_BUFFER_SHIFT } from '../ring/descriptor';

const EINVAL = osConstants.errno.EINVAL;
const ENOSYS = osConstants.errno.ENOSYS;

export interface BufferGroupOptions {
  /** Buffer group id (0..65535), unique per ring. */
  id: number;
  /** How many buffers (1..32768). */
  count: number;
  /** Bytes per buffer (1..2^30). */
  size: number;
  /**
   * Skip the kernel buffer ring and hand buffers out from JavaScript, as on
   * kernels without buffer rings (where this is chosen automatically).
   * Default false.
   */
  plainBuffers?: boolean;
}

export interface BufferGroupStats {
  /** 'ring': the kernel selects buffers; 'plain': the group picks them (degraded path). */
  mode: 'ring' | 'plain';
  count: number;
  size: number;
  /** Buffers the caller holds (handed out, not yet released). */
  held: number;
  /** Buffers ready for the next recv (in the kernel's ring, or the group's free list). */
  available: number;
  /** CQEs that reported a kernel-selected buffer of this group (IORING_CQE_F_BUFFER). */
  kernelSelections: number;
}

/** A buffer of a BufferGroup: `release()` gives it back to the group (and the kernel). */
export class GroupBuffer extends OwnedBuffer {
  /** The buffer id (0..count-1): the kernel's, from the CQE, in 'ring' mode. */
  get bufferId(): number {
    return bufferIds.get(this) ?? -1;
  }
}
const bufferIds = new WeakMap<GroupBuffer, number>();

const enum BufState {
  Ready = 0, // in the kernel's ring ('ring'), or on the free list ('plain')
  InFlight = 1, // 'plain' only: lent to a recv in flight
  Held = 2, // the caller has it
  Gone = 3, // back in the arena (the group was closed)
}

// A SlotHome (releaseSlot, revive), checked where it is passed as one: no
// `implements` clause, so those internal members stay out of the public .d.ts.
export class BufferGroup {
  readonly id: number;
  readonly count: number;
  readonly size: number;
  readonly #engine: Engine;
  readonly #arena: Arena;
  readonly #slots: Slot[] = [];
  readonly #bidOf = new Map<Slot, number>();
  readonly #state: BufState[] = [];
  readonly #free: number[] = []; // 'plain' mode: ready buffer ids
  #mode: 'ring' | 'plain';
  #held = 0;
  #kernelSelections = 0;
  #closed = false; // unregistered (or the ring is gone): buffers go back to the arena
  #waiters: (() => void)[] = [];

  /** Sets up `count` buffers of `size` bytes on `ring` as group `id`. */
  constructor(ring: object, options: BufferGroupOptions) {
    const engine = (ring as Record<symbol, unknown> | null)?.[kEngine];
    if (!(engine instanceof Engine)) throw invalidType('ring', 'an instance of Ring', ring);
    const opts = checkOptions<BufferGroupOptions>(options);
    this.id = checkInteger('options.id', opts.id, 0, 65535);
    this.count = checkInteger('options.count', opts.count, 1, 32768);
    this.size = checkInteger('options.size', opts.size, 1, MAX_BUFFER_SIZE);
    if (engine.closed) throw new SaferRingError('ERR_RING_CLOSED', 'The ring is closed');
    if (typeof (engine.native as { registerBufferRing?: unknown }).registerBufferRing !== 'function') {
      throw new SaferRingError('ERR_UNSUPPORTED_OPERATION', 'buffer groups need a ring created on this thread');
    }
    if (engine.groups.has(this.id)) {
      throw SaferRingError.for('ERR_INVALID_ARG_VALUE', `buffer group ${this.id} already exists on this ring`);
    }
    this.#engine = engine;
    this.#arena = engine.arena;
    for (let i = 0; i < this.count; i++) {
      // Slots are reused: never let a recv's reader see another buffer's old bytes.
      const slot = this.#arena.allocateZeroed(this.size);
      this.#slots.push(slot);
      this.#bidOf.set(slot, i);
      this.#state.push(BufState.Ready);
    }
    // Buffer rings need 5.19: on an older kernel (or one the detector simulates) the group picks buffers itself.
    this.#mode = (opts.plainBuffers ?? !FeatureDetector.supports('bufferRings')) ? 'plain' : 'ring';
    if (this.#mode === 'ring') {
      engine.ensureChunks();
      const list = new Int32Array(this.count * 2);
      this.#slots.forEach((s, i) => {
        list[i * 2] = s.chunk;
        list[i * 2 + 1] = s.offset;
      });
      try {
        engine.native.registerBufferRing!(this.id, this.size, list);
      } catch (err) {
        // EINVAL: this kernel has no buffer rings (before 5.19). Degrade.
        const errno = (err as SaferRingError).errno;
        if (errno !== -EINVAL && errno !== -ENOSYS) {
          for (const s of this.#slots) this.#arena.release(s);
          throw err;
        }
        this.#mode = 'plain';
      }
    }
    if (this.#mode === 'ring') {
      for (const s of this.#slots) s.markInFlight(); // the kernel may write any of them now
    } else {
      for (let i = this.count - 1; i >= 0; i--) this.#free.push(i);
    }
    engine.groups.set(this.id, this);
    engine.onDestroy(() => this.#teardown());
  }

  /** 'ring' when the kernel selects the buffers, 'plain' on the degraded path. */
  get mode(): 'ring' | 'plain' {
    return this.#mode;
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): BufferGroupStats {
    const ready = this.#state.filter((s) => s === BufState.Ready).length;
    return {
      mode: this.#mode, count: this.count, size: this.size, held: this.#held,
      available: this.#closed ? 0 : ready, kernelSelections: this.#kernelSelections,
    };
  }

  /**
   * Unregisters the group from the ring now (it also goes when the ring
   * closes). Throws ERR_RING_BUSY while a recv using it is in flight. Buffers
   * the caller still holds stay valid and go back to the arena on release.
   */
  close(): void {
    if (this.#closed) return;
    if (this.#mode === 'ring' && this.#engine.live) this.#engine.native.unregisterBufferRing!(this.id);
    if (this.#mode === 'plain' && this.#state.includes(BufState.InFlight)) {
      throw new SaferRingError('ERR_RING_BUSY', 'a recv using this buffer group is still in flight');
    }
    this.#teardown();
  }

  // ---- used by Ring and the multishot iterators ----

  /** @internal Turns a CQE's buffer id into the caller's GroupBuffer. */
  takeKernelBuffer(flags: number): GroupBuffer {
    const bid = (flags >>> IORING_CQE_BUFFER_SHIFT) & 0xffff;
    if (this.#mode !== 'ring' || bid >= this.count || this.#state[bid] !== BufState.Ready) {
      throw new SaferRingError('ERR_INTERNAL', `the kernel reported buffer ${bid} of group ${this.id}, which it does not hold`);
    }
    this.#kernelSelections++;
    this.#state[bid] = BufState.Held;
    this.#held++;
    return this.#handOut(bid);
  }

  /**
   * @internal For layers that copy a received message out at once (sockets):
   * copies the first `into.length` bytes of the kernel-selected buffer the CQE
   * names into `into` (nothing with null), then hands the buffer straight back
   * to the kernel's ring. No GroupBuffer is made.
   */
  consumeKernelBuffer(flags: number, into: Uint8Array | null): void {
    const bid = (flags >>> IORING_CQE_BUFFER_SHIFT) & 0xffff;
    if (this.#mode !== 'ring' || bid >= this.count || this.#state[bid] !== BufState.Ready || into !== null && into.length > this.size) {
      throw new SaferRingError('ERR_INTERNAL', `the kernel reported buffer ${bid} of group ${this.id}, which it does not hold`);
    }
    this.#kernelSelections++;
    if (into !== null && into.length > 0) {
      const slot = this.#slots[bid];
      into.set(this.#arena.chunks[slot.chunk].subarray(slot.offset, slot.offset + into.length));
    }
    // The native layer refuses an id that is already in the kernel's ring.
    this.#engine.native.recycleBuffer!(this.id, bid);
  }

  /** @internal 'plain' mode: lends a free buffer to a recv, or null when the caller holds them all. */
  lendPlain(): MovedSlot | null {
    if (this.#closed) throw new SaferRingError('ERR_INVALID_STATE', 'the buffer group is closed');
    const bid = this.#free.pop();
    if (bid === undefined) return null;
    this.#state[bid] = BufState.InFlight;
    const slot = this.#slots[bid];
    slot.markInFlight();
    return { slot, view: this.#arena.view(slot, this.size), home: this };
  }

  /** @internal Runs `wake` once, at the next release of one of this group's buffers. */
  whenReleased(wake: () => void): void {
    this.#waiters.push(wake);
  }

  /** @internal Validates that the group can still serve a recv. */
  checkUsable(engine: Engine): void {
    if (engine !== this.#engine) throw SaferRingError.for('ERR_INVALID_ARG_VALUE', 'the buffer group belongs to another ring');
    if (this.#closed) throw new SaferRingError('ERR_INVALID_STATE', 'the buffer group is closed');
  }

  /** @internal SlotHome: a released (or collected, or failed) buffer comes back. */
  releaseSlot(slot: Slot, _view: Uint8Array | null): void {
    const bid = this.#bidOf.get(slot);
    if (bid === undefined) return;
    const was = this.#state[bid];
    // Already back: a double release never reaches the kernel.
    if (was === BufState.Ready || was === BufState.Gone) return;
    if (this.#closed) {
      if (was === BufState.Held) this.#held--;
      this.#state[bid] = BufState.Gone;
      slot.markOwned();
      this.#arena.release(slot);
      return;
    }
    if (this.#mode === 'ring') {
      // The native layer refuses an id that is already in the kernel's ring.
      this.#engine.native.recycleBuffer!(this.id, bid);
      if (was === BufState.Held) this.#held--;
      this.#state[bid] = BufState.Ready;
      slot.markInFlight();
    } else {
      if (was === BufState.Held) this.#held--;
      this.#state[bid] = BufState.Ready;
      slot.markOwned();
      this.#free.push(bid);
    }
    const waiters = this.#waiters.splice(0);
    for (const wake of waiters) wake();
  }

  /** @internal SlotHome: a group buffer moved into an op (a send) comes back live. */
  revive(slot: Slot, view: Uint8Array): OwnedBuffer {
    const bid = this.#bidOf.get(slot)!;
    if (this.#state[bid] === BufState.InFlight) {
      // 'plain' mode: a recv filled it; now the caller holds it.
      this.#state[bid] = BufState.Held;
      this.#held++;
    }
    slot.markOwned();
    const buf = new GroupBuffer(INTERNAL, slot, view, this);
    bufferIds.set(buf, bid);
    return buf;
  }

  #handOut(bid: number): GroupBuffer {
    const slot = this.#slots[bid];
    slot.markOwned();
    // A fresh view per hand-out: a buffer dropped without release() comes
    // back when this view is collected.
    const view = this.#arena.view(slot, this.size);
    track(view, slot, this);
    const buf = new GroupBuffer(INTERNAL, slot, view, this);
    bufferIds.set(buf, bid);
    return buf;
  }

  /** The kernel no longer has the ring: every buffer not held goes back to the arena. */
  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#engine.groups.get(this.id) === this) this.#engine.groups.delete(this.id);
    this.#slots.forEach((slot, bid) => {
      if (this.#state[bid] !== BufState.Ready) return; // held ones follow on release
      this.#state[bid] = BufState.Gone;
      slot.markOwned();
      this.#arena.release(slot);
    });
    this.#free.length = 0;
    const waiters = this.#waiters.splice(0);
    for (const wake of waiters) wake();
  }
}
