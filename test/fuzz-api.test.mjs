// The API sequence fuzzer's short fixed-seed run, on this configuration's
// backend (the long run is `npm run fuzz`). The sequences run in a child
// process: a crash fails this test instead of killing the suite. See
// test/fuzz/api-child.mjs for the commands and the invariants.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './fuzz/run-child.mjs';
import { backend, oncePerBackend } from './helpers/env.mjs';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz', 'api-child.mjs');
const SEED = 20261201;
const RUNS = 25;
const STEPS = 30;

oncePerBackend(test)(`${RUNS} random API sequences (seed ${SEED}) on ${backend}: right bytes, untouched sentinels, one owner per slot, every promise settled, no slot or fd left`, async () => {
  const r = await runChild(child, ['--seed', String(SEED), '--runs', String(RUNS), '--steps', String(STEPS)], {
    env: { SAFER_RING_BACKEND: backend },
    timeoutMs: 180_000,
  });
  assert.ok(r.ok, `${r.why}\n${r.output}\nreproduce: SAFER_RING_BACKEND=${backend} node --expose-gc test/fuzz/api-child.mjs --seed ${SEED} --runs ${RUNS} --steps ${STEPS}`);
  assert.is(r.verdict.stats.sequences, RUNS);
  assert.ok(r.verdict.stats.steps > RUNS, `${r.verdict.stats.steps} steps`);
});

test.run();
