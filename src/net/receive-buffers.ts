// The provided buffers the kernel picks sockets' receives from: one group per
// thread, its memory allocated and held by the native layer (an "owned"
// group, native/buffer-ring.h), not arena slots.
//
// Why not the arena: every received byte has to end up in a Buffer the
// program may keep forever. With arena buffers that meant one more copy per
// byte (arena -> new Buffer), which took about a third of a bulk receiver's
// time. An owned block the kernel has filled and given back can instead
// become that Buffer: the native layer hands the block over (from then on it
// is the program's, and V8 frees it like any Buffer) and puts a new block in
// its place, so the kernel never sees the handed-over memory again. This is
// what libuv and node:net do with each read's buffer. Receives under half a
// block are copied out instead (into a pooled Buffer) and the block goes
// straight back: a whole block per small message would waste memory.
//
// Safety: nothing in JavaScript refers to a block while the kernel may write
// it; the native layer refuses to copy, hand over or recycle an id the kernel
// still has (only a reaped CQE gives one back), and lets blocks go only after
// the kernel has unregistered the group (when the thread's ring is torn down).
import type { Engine } from '../ring/engine';
import { SaferRingError } from '../errors';

const IORING_CQE_BUFFER_SHIFT = 16;

/** Receives of at least this fraction of a block are handed over without a copy (so a Buffer wastes at most half). */
const HAND_OVER_FRACTION = 0.5;

export interface ReceiveBufferStats {
  count: number;
  size: number;
  /** Completions that reported a buffer taken from this group. */
  kernelSelections: number;
  /** Of those, how many became a Buffer without a copy. */
  handedOver: number;
}

interface OwnedGroupRing {
  registerBufferRing(groupId: number, size: number, count: number): number;
  copyBuffer(groupId: number, bufferId: number, into: Uint8Array): void;
  /** The whole block, its bytes past `length` zeroed. */
  takeBuffer(groupId: number, bufferId: number, length: number): Buffer;
  recycleBuffer(groupId: number, bufferId: number): void;
}

export class ReceiveBuffers {
  readonly id: number;
  readonly count: number;
  readonly size: number;
  #ring: OwnedGroupRing;
  readonly #handOverMin: number;
  #kernelSelections = 0;
  #handedOver = 0;

  /** Registers the group on `engine`'s ring; throws (with the kernel's errno) if the ring or kernel cannot. */
  constructor(engine: Engine, id: number, count: number, size: number) {
    const ring = engine.native as unknown as Partial<OwnedGroupRing>;
    if (typeof ring.takeBuffer !== 'function' || typeof ring.registerBufferRing !== 'function') {
      throw new SaferRingError('ERR_UNSUPPORTED_OPERATION', 'owned buffer groups need a ring created on this thread');
    }
    this.#ring = ring as OwnedGroupRing;
    this.id = id;
    this.count = count;
    this.size = size;
    this.#handOverMin = Math.ceil(size * HAND_OVER_FRACTION);
    this.#ring.registerBufferRing(id, size, count);
  }

  /** The `res` bytes a receive CQE with IORING_CQE_F_BUFFER delivered, as a Buffer the caller owns. */
  consume(flags: number, res: number): Buffer {
    const bid = this.#selected(flags);
    if (res >= this.#handOverMin) {
      this.#handedOver++;
      const block = this.#ring.takeBuffer(this.id, bid, res);
      return res === block.length ? block : block.subarray(0, res);
    }
    const out = Buffer.allocUnsafe(res);
    this.#ring.copyBuffer(this.id, bid, out);
    return out;
  }

  /** A CQE that carried a buffer but no data for anyone (an error, the end, a closed socket): give it back. */
  drop(flags: number): void {
    this.#ring.recycleBuffer(this.id, this.#selected(flags));
  }

  /** Counts a CQE's selection from the group and returns the buffer id it names. */
  #selected(flags: number): number {
    this.#kernelSelections++;
    return (flags >>> IORING_CQE_BUFFER_SHIFT) & 0xffff;
  }

  stats(): ReceiveBufferStats {
    return { count: this.count, size: this.size, kernelSelections: this.#kernelSelections, handedOver: this.#handedOver };
  }
}
