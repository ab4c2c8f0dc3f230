import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, OwnedBuffer, MAX_BUFFER_SIZE, SaferRingError } from 'safer-ring';
import { patternFile } from './helpers/env.mjs';

const ring = new Ring(16);
test.after(() => ring.close());

function throwsCode(fn, code) {
  try {
    fn();
  } catch (err) {
    assert.instance(err, SaferRingError);
    assert.is(err.code, code);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('a new buffer is zero-filled and has the requested length', () => {
  const a = new OwnedBuffer(100);
  a.bytes.fill(9);
  a.release();
  const b = new OwnedBuffer(100); // likely reuses a's slot
  assert.is(b.length, 100);
  assert.ok(b.bytes.every((x) => x === 0));
  b.release();
});

test('a moved buffer throws ERR_BUFFER_MOVED; the returned handle is live', async () => {
  const fd = fs.openSync(patternFile(64), 'r');
  const buf = new OwnedBuffer(64);
  const p = ring.readOwned(fd, buf, { position: 0 });
  throwsCode(() => buf.bytes, 'ERR_BUFFER_MOVED');
  assert.is(buf.isValid, false);
  const { buffer } = await p;
  assert.is(buffer.bytes.length, 64);
  throwsCode(() => buf.bytes, 'ERR_BUFFER_MOVED');
  // Moving the dead handle again is refused before anything is submitted.
  try {
    await ring.readOwned(fd, buf, { position: 0 });
    assert.unreachable('dead handle accepted');
  } catch (err) {
    assert.is(err.code, 'ERR_BUFFER_MOVED');
  }
  buffer.release();
  fs.closeSync(fd);
});

test('release is idempotent, and release of a moved handle is a no-op', async () => {
  const buf = new OwnedBuffer(10);
  buf.release();
  buf.release();
  throwsCode(() => buf.bytes, 'ERR_BUFFER_MOVED');
});

test('using-style disposal releases the buffer', () => {
  const buf = new OwnedBuffer(10);
  buf[Symbol.dispose]();
  assert.is(buf.isValid, false);
});

test('sizes: 0 and MAX_BUFFER_SIZE bounds, bad sizes throw', () => {
  const empty = new OwnedBuffer(0);
  assert.is(empty.length, 0);
  empty.release();
  throwsCode(() => new OwnedBuffer(-1), 'ERR_OUT_OF_RANGE');
  throwsCode(() => new OwnedBuffer(MAX_BUFFER_SIZE + 1), 'ERR_OUT_OF_RANGE');
  throwsCode(() => new OwnedBuffer(1.5), 'ERR_OUT_OF_RANGE');
  throwsCode(() => new OwnedBuffer('10'), 'ERR_INVALID_ARG_TYPE');
});

test('many live buffers grow the arena instead of failing', () => {
  const bufs = [];
  for (let i = 0; i < 2000; i++) bufs.push(new OwnedBuffer(4096));
  const seen = new Set();
  for (const b of bufs) {
    b.bytes[0] = 1;
    seen.add(b.bytes.buffer);
  }
  assert.ok(seen.size > 1, 'more than one arena chunk');
  for (const b of bufs) b.release();
});

test('OwnedBuffer.from copies the data', () => {
  const src = Buffer.from('abc');
  const buf = OwnedBuffer.from(src);
  src[0] = 0;
  assert.is(Buffer.from(buf.bytes).toString(), 'abc');
  buf.release();
});

test.run();
