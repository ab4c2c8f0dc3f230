// Read results (native/read-result.h): the memory a large readFile is read
// into. The native layer allocates it and alone refers to it until every read
// into it has completed; these tests hold it to that: hostile arguments, a
// take refused while a read is in flight, a release that waits for the kernel,
// a taken result the kernel never writes again, a worker terminated with a
// read in flight; and readFile itself, with and without read results.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import ours from 'safer-ring/fs/promises';
import { Ring } from 'safer-ring';
import { ioUringOnly, pattern, tmpPath } from './helpers/env.mjs';
import { code, firstCompletion, nativeRing } from './helpers/native-ring.mjs';
import { sleep } from './helpers/net.mjs';

const test = ioUringOnly(base);
const READ_RESULT = 29;
const MiB = 1024 * 1024;

/** Descriptor 0: read `len` bytes from `fd` into result `id` at `off` (position -1: a pipe's only kind). */
function readInto(desc, fd, id, off, len, chunk = -1) {
  desc.fill(0, 0, 16);
  desc[0] = READ_RESULT;
  desc[1] = fd;
  desc[2] = 1;
  desc[5] = chunk;
  desc[6] = off;
  desc[7] = len;
  new Float64Array(desc.buffer, 0, 8)[4] = -1;
  desc[11] = id;
  desc[12] = -1;
}

test('native: read results refuse hostile arguments, and a read never lands outside its result', () => {
  const { r, desc } = nativeRing();
  for (const bad of [-1, 1.5, NaN, '8', undefined, 2 ** 32]) code(() => r.allocResult(bad), 'ERR_INVALID_ARG_TYPE');
  for (const bad of [0, 2 ** 31]) code(() => r.allocResult(bad), 'ERR_OUT_OF_RANGE');
  const id = r.allocResult(100);
  assert.ok(Number.isInteger(id) && id > 0);
  const other = r.allocResult(100);
  assert.is.not(other, id);
  const fd = fs.openSync('/dev/zero', 'r');
  // Every bad descriptor is refused at submit, with nothing in flight.
  for (const [what, off, len, rid, chunk] of [
    ['past the end', 50, 51, id], ['empty', 0, 0, id], ['negative offset', -1, 10, id], ['negative length', 0, -1, id],
    ['offset past the end', 100, 1, id], ['unknown id', 0, 10, 999], ['id 0', 0, 10, 0], ['negative id', 0, 10, -1],
    ['an arena buffer too', 0, 10, id, 0],
  ]) {
    readInto(desc, fd, rid, off, len, chunk);
    code(() => r.submit(1), 'ERR_INVALID_ARG_VALUE');
    assert.is(r.inFlight(), 0, what);
  }
  code(() => r.takeResult(id, 101), 'ERR_OUT_OF_RANGE');
  code(() => r.takeResult(id, -1), 'ERR_OUT_OF_RANGE');
  code(() => r.takeResult(999, 0), 'ERR_INVALID_ARG_VALUE');
  code(() => r.takeResult('x', 0), 'ERR_INVALID_ARG_TYPE');
  code(() => r.releaseResult(999), 'ERR_INVALID_ARG_VALUE');
  // Never read: taken with length 0, every byte is zero (no stale heap memory shows).
  const blank = r.takeResult(id, 0);
  assert.ok(Buffer.isBuffer(blank));
  assert.is(blank.length, 100);
  assert.ok(blank.every((b) => b === 0));
  code(() => r.takeResult(id, 0), 'ERR_INVALID_ARG_VALUE'); // once
  readInto(desc, fd, id, 0, 10);
  code(() => r.submit(1), 'ERR_INVALID_ARG_VALUE'); // a taken result is no target any more
  r.releaseResult(other);
  code(() => r.releaseResult(other), 'ERR_INVALID_ARG_VALUE');
  r.destroy();
  code(() => r.allocResult(8), 'ERR_RING_CLOSED');
  fs.closeSync(fd);
});

