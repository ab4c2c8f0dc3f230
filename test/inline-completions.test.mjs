// Completions at submit: on the inline io_uring ring, what completes inside
// io_uring_submit (nops, page-cached reads, opens) is delivered from the flush
// microtask instead of after a trip round the event loop to the eventfd; on
// both backends, results still arrive asynchronously, in order, and a chain of
// such completions cannot keep the event loop from turning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Ring, OwnedBuffer, SaferRingConfig } from 'safer-ring';
import { patternFile, pattern, backend } from './helpers/env.mjs';

const ring = new Ring(32);
test.after(() => ring.close());

test('an op never settles inside the call that started it; it settles after microtasks queued after the call', async () => {
  const order = [];
  let settled = false;
  const p = ring.nop().then(() => {
    settled = true;
    order.push('op');
  });
  assert.is(settled, false);
  queueMicrotask(() => order.push('microtask queued after the call'));
  await p;
  assert.equal(order, ['microtask queued after the call', 'op']);
});

(backend === 'fallback' ? test.skip : test)('io_uring: what completes during the submit is delivered before the event loop turns', async () => {
  const file = patternFile(1 << 16); // just written: in the page cache
  const fd = fs.openSync(file, 'r');
  let loopTurned = false;
  setImmediate(() => { loopTurned = true; });
  await ring.nop();
  const { bytesRead, buffer } = await ring.readOwned(fd, new OwnedBuffer(4096), { position: 8192 });
  const fd2 = await ring.openat(file, 'r');
  assert.is(loopTurned, false, 'nop, cached read and open all settled within one turn of the loop');
  assert.is(bytesRead, 4096);
  assert.ok(Buffer.from(buffer.bytes).equals(pattern(1 << 16).subarray(8192, 8192 + 4096)));
  assert.is(fs.fstatSync(fd2).size, 1 << 16);
  // statx runs in the kernel's worker threads: it arrives through the eventfd, or
  // is reaped with the submit if that worker was quicker than the submit's return.
  assert.is((await ring.statx(fd)).size, 1 << 16);
  buffer.release();
  fs.closeSync(fd);
  fs.closeSync(fd2);
});

test('a chain of ops that each complete at once still lets timers and immediates run (bounded per loop turn)', async () => {
  let immediate = false;
  let timer = false;
  setImmediate(() => { immediate = true; });
  setTimeout(() => { timer = true; }, 0);
  let ops = 0;
  while (!(immediate && timer) && ops < 200_000) {
    await ring.nop();
    ops++;
  }
  assert.ok(immediate && timer, `the loop turned while ${ops} ops ran back to back`);
  // The inline budget is 1024 completions per turn: a handful of turns at most.
  assert.ok(ops < 20_000, `${ops} ops before the loop turned twice`);
});

test('64 lanes of cached reads run to the end with the right bytes (inline delivery under load)', async () => {
  const size = 1 << 20;
  const data = pattern(size);
  const fd = fs.openSync(patternFile(size), 'r');
  const lanes = await Promise.all(Array.from({ length: 64 }, async (_, lane) => {
    let buf = new OwnedBuffer(4096);
    for (let k = 0; k < 50; k++) {
      const position = ((lane * 50 + k) * 4096 * 7) % (size - 4096);
      const r = await ring.readOwned(fd, buf, { position });
      assert.is(r.bytesRead, 4096);
      assert.ok(Buffer.from(r.buffer.bytes).equals(data.subarray(position, position + 4096)), `lane ${lane} read ${k}`);
      buf = r.buffer;
    }
    return buf;
  }));
  for (const b of lanes) b.release();
  fs.closeSync(fd);
  assert.is(ring.stats().inFlight, 0);
});

test('a ring closed from a completion that arrived inline closes cleanly; later ops reject', async () => {
  const r = new Ring(8);
  const results = await Promise.allSettled([r.nop().then(() => r.close()), r.nop(), r.nop()]);
  assert.ok(results.every((x) => x.status === 'fulfilled'), JSON.stringify(results.map((x) => x.status)));
  await r.close();
  assert.is(r.stats().inFlight, 0);
  await r.nop().then(() => assert.unreachable(), (e) => assert.is(e.code, 'ERR_RING_CLOSED'));
});

(backend === 'fallback' ? test.skip : test)('io_uring: with a DEFER_TASKRUN ring, ops that complete later (timeouts) still arrive through the eventfd', async () => {
  const r = Ring.withConfig(SaferRingConfig.builder().deferTaskrun().build());
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await Promise.all([r.timeout(2), r.nop(), r.nop()]);
    assert.ok(performance.now() - t0 >= 1.5, 'a 2 ms timeout does not fire early');
  }
  await r.close();
});

test('a process whose ring delivered completions inline and went idle exits by itself', () => {
  const script = `
    const { Ring } = require('safer-ring');
    const ring = new Ring(8);
    (async () => { for (let i = 0; i < 3000; i++) await ring.nop(); console.log('done'); })();`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15_000 });
  assert.is(out.trim(), 'done');
});

test.run();
