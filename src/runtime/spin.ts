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
//
// What it learns from is whether watches catch work (their hit rate), not
// the gaps between batches as such: a gap measured across a sleep includes
// the worker's own wake-up, which on an idle VM (its CPUs halted) took about
// 100 us, more than the watch. Judged by those gaps, a quiet machine stopped
// watching for good (measured: p50 115 us at one read in flight, against 15
// us with the watch). So a gap counts only when the worker watched, or when
// it was short even with the wake-up; and while the policy is not watching,
// every PROBE_EVERY-th batch is watched anyway, to find out whether work has
// started coming fast again.

/** The longest a worker may watch: beyond this a watch is a busy loop, not a wait. */
export const MAX_SPIN_MICROS = 10_000;

/** Weight of each new outcome in the hit rate (1/3: two misses in a row stop the watching, two hits bring it back). */
const ALPHA = 1 / 3;
/** While not watching, one batch in this many is watched anyway. */
export const PROBE_EVERY = 8;

export class SpinPolicy {
  readonly maxMs: number;
  readonly adaptive: boolean;
  /** Moving average of whether a watch caught the next batch (1: always). */
  #hitRate = 1; // start by watching: the first requests tell how fast the next ones come
  #sinceProbe = 0;

  /** `maxMicros`: the longest watch (0: never watch); `adaptive`: watch only while watches catch work. */
  constructor(maxMicros: number, adaptive: boolean) {
    this.maxMs = maxMicros / 1000;
    this.adaptive = adaptive;
  }

  /** How long to watch for work now, in ms (0: sleep at once). */
  budgetMs(): number {
    if (!this.adaptive || this.#hitRate >= 0.5) return this.maxMs;
    if (++this.#sinceProbe < PROBE_EVERY) return 0;
    this.#sinceProbe = 0;
    return this.maxMs; // a probe
  }

  /**
   * Records that the next batch arrived `gapMs` after the last one was
   * served; `watched`: whether the worker watched for it meanwhile (if not,
   * the gap includes its wake-up, and only a short one says anything).
   */
  observe(gapMs: number, watched = true): void {
    const hit = gapMs <= this.maxMs;
    if (!watched && !hit) return;
    this.#hitRate += ((hit ? 1 : 0) - this.#hitRate) * ALPHA;
  }

  /** The current estimate, for tests and diagnostics. */
  get hitRate(): number {
    return this.#hitRate;
  }
}
