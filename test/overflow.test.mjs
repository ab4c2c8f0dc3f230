import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, OwnedBuffer } from 'safer-ring';
import { patternFile, pattern } from './helpers/env.mjs';

test('10x more ops than ring entries are queued and all complete with the right bytes', async () => {
  const ring = new Ring(8);
  const size = 64 * 1024;
  const data = pattern(size);
  const fd = fs.openSync(patternFile(size), 'r');
  const n = ring.entries * 10 * 2; // 10x the CQ, 20x the SQ
  const ops = [];
  for (let i = 0; i < n; i++) {
    const pos = (i * 977) % (size - 512);
    ops.push(ring.readOwned(fd, new OwnedBuffer(512), { position: pos }).then(({ bytesRead, buffer }) => {
      assert.is(bytesRead, 512);
      assert.ok(Buffer.from(buffer.bytes).equals(data.subarray(pos, pos + 512)), `op ${i}`);
      buffer.release();
    }));
  }
  assert.ok(ring.stats().queued > 0 || ring.stats().inFlight > 0);
  await Promise.all(ops);
  const st = ring.stats();
  assert.is(st.inFlight, 0);
  assert.is(st.completed, n);
  assert.ok(st.submitCalls < n, 'batched: fewer submits than ops');
  fs.closeSync(fd);
  await ring.close();
});

test('ordered writes through one ring land in order', async () => {
  const ring = new Ring(4);
  const file = patternFile(0);
  const fd = fs.openSync(file, 'w');
  const writes = [];
  for (let i = 0; i < 100; i++) writes.push(ring.write(fd, Buffer.from(`${i},`), { position: -1 }));
  await Promise.all(writes);
  fs.closeSync(fd);
  // Positions are "current": the kernel serialises them per file in submission order for regular files.
  const text = fs.readFileSync(file, 'utf8');
  assert.is(text.split(',').filter(Boolean).length, 100);
  await ring.close();
});

test.run();
