import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, OwnedBuffer, PinnedBuffer } from 'safer-ring';
import { patternFile, pattern, tmpPath } from './helpers/env.mjs';

const ring = new Ring(32);
test.after(() => ring.close());

test('readOwned reads file bytes at a position and hands the buffer back', async () => {
  const file = patternFile(10000);
  const fd = fs.openSync(file, 'r');
  const buf = new OwnedBuffer(4096);
  const { bytesRead, buffer } = await ring.readOwned(fd, buf, { position: 1000 });
  assert.is(bytesRead, 4096);
  assert.ok(buffer instanceof OwnedBuffer);
  assert.ok(Buffer.from(buffer.bytes).equals(pattern(10000).subarray(1000, 5096)));
  assert.is(buf.isValid, false);
  buffer.release();
  fs.closeSync(fd);
});

test('readOwned at end of file reads what is left, then 0', async () => {
  const fd = fs.openSync(patternFile(100), 'r');
  let r = await ring.readOwned(fd, new OwnedBuffer(64), { position: 80 });
  assert.is(r.bytesRead, 20);
  r = await ring.readOwned(fd, r.buffer, { position: 100 });
  assert.is(r.bytesRead, 0);
  r.buffer.release();
  fs.closeSync(fd);
});

test('writeOwned writes bytes that land on disk, with offset and length windows', async () => {
  const file = tmpPath('w');
  const fd = fs.openSync(file, 'w+');
  const buf = OwnedBuffer.from(Buffer.from('0123456789'));
  const { bytesWritten, buffer } = await ring.writeOwned(fd, buf, { position: 0 });
  assert.is(bytesWritten, 10);
  const r2 = await ring.writeOwned(fd, buffer, { position: 10, offset: 2, length: 3 });
  assert.is(r2.bytesWritten, 3);
  fs.closeSync(fd);
  assert.is(fs.readFileSync(file, 'utf8'), '0123456789234');
  r2.buffer.release();
});

test('omitted position uses and advances the file position, as in node:fs', async () => {
  const file = patternFile(300);
  const fd = fs.openSync(file, 'r');
  const a = new Uint8Array(100);
  const b = new Uint8Array(100);
  await ring.read(fd, a);
  await ring.read(fd, b, { position: -1 });
  assert.ok(Buffer.from(a).equals(pattern(300).subarray(0, 100)));
  assert.ok(Buffer.from(b).equals(pattern(300).subarray(100, 200)));
  fs.closeSync(fd);
});

test('read copies into a plain Uint8Array window; write copies out of one', async () => {
  const file = tmpPath('copy');
  const fd = fs.openSync(file, 'w+');
  const src = Buffer.from('xxhello worldxx');
  const w = await ring.write(fd, src, { offset: 2, length: 11, position: 0 });
  assert.is(w.bytesWritten, 11);
  assert.is(w.buffer, src);
  const dst = Buffer.alloc(15, '.');
  const r = await ring.read(fd, dst, { offset: 2, length: 5, position: 6 });
  assert.is(r.bytesRead, 5);
  assert.is(dst.toString(), '..world........');
  fs.closeSync(fd);
});

test('read into arena memory (PinnedBuffer) is zero-copy and the memory survives a release during the op', async () => {
  const file = patternFile(8192);
  const fd = fs.openSync(file, 'r');
  const pinned = PinnedBuffer.withCapacity(8192);
  const p = ring.read(fd, pinned.bytes, { position: 0 });
  const view = pinned.bytes;
  pinned.release(); // deferred: the kernel is still using the slot
  const other = new OwnedBuffer(8192); // must not get the borrowed slot
  const { bytesRead } = await p;
  assert.is(bytesRead, 8192);
  assert.ok(Buffer.from(view).equals(pattern(8192)));
  assert.ok(other.bytes.every((x) => x === 0), 'a new buffer never shares a borrowed slot');
  other.release();
  fs.closeSync(fd);
});

test('large owned buffers (8 MiB) round-trip through a file', async () => {
  const size = 8 * 1024 * 1024;
  const file = tmpPath('big');
  const fd = fs.openSync(file, 'w+');
  const data = pattern(size, 3);
  const out = OwnedBuffer.from(data);
  let done = 0;
  let buffer = out;
  while (done < size) {
    const r = await ring.writeOwned(fd, buffer, { position: done, offset: done });
    done += r.bytesWritten;
    buffer = r.buffer;
  }
  buffer.release();
  const back = await ring.readOwned(fd, new OwnedBuffer(size), { position: 0 });
  assert.is(back.bytesRead, size);
  assert.ok(Buffer.from(back.buffer.bytes).equals(data));
  back.buffer.release();
  fs.closeSync(fd);
});

test('readv and writev scatter and gather across several buffers', async () => {
  const file = tmpPath('vec');
  const fd = fs.openSync(file, 'w+');
  const pinned = PinnedBuffer.from(Buffer.from('-arena-'));
  const parts = [Buffer.from('alpha '), pinned.bytes, Buffer.from(' omega')];
  const w = await ring.writev(fd, parts, { position: 0 });
  assert.is(w.bytesWritten, 19);
  assert.is(fs.readFileSync(file, 'utf8'), 'alpha -arena- omega');
  const a = Buffer.alloc(6);
  const b = PinnedBuffer.withCapacity(7);
  const c = Buffer.alloc(10);
  const r = await ring.readv(fd, [a, b.bytes, c], { position: 0 });
  assert.is(r.bytesRead, 19);
  assert.is(a.toString(), 'alpha ');
  assert.is(Buffer.from(b.bytes).toString(), '-arena-');
  assert.is(c.subarray(0, 6).toString(), ' omega');
  pinned.release();
  b.release();
  fs.closeSync(fd);
});

test('writes through a pipe arrive on the other end', async () => {
  const { createPipe } = await import('safer-ring');
  const [r, w] = createPipe();
  await ring.write(w, Buffer.from('through the pipe'));
  const buf = Buffer.alloc(64);
  const { bytesRead } = await ring.read(r, buf);
  assert.is(buf.subarray(0, bytesRead).toString(), 'through the pipe');
  fs.closeSync(r);
  fs.closeSync(w);
});

test.run();
