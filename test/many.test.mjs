// readOwnedMany / writeOwnedMany: N positional reads or writes of one fd, one
// OwnedBuffer each, one promise per call; on a Ring and through the Runtime.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import { Ring, Runtime, OwnedBuffer, createPipe } from 'safer-ring';
import { patternFile, pattern, tmpPath, backend, quiesce } from './helpers/env.mjs';

const ring = new Ring(32);
const rt = new Runtime({ entries: 32 });
test.after(async () => {
  await ring.close();
  await rt.close();
});

const SIZE = 1 << 20;
const data = pattern(SIZE);
const file = patternFile(SIZE);

function buffers(n, size = 4096) {
  return Array.from({ length: n }, () => new OwnedBuffer(size));
}

for (const [name, target] of [['ring', ring], ['runtime', rt]]) {
  test(`${name}: readOwnedMany reads each buffer at its position and hands every buffer back, in order`, async () => {
    const fd = fs.openSync(file, 'r');
    const bufs = buffers(40);
    const positions = bufs.map((_, i) => ((i * 7919) % 250) * 4096);
    const { bytesRead, buffers: back } = await target.readOwnedMany(fd, bufs, positions);
    assert.is(back.length, 40);
    assert.equal(bytesRead, Array(40).fill(4096));
    for (let i = 0; i < 40; i++) {
      assert.is(bufs[i].isValid, false, 'the handle passed in moved');
      assert.ok(back[i] instanceof OwnedBuffer && back[i].isValid);
      assert.ok(Buffer.from(back[i].bytes).equals(data.subarray(positions[i], positions[i] + 4096)), `buffer ${i}`);
    }
    // The buffers go round again: what came back is what the next call takes.
    const again = await target.readOwnedMany(fd, back, positions.map((p) => BigInt(p + 1)));
    assert.ok(Buffer.from(again.buffers[3].bytes).equals(data.subarray(positions[3] + 1, positions[3] + 4097)));
    for (const b of again.buffers) b.release();
    fs.closeSync(fd);
  });

  test(`${name}: writeOwnedMany lands every buffer at its position; short reads at end of file`, async () => {
    const out = tmpPath('many');
    const fd = fs.openSync(out, 'w+');
    const bufs = Array.from({ length: 10 }, (_, i) => OwnedBuffer.from(Buffer.alloc(100, 65 + i)));
    const { bytesWritten, buffers: back } = await target.writeOwnedMany(fd, bufs, bufs.map((_, i) => (9 - i) * 100));
    assert.equal(bytesWritten, Array(10).fill(100));
    assert.is(fs.readFileSync(out, 'latin1'), Array.from({ length: 10 }, (_, i) => String.fromCharCode(65 + 9 - i).repeat(100)).join(''));
    const r = await target.readOwnedMany(fd, back.slice(0, 4), [950, 0, 1000, 990]);
    assert.equal(r.bytesRead, [50, 100, 0, 10], 'positions past the end read what is there');
    assert.ok(Buffer.from(r.buffers[0].bytes.subarray(0, 50)).equals(Buffer.alloc(50, 65)));
    for (const b of [...r.buffers, ...back.slice(4)]) b.release();
    fs.closeSync(fd);
  });

  test(`${name}: argument errors reject before any buffer moves`, async () => {
    const fd = fs.openSync(file, 'r');
    const bufs = buffers(3);
    const cases = [
      [[bufs[0], new Uint8Array(8), bufs[2]], [0, 0, 0], 'ERR_INVALID_ARG_TYPE', /buffers\[1\]/],
      [[bufs[0], bufs[1], bufs[0]], [0, 0, 0], 'ERR_INVALID_ARG_VALUE', /the same buffer twice/],
      [bufs, [0, 0], 'ERR_INVALID_ARG_VALUE', /one position per buffer/],
      [bufs, [0, -1, 0], 'ERR_OUT_OF_RANGE', /positions\[1\]/],
      [bufs, [0, 1.5, 0], 'ERR_OUT_OF_RANGE', /positions\[1\]/],
      [bufs, [0, 0, '0'], 'ERR_INVALID_ARG_TYPE', /positions\[2\]/],
      [bufs, null, 'ERR_INVALID_ARG_TYPE', /positions/],
      ['not an array', [0], 'ERR_INVALID_ARG_TYPE', /buffers/],
    ];
    for (const [b, p, code, message] of cases) {
      await target.readOwnedMany(fd, b, p).then(() => assert.unreachable(), (e) => {
        assert.is(e.code, code, String(message));
        assert.match(e.message, message);
      });
      assert.ok(bufs.every((x) => x.isValid), `${code}: no buffer moved`);
    }
    const dead = new OwnedBuffer(16);
    const r = await target.readOwned(fd, dead, { position: 0 });
    await target.readOwnedMany(fd, [bufs[0], dead], [0, 0]).then(() => assert.unreachable(), (e) => assert.is(e.code, 'ERR_BUFFER_MOVED'));
    assert.ok(bufs[0].isValid);
    await target.readOwnedMany(-1, bufs, [0, 0, 0]).then(() => assert.unreachable(), (e) => assert.is(e.code, 'ERR_OUT_OF_RANGE'));
    const empty = await target.readOwnedMany(fd, [], []);
    assert.equal(empty, { bytesRead: [], bytesWritten: [], buffers: [] });
    for (const b of [...bufs, r.buffer]) b.release();
    fs.closeSync(fd);
  });

  test(`${name}: a failed read rejects the call with its error and index, and every buffer goes back to the arena`, async () => {
    const dir = fs.openSync(os.tmpdir(), 'r'); // read(2) of a directory: EISDIR
    const bufs = buffers(4);
    await quiesce();
    const before = ring.stats().arena.slotsInUse;
    const err = await target.readOwnedMany(dir, bufs, [0, 0, 0, 0]).then(() => assert.unreachable(), (e) => e);
    assert.is(err.code, 'EISDIR');
    assert.is(err.syscall, 'read');
    assert.is(err.index, 0);
    assert.ok(bufs.every((b) => !b.isValid));
    assert.is(ring.stats().arena.slotsInUse, before - 4, 'the four slots were released');
    fs.closeSync(dir);
  });

  test(`${name}: a signal aborted before the ops reach the kernel drops them all`, async () => {
    const fd = fs.openSync(file, 'r');
    const already = new AbortController();
    already.abort();
    await target.readOwnedMany(fd, buffers(2), [0, 0], { signal: already.signal })
      .then(() => assert.unreachable(), (e) => assert.is(e.code, 'ABORT_ERR'));
    const ac = new AbortController();
    const p = target.readOwnedMany(fd, buffers(5), [0, 4096, 8192, 0, 0], { signal: ac.signal });
    ac.abort(); // same turn: the ops are still queued
    await p.then(() => assert.unreachable(), (e) => assert.is(e.code, 'ABORT_ERR'));
    // Not aborted: the listener went away with the call.
    const ok = new AbortController();
    const r = await target.readOwnedMany(fd, buffers(2), [0, 0], { signal: ok.signal });
    ok.abort();
    assert.equal(r.bytesRead, [4096, 4096]);
    for (const b of r.buffers) b.release();
    fs.closeSync(fd);
  });
}