test('native: a result is not handed over while a read into it is in flight; once taken the kernel never writes it again', async () => {
  const { r, desc, completions, native } = nativeRing();
  const [pipeR, pipeW] = native.pipe();
  const id = r.allocResult(64);
  readInto(desc, pipeR, id, 8, 32);
  assert.is(r.submit(1), 1);
  await sleep(20);
  assert.is(r.inFlight(), 1, 'an empty pipe: the read waits');
  code(() => r.takeResult(id, 40), 'ERR_INVALID_STATE');
  fs.writeSync(pipeW, Buffer.from('read straight into the result'));
  assert.is((await firstCompletion(completions)).res, 29);
  const taken = r.takeResult(id, 37);
  assert.is(taken.subarray(8, 37).toString(), 'read straight into the result');
  assert.ok(taken.subarray(37).every((b) => b === 0), 'nothing past the length taken shows');
  const kept = Buffer.from(taken);
  // Later reads, into a new result, land there and never in the taken one.
  for (let i = 0; i < 4; i++) {
    const next = r.allocResult(64);
    completions.length = 0;
    readInto(desc, pipeR, next, 8, 32);
    assert.is(r.submit(1), 1);
    fs.writeSync(pipeW, Buffer.from(`later ${i}`));
    await firstCompletion(completions);
    assert.is(r.takeResult(next, 40).subarray(8, 15).toString(), `later ${i}`);
  }
  assert.ok(taken.equals(kept), 'the taken result never changed');
  r.destroy();
  fs.closeSync(pipeR);
  fs.closeSync(pipeW);
});

test('native: a result released with a read in flight is freed after the read, and no later read may name it', async () => {
  const { r, desc, completions, native } = nativeRing();
  const [pipeR, pipeW] = native.pipe();
  const id = r.allocResult(4096);
  readInto(desc, pipeR, id, 0, 4096);
  assert.is(r.submit(1), 1);
  r.releaseResult(id); // the call gave up (aborted): the memory stays until the kernel is done
  code(() => r.takeResult(id, 0), 'ERR_INVALID_ARG_VALUE');
  code(() => r.releaseResult(id), 'ERR_INVALID_ARG_VALUE');
  desc[2] = 2;
  code(() => r.submit(1), 'ERR_INVALID_ARG_VALUE'); // another read into it
  assert.is(r.inFlight(), 1);
  fs.writeSync(pipeW, Buffer.alloc(100, 1));
  assert.is((await firstCompletion(completions)).res, 100);
  assert.is(r.inFlight(), 0);
  code(() => r.takeResult(id, 0), 'ERR_INVALID_ARG_VALUE'); // gone
  r.destroy();
  fs.closeSync(pipeR);
  fs.closeSync(pipeW);
});

