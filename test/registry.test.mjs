// Registrations that must really reach the kernel: fixed files and the arena's registered buffers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, OwnedBuffer, FixedFile } from 'safer-ring';
import { patternFile, pattern, tmpPath, backend } from './helpers/env.mjs';

const kernelTest = backend === 'io_uring' ? test : test.skip;
const ring = new Ring(16);
test.after(() => ring.close());

kernelTest('a fixed file keeps working after its original fd is closed (the kernel holds the file)', async () => {
  const fd = fs.openSync(patternFile(8192), 'r');
  const [file] = ring.registerFiles([fd]);
  assert.instance(file, FixedFile);
  assert.is(file.index, 0);
  fs.closeSync(fd); // only the registered table refers to the file now
  const before = ring.stats().fixedFileOps;
  const { bytesRead, buffer } = await ring.readOwned(file, new OwnedBuffer(4096), { position: 4096 });
  assert.is(bytesRead, 4096);
  assert.ok(Buffer.from(buffer.bytes).equals(pattern(8192).subarray(4096)));
  const plain = Buffer.alloc(100);
  assert.is((await ring.read(file, plain, { position: 0 })).bytesRead, 100);
  assert.ok(plain.equals(pattern(8192).subarray(0, 100)));
  assert.is(ring.stats().fixedFileOps, before + 2, 'both SQEs carried IOSQE_FIXED_FILE');
  assert.is(ring.stats().registeredFiles, 1);
  buffer.release();
  ring.unregisterFiles();
  assert.is(file.valid, false);
  try {
    await ring.read(file, plain);
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ERR_INVALID_STATE');
  }
});

kernelTest('writes and fsync through a fixed file; updateFiles swaps an entry', async () => {
  const a = tmpPath('fixed-a');
  const b = tmpPath('fixed-b');
  const fa = fs.openSync(a, 'w+');
  const fb = fs.openSync(b, 'w+');
  const [slot] = ring.registerFiles([fa]);
  await ring.write(slot, Buffer.from('to a'), { position: 0 });
  await ring.fsync(slot);
  ring.updateFiles(0, [fb]);
  await ring.write(slot, Buffer.from('to b'), { position: 0 });
  assert.is(fs.readFileSync(a, 'utf8'), 'to a');
  assert.is(fs.readFileSync(b, 'utf8'), 'to b');
  ring.unregisterFiles();
  fs.closeSync(fa);
  fs.closeSync(fb);
});

kernelTest('a FixedFile only works on its own ring; closeFd(file) empties its table slot', async () => {
  const other = new Ring(4);
  const fd = fs.openSync(patternFile(10), 'r');
  const [file] = other.registerFiles([fd]);
  for (const call of [() => ring.read(file, Buffer.alloc(4)), () => ring.closeFd(file)]) {
    try {
      await call();
      assert.unreachable();
    } catch (err) {
      assert.is(err.code, 'ERR_INVALID_ARG_VALUE');
    }
  }
  await other.closeFd(file); // the kernel drops the table's reference; the fd itself stays open
  assert.ok(fs.fstatSync(fd).isFile());
  try {
    await other.read(file, Buffer.alloc(4));
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'EBADF');
  }
  assert.throws(() => other.registerFiles([fd]), (e) => e.code === 'ERR_INVALID_ARG_VALUE', 'one table per ring');
  assert.throws(() => other.registerFiles([]), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => other.registerFiles([-1]), (e) => e.code === 'ERR_OUT_OF_RANGE');
  fs.closeSync(fd);
  await other.close();
});

kernelTest('arena buffers are registered with the kernel and reads/writes use READ_FIXED/WRITE_FIXED', async () => {
  const st = ring.stats();
  assert.is(st.fixedBuffers, true);
  const fd = fs.openSync(patternFile(4096), 'r');
  const before = ring.stats().fixedBufferOps;
  const r1 = await ring.readOwned(fd, new OwnedBuffer(4096), { position: 0 });
  const out = fs.openSync(tmpPath('fixed-write'), 'w');
  const w1 = await ring.writeOwned(out, r1.buffer, { position: 0 });
  assert.is(ring.stats().fixedBufferOps, before + 2);
  w1.buffer.release();
  // Opting out gives plain READ/WRITE.
  const plainRing = new Ring({ entries: 4, fixedBuffers: false });
  const r2 = await plainRing.readOwned(fd, new OwnedBuffer(4096), { position: 0 });
  assert.is(plainRing.stats().fixedBuffers, false);
  assert.is(plainRing.stats().fixedBufferOps, 0);
  r2.buffer.release();
  await plainRing.close();
  fs.closeSync(fd);
  fs.closeSync(out);
});

kernelTest('direct descriptors: open into a slot, use it in the same submit, close it', async () => {
  const r = new Ring(8);
  const slots = r.registerFileSlots(4);
  assert.is(slots.length, 4);
  assert.is(r.stats().registeredFiles, 4);
  const file = patternFile(5000);
  assert.is(await r.openat(file, 'r', 0o666, { fileSlot: slots[2] }), 2, 'resolves to the slot');
  const buf = Buffer.alloc(5000);
  assert.is((await r.read(slots[2], buf, { position: 0 })).bytesRead, 5000);
  assert.ok(buf.equals(pattern(5000)));
  // No fd was made: the process's fd table does not grow.
  const before = fs.readdirSync('/proc/self/fd').length;
  await r.openat(file, 'r', 0o666, { fileSlot: slots[3] });
  assert.is(fs.readdirSync('/proc/self/fd').length, before);
  assert.is(await r.openat(file, 'r', 0o666, { fileSlot: slots[1] }).then(() => r.closeFd(slots[1])), undefined);
  // An ordinary fd for the same open file (Linux 6.8+), sharing its position.
  await r.read(slots[3], Buffer.alloc(100), { position: -1 });
  const fd = await r.installFd(slots[3]);
  assert.ok(fd >= 0);
  const tail = Buffer.alloc(10);
  assert.is(fs.readSync(fd, tail, 0, 10, null), 10);
  assert.ok(tail.equals(pattern(5000).subarray(100, 110)), 'the fd continues at the slot\'s position');
  await r.closeFd(fd);
  await r.closeFd(slots[2]);
  await r.closeFd(slots[3]);
  try {
    await r.read(slots[2], buf, { position: 0 });
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'EBADF', 'an empty slot');
  }
  try {
    await r.openat(tmpPath('missing'), 'r', 0o666, { fileSlot: slots[0] });
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ENOENT');
    assert.is(err.syscall, 'open');
  }
  try {
    await r.openat(file, 'r', 0o666, { fileSlot: 3 });
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ERR_INVALID_ARG_TYPE');
  }
  assert.throws(() => r.registerFileSlots(0), (e) => e.code === 'ERR_OUT_OF_RANGE');
  await r.close();
});

test('on the fallback backend registration is refused with a clear code', () => {
  if (backend !== 'fallback') return;
  const fd = fs.openSync(patternFile(1), 'r');
  assert.throws(() => ring.registerFiles([fd]), (e) => e.code === 'ERR_UNSUPPORTED_OPERATION');
  fs.closeSync(fd);
});

test.run();
