// Cancellation safety: aborted and abandoned ops keep their memory
// quarantined until the kernel's own completion arrives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, OwnedBuffer, createPipe } from 'safer-ring';
import { patternFile } from './helpers/env.mjs';

const ring = new Ring(16);
test.after(() => ring.close());

async function rejectsAbort(promise) {
  try {
    await promise;
  } catch (err) {
    assert.is(err.code, 'ABORT_ERR');
    assert.is(err.name, 'AbortError');
    return err;
  }
  assert.unreachable('expected ABORT_ERR');
}

test('abort before submit: rejects at once, nothing reaches the kernel, the buffer is freed', async () => {
  const ac = new AbortController();
  ac.abort(new Error('changed my mind'));
  const before = ring.stats().submitted;
  const buf = new OwnedBuffer(64);
  const err = await rejectsAbort(ring.readOwned(0, buf, { signal: ac.signal }));
  assert.is(err.cause.message, 'changed my mind');
  assert.is(ring.stats().submitted, before);
  assert.is(buf.isValid, false, 'the handle was given up');
});

test('abort while still queued (same tick) drops the op without submitting it', async () => {
  const ac = new AbortController();
  const before = ring.stats().submitted;
  const p = ring.nop({ signal: ac.signal });
  ac.abort();
  await rejectsAbort(p);
  assert.is(ring.stats().submitted, before);
});

test('abort in flight: a pipe read that never completes is cancelled in the kernel', async () => {
  const [r, w] = createPipe();
  const ac = new AbortController();
  const buf = new OwnedBuffer(128);
  const p = ring.readOwned(r, buf, { signal: ac.signal });
  await new Promise((res) => setTimeout(res, 20));
  assert.is(ring.stats().inFlight, 1);
  ac.abort();
  await rejectsAbort(p);
  const st = ring.stats();
  assert.is(st.inFlight, 0, 'the kernel answered the cancel');
  assert.is(st.orphans, 0);
  // The pipe still works and no data was eaten by the cancelled read.
  fs.writeSync(w, 'after');
  const got = Buffer.alloc(16);
  const { bytesRead } = await ring.read(r, got);
  assert.is(got.subarray(0, bytesRead).toString(), 'after');
  fs.closeSync(r);
  fs.closeSync(w);
});

test('the slot of an aborted op stays quarantined until its completion', async () => {
  const [r, w] = createPipe();
  const ac = new AbortController();
  // Counts are compared within synchronous stretches only: earlier tests'
  // dropped buffers may be reclaimed (by the GC) whenever the loop turns.
  const stats0 = ring.stats().arena.slotsInUse;
  const p = ring.read(r, Buffer.alloc(100), { signal: ac.signal }); // goes through a copy slot
  assert.is(ring.stats().arena.slotsInUse, stats0 + 1);
  await new Promise((res) => setTimeout(res, 10));
  const held = ring.stats().arena.slotsInUse;
  ac.abort();
  const err = rejectsAbort(p);
  // Between abort() and the kernel's answer the slot must still be held.
  assert.is(ring.stats().arena.slotsInUse, held);
  await err;
  assert.ok(ring.stats().arena.slotsInUse <= held - 1, 'freed once the CQE arrived');
  fs.closeSync(r);
  fs.closeSync(w);
});

test('abort after completion changes nothing', async () => {
  const fd = fs.openSync(patternFile(10), 'r');
  const ac = new AbortController();
  const { bytesRead, buffer } = await ring.readOwned(fd, new OwnedBuffer(10), { signal: ac.signal, position: 0 });
  ac.abort();
  assert.is(bytesRead, 10);
  assert.ok(buffer.isValid);
  buffer.release();
  fs.closeSync(fd);
});

test('ring.cancel(promise) cancels a pending timeout through IORING_OP_ASYNC_CANCEL', async () => {
  const p = ring.timeout(60_000);
  await new Promise((res) => setTimeout(res, 10));
  assert.is(await ring.cancel(p), true);
  await rejectsAbort(p);
  assert.is(await ring.cancel(p), false, 'already done');
  assert.is(await ring.cancel(Promise.resolve()), false, 'not one of ours');
});

test('an abandoned op (promise dropped) completes and its buffer is reclaimed, not leaked to the kernel', async () => {
  const fd = fs.openSync(patternFile(4096), 'r');
  const used = ring.stats().arena.slotsInUse;
  ring.read(fd, Buffer.alloc(4096), { position: 0 }); // nobody awaits this
  await ring.nop(); // submitted after it, so completes after or with it (on io_uring)
  // On the fallback the read runs on libuv's pool, unordered with the nop: a loaded machine may take a while.
  for (let waited = 0; ring.stats().inFlight > 0 && waited < 5000; waited += 10) await new Promise((res) => setTimeout(res, 10));
  assert.is(ring.stats().inFlight, 0);
  assert.is(ring.stats().arena.slotsInUse, used);
  fs.closeSync(fd);
});

test('cancel() of another ring\'s promise is refused and disturbs nothing', async () => {
  const other = new Ring(4);
  const mine = ring.timeout(60_000);
  const theirs = other.timeout(20);
  await new Promise((res) => setTimeout(res, 5));
  assert.is(await ring.cancel(theirs), false);
  await theirs; // fires normally
  assert.is(await ring.cancel(mine), true);
  await rejectsAbort(mine);
  assert.is(other.stats().orphans, 0);
  await other.close();
});

test('a buffer that fails an op while its memory is lent to another op is not reused early', async () => {
  const [r, w] = createPipe();
  const h = new OwnedBuffer(64);
  const lent = ring.read(r, h.bytes); // borrows h's slot (zero-copy), waits on the empty pipe
  try {
    await ring.readOwned(2 ** 31 - 1, h); // moves h, fails with EBADF: the library frees h...
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'EBADF');
  }
  const fresh = new OwnedBuffer(64); // ...but not while the pipe read still holds the memory
  fs.writeSync(w, 'kernel wrote this');
  assert.is((await lent).bytesRead, 17);
  assert.ok(fresh.bytes.every((x) => x === 0), 'the new buffer did not share the lent slot');
  fresh.release();
  fs.closeSync(r);
  fs.closeSync(w);
});

test.run();
