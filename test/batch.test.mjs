// Batches on one Ring: all-or-nothing submission, and link semantics (the
// fallback backend must match the kernel's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, Batch, Operation } from 'safer-ring';
import { tmpPath, patternFile, NOT_OPEN_FD } from './helpers/env.mjs';

const ring = new Ring(16);
test.after(() => ring.close());


test('a hard link runs its successor even when the op before it failed; a plain link does not', async () => {
  const file = tmpPath('hardlink');
  const fd = fs.openSync(file, 'w+');
  const bad = NOT_OPEN_FD;
  const batch = new Batch()
    .add(Operation.read().fd(bad).buffer(Buffer.alloc(4)).offset(0))
    .add(Operation.write().fd(fd).buffer(Buffer.from('hard')).offset(0), { dependsOnPrevious: 'hard' })
    .add(Operation.write().fd(fd).buffer(Buffer.from('!')).offset(4), { dependsOnPrevious: true });
  const { results } = await ring.submitBatch(batch);
  assert.is(results[0].reason.code, 'EBADF');
  // The read failed, yet the write hard-linked after it ran...
  assert.is(results[1].value.bytesWritten, 4);
  // ...and the plain link after a successful write runs too.
  assert.is(results[2].value.bytesWritten, 1);
  assert.is(fs.readFileSync(file, 'utf8'), 'hard!');
  fs.closeSync(fd);
});

test('a short read breaks a link chain, as the kernel does', async () => {
  const src = fs.openSync(patternFile(10), 'r');
  const out = tmpPath('short');
  const dst = fs.openSync(out, 'w');
  const batch = new Batch()
    .add(Operation.read().fd(src).buffer(Buffer.alloc(100)).offset(0)) // only 10 bytes exist
    .add(Operation.write().fd(dst).buffer(Buffer.from('after')).offset(0), { dependsOnPrevious: true });
  const { results } = await ring.submitBatch(batch);
  assert.is(results[0].value.bytesRead, 10);
  assert.is(results[1].reason.code, 'ECANCELED');
  assert.is(fs.readFileSync(out, 'utf8'), '');
  fs.closeSync(src);
  fs.closeSync(dst);
});

test('operations in a batch complete in order within their chain', async () => {
  const file = tmpPath('chain');
  const fd = fs.openSync(file, 'w+');
  const batch = new Batch();
  for (let i = 0; i < 8; i++) {
    batch.add(Operation.write().fd(fd).buffer(Buffer.from(String(i))).offset(i), { dependsOnPrevious: i > 0 });
  }
  batch.add(Operation.fsync().fd(fd), { dependsOnPrevious: true });
  const { results } = await ring.submitBatch(batch);
  assert.ok(results.every((r) => r.status === 'fulfilled'));
  assert.is(fs.readFileSync(file, 'utf8'), '01234567');
  fs.closeSync(fd);
});

test('a batch larger than the ring is refused whole', async () => {
  const batch = new Batch();
  for (let i = 0; i < 17; i++) batch.add(Operation.nop());
  const { results } = await ring.submitBatch(batch);
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'ERR_OUT_OF_RANGE'));
  assert.throws(() => new Batch().add(Operation.nop(), { dependsOnPrevious: true }), (e) => e.code === 'ERR_INVALID_ARG_VALUE');
});

test.run();
