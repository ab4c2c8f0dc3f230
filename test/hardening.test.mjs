// The holes an adversarial review found, one test each (every one failed
// before its fix), on both backends: lengths and offsets the caller can fake,
// forged transfer tokens, a linked batch under completion-queue pressure,
// zero-length vectors, memory detached mid-flight, the library's own fds,
// and error shapes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import {
  Ring, Runtime, Batch, Operation, OwnedBuffer, PinnedBuffer, FeatureDetector, SaferRingError, createPipe,
} from 'safer-ring';
import { tmpPath, NOT_OPEN_FD, ringFds, backend, quiesce } from './helpers/env.mjs';

const ring = new Ring(16);
const rt = new Runtime();
test.after(async () => {
  await ring.close();
  await rt.close();
});

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

class LyingLength extends Uint8Array {
  get length() { return 4096; }
  get byteLength() { return 4096; }
}

/** Views over `bytes`' memory whose length claims 4096: a subclass getter, and a redefined own property. */
function liars(bytes) {
  const byProperty = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  Object.defineProperty(byProperty, 'length', { get: () => 4096 });
  Object.defineProperty(byProperty, 'byteLength', { get: () => 4096 });
  Object.defineProperty(byProperty, 'byteOffset', { get: () => 0 });
  byProperty.subarray = () => new Uint8Array(bytes.buffer, 0, 4096);
  return [new LyingLength(bytes.buffer, bytes.byteOffset, bytes.byteLength), byProperty];
}

/**
 * Reads through `read(fd, view)` from a pipe holding 128 bytes, into a view
 * of 64 bytes that claims 4096: at most 64 bytes may be read, the other 64
 * must still be in the pipe, and a sentinel buffer must be untouched.
 */
async function assertReadStaysInside(read, view) {
  const sentinel = OwnedBuffer.from(Buffer.alloc(64, 0x55));
  const [r, w] = createPipe();
  try {
    fs.writeSync(w, Buffer.alloc(128, 0x4b));
    const { bytesRead } = await read(r, view);
    assert.ok(bytesRead <= 64, `read ${bytesRead} bytes into a 64-byte view`);
    const rest = Buffer.alloc(256);
    assert.is(fs.readSync(r, rest), 128 - bytesRead, 'the bytes past the view stay in the pipe');
    assert.ok(sentinel.bytes.every((b) => b === 0x55), 'the sentinel buffer is untouched');
  } finally {
    sentinel.release();
    fs.closeSync(r);
    fs.closeSync(w);
  }
}

test('a view whose length lies cannot size a read past its memory (Ring, Runtime, Batch; arena and copy paths)', async () => {
  const readers = {
    ring: (fd, v) => ring.read(fd, v),
    runtime: (fd, v) => rt.read(fd, v),
    batch: async (fd, v) => {
      const { results } = await ring.submitBatch(new Batch().add(Operation.read().fd(fd).buffer(v)));
      if (results[0].status === 'rejected') throw results[0].reason;
      return results[0].value;
    },
  };
  await quiesce();
  const slotsBefore = ring.stats().arena.slotsInUse;
  for (const [name, read] of Object.entries(readers)) {
    const owned = new OwnedBuffer(64);
    for (const view of liars(owned.bytes)) await assertReadStaysInside(read, view); // lent in place
    for (const view of liars(new Uint8Array(new ArrayBuffer(64)))) await assertReadStaysInside(read, view); // copy slot
    owned.release();
    await quiesce();
    assert.is(ring.stats().arena.slotsInUse, slotsBefore, `${name}: no slot leaked`);
  }
});

test('an OwnedBuffer subclass that lies about its length cannot size an owned read', async () => {
  class Liar extends OwnedBuffer {
    get length() { return 1 << 20; }
  }
  const liar = new Liar(64);
  const sentinel = OwnedBuffer.from(Buffer.alloc(64, 0x55));
  const [r, w] = createPipe();
  fs.writeSync(w, Buffer.alloc(128, 0x4b));
  const { bytesRead, buffer } = await ring.readOwned(r, liar);
  assert.is(bytesRead, 64);
  assert.ok(sentinel.bytes.every((b) => b === 0x55));
  // An explicit length past the slot is refused before anything moves.
  const err = await ring.readOwned(r, buffer, { length: 4096 }).catch((e) => e);
  assert.is(err.code, 'ERR_OUT_OF_RANGE');
  assert.ok(err instanceof RangeError && err instanceof SaferRingError);
  assert.ok(buffer.isValid);
  buffer.release();
  sentinel.release();
  fs.closeSync(r);
  fs.closeSync(w);
});

