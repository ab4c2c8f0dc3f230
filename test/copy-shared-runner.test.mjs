// The command line's task runner (src/copy/shared-runner.ts): the job's own
// thread takes a task whenever it has none, the workers take the rest. Here
// with stand-ins for both sides, so what goes where can be checked exactly.
// The same logic on every backend: once per backend.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { oncePerBackend } from './helpers/env.mjs';

const test = oncePerBackend(base);
const require = createRequire(import.meta.url);
const { SharedRunner } = require('../dist/src/copy/shared-runner.js');
const { SMALL_FILE_MAX } = require('../dist/src/copy/protocol.js');

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A side that records what it ran and answers when told to (or at once). */
function side(name, { manual = false } = {}) {
  const ran = [];
  const pending = [];
  let destroyed = false;
  return {
    ran, pending,
    get destroyed() { return destroyed; },
    run(task) {
      ran.push(task.id);
      if (task.fail) return Promise.reject(Object.assign(new Error(`${name} failed ${task.id}`), { code: 'EIO' }));
      if (!manual) return Promise.resolve({ by: name, id: task.id });
      return new Promise((resolve) => pending.push(() => resolve({ by: name, id: task.id })));
    },
    async destroy() { destroyed = true; },
  };
}

const small = (id) => ({ id, sizes: new Float64Array([4096, 100]) });
const large = (id) => ({ id, sizes: new Float64Array([4096, SMALL_FILE_MAX + 1]) });

test('this thread takes a task whenever it has none; the workers, up to their slots, the rest', async () => {
  const here = side('here', { manual: true });
  const pool = side('pool', { manual: true });
  const runner = new SharedRunner(here, pool, 2);
  const results = [1, 2, 3, 4, 5].map((id) => runner.run(small(id)));
  await turn();
  assert.equal(here.ran, [1], 'one task at a time here');
  assert.equal(pool.ran, [2, 3], 'two slots on the workers; the others wait');
  here.pending.shift()();
  await turn(); await turn();
  assert.equal(here.ran, [1, 4], 'the next waiting task goes to whichever side is free first');
  pool.pending.shift()();
  await turn();
  assert.equal(pool.ran, [2, 3, 5]);
  while (here.pending.length + pool.pending.length > 0) (here.pending.shift() ?? pool.pending.shift())();
  const got = await Promise.all(results);
  assert.equal(got.map((r) => r.id), [1, 2, 3, 4, 5], 'each caller gets its own task\'s result');
  assert.equal(got.map((r) => r.by), ['here', 'pool', 'pool', 'here', 'pool']);
});

test('a task holding a large file, scans and mkdir tasks: large files only on the workers', async () => {
  const here = side('here');
  const pool = side('pool');
  const runner = new SharedRunner(here, pool, 4);
  await Promise.all([runner.run(large(1)), runner.run({ id: 2, scan: new Uint8Array(1) }), runner.run({ id: 3, mkdir: new Uint8Array(1), ends: new Uint32Array(1) })]);
  assert.equal(pool.ran, [1, 3], 'the large file, and the mkdir task that came while this thread was taken');
  assert.equal(here.ran, [2]);
  await runner.run({ id: 4, mkdir: new Uint8Array(1), ends: new Uint32Array(1) });
  assert.ok(here.ran.includes(4), 'a mkdir task may run here');
});

test('a large file waiting for a worker does not keep this thread idle: it takes the next small task', async () => {
  const here = side('here', { manual: true });
  const pool = side('pool', { manual: true });
  const runner = new SharedRunner(here, pool, 1);
  const results = [runner.run(large(1)), runner.run(large(2)), runner.run(small(3))];
  await turn();
  assert.equal(pool.ran, [1], 'one worker slot: the first large file');
  assert.equal(here.ran, [3], 'the small task behind the waiting large file');
  pool.pending.shift()();
  await turn();
  assert.equal(pool.ran, [1, 2]);
  pool.pending.shift()();
  here.pending.shift()();
  assert.equal((await Promise.all(results)).map((r) => r.id), [1, 2, 3]);
});

test('the event loop turns before each task run here; failures reach their caller; destroy ends both sides', async () => {
  const pool = side('pool', { manual: true });
  // A ticker that counts turns of the event loop; each task run here notes the count it saw.
  let turns = 0;
  let ticking = true;
  const tick = () => { turns++; if (ticking) setImmediate(tick); };
  setImmediate(tick);
  const seen = [];
  const here = side('here');
  const run = here.run;
  here.run = (task) => { seen.push(turns); return run(task); };
  const runner = new SharedRunner(here, pool, 1);
  const results = [];
  for (let i = 0; i < 20; i++) results.push(runner.run(small(i)));
  while (here.ran.length < 19) await turn();
  ticking = false;
  assert.is(here.ran.length, 19, 'with the workers busy, the rest ran here, one after another');
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `the loop turned between tasks ${i - 1} and ${i}: ${seen}`);
  pool.pending.shift()();
  await Promise.all(results);
  const err = await runner.run({ ...small(99), fail: true }).catch((e) => e);
  assert.is(err.code, 'EIO');
  await runner.destroy();
  assert.ok(here.destroyed && pool.destroyed);
});

test.run();
