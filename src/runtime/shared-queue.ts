// A single-producer single-consumer queue of fixed-size int32 records in a
// SharedArrayBuffer, with Atomics doorbells.
//
// Memory ordering: the producer writes a record's words, then publishes with
// Atomics.store(tail) (sequentially consistent), so a consumer that reads the
// new tail with Atomics.load sees the record. The consumer frees space by
// Atomics.store(head). Head and tail are free-running int32 counters; the
// slot index is `counter & (capacity - 1)`.
//
// Wake-ups cost tens of microseconds across CPUs, so they are rare by design:
// the consumer drains everything available per wake, and the producer rings
// the doorbell (Atomics.notify) only when the consumer has said, through its
// `waiting` word, that it is about to sleep. The consumer re-checks the tail
// after raising `waiting`, so a publish that raced with it is never missed.
//
// The wake-up itself is V8's: Atomics.notify on one thread resolves the
// other's Atomics.waitAsync promise through a task posted to its event loop.
// Under heavy load that wake-up was seen to go missing (a worker's
// completions published, the dispatcher still waiting 60 s later, every
// word of the protocol as it should be), so a wait can also be ended from
// outside: overdueWait() names a pending wait whose records are already
// there, and rescue() ends it (RemoteRing's watchdog does both).

const HEAD = 0; // consumer-owned
const TAIL = 16; // producer-owned (64 bytes away from head: separate cache lines)
const WAITING = 32; // 1 while the consumer sleeps (or is about to)
const NOTIFIED = 40; // how many notifies the producer has made (counted after each returns)
// Words 48..63 are free for the users of a queue: the runtime keeps its chunk
// announcements in word 48 of a submission queue, and a worker's kernel
// counters in words 48..49 of its completion queue (see protocol.ts).
export const USER_WORD = 48;
const HEADER_WORDS = 64;

const RESOLVED: Promise<void> = Promise.resolve();

export class SharedQueue {
  readonly sab: SharedArrayBuffer;
  readonly recordWords: number;
  readonly capacity: number;
  readonly header: Int32Array;
  readonly data: Int32Array;
  /** Ends the consumer's pending wait (null: none pending); the head that wait was for, and its serial number. */
  #wake: (() => void) | null = null;
  #waitHead = 0;
  #waitSerial = 0;
  #notifiedBefore = 0;

  /** Creates a queue, or attaches to one another thread created (pass its `sab`). */
  constructor(recordWords: number, capacity: number, sab?: SharedArrayBuffer) {
    if ((capacity & (capacity - 1)) !== 0) throw new RangeError('capacity must be a power of two');
    this.recordWords = recordWords;
    this.capacity = capacity;
    this.sab = sab ?? new SharedArrayBuffer((HEADER_WORDS + recordWords * capacity) * 4);
    this.header = new Int32Array(this.sab, 0, HEADER_WORDS);
    this.data = new Int32Array(this.sab, HEADER_WORDS * 4, recordWords * capacity);
  }

  // ---- producer side ----

  /** Records that can be written before the consumer frees more. */
  freeSlots(tail: number): number {
    return this.capacity - ((tail - Atomics.load(this.header, HEAD)) | 0);
  }

  /** The producer's private tail (only the producer writes it). */
  get tail(): number {
    return Atomics.load(this.header, TAIL);
  }

  /** Word offset of record `counter` in `data`. */
  offsetOf(counter: number): number {
    return (counter & (this.capacity - 1)) * this.recordWords;
  }

  /** Makes records up to `tail` visible, waking the consumer if it sleeps. */
  publish(tail: number): void {
    Atomics.store(this.header, TAIL, tail);
    // Taking the flag down ourselves means only the first publish after the
    // consumer went to sleep pays for a notify (each takes V8's futex mutex).
    if (Atomics.compareExchange(this.header, WAITING, 1, 0) === 1) {
      Atomics.notify(this.header, TAIL);
      Atomics.add(this.header, NOTIFIED, 1);
    }
  }

  // ---- consumer side ----

  get head(): number {
    return Atomics.load(this.header, HEAD);
  }

  available(head: number): number {
    return (Atomics.load(this.header, TAIL) - head) | 0;
  }

  /** Frees records up to `head`. */
  release(head: number): void {
    Atomics.store(this.header, HEAD, head);
  }

  /** Resolves when records past `head` are (or may be) available. Never blocks the thread. */
  waitForData(head: number): Promise<void> {
    Atomics.store(this.header, WAITING, 1);
    const tail = Atomics.load(this.header, TAIL);
    const w = tail === head ? Atomics.waitAsync(this.header, TAIL, tail) : null;
    if (w === null || !w.async) {
      Atomics.store(this.header, WAITING, 0);
      return RESOLVED;
    }
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        if (this.#wake !== wake) return; // this wait was already ended by rescue()
        this.#wake = null;
        Atomics.store(this.header, WAITING, 0);
        resolve();
      };
      this.#wake = wake;
      this.#waitHead = head;
      this.#waitSerial++;
      this.#notifiedBefore = Atomics.load(this.header, NOTIFIED);
      void w.value.then(wake);
    });
  }

  /**
   * The pending wait's serial number when records past the head it waits on
   * are already published (its wake-up is due, or lost); 0 otherwise.
   */
  overdueWait(): number {
    return this.#wake !== null && this.available(this.#waitHead) > 0 ? this.#waitSerial : 0;
  }

  /** Whether the producer has made a notify (and it has returned) since the pending wait began. */
  notifiedDuringWait(): boolean {
    return this.#wake !== null && Atomics.load(this.header, NOTIFIED) !== this.#notifiedBefore;
  }

  /** Ends the pending wait (its promise resolves) if it is the one numbered `serial`; returns whether it was. */
  rescue(serial: number): boolean {
    const wake = this.#wake;
    if (wake === null || serial !== this.#waitSerial) return false;
    wake();
    return true;
  }
}
