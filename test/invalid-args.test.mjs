// Every bad argument is refused with a typed error before anything reaches
// the kernel: first by the TypeScript layer, and again by the native layer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, OwnedBuffer, SaferRingError } from 'safer-ring';
import { patternFile, nativeBinding, NOT_OPEN_FD, ringFds } from './helpers/env.mjs';

const ring = new Ring(16);
const fd = fs.openSync(patternFile(4096), 'r');
test.after(async () => {
  await ring.close();
  fs.closeSync(fd);
});

async function rejects(promise, code) {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, SaferRingError);
    assert.is(err.code, code, err.message);
    return err;
  }
  assert.unreachable(`expected rejection with ${code}`);
}

test('fd: -1, NaN, fractions, strings and huge values', async () => {
  const u8 = new Uint8Array(8);
  await rejects(ring.read(-1, u8), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(NaN, u8), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(1.5, u8), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read('3', u8), 'ERR_INVALID_ARG_TYPE');
  await rejects(ring.read(2 ** 31, u8), 'ERR_OUT_OF_RANGE');
  await rejects(ring.fsync(undefined), 'ERR_INVALID_ARG_TYPE');
});

test('a well-formed fd that is not open rejects with EBADF', async () => {
  const closed = NOT_OPEN_FD;
  const err = await rejects(ring.read(closed, new Uint8Array(4)), 'EBADF');
  assert.is(err.errno, -9);
  assert.is(err.syscall, 'read');
  await rejects(ring.readOwned(closed, new OwnedBuffer(4)), 'EBADF');
});

