// The native boundary fuzzer's short fixed-seed run (the long run is
// `npm run fuzz`). Each seed is one batch in its own child process: a crash
// in the addon fails this test instead of killing the suite. See
// test/fuzz/native-child.mjs for what is called and what is checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './fuzz/run-child.mjs';
import { ioUringOnly, oncePerBackend } from './helpers/env.mjs';

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz');
const child = path.join(here, 'native-child.mjs');
const SEEDS = [1, 2, 3, 4];
const ITERATIONS = 400;

const t = oncePerBackend(ioUringOnly(test));

t(`every native entry point, ${SEEDS.length} fixed seeds x ${ITERATIONS} rounds: no crash, coded refusals, no write outside named ranges, inFlight back to 0`, async () => {
  const results = await Promise.all(SEEDS.map((seed) => runChild(child, ['--seed', String(seed), '--iterations', String(ITERATIONS)])));
  results.forEach((r, i) => {
    assert.ok(r.ok, `seed ${SEEDS[i]}: ${r.why}\n${r.output}\nreproduce: node --expose-gc test/fuzz/native-child.mjs --seed ${SEEDS[i]} --iterations ${ITERATIONS}`);
    assert.is(r.verdict.stats.iterations, ITERATIONS);
    assert.ok(r.verdict.stats.accepted > 0 && r.verdict.stats.refusedBatches > 0, 'both accepted and refused batches');
  });
});

t('a descriptor rewritten by another thread during submit cannot smuggle a longer range past the check (regression)', async () => {
  const r = await runChild(path.join(here, 'native-race-child.mjs'), ['--time-ms', '2000']);
  assert.ok(r.ok, `${r.why}\n${r.output}`);
  assert.ok(r.verdict.stats.accepted > 100, `${r.verdict.stats.accepted} reads raced`);
});

t('submit() of more descriptors than the submission queue holds is refused at once, also on SQPOLL (regression: it spun forever)', async () => {
  const r = await runChild(path.join(here, 'native-overfull-child.mjs'), [], { timeoutMs: 20_000 });
  assert.ok(r.ok, `${r.why}\n${r.output}`);
});

t.run();