test('readv with lying parts reads only the parts\' true bytes', async () => {
  const [r, w] = createPipe();
  fs.writeSync(w, Buffer.alloc(128, 0x4b));
  const owned = new OwnedBuffer(16);
  const parts = [liars(owned.bytes)[0], liars(new Uint8Array(16))[1]];
  const { bytesRead } = await ring.readv(r, parts);
  assert.is(bytesRead, 32);
  owned.release();
  fs.closeSync(r);
  fs.closeSync(w);
});

test('a forged transfer token is refused with a code, and the genuine claim still works', () => {
  const a = OwnedBuffer.from(Buffer.from('token'));
  const token = a.transfer();
  const forged = [
    [{ ...token, length: 256 }, 'ERR_INVALID_ARG_VALUE'], // longer than the 64-byte slot
    [{ ...token, slotIndex: 1e9 }, 'ERR_INVALID_ARG_VALUE'],
    [{ ...token, slotIndex: 'x' }, 'ERR_INVALID_ARG_VALUE'],
    [{ ...token, nonce: -1 }, 'ERR_INVALID_ARG_VALUE'],
    [{ ...token, origin: null }, 'ERR_INVALID_ARG_VALUE'],
    [{ ...token, chunk: new ArrayBuffer(64) }, 'ERR_INVALID_ARG_VALUE'],
    [{ ...token, slotIndex: token.slotIndex + 1 }, 'ERR_BUFFER_MOVED'], // another slot: not in transit with this nonce
    [null, 'ERR_INVALID_ARG_TYPE'],
    [42, 'ERR_INVALID_ARG_TYPE'],
  ];
  for (const [t, code] of forged) {
    assert.throws(() => OwnedBuffer.claim(t), (e) => e instanceof SaferRingError && e.code === code, `${JSON.stringify(t?.slotIndex)} -> ${code}`);
  }
  // Forged memory under a known origin is ignored: the claim maps the real slot, at its real offset.
  const fakeChunk = new SharedArrayBuffer(2 ** 20);
  const back = OwnedBuffer.claim({ ...token, chunk: fakeChunk, control: new SharedArrayBuffer(token.control.byteLength), offset: 64 });
  assert.is(Buffer.from(back.bytes).toString(), 'token');
  assert.not.ok(back.bytes.buffer === fakeChunk);
  assert.throws(() => OwnedBuffer.claim(token), (e) => e.code === 'ERR_BUFFER_MOVED');
  back.release();
});

async function linkedBatchUnderLoad(target, fill) {
  const pipes = Array.from({ length: fill }, () => createPipe());
  const reads = pipes.map(([r]) => target.read(r, Buffer.alloc(8)));
  await sleep(20); // the reads are in flight: the completion queue is one short of full
  const out = tmpPath('linked');
  const fd = fs.openSync(out, 'w');
  const pending = target.submitBatch(new Batch()
    .add(Operation.read().fd(NOT_OPEN_FD).buffer(Buffer.alloc(4)).offset(0))
    .add(Operation.write().fd(fd).buffer(Buffer.from('must not be written')).offset(0), { dependsOnPrevious: true }));
  await sleep(20);
  for (const [, w] of pipes) fs.writeSync(w, 'complete');
  await Promise.all(reads);
  const { results } = await pending;
  assert.is(results[0].reason.code, 'EBADF');
  assert.is(results[1].reason?.code, 'ECANCELED', 'the linked write was cut off from its read');
  assert.is(fs.readFileSync(out, 'utf8'), '');
  fs.closeSync(fd);
  for (const [r, w] of pipes) {
    fs.closeSync(r);
    fs.closeSync(w);
  }
}

test('a linked batch is never split across submits when the completion queue is nearly full (Ring)', async () => {
  const small = new Ring(4); // CQ of 8: 7 reads in flight leave room for one op, not two
  await linkedBatchUnderLoad(small, 7);
  await small.close();
});

test('a linked batch is never split across submits when the completion queue is nearly full (Runtime)', async () => {
  const small = new Runtime({ workers: 1, entries: 4 });
  await linkedBatchUnderLoad(small, 7);
  await small.close();
});

