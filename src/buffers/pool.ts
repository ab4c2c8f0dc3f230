// BufferPool: a fixed set of equal-sized arena slots handed out and taken back.
// Pooled buffers move through operations like any OwnedBuffer and come back to
// the pool, not the arena, when released (or when dropped and collected).
import { Arena, Slot } from './arena';
import { OwnedBuffer, INTERNAL, track } from './owned-buffer';
import { abortError, SaferRingError } from '../errors';
import { checkInteger, checkOptions, checkSignal } from '../validate';
import { MAX_BUFFER_SIZE } from './arena';

/** A buffer that belongs to a BufferPool; `release()` returns it there. */
export class PooledBuffer extends OwnedBuffer {}

export interface BufferPoolStats {
  total: number;
  available: number;
  inUse: number;
  waiting: number;
}

interface Waiter {
  resolve(buf: PooledBuffer): void;
  reject(err: Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

// A SlotHome (releaseSlot, revive), checked where it is passed as one: no
// `implements` clause, so those internal members stay out of the public .d.ts.
export class BufferPool {
  readonly count: number;
  readonly size: number;
  #idle: { slot: Slot; view: Uint8Array | null }[] = [];
  #closed = false;
  #returned = 0; // slots given back to the arena after close()
  #waiters: Waiter[] = [];
  #arena = Arena.forThread();

  /** `count` buffers of `size` bytes each, allocated up front. */
  constructor(count: number, size: number) {
    this.count = checkInteger('count', count, 1, 1 << 20);
    this.size = checkInteger('size', size, 1, MAX_BUFFER_SIZE);
    for (let i = 0; i < count; i++) {
      // Zeroed once: a pool never hands out bytes another owner left in the slot.
      // Between uses within the pool, contents are kept (as Node's own pools do).
      const slot = this.#arena.allocateZeroed(size);
      this.#idle.push({ slot, view: null });
    }
  }

  /** An idle buffer, or `undefined` when every buffer is in use. */
  get(): PooledBuffer | undefined {
    const entry = this.#idle.pop();
    return entry === undefined ? undefined : this.#handOut(entry.slot, entry.view);
  }

  /** Waits (first come, first served) until a buffer is free. */
  acquire(options?: { signal?: AbortSignal }): Promise<PooledBuffer> {
    let signal: AbortSignal | undefined;
    try {
      signal = checkSignal(checkOptions<{ signal: AbortSignal }>(options).signal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#closed) return Promise.reject(closedPoolError());
    const ready = this.get();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<PooledBuffer>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
    });
  }

  get available(): number {
    return this.#idle.length;
  }

  get inUse(): number {
    return this.count - this.#idle.length - this.#returned;
  }

  stats(): BufferPoolStats {
    return { total: this.count, available: this.available, inUse: this.inUse, waiting: this.#waiters.length };
  }

  /**
   * Rejects pending acquire() calls and gives the idle buffers' memory back to
   * the arena; buffers already handed out stay valid, and go back to the arena
   * when released. Without this a dropped pool's slots were never reused.
   */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      w.reject(closedPoolError());
    }
    for (const { slot } of this.#idle.splice(0)) this.#giveBack(slot);
  }

  /** @internal SlotHome: a released (or collected) buffer's slot comes back. */
  releaseSlot(slot: Slot, view: Uint8Array | null): void {
    if (this.#closed) {
      this.#giveBack(slot);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.#handOut(slot, view));
      return;
    }
    this.#idle.push({ slot, view });
  }

  /** @internal SlotHome: a pooled buffer coming back from an operation. */
  revive(slot: Slot, view: Uint8Array): OwnedBuffer {
    slot.markOwned();
    return new PooledBuffer(INTERNAL, slot, view, this);
  }

  #giveBack(slot: Slot): void {
    this.#arena.release(slot);
    this.#returned++;
  }

  #handOut(slot: Slot, view: Uint8Array | null): PooledBuffer {
    const v = view ?? this.#arena.view(slot, this.size);
    track(v, slot, this);
    return new PooledBuffer(INTERNAL, slot, v, this);
  }
}

function closedPoolError(): SaferRingError {
  return new SaferRingError('ERR_INVALID_STATE', 'the buffer pool was closed');
}
