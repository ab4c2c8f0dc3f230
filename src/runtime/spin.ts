// How long a ring worker watches its submission queue for more work after it
// has served a batch, before it goes to sleep.
//
// Sleeping is cheap for the worker but makes the dispatcher pay for waking it
// (an Atomics.notify, then the worker's event loop coming round: tens of
// microseconds on a virtual machine, more than a cached read). Watching the
// queue catches the next batch without that wake, at the price of a CPU kept
// busy meanwhile. A fixed watch pays that price even when the next batch
// comes too late for it (an idle server pays it after every request); the
// adaptive one watches only about as long as work has recently taken to come.

/** The longest a worker may watch: beyond this a watch is a busy loop, not a wait. */
export const MAX_SPIN_MICROS = 10_000;

/** Weight of each new gap in the moving average (1/8: a few batches of history). */
const ALPHA = 1 / 8;

export class SpinPolicy {
  readonly maxMs: number;
  readonly adaptive: boolean;
  /** Moving average of the time from the end of one batch to the arrival of the next, in ms. */
  #averageGapMs: number;

  /** `maxMicros`: the longest watch (0: never watch); `adaptive`: scale it to the recent gaps between batches. */
  constructor(maxMicros: number, adaptive: boolean) {
    this.maxMs = maxMicros / 1000;
    this.adaptive = adaptive;
    // Start by watching: the first requests tell how fast the next ones come.
    this.#averageGapMs = this.maxMs / 4;
  }

  /** How long to watch for work now, in ms (0: sleep at once). */
  budgetMs(): number {
    if (!this.adaptive || this.maxMs === 0) return this.maxMs;
    // Twice the usual gap (at most the bound), so that a typical batch is
    // caught; nothing while work usually comes later than the bound.
    if (this.#averageGapMs > this.maxMs) return 0;
    return Math.min(2 * this.#averageGapMs, this.maxMs);
  }

  /**
   * Records that the next batch arrived `gapMs` after the last one was
   * served (whether the worker was watching or asleep; a gap measured across
   * a sleep includes the wake-up, so the estimate errs toward watching).
   */
  observe(gapMs: number): void {
    // An idle spell says little about the next burst: count it as a long gap, not as its whole length.
    const gap = Math.min(gapMs, 4 * this.maxMs);
    this.#averageGapMs += (gap - this.#averageGapMs) * ALPHA;
  }

  /** The current estimate, for tests and diagnostics. */
  get averageGapMs(): number {
    return this.#averageGapMs;
  }
}
