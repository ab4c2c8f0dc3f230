// The net API fuzzer's short fixed-seed run, on this configuration's
// backend (the long run is `npm run fuzz`): random socket sequences on loopback
// echo connections, in a child process (a crash
// fails this test instead of killing the suite). See test/fuzz/net-child.mjs
// for the calls and the invariants.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './fuzz/run-child.mjs';
import { backend, oncePerBackend } from './helpers/env.mjs';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz', 'net-child.mjs');
const SEED = 20261202;
const RUNS = 60;
const STEPS = 30;

oncePerBackend(test)(`${RUNS} random net sequences (seed ${SEED}) on ${backend}: every byte echoed once and in order, Node-shaped errors, every callback once, no fd or slot left`, async () => {
  const r = await runChild(child, ['--seed', String(SEED), '--runs', String(RUNS), '--steps', String(STEPS)], {
    env: { SAFER_RING_BACKEND: backend },
    timeoutMs: 180_000,
  });
  assert.ok(r.ok, `${r.why}\n${r.output}\nreproduce: SAFER_RING_BACKEND=${backend} node --expose-gc test/fuzz/net-child.mjs --seed ${SEED} --runs ${RUNS} --steps ${STEPS}`);
  assert.is(r.verdict.stats.sequences, RUNS);
  assert.ok(r.verdict.stats.steps > RUNS * 3, `${r.verdict.stats.steps} steps`);
});

test.run();