test('ring: more reads in one call than the ring has entries: split over submits, all delivered', async () => {
  const fd = fs.openSync(file, 'r');
  const bufs = buffers(300, 512);
  const positions = bufs.map((_, i) => i * 512 + 3);
  const before = ring.stats().submitCalls;
  const { bytesRead, buffers: back } = await ring.readOwnedMany(fd, bufs, positions);
  assert.is(bytesRead.length, 300);
  assert.ok(ring.stats().submitCalls - before >= Math.ceil(300 / ring.entries));
  for (let i = 0; i < 300; i += 37) assert.ok(Buffer.from(back[i].bytes).equals(data.subarray(i * 512 + 3, i * 512 + 515)));
  for (const b of back) b.release();
  fs.closeSync(fd);
});

test('ring: positions in a Float64Array', async () => {
  const fd = fs.openSync(file, 'r');
  const { buffers: back } = await ring.readOwnedMany(fd, buffers(2, 100), new Float64Array([100, 200]));
  assert.ok(Buffer.from(back[1].bytes).equals(data.subarray(200, 300)));
  for (const b of back) b.release();
  fs.closeSync(fd);
});

(backend === 'fallback' ? test.skip : test)('io_uring: a FixedFile as the target', async () => {
  const fd = fs.openSync(file, 'r');
  const r = new Ring(8);
  const [fixed] = r.registerFiles([fd]);
  fs.closeSync(fd);
  const { buffers: back } = await r.readOwnedMany(fixed, buffers(2, 100), new Float64Array([100, 200]));
  assert.ok(Buffer.from(back[1].bytes).equals(data.subarray(200, 300)));
  for (const b of back) b.release();
  await r.close();
});

