// How long a ring worker watches its submission queue for more work after it
// has served a batch, before it goes to sleep.
//
// Sleeping is cheap for the worker but makes the dispatcher pay for waking it
// (an Atomics.notify, then the worker's event loop coming round: tens of
// microseconds on a virtual machine, more than a cached read). Watching the
// queue catches the next batch without that wake, at the price of a CPU kept
// busy meanwhile. A fixed watch pays that price even when the next batch
// comes too late for it (an idle server pays it after every request); the
// adaptive one watches only while work has recently come within the watch.
//
// It watches the whole bound or not at all: a watch ends as soon as work
// comes, so a shorter one saves CPU only on a miss, and cutting it to a
// multiple of the average gap missed the slower half of the requests on a
// loaded VM (measured: worse p50 than the fixed watch, for the same CPU).

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
    if (!this.adaptive) return this.maxMs;
    // Nothing while work usually comes later than the bound.
    return this.#averageGapMs <= this.maxMs ? this.maxMs : 0;
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
