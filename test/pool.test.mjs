import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, BufferPool, PooledBuffer } from 'safer-ring';
import { patternFile, pattern, NOT_OPEN_FD } from './helpers/env.mjs';

test('get() hands out buffers until the pool is empty, then undefined; release returns them', () => {
  const pool = new BufferPool(3, 1024);
  const a = pool.get();
  const b = pool.get();
  const c = pool.get();
  assert.instance(a, PooledBuffer);
  assert.is(a.length, 1024);
  assert.is(pool.get(), undefined);
  assert.equal(pool.stats(), { total: 3, available: 0, inUse: 3, waiting: 0 });
  b.release();
  assert.is(pool.available, 1);
  const again = pool.get();
  assert.ok(again.isValid);
  for (const x of [a, c, again]) x.release();
  assert.is(pool.inUse, 0);
});

test('acquire() waits for a release, first come first served, and honours abort', async () => {
  const pool = new BufferPool(1, 64);
  const held = pool.get();
  const order = [];
  const first = pool.acquire().then((buf) => (order.push('first'), buf));
  const ac = new AbortController();
  const aborted = pool.acquire({ signal: ac.signal });
  const second = pool.acquire().then((buf) => (order.push('second'), buf));
  ac.abort();
  try {
    await aborted;
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ABORT_ERR');
  }
  assert.is(pool.stats().waiting, 2);
  held.release();
  const f = await first;
  f.release();
  const s = await second;
  assert.equal(order, ['first', 'second']);
  s.release();
  assert.is(pool.available, 1);
});

test('a pooled buffer moved through an op comes back as a PooledBuffer and returns to the pool', async () => {
  const ring = new Ring(8);
  const pool = new BufferPool(2, 4096);
  const fd = fs.openSync(patternFile(4096), 'r');
  const { bytesRead, buffer } = await ring.readOwned(fd, pool.get(), { position: 0 });
  assert.is(bytesRead, 4096);
  assert.instance(buffer, PooledBuffer);
  assert.ok(Buffer.from(buffer.bytes).equals(pattern(4096)));
  assert.is(pool.available, 1);
  buffer.release();
  assert.is(pool.available, 2);
  // A failed op gives the pooled buffer back to the pool by itself.
  fs.closeSync(fd);
  try {
    await ring.readOwned(NOT_OPEN_FD, pool.get());
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'EBADF');
  }
  assert.is(pool.available, 2);
  await ring.close();
});

test('exhaustion under load: 4 buffers serve 200 reads', async () => {
  const ring = new Ring(16);
  const pool = new BufferPool(4, 512);
  const fd = fs.openSync(patternFile(8192), 'r');
  const data = pattern(8192);
  let maxInUse = 0;
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const buf = await pool.acquire();
      maxInUse = Math.max(maxInUse, pool.inUse);
      const pos = (i * 64) % 7680;
      const { buffer } = await ring.readOwned(fd, buf, { position: pos });
      assert.ok(Buffer.from(buffer.bytes).equals(data.subarray(pos, pos + 512)));
      buffer.release();
    }),
  );
  assert.is(maxInUse, 4);
  assert.is(pool.available, 4);
  fs.closeSync(fd);
  await ring.close();
});

test('close() gives the memory back to the arena: idle buffers at once, handed-out ones when released (regression: a closed pool leaked its slots)', async () => {
  const ring = new Ring(4);
  const inUse = () => ring.stats().arena.slotsInUse;
  const before = inUse();
  const pool = new BufferPool(5, 2048);
  assert.is(inUse(), before + 5);
  const held = pool.get();
  pool.close();
  assert.is(inUse(), before + 1, 'the four idle slots are free again');
  assert.ok(held.isValid, 'a buffer handed out stays valid');
  assert.equal(pool.stats(), { total: 5, available: 0, inUse: 1, waiting: 0 });
  try {
    await pool.acquire();
    assert.unreachable('acquire() on a closed pool');
  } catch (err) {
    assert.is(err.code, 'ERR_INVALID_STATE');
  }
  held.release();
  assert.is(inUse(), before, 'released after close: back to the arena');
  assert.is(pool.inUse, 0);
  await ring.close();
});

test.run();