(backend === 'fallback' ? test.skip : test)('io_uring: reads still in the kernel are cancelled by the signal; the call rejects once the kernel gave every buffer back', async () => {
  // A pipe that never gets data: io_uring reads a pipe at its stream position, so the reads wait.
  const [rd, wr] = createPipe();
  const ac = new AbortController();
  const bufs = buffers(3, 64);
  const p = ring.readOwnedMany(rd, bufs, [0, 0, 0], { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 20));
  assert.is(ring.stats().inFlight, 3);
  ac.abort();
  await p.then(() => assert.unreachable(), (e) => assert.is(e.code, 'ABORT_ERR'));
  assert.is(ring.stats().inFlight, 0);
  assert.is(ring.stats().orphans, 0);
  fs.closeSync(rd);
  fs.closeSync(wr);
});

(backend === 'fallback' ? test.skip : test)('io_uring: an aborted call keeps every buffer it took until it settles, those of dropped ops too', async () => {
  // Ring(2): four reads in flight (its CQ budget), four still queued. The
  // abort drops the queued ones at once and cancels the others in the
  // kernel; until the call rejects, no new buffer may land on any of its slots.
  const r = new Ring(2);
  const [rd, wr] = createPipe();
  const bufs = buffers(8, 64);
  // A slot is its chunk (the SharedArrayBuffer) and its offset in it.
  const taken = (b) => bufs.some((x, i) => b.bytes.buffer === chunks[i] && b.bytes.byteOffset === offsets[i]);
  const chunks = bufs.map((b) => b.bytes.buffer);
  const offsets = bufs.map((b) => b.bytes.byteOffset);
  const ac = new AbortController();
  let settled = false;
  const p = r.readOwnedMany(rd, bufs, Array(8).fill(0), { signal: ac.signal });
  p.then(() => { settled = true; }, () => { settled = true; });
  await new Promise((res) => setTimeout(res, 10));
  assert.is(r.stats().inFlight, 4);
  ac.abort();
  const probes = [];
  while (!settled) {
    const fresh = buffers(8, 64);
    for (const b of fresh) assert.not.ok(!settled && taken(b), 'a new buffer on a slot of the pending call');
    probes.push(...fresh);
    await new Promise((res) => setImmediate(res));
  }
  await p.then(() => assert.unreachable(), (e) => assert.is(e.code, 'ABORT_ERR'));
  for (const b of probes) b.release();
  await r.close();
  fs.closeSync(rd);
  fs.closeSync(wr);
});

(backend === 'fallback' ? test.skip : test)('io_uring: closing the ring with a call in flight rejects it with ERR_RING_CLOSED', async () => {
  const r = new Ring(8);
  const [rd, wr] = createPipe();
  const p = r.readOwnedMany(rd, buffers(2, 64), [0, 0]);
  await new Promise((res) => setTimeout(res, 10));
  await r.close();
  await p.then(() => assert.unreachable(), (e) => assert.is(e.code, 'ERR_RING_CLOSED'));
  fs.closeSync(rd);
  fs.closeSync(wr);
});

test('a call on a closed ring rejects and releases its buffers', async () => {
  const r = new Ring(8);
  await r.close();
  const bufs = buffers(2);
  await r.readOwnedMany(0, bufs, [0, 0]).then(() => assert.unreachable(), (e) => assert.is(e.code, 'ERR_RING_CLOSED'));
  assert.ok(bufs.every((b) => !b.isValid));
});

test.run();