test('readv and writev of zero-length buffers resolve with 0 bytes, as node:fs does', async () => {
  const file = tmpPath('empty-vec');
  fs.writeFileSync(file, 'abc');
  const fd = fs.openSync(file, 'r+');
  for (const target of [ring, rt]) {
    assert.is((await target.readv(fd, [Buffer.alloc(0)], { position: 0 })).bytesRead, 0);
    assert.is((await target.readv(fd, [new Uint8Array(0), Buffer.alloc(0)], { position: 0 })).bytesRead, 0);
    assert.is((await target.writev(fd, [Buffer.alloc(0)], { position: 0 })).bytesWritten, 0);
    const { results } = await target.submitBatch(new Batch().add(Operation.readv().fd(fd).buffers([Buffer.alloc(0)]).offset(0)));
    assert.is(results[0].value.bytesRead, 0);
  }
  assert.is(fs.readFileSync(file, 'utf8'), 'abc');
  fs.closeSync(fd);
});

test('memory detached while a copied read is in flight: a coded rejection, no lost slot', async () => {
  const [r, w] = createPipe();
  await quiesce();
  const before = ring.stats().arena.slotsInUse;
  const target = new Uint8Array(new ArrayBuffer(64));
  const pending = ring.read(r, target);
  await sleep(10);
  structuredClone(target.buffer, { transfer: [target.buffer] }); // detaches it
  fs.writeSync(w, 'late bytes');
  const err = await pending.catch((e) => e);
  assert.is(err.code, 'ERR_INVALID_STATE');
  await quiesce();
  assert.is(ring.stats().arena.slotsInUse, before);
  fs.closeSync(r);
  fs.closeSync(w);
});

test('closing a ring\'s own io_uring fd through a ring is refused, and every ring keeps working', async (t) => {
  if (backend === 'fallback') return; // the fallback has no io_uring fds of its own
  const own = ringFds();
  assert.ok(own.length > 0);
  const err = await ring.closeFd(own[0]).catch((e) => e);
  assert.ok(err instanceof SaferRingError);
  assert.is(err.code, 'ERR_INVALID_ARG_VALUE');
  assert.is(await ring.nop(), 0);
  const viaWorker = await rt.closeFd(own[0]).catch((e) => e);
  assert.ok(viaWorker instanceof SaferRingError, 'refused on a worker ring too');
  assert.is(await rt.nop(), 0);
});

test('promise APIs reject instead of throwing; synchronous ones throw coded errors of Node\'s classes', async () => {
  for (const bad of [undefined, {}, null]) {
    let promise;
    assert.not.throws(() => { promise = rt.submitBatch(bad); });
    const err = await promise.catch((e) => e);
    assert.is(err.code, 'ERR_INVALID_ARG_TYPE');
    assert.ok(err instanceof TypeError && err instanceof SaferRingError);
    assert.is(err.name, 'TypeError');
    assert.match(String(err), /^TypeError \[ERR_INVALID_ARG_TYPE\]: /);
    const viaRing = await ring.submitBatch(bad).catch((e) => e);
    assert.is(viaRing.code, 'ERR_INVALID_ARG_TYPE');
  }
  const coded = (fn, code, cls) => assert.throws(fn, (e) => e instanceof SaferRingError && e.code === code && e instanceof cls);
  coded(() => OwnedBuffer.from(null), 'ERR_INVALID_ARG_TYPE', TypeError);
  coded(() => OwnedBuffer.from(undefined), 'ERR_INVALID_ARG_TYPE', TypeError);
  coded(() => PinnedBuffer.from(undefined), 'ERR_INVALID_ARG_TYPE', TypeError);
  coded(() => FeatureDetector.simulateKernel(Symbol('x')), 'ERR_INVALID_ARG_TYPE', TypeError);
  coded(() => new OwnedBuffer(-1), 'ERR_OUT_OF_RANGE', RangeError);
  assert.not.throws(() => new Batch().add(Operation.nop(), null));
  const err = await ring.read(NOT_OPEN_FD, Buffer.alloc(4)).catch((e) => e);
  assert.is(err.name, 'Error', 'system errors are named as node:fs names them');
  assert.ok(err instanceof SaferRingError);
});

test('a large new OwnedBuffer is zero without touching its pages; a reused slot is zeroed', () => {
  const size = 256 * 2 ** 20;
  const rss0 = process.memoryUsage().rss;
  const big = new OwnedBuffer(size);
  const grown = process.memoryUsage().rss - rss0;
  assert.ok(grown < 64 * 2 ** 20, `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB for an untouched 256 MiB buffer`);
  assert.is(big.bytes[size - 1], 0);
  big.release();
  const dirty = new OwnedBuffer(100);
  dirty.bytes.fill(0xee);
  dirty.release();
  const again = new OwnedBuffer(100);
  assert.ok(again.bytes.every((b) => b === 0), 'a reused slot never shows the previous owner\'s bytes');
  again.release();
});

