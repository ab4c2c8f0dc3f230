// The ring worker's watch for more work after a batch: RuntimeOptions
// spinMicros / adaptiveSpin, and the adaptive policy itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { Runtime } from 'safer-ring';

const require = createRequire(import.meta.url);
const { SpinPolicy } = require('../dist/src/runtime/spin.js');

test('SpinPolicy: fixed watches the full bound; 0 never watches', () => {
  const fixed = new SpinPolicy(50, false);
  for (let i = 0; i < 20; i++) fixed.observe(5); // 5 ms gaps, far longer than the watch
  assert.is(fixed.budgetMs(), 0.05);
  const never = new SpinPolicy(0, true);
  never.observe(0.001);
  assert.is(never.budgetMs(), 0);
});

test('SpinPolicy: adaptive watches the whole bound while work comes within it, stops when it comes later, and comes back', () => {
  const p = new SpinPolicy(100, true); // at most 100 us
  assert.is(p.budgetMs(), 0.1, 'starts out watching');
  for (let i = 0; i < 40; i++) p.observe(0.01); // requests every 10 us
  assert.is(p.budgetMs(), 0.1);
  for (let i = 0; i < 40; i++) p.observe(0.08); // every 80 us: still within the bound
  assert.is(p.budgetMs(), 0.1);
  for (let i = 0; i < 40; i++) p.observe(2); // then every 2 ms: no watch could catch them
  assert.is(p.budgetMs(), 0);
  assert.ok(p.averageGapMs <= 0.4 + 1e-9, 'an idle spell counts as at most 4 x the bound');
  let batches = 0;
  while (p.budgetMs() === 0 && batches < 100) {
    p.observe(0.03); // requests come fast again (30 us, wake-up included)
    batches++;
  }
  assert.ok(batches < 30, `watching again after ${batches} quick batches`);
  assert.is(p.budgetMs(), 0.1);
});

test('RuntimeOptions: spinMicros and adaptiveSpin are checked', () => {
  assert.throws(() => new Runtime({ workers: 1, spinMicros: -1 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new Runtime({ workers: 1, spinMicros: 10_001 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new Runtime({ workers: 1, spinMicros: 1.5 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new Runtime({ workers: 1, adaptiveSpin: 'yes' }), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
});

/** CPU time (all threads) a runtime spends serving `n` nops spaced `gapMs` apart. */
async function cpuForSparseRequests(options, n = 12, gapMs = 40) {
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
  // 12 watches of 10 ms: up to 120 ms of CPU (less if the machine took the core away meanwhile).
  assert.ok(fixed >= 50, `fixed watch: ${fixed.toFixed(1)} ms CPU`);
  // The adaptive watch gives up after a couple of requests that came later than 10 ms.
  assert.ok(adaptive < fixed / 2, `adaptive ${adaptive.toFixed(1)} ms vs fixed ${fixed.toFixed(1)} ms CPU`);
  assert.ok(none < fixed / 2, `none ${none.toFixed(1)} ms vs fixed ${fixed.toFixed(1)} ms CPU`);
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
