// The runtime's watchdog for lost cross-thread wake-ups (src/runtime/
// shared-queue.ts, remote-ring.ts): a wait on a queue whose records are
// already published ends within a few of the watchdog's looks, even when the
// Atomics.notify that should have ended it never comes. Here the producer's
// side is played by the test, which publishes without notifying.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { oncePerBackend } from './helpers/env.mjs';

const test = oncePerBackend(base);
const require = createRequire(import.meta.url);
const { SharedQueue } = require('../dist/src/runtime/shared-queue.js');
const { remoteRingClass } = require('../dist/src/runtime/remote-ring.js');
const { SQ_RECORD_WORDS, CQ_RECORD_WORDS } = require('../dist/src/runtime/protocol.js');
const { DESC_WORDS, COMPLETION_WORDS } = require('../dist/src/ring/descriptor.js');

const TAIL = 16; // shared-queue.ts's producer word
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes `n` records as a producer whose wake-up gets lost: the tail moves, nobody is notified. */
function publishSilently(q, n) {
  Atomics.store(q.header, TAIL, (Atomics.load(q.header, TAIL) + n) | 0);
}

test('SharedQueue: a pending wait can be found overdue and ended; a late wake-up then changes nothing', async () => {
  const q = new SharedQueue(4, 8);
  assert.is(q.overdueWait(), 0, 'no wait pending');
  let ended = false;
  const wait = q.waitForData(q.head).then(() => { ended = true; });
  await sleep(5);
  assert.is(q.overdueWait(), 0, 'pending, but nothing published yet');
  publishSilently(q, 1);
  await sleep(5);
  assert.not.ok(ended, 'no notify: the wait goes on');
  const serial = q.overdueWait();
  assert.ok(serial > 0, 'overdue');
  assert.not.ok(q.rescue(serial + 1), 'another wait\'s number ends nothing');
  assert.not.ok(q.notifiedDuringWait(), 'no notify made since the wait began');
  Atomics.add(q.header, 40, 1); // a producer's notify count, as after a notify
  assert.ok(q.notifiedDuringWait());
  assert.ok(q.rescue(serial));
  await wait;
  assert.ok(ended);
  assert.is(q.overdueWait(), 0);
  assert.not.ok(q.rescue(serial), 'already ended');
  // A new wait, then the old wake-up arriving late: the new wait's flag is not taken down by it.
  q.release(q.head + 1);
  const next = q.waitForData(q.head);
  assert.is(Atomics.load(q.header, 32), 1, 'the new wait raised its flag');
  Atomics.notify(q.header, TAIL); // wakes every waiter on the word, the stale one included
  await next; // a spurious wake-up for the new wait, which the consumer handles by looking again
  assert.is(Atomics.load(q.header, 32), 0);
});

test('RemoteRing: completions published without a wake-up are delivered by the watchdog, and counted', async () => {
  const sent = [];
  const worker = { ref() {}, unref() {}, postMessage: (m) => sent.push(m.type) };
  const channel = {
    worker, sq: new SharedQueue(SQ_RECORD_WORDS, 16), cq: new SharedQueue(CQ_RECORD_WORDS, 16),
    info: { live: true, flags: 0, sqEntries: 4, cqEntries: 8, fixedBufferSlots: 0, registeredFiles: 0 }, lostWakeups: 0,
  };
  const desc = new Int32Array(4 * DESC_WORDS);
  const comps = new Int32Array(8 * COMPLETION_WORDS);
  const delivered = [];
  const RingClass = remoteRingClass(channel);
  const ring = new RingClass(4, 0, 0, desc, comps, new Int32Array(16), (n) => {
    for (let i = 0; i < n; i++) delivered.push(comps[i * COMPLETION_WORDS]);
  });
  desc[0] = 0; // a NOP: what it is does not matter to the queue
  ring.submit(1);
  assert.is(ring.inFlight(), 1);
  await sleep(5);
  // The "worker" answers: a completion record for op id 42, published, the
  // waiting flag taken down and the notify counted as a notifying producer
  // does, and the wake-up lost.
  const cq = channel.cq;
  cq.data.set([42, 1, 0, 0], cq.offsetOf(cq.tail));
  publishSilently(cq, 1);
  assert.is(Atomics.compareExchange(cq.header, 32, 1, 0), 1, 'the pump was waiting');
  Atomics.add(cq.header, 40, 1); // the notify count, as after a notify that went nowhere
  const start = Date.now();
  while (delivered.length === 0 && Date.now() - start < 2000) await sleep(10);
  assert.equal(delivered, [42], 'the completion arrived without its wake-up');
  assert.ok(Date.now() - start < 1000, `within a few looks (${Date.now() - start} ms)`);
  assert.is(channel.lostWakeups, 1);
  assert.is(ring.inFlight(), 0);
  // The submission was never taken (no worker read the queue): the watchdog asked the worker to look.
  assert.ok(sent.includes('wake'), `messages to the worker: ${sent}`);
});

test.run();