test('a worker terminated while a read into a result is in flight exits; the process goes on', async () => {
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const native = process.env.SAFER_RING_NATIVE_ADDON
      ? require(process.env.SAFER_RING_NATIVE_ADDON)
      : require('node-gyp-build')(${JSON.stringify(new URL('..', import.meta.url).pathname)});
    const desc = new Int32Array(64), comps = new Int32Array(64);
    const keep = () => {};
    const r = new native.NativeRing(4, 0, 0, desc, comps, new Int32Array(24), keep);
    const [pipeR, pipeW] = native.pipe();
    const id = r.allocResult(1 << 20);
    desc[0] = ${READ_RESULT}; desc[1] = pipeR; desc[2] = 1; desc[5] = -1; desc[6] = 0; desc[7] = 1 << 20;
    new Float64Array(desc.buffer, 0, 8)[4] = -1;
    desc[11] = id; desc[12] = -1;
    r.submit(1);
    globalThis.keep = [r, keep];
    parentPort.postMessage({ pipeW, inFlight: r.inFlight() });
  `, { eval: true });
  const { pipeW, inFlight } = await new Promise((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  assert.is(inFlight, 1);
  assert.is(await worker.terminate(), 1);
  // The ring's teardown cancelled the read before its memory could go; the pipe may still be written.
  try {
    fs.writeSync(pipeW, Buffer.from('after'));
  } catch (err) {
    assert.ok(['EPIPE', 'EBADF'].includes(err.code), err.code);
  }
  const file = tmpPath('after-worker');
  fs.writeFileSync(file, pattern(3 * MiB, 2));
  assert.ok((await ours.readFile(file)).equals(fs.readFileSync(file)), 'this thread reads on');
});

test('readFile results are ordinary Buffers over an ArrayBuffer of their own, as Node\'s are', async () => {
  for (const size of [80 * 1024 + 1, MiB, 5 * MiB + 3]) {
    const file = tmpPath(`own-${size}`);
    fs.writeFileSync(file, pattern(size, 4));
    const got = await ours.readFile(file);
    assert.ok(got.buffer instanceof ArrayBuffer, 'not shared memory');
    assert.is(got.byteOffset, 0);
    assert.is(got.buffer.byteLength, size);
    assert.ok(got.equals(fs.readFileSync(file)));
  }
});

test('an abort while reads into the result run ends the call with AbortError; the reads still in flight finish into memory nobody sees', async () => {
  const file = tmpPath('abort-64m');
  fs.writeFileSync(file, pattern(64 * MiB, 6));
  const expected = fs.readFileSync(file);
  let aborted = 0;
  for (const ms of [1, 3, 6, 10, 20]) {
    const ac = new AbortController();
    const p = ours.readFile(file, { signal: ac.signal });
    setTimeout(() => ac.abort(), ms);
    try {
      const got = await p;
      assert.ok(got.equals(expected), `finished before the abort at ${ms} ms`);
    } catch (err) {
      assert.is(err.name, 'AbortError', err.stack);
      aborted++;
    }
  }
  assert.ok(aborted > 0, 'at least one abort landed during the call');
  assert.ok((await ours.readFile(file)).equals(expected), 'the next call reads the file whole');
  fs.unlinkSync(file);
});

test('a file truncated while it is read: the result is a prefix of it, cut where the reads found its end', async () => {
  const whole = pattern(24 * MiB, 8);
  let cut = 0;
  for (let round = 0; round < 6; round++) {
    const file = tmpPath('shrinks');
    fs.writeFileSync(file, whole);
    const viaHandle = round % 2 === 1;
    const h = viaHandle ? await ours.open(file) : null;
    const p = viaHandle ? h.readFile() : ours.readFile(file);
    setTimeout(() => fs.truncateSync(file, MiB), round);
    const got = await p;
    if (h) await h.close();
    assert.ok(got.length >= MiB && got.length <= whole.length, `${got.length} bytes`);
    assert.ok(got.equals(whole.subarray(0, got.length)), 'the bytes of the file, in order, nothing else');
    if (got.length < whole.length) cut++;
    fs.unlinkSync(file);
  }
  assert.ok(cut > 0, 'at least one truncation landed while the file was read');
});

test('without read results (a ring that has none), readFile reads the rest through the arena', async () => {
  const key = Object.getOwnPropertySymbols(Ring.prototype).find((s) => s.description === 'safer-ring.readResults');
  assert.ok(key, 'the ring has the seam');
  const original = Object.getOwnPropertyDescriptor(Ring.prototype, key);
  Object.defineProperty(Ring.prototype, key, { configurable: true, get: () => null });
  try {
    for (const size of [80 * 1024 + 1, 3 * MiB + 7]) {
      const file = tmpPath(`arena-${size}`);
      fs.writeFileSync(file, pattern(size, 5));
      assert.ok((await ours.readFile(file)).equals(fs.readFileSync(file)), `size ${size}`);
      const h = await ours.open(file);
      assert.ok((await h.readFile()).equals(fs.readFileSync(file)), `size ${size}, FileHandle`);
      await h.close();
    }
  } finally {
    Object.defineProperty(Ring.prototype, key, original);
  }
});

test.run();