test('buffers: wrong types, lengths beyond the buffer or slot, negative offsets', async () => {
  await rejects(ring.read(fd, 'not a buffer'), 'ERR_INVALID_ARG_TYPE');
  await rejects(ring.read(fd, [1, 2, 3]), 'ERR_INVALID_ARG_TYPE');
  await rejects(ring.readOwned(fd, new Uint8Array(4)), 'ERR_INVALID_ARG_TYPE');
  await rejects(ring.read(fd, new Uint8Array(4), { length: 5 }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(fd, new Uint8Array(4), { length: -1 }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(fd, new Uint8Array(4), { offset: -1 }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(fd, new Uint8Array(4), { offset: 3, length: 2 }), 'ERR_OUT_OF_RANGE');
  const owned = new OwnedBuffer(4096);
  // The slot is 4096 bytes: asking for more than the handle's length is refused, and the handle stays live.
  await rejects(ring.readOwned(fd, owned, { length: 4097 }), 'ERR_OUT_OF_RANGE');
  assert.ok(owned.isValid, 'a refused op does not take the buffer');
  owned.release();
});

test('position: NaN, fractions, below -1, beyond 2^53', async () => {
  const u8 = new Uint8Array(4);
  await rejects(ring.read(fd, u8, { position: NaN }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(fd, u8, { position: 0.5 }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(fd, u8, { position: -2 }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(fd, u8, { position: 2 ** 54 }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.read(fd, u8, { position: '0' }), 'ERR_INVALID_ARG_TYPE');
  const r = await ring.read(fd, u8, { position: 4n });
  assert.is(r.bytesRead, 4, 'bigint positions are accepted');
});

test('options, signal, paths, addresses and timeouts', async () => {
  await rejects(ring.read(fd, new Uint8Array(1), 'nope'), 'ERR_INVALID_ARG_TYPE');
  await rejects(ring.read(fd, new Uint8Array(1), { signal: {} }), 'ERR_INVALID_ARG_TYPE');
  await rejects(ring.openat(42), 'ERR_INVALID_ARG_TYPE');
  await rejects(ring.openat('/tmp/x\0y'), 'ERR_INVALID_ARG_VALUE');
  await rejects(ring.openat('/tmp/x', 'bogus'), 'ERR_INVALID_ARG_VALUE');
  await rejects(ring.openat('/tmp/x', 'r', 0o17777), 'ERR_OUT_OF_RANGE');
  await rejects(ring.connect(0, { host: 'localhost', port: 80 }), 'ERR_INVALID_ARG_VALUE');
  await rejects(ring.connect(0, { host: '127.0.0.1', port: 70000 }), 'ERR_OUT_OF_RANGE');
  await rejects(ring.timeout(-1), 'ERR_OUT_OF_RANGE');
  await rejects(ring.timeout(Infinity), 'ERR_OUT_OF_RANGE');
  await rejects(ring.readv(fd, []), 'ERR_OUT_OF_RANGE');
  await rejects(ring.readv(fd, [new Uint8Array(1), 'x']), 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => new Ring(0), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new Ring({ entries: 1e6 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
});

// ---- the native layer, driven directly with hostile descriptors ----

const D = { OP: 0, FD: 1, ID: 2, GEN: 3, SQE: 4, CHUNK: 5, OFF: 6, LEN: 7, FLAGS: 10, ARG: 11, CHUNK2: 12, OFF2: 13, LEN2: 14 };

const callbacks = [];

function nativeRing() {
  const native = nativeBinding();
  const desc = new Int32Array(16 * 8);
  const f64 = new Float64Array(desc.buffer);
  const comps = new Int32Array(64);
  const iovs = new Int32Array(3 * 8);
  const completions = [];
  const onComplete = (n) => {
    for (let i = 0; i < n; i++) completions.push(comps[i * 4 + 2]);
  };
  callbacks.push(onComplete); // the native ring holds its callback weakly: its owner keeps it alive
  const r = new native.NativeRing(8, 0, 0, desc, comps, iovs, onComplete);
  const chunk = new Uint8Array(new SharedArrayBuffer(4096));
  r.addChunk(0, chunk, 4096); // one slot: the whole chunk
  // A chunk cut into 1 KiB slots, as the arena cuts small size classes.
  r.addChunk(1, new Uint8Array(new SharedArrayBuffer(4096)), 1024);
  // A valid read descriptor to start from; each case corrupts one field.
  const validRead = () => {
    desc.fill(0);
    desc[D.OP] = 1;
    desc[D.FD] = fd;
    desc[D.CHUNK] = 0;
    desc[D.OFF] = 0;
    desc[D.LEN] = 4096;
    f64[4] = 0;
    desc[D.CHUNK2] = -1;
  };
  return { native, r, desc, f64, iovs, chunk, validRead, completions };
}

function nativeThrows(fn, code = 'ERR_INVALID_ARG_VALUE', name = '') {
  try {
    fn();
  } catch (err) {
    assert.instance(err, SaferRingError);
    assert.is(err.code, code, err.message);
    return err;
  }
  assert.unreachable(`native layer accepted a bad descriptor ${name}`);
}

test('native: every hostile descriptor field is refused before submit', async () => {
  const { r, desc, f64, iovs, chunk, validRead } = nativeRing();
  const cases = [
    ['opcode', () => (desc[D.OP] = 99)],
    ['negative opcode', () => (desc[D.OP] = -1)],
    ['fd -1', () => (desc[D.FD] = -1)],
    ['negative id', () => (desc[D.ID] = -5)],
    ['unknown sqe flags', () => (desc[D.SQE] = 1 << 10)],
    ['fixed file without a table', () => (desc[D.SQE] = 1 << 2)],
    ['chunk not registered', () => (desc[D.CHUNK] = 7)],
    ['negative chunk', () => (desc[D.CHUNK] = -1)],
    ['negative offset', () => (desc[D.OFF] = -1)],
    ['negative length', () => (desc[D.LEN] = -4096)],
    ['length past the chunk', () => (desc[D.LEN] = 4097)],
    ['offset + length past the chunk', () => ((desc[D.OFF] = 4000), (desc[D.LEN] = 200))],
    ['huge offset', () => (desc[D.OFF] = 2 ** 31 - 1)],
    ['NaN position', () => (f64[4] = NaN)],
    ['fractional position', () => (f64[4] = 1.5)],
    ['position below -1', () => (f64[4] = -2)],
    ['position past 2^53', () => (f64[4] = 2 ** 60)],
    ['unknown rw flags', () => (desc[D.FLAGS] = 1 << 20)],
    ['path without NUL (openat)', () => { desc[D.OP] = 5; desc[D.FD] = -100; chunk.fill(65); }],
    ['readv count 0', () => ((desc[D.OP] = 3), (desc[D.CHUNK2] = 0), (desc[D.LEN2] = 0))],
    ['readv list past the iov array', () => ((desc[D.OP] = 3), (desc[D.CHUNK2] = 7), (desc[D.LEN2] = 2))],
    ['readv iovec past its chunk', () => {
      desc[D.OP] = 3; desc[D.CHUNK2] = 0; desc[D.LEN2] = 1;
      iovs.set([0, 100, 4000], 0);
    }],
    ['statx output too small', () => {
      desc[D.OP] = 7; desc[D.FD] = -100; desc[D.LEN] = 1;
      desc[D.CHUNK2] = 0; desc[D.OFF2] = 0; desc[D.LEN2] = 16;
    }],
    ['connect address too long', () => ((desc[D.OP] = 10), (desc[D.LEN] = 1000))],
    ['timeout NaN', () => ((desc[D.OP] = 13), (f64[4] = NaN))],
    ['cancel without target', () => ((desc[D.OP] = 14), (desc[D.OFF2] = -1))],
    ['dirfd -5 for openat', () => ((desc[D.OP] = 5), (desc[D.FD] = -5))],
    ['range across two slots', () => ((desc[D.CHUNK] = 1), (desc[D.OFF] = 1000), (desc[D.LEN] = 100))],
    ['whole chunk of 1 KiB slots', () => ((desc[D.CHUNK] = 1), (desc[D.OFF] = 0), (desc[D.LEN] = 4096))],
    ['iovec across two slots', () => {
      desc[D.OP] = 3; desc[D.CHUNK2] = 0; desc[D.LEN2] = 1;
      iovs.set([1, 1020, 8], 0);
    }],
    ['close of a ring\'s own eventfd or io_uring fd', () => ((desc[D.OP] = 6), (desc[D.FD] = ringFds()[0]))],
    ['unlinkat unknown flags', () => { pathAt(0); desc[D.OP] = 18; desc[D.FLAGS] = 1; }],
    ['mkdirat mode above 07777', () => { pathAt(0); desc[D.OP] = 20; desc[D.ARG] = 0o10000; }],
    ['renameat second path past its chunk', () => { pathAt(0); desc[D.OP] = 19; desc[D.CHUNK2] = 0; desc[D.OFF2] = 4000; desc[D.LEN2] = 200; }],
    ['renameat second path not NUL-terminated', () => { pathAt(0); desc[D.OP] = 19; desc[D.CHUNK2] = 0; desc[D.OFF2] = 8; desc[D.LEN2] = 4; }],
    ['renameat new dirfd -5', () => { pathAt(0); desc[D.OP] = 19; desc[D.ARG] = -5; desc[D.CHUNK2] = 0; desc[D.OFF2] = 0; desc[D.LEN2] = 1; }],
    ['renameat exchange + whiteout', () => { pathAt(0); desc[D.OP] = 19; desc[D.FLAGS] = 4; desc[D.CHUNK2] = 0; desc[D.OFF2] = 0; desc[D.LEN2] = 1; }],
    ['linkat unknown flags', () => { pathAt(0); desc[D.OP] = 22; desc[D.FLAGS] = 1 << 12; desc[D.CHUNK2] = 0; desc[D.OFF2] = 0; desc[D.LEN2] = 1; }],
    ['symlinkat link path across slots', () => { pathAt(0); desc[D.OP] = 21; desc[D.CHUNK2] = 1; desc[D.OFF2] = 1020; desc[D.LEN2] = 8; }],
    ['ftruncate negative length', () => ((desc[D.OP] = 23), (f64[4] = -1))],
    ['ftruncate fractional length', () => ((desc[D.OP] = 23), (f64[4] = 0.5))],
    ['fallocate zero length', () => ((desc[D.OP] = 24), (f64[4] = 0), (f64[6] = 0))],
    ['fallocate unknown mode', () => ((desc[D.OP] = 24), (f64[6] = 4096), (desc[D.FLAGS] = 1 << 8))],
    ['splice with a fixed file', () => ((desc[D.OP] = 25), (desc[D.SQE] = 1 << 2), (desc[D.ARG] = 1), (f64[6] = -1))],
    ['splice output fd -1', () => ((desc[D.OP] = 25), (desc[D.ARG] = -1), (f64[6] = -1))],
    ['splice output offset NaN', () => ((desc[D.OP] = 25), (desc[D.ARG] = 1), (f64[6] = NaN))],
    // Direct descriptors: the slot must lie in the ring's registered-file table (this ring has none).
    ['openat into a slot without a file table', () => { pathAt(0); desc[D.OP] = 26; desc[D.OFF2] = 0; }],
    ['openat into slot -1', () => { pathAt(0); desc[D.OP] = 26; desc[D.OFF2] = -1; }],
    ['openat into a slot, with the fixed-file flag', () => { pathAt(0); desc[D.OP] = 26; desc[D.OFF2] = 0; desc[D.SQE] = 1 << 2; }],
    ['openat into a slot, mode above 07777', () => { pathAt(0); desc[D.OP] = 26; desc[D.ARG] = 0o10000; }],
    ['close of a slot without a file table', () => ((desc[D.OP] = 27), (desc[D.FD] = 0))],
    ['close of slot -1', () => ((desc[D.OP] = 27), (desc[D.FD] = -1))],
    ['close of a slot, with the fixed-file flag', () => ((desc[D.OP] = 27), (desc[D.FD] = 0), (desc[D.SQE] = 1 << 2))],
    ['fd install from a slot without a file table', () => ((desc[D.OP] = 28), (desc[D.FD] = 0))],
    ['fd install, unknown flags', () => ((desc[D.OP] = 28), (desc[D.FD] = 0), (desc[D.FLAGS] = 2))],
    ['fd install, with the fixed-file flag', () => ((desc[D.OP] = 28), (desc[D.FD] = 0), (desc[D.SQE] = 1 << 2))],
    ['reserved opcode 30', () => (desc[D.OP] = 30)],
    ['opcode past the last', () => (desc[D.OP] = 41)],
    ['zero-copy send past its chunk', () => ((desc[D.OP] = 40), (desc[D.LEN] = 5000))],
    ['zero-copy send with unknown flags', () => ((desc[D.OP] = 40), (desc[D.FLAGS] = 1 << 29))],
    ['weak op with unknown flag beside it', () => (desc[D.SQE] = (1 << 4) | (1 << 5))],
  ];
  // A one-byte path ("" + NUL) at the start of chunk 0, relative to the current directory.
  function pathAt(off) {
    chunk.fill(65);
    chunk[off] = 0;
    desc[D.FD] = -100;
    desc[D.OFF] = off;
    desc[D.LEN] = 1;
  }
  for (const [name, corrupt] of cases) {
    validRead();
    corrupt();
    const err = nativeThrows(() => r.submit(1), 'ERR_INVALID_ARG_VALUE', name);
    assert.is(err.index, 0, name);
    assert.is(r.inFlight(), 0, `${name}: nothing reached the kernel`);
  }
  // A batch with one bad descriptor in the middle submits none of it.
  validRead();
  desc.copyWithin(16, 0, 16);
  desc.copyWithin(32, 0, 16);
  desc[16 + D.LEN] = 5000;
  const err = nativeThrows(() => r.submit(3));
  assert.is(err.index, 1);
  assert.is(r.inFlight(), 0);
  r.destroy();
});

test('native: count, chunk and constructor arguments are checked', () => {
  const { native, r } = nativeRing();
  nativeThrows(() => r.submit(9), 'ERR_INVALID_ARG_VALUE'); // more descriptors than the array holds
  nativeThrows(() => r.submit(-1), 'ERR_INVALID_ARG_VALUE');
  nativeThrows(() => r.addChunk(2, new Uint8Array(16), 16), 'ERR_INVALID_ARG_TYPE'); // not shared memory
  nativeThrows(() => r.addChunk(0, new Uint8Array(new SharedArrayBuffer(16)), 16), 'ERR_INVALID_ARG_VALUE'); // in use
  nativeThrows(() => r.addChunk(1 << 20, new Uint8Array(new SharedArrayBuffer(16)), 16), 'ERR_INVALID_ARG_VALUE');
  nativeThrows(() => r.addChunk(2, 'x', 16), 'ERR_INVALID_ARG_TYPE');
  nativeThrows(() => r.addChunk(2, new Uint8Array(new SharedArrayBuffer(64))), 'ERR_INVALID_ARG_TYPE'); // no slot size
  nativeThrows(() => r.addChunk(2, new Uint8Array(new SharedArrayBuffer(96)), 48), 'ERR_INVALID_ARG_VALUE'); // not a power of two
  nativeThrows(() => r.addChunk(2, new Uint8Array(new SharedArrayBuffer(64)), 128), 'ERR_INVALID_ARG_VALUE'); // larger than the chunk
  nativeThrows(() => r.addChunk(2, new Uint8Array(new SharedArrayBuffer(64)), 0), 'ERR_INVALID_ARG_VALUE');
  nativeThrows(() => new native.NativeRing(0, 0, 0, new Int32Array(16), new Int32Array(4), new Int32Array(3), () => {}));
  nativeThrows(() => new native.NativeRing(8, 0, 0, new Float64Array(16), new Int32Array(4), new Int32Array(3), () => {}), 'ERR_INVALID_ARG_TYPE');
  r.destroy();
  nativeThrows(() => r.submit(1), 'ERR_RING_CLOSED');
});

test('native: a valid descriptor goes through and completes', async () => {
  const { r, validRead, completions } = nativeRing();
  validRead();
  assert.is(r.submit(1), 1);
  assert.is(r.inFlight(), 1);
  while (completions.length === 0) await new Promise((res) => setTimeout(res, 1));
  assert.is(completions[0], 4096);
  assert.is(r.inFlight(), 0);
  r.destroy();
});

test.run();
