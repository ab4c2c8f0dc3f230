// The ring worker's watch for more work after a batch: RuntimeOptions
// spinMicros / adaptiveSpin, and the adaptive policy itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { Runtime } from 'safer-ring';

const require = createRequire(import.meta.url);
const { SpinPolicy, PROBE_EVERY } = require('../dist/src/runtime/spin.js');

test('SpinPolicy: fixed watches the full bound; 0 never watches', () => {
  const fixed = new SpinPolicy(50, false);
  for (let i = 0; i < 20; i++) fixed.observe(5); // 5 ms gaps, far longer than the watch
  assert.is(fixed.budgetMs(), 0.05);
  const never = new SpinPolicy(0, true);
  never.observe(0.001);
  assert.is(never.budgetMs(), 0);
});

test('SpinPolicy: adaptive watches while watches catch work, stops after misses, probes, and comes back', () => {
  const p = new SpinPolicy(100, true); // at most 100 us
  assert.is(p.budgetMs(), 0.1, 'starts out watching');
  for (let i = 0; i < 40; i++) p.observe(0.01); // requests every 10 us, caught
  assert.is(p.budgetMs(), 0.1);
  for (let i = 0; i < 40; i++) p.observe(0.08); // every 80 us: still within the bound
  assert.is(p.budgetMs(), 0.1);
  p.observe(2);
  assert.is(p.budgetMs(), 0.1, 'one miss does not stop it');
  p.observe(2);
  const budgets = Array.from({ length: 2 * PROBE_EVERY }, () => p.budgetMs());
  assert.is(budgets.filter((b) => b > 0).length, 2, `two misses stop it, but for a probe every ${PROBE_EVERY} batches: ${budgets}`);
  // Slept through: a long gap measured across a sleep (wake-up included) says nothing, and changes nothing.
  const before = p.hitRate;
  for (let i = 0; i < 10; i++) p.observe(0.5, false);
  assert.is(p.hitRate, before);
  // A probe that catches work, then another: watching again.
  p.observe(0.02);
  p.observe(0.02);
  assert.is(p.budgetMs(), 0.1, 'two caught probes bring the watch back');
  // A short gap even across a sleep means a watch would have caught it.
  const q = new SpinPolicy(100, true);
  q.observe(5);
  q.observe(5);
  assert.ok(q.hitRate < 0.5);
  q.observe(0.05, false);
  q.observe(0.05, false);
  assert.ok(q.hitRate >= 0.5, `hit rate ${q.hitRate}`);
});

test('RuntimeOptions: spinMicros and adaptiveSpin are checked', () => {
  assert.throws(() => new Runtime({ workers: 1, spinMicros: -1 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new Runtime({ workers: 1, spinMicros: 10_001 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new Runtime({ workers: 1, spinMicros: 1.5 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new Runtime({ workers: 1, adaptiveSpin: 'yes' }), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
});

/** CPU time (all threads) a runtime spends serving `n` nops spaced `gapMs` apart. */
async function cpuForSparseRequests(options, n = 24, gapMs = 40) {
  const rt = new Runtime({ workers: 1, entries: 8, ...options });
  await rt.nop(); // worker started
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    await rt.nop();
    await new Promise((r) => setTimeout(r, gapMs));
  }
  const c = process.cpuUsage(c0);
  await rt.close();
  return (c.user + c.system) / 1000; // ms
}

test('a fixed 10 ms watch burns CPU after every sparse request; the adaptive one stops watching; 0 never watches', async () => {
  const fixed = await cpuForSparseRequests({ spinMicros: 10_000, adaptiveSpin: false });
  const adaptive = await cpuForSparseRequests({ spinMicros: 10_000, adaptiveSpin: true });
  const none = await cpuForSparseRequests({ spinMicros: 0 });
  // What each policy adds over never watching: the requests' own cost (much larger under a
  // sanitizer, or on a busy machine) is in all three and says nothing about the watch.
  const fixedWatch = fixed - none;
  const adaptiveWatch = adaptive - none;
  const figures = `fixed ${fixed.toFixed(1)}, adaptive ${adaptive.toFixed(1)}, none ${none.toFixed(1)} ms CPU`;
  // 24 watches of 10 ms: up to 240 ms of CPU (less if the machine took the core away meanwhile).
  assert.ok(fixedWatch >= 100, `the fixed watch burns CPU: ${figures}`);
  // The adaptive watch gives up after a couple of requests that came later than 10 ms, then only
  // probes (one batch in 8): about 5 watches of the 24. Enough requests that a slow start (a
  // sanitizer build, a busy machine) does not decide the comparison.
  assert.ok(adaptiveWatch < fixedWatch / 2, `the adaptive watch stops: ${figures}`);
});

test('every spin setting serves requests correctly, one at a time and in bursts', async () => {
  for (const options of [{ spinMicros: 0 }, { spinMicros: 200, adaptiveSpin: false }, { spinMicros: 200 }]) {
    const rt = new Runtime({ workers: 1, entries: 16, ...options });
    for (let i = 0; i < 200; i++) assert.is(await rt.nop(), 0);
    const burst = await Promise.all(Array.from({ length: 100 }, () => rt.nop()));
    assert.is(burst.length, 100);
    await rt.close();
  }
});

test.run();
