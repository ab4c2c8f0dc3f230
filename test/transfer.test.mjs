// Moving an OwnedBuffer between threads by slot (no copy), with exactly one owner at a time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { OwnedBuffer, Ring, createPipe } from 'safer-ring';
import { tmpPath } from './helpers/env.mjs';

function worker(source) {
  return new Worker(`const { parentPort } = require('node:worker_threads'); const sr = require('safer-ring'); ${source}`, { eval: true });
}

function once(w) {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

test('main -> worker -> main: the worker claims the slot, does kernel I/O with it, and hands it back', async () => {
  const file = tmpPath('transfer');
  const buf = OwnedBuffer.from(Buffer.from('written by a worker ring'));
  const view = buf.bytes;
  const token = buf.transfer();
  assert.is(buf.isValid, false);
  assert.throws(() => buf.bytes, (e) => e.code === 'ERR_BUFFER_MOVED');
  const w = worker(`
    parentPort.once('message', async ({ token, file }) => {
      const buf = sr.OwnedBuffer.claim(token);
      let second = 'accepted';
      try { sr.OwnedBuffer.claim(token); } catch (e) { second = e.code; }
      const ring = new sr.Ring(4);
      const fd = require('node:fs').openSync(file, 'w');
      const { bytesWritten, buffer } = await ring.writeOwned(fd, buf, { position: 0 });
      require('node:fs').closeSync(fd);
      buffer.bytes.set(Buffer.from('WRITTEN'));
      await ring.close();
      parentPort.postMessage({ bytesWritten, second, back: buffer.transfer() });
    });`);
  w.postMessage({ token, file });
  const reply = await once(w);
  await w.terminate();
  assert.is(reply.bytesWritten, 24);
  assert.is(reply.second, 'ERR_BUFFER_MOVED', 'a second claim of the same transfer is refused');
  assert.is(fs.readFileSync(file, 'utf8'), 'written by a worker ring');
  const home = OwnedBuffer.claim(reply.back);
  assert.is(Buffer.from(home.bytes).toString(), 'WRITTEN by a worker ring');
  // The same shared memory, not a copy: a write through the original view shows through the returned handle.
  view[0] = 119;
  assert.is(Buffer.from(home.bytes).toString(), 'wRITTEN by a worker ring');
  assert.throws(() => OwnedBuffer.claim(reply.back), (e) => e.code === 'ERR_BUFFER_MOVED');
  assert.throws(() => OwnedBuffer.claim(token), (e) => e.code === 'ERR_BUFFER_MOVED', 'a stale token is refused too');
  home.release();
});

test('two threads race to claim one transfer: exactly one wins', async () => {
  for (let round = 0; round < 5; round++) {
    const token = new OwnedBuffer(64).transfer();
    const src = `parentPort.once('message', (t) => { try { sr.OwnedBuffer.claim(t); parentPort.postMessage('won'); } catch (e) { parentPort.postMessage(e.code); } });`;
    const racers = [worker(src), worker(src)];
    await Promise.all(racers.map((r) => new Promise((res) => r.once('online', res))));
    const answers = racers.map(once);
    racers.forEach((r) => r.postMessage(token));
    const got = (await Promise.all(answers)).sort();
    assert.equal(got, ['ERR_BUFFER_MOVED', 'won']);
    await Promise.all(racers.map((r) => r.terminate()));
  }
});

test('a buffer released on another thread returns to its home arena', async () => {
  const ring = new Ring(4); // its stats show this thread's arena
  const before = ring.stats().arena.slotsInUse;
  const tokens = Array.from({ length: 3 }, () => new OwnedBuffer(1 << 17).transfer());
  assert.is(ring.stats().arena.slotsInUse, before + 3);
  const w = worker(`parentPort.once('message', (ts) => { for (const t of ts) sr.OwnedBuffer.claim(t).release(); parentPort.postMessage('done'); });`);
  w.postMessage(tokens);
  await once(w);
  await w.terminate();
  assert.is(ring.stats().arena.slotsInUse, before + 3, 'reclaimed lazily, when the size class runs dry');
  // A 1 MiB chunk holds 8 slots of 128 KiB: 5 were free, the 3 released remotely are taken back, no chunk is added.
  const chunks = ring.stats().arena.chunks;
  const again = Array.from({ length: 8 }, () => new OwnedBuffer(1 << 17));
  assert.is(ring.stats().arena.chunks, chunks);
  assert.is(ring.stats().arena.slotsInUse, before + 8);
  again.forEach((b) => b.release());
  await ring.close();
});

test('a buffer whose memory is lent to an op in flight cannot be transferred until that op completes', async () => {
  const ring = new Ring(4);
  const [r, w] = createPipe();
  const buf = new OwnedBuffer(32);
  const lent = ring.read(r, buf.bytes); // zero-copy: the pipe read writes into buf's slot
  assert.throws(() => buf.transfer(), (e) => e.code === 'ERR_BUFFER_BUSY');
  assert.ok(buf.isValid, 'the refused transfer left the handle alone');
  fs.writeSync(w, 'kernel bytes');
  assert.is((await lent).bytesRead, 12);
  const token = buf.transfer(); // fine now
  OwnedBuffer.claim(token).release();
  fs.closeSync(r);
  fs.closeSync(w);
  await ring.close();
});

test.run();
