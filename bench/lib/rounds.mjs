// Interleaved rounds: every variant runs once per round, one at a time, and
// the starting variant rotates each round, so slow drifts of the machine
// spread over all variants instead of favouring whichever ran first.

/** Calls `each(variant, round)` for every variant of every round, printing "round i/n" first. */
export async function interleave(variants, rounds, each) {
  for (let round = 0; round < rounds; round++) {
    console.log(`round ${round + 1}/${rounds}`);
    for (let k = 0; k < variants.length; k++) await each(variants[(round + k) % variants.length], round);
  }
}

/**
 * Runs the variants in interleaved rounds. A variant is set up (once) the
 * first time it runs, gets an untimed warm-up before each timed run, and is
 * skipped from its first failure on.
 *
 * hooks:
 *   setup(v)                      -> ctx, outside the timed region
 *   run(v, ctx, seconds, what)    -> result of one run; `what` is 'warm-up run' or 'timed run'
 *   warms(v)                      -> whether v gets the warm-up (default: every variant)
 *   sample(v, r)                  -> what is kept of a timed run (default: r)
 *   line(v, sample)               -> the progress line printed after it
 *   setupStage                    -> the word failures before setup completes are reported with
 *
 * Returns Map(variant -> { ctx, ready, samples, error }).
 */
export async function runRounds(variants, { rounds, seconds, warmup }, hooks) {
  const setupStage = hooks.setupStage ?? 'setup';
  const state = new Map(variants.map((v) => [v, { ctx: undefined, ready: false, samples: [], error: null }]));
  const fail = (v, stage, err) => {
    state.get(v).error = `${stage}: ${err && err.message ? err.message : err}`;
    console.log(`  ${v.name}: FAILED (${state.get(v).error})`);
  };

  await interleave(variants, rounds, async (v) => {
    const s = state.get(v);
    if (s.error) return;
    try {
      if (!s.ready) {
        s.ctx = await hooks.setup(v);
        s.ready = true;
      }
      if (warmup > 0 && (hooks.warms?.(v) ?? true)) await hooks.run(v, s.ctx, warmup, 'warm-up run');
      const r = await hooks.run(v, s.ctx, seconds, 'timed run');
      const sample = hooks.sample ? hooks.sample(v, r) : r;
      s.samples.push(sample);
      console.log(hooks.line(v, sample));
    } catch (err) {
      fail(v, s.ready ? 'run' : setupStage, err);
    }
  });
  return state;
}