test('closing a ring with a pipe read in flight loses no stream bytes: the next read through another ring gets them all (found by the API fuzzer)', async () => {
  const [r, w] = createPipe();
  const a = new Ring(4);
  const b = new Ring(4);
  const cut = a.read(r, Buffer.alloc(23)).then(() => 'resolved', (err) => err.code);
  await sleep(20);
  await a.close(); // the read is cancelled (on the fallback its pool thread still waits in read(2))
  const outcome = await cut;
  const sent = Buffer.from(Array.from({ length: 64 }, (_, i) => i + 1));
  // The next read is already waiting when the bytes come (on the fallback, while the cancelled
  // read of the closed ring still waits in libuv's pool): it must still get them first to last.
  const first = b.read(r, Buffer.alloc(64));
  await sleep(20);
  fs.writeSync(w, sent);
  fs.closeSync(w); // end of stream after them: a lost byte ends the loop below short instead of hanging it
  let got = Buffer.alloc(0);
  if (outcome === 'resolved') got = sent.subarray(0, 23); // the read won the race: its bytes were delivered
  else assert.is(outcome, 'ERR_RING_CLOSED');
  let pending = first;
  for (;;) {
    const { bytesRead, buffer } = await pending;
    if (bytesRead === 0) break;
    got = Buffer.concat([got, buffer.subarray(0, bytesRead)]);
    if (got.length >= sent.length) break;
    pending = b.read(r, Buffer.alloc(64));
  }
  assert.equal([...got], [...sent], 'every byte, in order');
  fs.closeSync(r);
  await b.close();
});

test('the same with a vectored read: closing a ring with a pipe readv in flight loses no stream bytes, and readv takes its turn in the stream (found by the API fuzzer)', async () => {
  const [r, w] = createPipe();
  const a = new Ring(4);
  const b = new Ring(4);
  const cut = a.readv(r, [Buffer.alloc(7), Buffer.alloc(16)]).then(() => 'resolved', (err) => err.code);
  await sleep(20);
  await a.close();
  const outcome = await cut;
  const sent = Buffer.from(Array.from({ length: 64 }, (_, i) => i + 1));
  const parts = [Buffer.alloc(10), Buffer.alloc(54)];
  const first = b.readv(r, parts);
  await sleep(20);
  fs.writeSync(w, sent);
  fs.closeSync(w);
  let got = Buffer.alloc(0);
  if (outcome === 'resolved') got = sent.subarray(0, 23);
  else assert.is(outcome, 'ERR_RING_CLOSED');
  let n = (await first).bytesRead;
  got = Buffer.concat([got, Buffer.concat(parts).subarray(0, n)]);
  while (n > 0 && got.length < sent.length) {
    const more = Buffer.alloc(64);
    n = (await b.read(r, more)).bytesRead;
    got = Buffer.concat([got, more.subarray(0, n)]);
  }
  assert.equal([...got], [...sent], 'every byte, in order');
  fs.closeSync(r);
  await b.close();
});

test('bytes a cancelled read kept for an fd never reach another pipe that gets the same fd number later (found by the API fuzzer)', async () => {
  const ring = new Ring(4);
  const [r, w] = createPipe();
  const ac = new AbortController();
  const cut = ring.read(r, Buffer.alloc(16), { signal: ac.signal }).then(() => 'resolved', (err) => err.code);
  await sleep(20);
  ac.abort();
  const outcome = await cut;
  fs.writeSync(w, 'stale bytes of the old pipe');
  await sleep(50); // on the fallback the cancelled read's pool thread takes them now
  fs.closeSync(r);
  fs.closeSync(w);
  const [r2, w2] = createPipe();
  fs.writeSync(w2, 'fresh');
  fs.closeSync(w2);
  const buf = Buffer.alloc(64);
  const { bytesRead } = await ring.read(r2, buf);
  assert.ok(['ABORT_ERR', 'resolved'].includes(outcome), outcome);
  assert.is(buf.subarray(0, bytesRead).toString(), 'fresh', `the new pipe${r2 === r ? ' (same fd number)' : ''} gives its own bytes`);
  fs.closeSync(r2);
  await ring.close();
});

test.run();
