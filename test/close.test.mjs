import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Ring, OwnedBuffer, createPipe } from 'safer-ring';
import { patternFile, backend } from './helpers/env.mjs';

test('close with ops in flight: in-flight ops are cancelled, close settles after the kernel is done', async () => {
  const ring = new Ring(8);
  const [r, w] = createPipe();
  const reads = [0, 1, 2].map(() => ring.readOwned(r, new OwnedBuffer(32)));
  const timer = ring.timeout(60_000);
  await new Promise((res) => setTimeout(res, 10));
  assert.is(ring.stats().inFlight, 4);
  const closing = ring.close();
  const outcomes = await Promise.allSettled([...reads, timer]);
  for (const o of outcomes) {
    assert.is(o.status, 'rejected');
    assert.is(o.reason.code, 'ERR_RING_CLOSED');
  }
  await closing;
  assert.is(ring.closed, true);
  assert.is(ring.stats().inFlight, 0);
  fs.closeSync(r);
  fs.closeSync(w);
});

test('ops after close reject with ERR_RING_CLOSED; queued ops too; close is idempotent', async () => {
  const ring = new Ring(4);
  const queued = ring.nop();
  const closing = ring.close();
  try {
    await queued;
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ERR_RING_CLOSED');
  }
  await closing;
  assert.is(ring.close(), closing);
  const buf = new OwnedBuffer(8);
  try {
    await ring.readOwned(0, buf);
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ERR_RING_CLOSED');
  }
});

test('close lets completed work keep its result (nothing is lost)', async () => {
  const ring = new Ring(8);
  const fd = fs.openSync(patternFile(100), 'r');
  const p = ring.read(fd, Buffer.alloc(100), { position: 0 });
  while (ring.stats().completed === 0) await new Promise((res) => setTimeout(res, 1));
  await ring.close();
  assert.is((await p).bytesRead, 100);
  fs.closeSync(fd);
});

test('an idle ring does not keep the process alive; one with an op in flight does until it completes', () => {
  const idle = `const { Ring } = require('safer-ring'); globalThis.r = new Ring(4); r.nop().then(() => console.log('done'));`;
  const out = execFileSync(process.execPath, ['-e', idle], { timeout: 10_000, encoding: 'utf8' });
  assert.is(out.trim(), 'done');
  const busy = `const { Ring } = require('safer-ring'); const r = new Ring(4); r.timeout(150).then(() => console.log('fired'));`;
  const out2 = execFileSync(process.execPath, ['-e', busy], { timeout: 10_000, encoding: 'utf8' });
  assert.is(out2.trim(), 'fired');
});

// On the fallback backend a pipe read blocks a libuv thread-pool thread, and
// Node waits for those threads at exit: a limitation of the fallback, not a ring teardown.
(backend === 'fallback' ? test.skip : test)('a process that exits with ops in flight tears the ring down cleanly', () => {
  const script = `
    const { Ring, OwnedBuffer, createPipe } = require('safer-ring');
    const r = new Ring(4);
    const [rd] = createPipe();
    r.readOwned(rd, new OwnedBuffer(64));
    setTimeout(() => process.exit(0), 20);`;
  execFileSync(process.execPath, ['-e', script], { timeout: 10_000 });
});

// On the fallback backend the worker's pipe read blocks a libuv pool thread, which termination waits for.
(backend === 'fallback' ? test.skip : test)('a worker thread that is terminated with ops in flight does not crash the process', async () => {
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(
    `const { Ring, OwnedBuffer, createPipe } = require('safer-ring');
     const r = new Ring(4);
     const [rd] = createPipe();
     r.readOwned(rd, new OwnedBuffer(64));
     require('node:worker_threads').parentPort.postMessage('armed');`,
    { eval: true },
  );
  await new Promise((res) => w.once('message', res));
  await w.terminate();
  const ring = new Ring(4);
  assert.is(await ring.nop(), 0, 'the main thread is fine');
  await ring.close();
});

test('terminating a worker while its ring is delivering completions never aborts the process', () => {
  const script = `
    const { Worker } = require('node:worker_threads');
    let left = 8;
    const next = () => {
      const w = new Worker("const { Ring } = require('safer-ring'); const r = new Ring(8); " +
        "require('node:worker_threads').parentPort.postMessage('go'); " +
        "const spin = () => r.nop().then(spin); for (let i = 0; i < 8; i++) spin();", { eval: true });
      w.once('message', () => setTimeout(() => w.terminate().then(() => (--left ? next() : console.log('survived'))), 5));
    };
    next();`;
  const out = execFileSync(process.execPath, ['-e', script], { timeout: 30_000, encoding: 'utf8' });
  assert.is(out.trim(), 'survived');
});

test.run();
