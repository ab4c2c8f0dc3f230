#!/usr/bin/env node
// Cross-thread signaling: what one wake main → worker → main costs with each
// mechanism a dispatcher could use to hand work to a worker thread and get
// the answer back. No I/O is done: the worker turns each 16-word request
// record (the size of a submission descriptor) into a 4-word reply (the size
// of a completion), so the figures are the price of the hand-offs alone.
//
//   (a) Atomics.waitAsync on both sides, over two SharedQueues (the runtime's
//       own class, loaded from dist/), with its protocol: the producer rings
//       the doorbell (Atomics.notify) only when the consumer said it waits.
//   (b) MessagePort.postMessage both ways (an Int32Array each way).
//   (c) the worker blocks in a synchronous Atomics.wait (the same protocol),
//       the main thread waits with Atomics.waitAsync.
//   (d) piscina: `await pool.run(record)` of a trivial task on a one-thread
//       pool; by default its idle worker blocks in Atomics.wait, and the
//       request and reply travel by postMessage. (d') is the same pool with
//       `atomics: 'async'`, where the idle worker waits with waitAsync.
//   (e) batched: (a) and (b) again with 64 records per wake instead of 1.
//   (f) pipelined: (a) and (b) with 64 single-record requests in flight, each
//       sent on its own: whatever is queued when a side wakes, it takes.
//
// Every round trip (for (f), every request) is timed: performance.now()
// before the send, after the reply is in. Variants run one at a time,
// interleaved round by round with a rotating start; each has its own worker
// (or pool), started once, kept across rounds, and closed at the end.
//
//   node bench/signaling.mjs [--rounds N] [--seconds S] [--warmup S] [--only TEXT] [--json FILE]
//
// The defaults here are --seconds 1 and --warmup 0.1 (not 1.5 and 0.25) so
// that the default run stays under a minute; --size is accepted (bench/run.mjs
// passes it on) and ignored.
import { createRequire } from 'node:module';
import os from 'node:os';
import { MessageChannel, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseOrExit, runMain, selected } from './lib/cli.mjs';
import { LatencyRecorder, withDeadline } from './lib/lanes.mjs';
import { machineLine, reportHeader, writeJson } from './lib/report.mjs';
import { runRounds } from './lib/rounds.mjs';
import { columns, failedLabel, formatInt, formatRatio, formatTimes, median, printTable, spread } from './lib/stats.mjs';

const require = createRequire(import.meta.url);
const SELF = new URL(import.meta.url);

const REQUEST_WORDS = 16; // a submission record (DESC_WORDS)
const REPLY_WORDS = 4; // a completion record (id, generation, result, flags)
const BATCH = 64;
const IN_FLIGHT = 64; // requests outstanding in the pipelined variants
const QUEUE_CAPACITY = 256; // records per queue; more than one batch
const STOP = -1; // a request id that tells the worker to finish

const DEFAULT_SECONDS = 1;
const DEFAULT_WARMUP = 0.1;
const HANG_GRACE_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;

// Header words of SharedQueue (src/runtime/shared-queue.ts) that the blocking
// wait of variant (c) needs; checkQueueLayout() verifies them before use.
const TAIL_WORD = 16;
const WAITING_WORD = 32;

/** The runtime's SharedQueue class, from the build. */
function loadSharedQueue() {
  try {
    return require('../dist/src/runtime/shared-queue.js').SharedQueue;
  } catch (err) {
    throw new Error(`library not built? run \`npm run build\` (${String(err.message).split('\n')[0]})`);
  }
}

/** Fails loudly if SharedQueue's header layout no longer matches TAIL_WORD / WAITING_WORD. */
async function checkQueueLayout(SharedQueue) {
  const q = new SharedQueue(1, 4);
  q.publish(3);
  if (Atomics.load(q.header, TAIL_WORD) !== 3) throw new Error('SharedQueue layout changed: tail is not header word 16');
  const idle = new SharedQueue(1, 4);
  const waiting = idle.waitForData(0);
  const raised = Atomics.load(idle.header, WAITING_WORD) === 1;
  idle.publish(1);
  await waiting;
  if (!raised || Atomics.load(idle.header, WAITING_WORD) !== 0) {
    throw new Error('SharedQueue layout changed: the waiting flag is not header word 32');
  }
}

/**
 * SharedQueue.waitForData with a synchronous Atomics.wait instead of
 * waitAsync: the same protocol (raise `waiting`, re-check the tail, sleep),
 * but the thread, and its event loop, stop until the producer notifies.
 */
function waitForDataBlocking(q, head) {
  Atomics.store(q.header, WAITING_WORD, 1);
  const tail = Atomics.load(q.header, TAIL_WORD);
  if (tail === head) Atomics.wait(q.header, TAIL_WORD, tail);
  Atomics.store(q.header, WAITING_WORD, 0);
}

/** The reply the worker computes for a request record (checked by the main thread). */
function replyOf(data, at, out, outAt) {
  out[outAt] = data[at]; // id
  out[outAt + 1] = data[at + 1]; // generation
  out[outAt + 2] = (data[at + 2] + data[at + 15]) | 0; // "result"
  out[outAt + 3] = 0;
}

// ---------------------------------------------------------------------------
// Worker side. The same file runs as the worker (workerData.signalingRole)
// and as piscina's task module (the default export).

/** piscina's task: one request record in, one reply record out. */
export default function signalingTask(request) {
  const reply = new Int32Array(REPLY_WORDS);
  replyOf(request, 0, reply, 0);
  return reply;
}

/**
 * Turns every request in `ping` into a reply in `pong`, then publishes the
 * replies at once (one doorbell for the lot, as the ring worker does).
 * Returns false once it met the STOP record.
 */
function drainQueue(ping, pong) {
  const head = ping.head;
  const n = ping.available(head);
  if (n === 0) return true;
  let tail = pong.tail;
  if (pong.freeSlots(tail) < n) throw new Error('reply queue full');
  let running = true;
  for (let i = 0; i < n; i++) {
    const at = ping.offsetOf(head + i);
    if (ping.data[at] === STOP) {
      running = false;
      break;
    }
    replyOf(ping.data, at, pong.data, pong.offsetOf(tail));
    tail++;
  }
  ping.release(head + n);
  pong.publish(tail);
  return running;
}

async function runWorkerRole({ signalingRole, ping: pingSab, pong: pongSab, port }) {
  if (signalingRole === 'port') {
    port.on('message', (request) => {
      if (request[0] === STOP) {
        port.close();
        return;
      }
      const n = request.length / REQUEST_WORDS;
      const reply = new Int32Array(n * REPLY_WORDS);
      for (let i = 0; i < n; i++) replyOf(request, i * REQUEST_WORDS, reply, i * REPLY_WORDS);
      port.postMessage(reply);
    });
    parentPort.postMessage('ready');
    return;
  }
  const SharedQueue = loadSharedQueue();
  const ping = new SharedQueue(REQUEST_WORDS, QUEUE_CAPACITY, pingSab);
  const pong = new SharedQueue(REPLY_WORDS, QUEUE_CAPACITY, pongSab);
  if (signalingRole === 'queue-blocking') {
    parentPort.postMessage('ready');
    // The thread never returns to its event loop until STOP.
    while (drainQueue(ping, pong)) waitForDataBlocking(ping, ping.head);
    return;
  }
  // 'queue-async': the ring worker's serve loop. A pending waitAsync does not
  // keep a thread alive, so a listener on parentPort does (as in the ring worker).
  const keepAlive = () => {};
  parentPort.on('message', keepAlive);
  parentPort.postMessage('ready');
  while (drainQueue(ping, pong)) await ping.waitForData(ping.head);
  parentPort.off('message', keepAlive);
}

// ---------------------------------------------------------------------------
// Main side: one client per variant. exchange(batch) sends `batch` request
// records in one wake and resolves once all their replies are in and checked.

const requestTemplate = Int32Array.from({ length: REQUEST_WORDS }, (_, i) => 0x1000 + i);

function checkReply(data, at, id) {
  if (data[at] !== id || data[at + 2] !== ((requestTemplate[2] + requestTemplate[15]) | 0)) {
    throw new Error(`wrong reply: id ${data[at]} (expected ${id}), result ${data[at + 2]}`);
  }
}

async function startWorker(data, transferList = []) {
  const worker = new Worker(SELF, { workerData: data, transferList });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} during start-up`)));
  });
  worker.removeAllListeners('error').removeAllListeners('exit');
  worker.on('error', () => {}); // a failure shows up as a hang or a wrong reply
  return worker;
}

/** Waits for a worker told to finish; terminates it if it does not. Returns an error message or null. */
async function joinWorker(worker, name) {
  if (worker.threadId === -1) return null; // already gone
  let timer;
  const exited = new Promise((resolve) => worker.once('exit', () => resolve(true)));
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(false), EXIT_TIMEOUT_MS)));
  const ok = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (ok) return null;
  await worker.terminate();
  return `${name}: the worker did not exit within ${EXIT_TIMEOUT_MS / 1000} s of STOP and was terminated`;
}

const ID_MASK = 0x3fffffff; // request ids stay positive (STOP is -1)

/**
 * (a), (c), (f): requests through one SharedQueue, replies through another;
 * the main thread waits with waitAsync.
 *
 * exchange(batch): `batch` records in one publish, then the replies, drained
 * as the runtime's completion pump does (take what is there, sleep only when
 * nothing is). send(): one record, published on its own; its promise settles
 * when a pump that runs while anything is in flight delivers its reply.
 * A client uses one or the other, never both.
 */
async function queueClient(SharedQueue, role) {
  const ping = new SharedQueue(REQUEST_WORDS, QUEUE_CAPACITY);
  const pong = new SharedQueue(REPLY_WORDS, QUEUE_CAPACITY);
  const worker = await startWorker({ signalingRole: role, ping: ping.sab, pong: pong.sab });
  let nextId = 1;
  const publish = (first, count) => {
    let tail = ping.tail;
    if (ping.freeSlots(tail) < count) throw new Error('request queue full');
    for (let i = 0; i < count; i++) {
      const at = ping.offsetOf(tail++);
      ping.data.set(requestTemplate, at);
      ping.data[at] = first === STOP ? STOP : (first + i) & ID_MASK;
    }
    ping.publish(tail);
  };
  const waiters = new Map(); // id -> { resolve, reject }, for send()
  let pumping = false;
  const pump = async () => {
    pumping = true;
    await null; // never deliver from inside send()
    while (waiters.size > 0) {
      let head = pong.head;
      const n = pong.available(head);
      if (n === 0) {
        await pong.waitForData(head);
        continue;
      }
      for (let i = 0; i < n; i++) {
        const at = pong.offsetOf(head + i);
        const id = pong.data[at];
        const waiter = waiters.get(id);
        if (waiter === undefined) throw new Error(`reply for unknown id ${id}`);
        checkReply(pong.data, at, id);
        waiters.delete(id);
        waiter.resolve();
      }
      head += n;
      pong.release(head);
    }
    pumping = false;
  };
  return {
    async exchange(batch) {
      const first = nextId;
      nextId = (nextId + batch) & ID_MASK || 1;
      publish(first, batch);
      let head = pong.head;
      let got = 0;
      while (got < batch) {
        const n = pong.available(head);
        if (n === 0) {
          await pong.waitForData(head);
          continue;
        }
        for (let i = 0; i < n; i++) checkReply(pong.data, pong.offsetOf(head + i), (first + got + i) & ID_MASK);
        head += n;
        got += n;
        pong.release(head);
      }
    },
    send() {
      const id = nextId;
      nextId = (nextId + 1) & ID_MASK || 1;
      const reply = new Promise((resolve, reject) => waiters.set(id, { resolve, reject }));
      publish(id, 1);
      if (!pumping) {
        pump().catch((err) => {
          pumping = false;
          for (const waiter of waiters.values()) waiter.reject(err);
          waiters.clear();
        });
      }
      return reply;
    },
    async close(name) {
      publish(STOP, 1);
      return joinWorker(worker, name);
    },
  };
}

/**
 * (b), (f): request records by postMessage (an Int32Array), replies the same
 * way back. exchange(batch) sends `batch` records in one message; send() one
 * record per message, its promise settled by the reply carrying its id.
 */
async function portClient() {
  const { port1, port2 } = new MessageChannel();
  const worker = await startWorker({ signalingRole: 'port', port: port2 }, [port2]);
  const waiters = new Map(); // first id of a request message -> resolve(reply)
  port1.on('message', (reply) => {
    const resolve = waiters.get(reply[0]);
    waiters.delete(reply[0]);
    if (resolve) resolve(reply);
  });
  const requests = new Map(); // batch size -> reusable request array (postMessage copies it)
  let nextId = 1;
  const post = (batch) => {
    let request = requests.get(batch);
    if (!request) {
      request = new Int32Array(batch * REQUEST_WORDS);
      for (let i = 0; i < batch; i++) request.set(requestTemplate, i * REQUEST_WORDS);
      requests.set(batch, request);
    }
    const first = nextId;
    nextId = (nextId + batch) & ID_MASK || 1;
    for (let i = 0; i < batch; i++) request[i * REQUEST_WORDS] = (first + i) & ID_MASK;
    const reply = new Promise((resolve) => waiters.set(first, resolve));
    port1.postMessage(request);
    return { first, reply };
  };
  return {
    async exchange(batch) {
      const { first, reply: pending } = post(batch);
      const reply = await pending;
      if (reply.length !== batch * REPLY_WORDS) throw new Error(`wrong reply: ${reply.length / REPLY_WORDS} records for ${batch}`);
      for (let i = 0; i < batch; i++) checkReply(reply, i * REPLY_WORDS, (first + i) & ID_MASK);
    },
    async send() {
      const { first, reply } = post(1);
      checkReply(await reply, 0, first);
    },
    async close(name) {
      port1.postMessage(Int32Array.of(STOP));
      const error = await joinWorker(worker, name);
      port1.close();
      return error;
    },
  };
}

/** (d): a one-thread piscina pool running signalingTask. */
async function piscinaClient(Piscina, atomics) {
  const pool = new Piscina({
    filename: SELF.href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: 10 * 60_000,
    ...(atomics ? { atomics } : {}),
  });
  const request = Int32Array.from(requestTemplate);
  let nextId = 1;
  const client = {
    async exchange(batch) {
      if (batch !== 1) throw new Error('piscina variants send one record per task');
      const id = nextId;
      nextId = (nextId + 1) & ID_MASK || 1;
      request[0] = id;
      checkReply(await pool.run(request), 0, id);
    },
    async close() {
      await pool.close();
      return null;
    },
  };
  await client.exchange(1); // the pool's thread is up and the task module loaded
  return client;
}

// ---------------------------------------------------------------------------
// Measurement.

/**
 * Per-round-trip latencies, with the whole process's CPU time (main thread
 * and every worker, user + system) per round trip.
 */
function roundTripResult(rec) {
  const { ops, seconds, p50, p99, cpuMicros } = rec.result();
  return { roundTrips: ops, seconds, p50, p99, cpuMicrosPerRoundTrip: cpuMicros / ops };
}

async function timedRun(client, batch, seconds) {
  const rec = new LatencyRecorder(seconds, { cpu: true });
  for (;;) {
    const t0 = performance.now();
    await client.exchange(batch);
    if (rec.record(t0, performance.now())) break;
  }
  return roundTripResult(rec);
}

/**
 * IN_FLIGHT lanes, each sending one record and awaiting its reply, over and
 * over: a dispatcher under load. Each record is published (or posted) on its
 * own; how many wakes that takes depends on the mechanism.
 */
async function pipelinedRun(client, seconds) {
  const rec = new LatencyRecorder(seconds, { cpu: true });
  let done = false;
  const lane = async () => {
    while (!done) {
      const t0 = performance.now();
      await client.send();
      if (rec.record(t0, performance.now())) done = true;
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: IN_FLIGHT }, lane));
  const failed = settled.find((x) => x.status === 'rejected');
  if (failed) throw failed.reason;
  return roundTripResult(rec);
}

const run = (v, client, seconds) => (v.inFlight > 1 ? pipelinedRun(client, seconds) : timedRun(client, v.batch, seconds));

// What a run that never finishes most likely lost.
const LOST_WAKE = 'lost wake-up?';

const A = '(a) waitAsync both sides';
const B = '(b) postMessage both ways';
const C = '(c) worker Atomics.wait, main waitAsync';
const D = '(d) piscina run()';
const D_ASYNC = "(d') piscina run(), atomics: 'async'";
const A_BATCH = `(e) waitAsync both sides, ${BATCH}/wake`;
const B_BATCH = `(e) postMessage both ways, ${BATCH}/wake`;
const A_PIPE = `(f) waitAsync both sides, ${IN_FLIGHT} in flight`;
const B_PIPE = `(f) postMessage both ways, ${IN_FLIGHT} in flight`;

function variants(SharedQueue, Piscina) {
  const list = [
    { name: A, mechanism: 'a', batch: 1, start: () => queueClient(SharedQueue, 'queue-async') },
    { name: B, mechanism: 'b', batch: 1, start: () => portClient() },
    { name: C, mechanism: 'c', batch: 1, start: () => queueClient(SharedQueue, 'queue-blocking') },
    { name: D, mechanism: 'd', batch: 1, start: () => piscinaClient(Piscina, null) },
    { name: D_ASYNC, mechanism: 'd', batch: 1, start: () => piscinaClient(Piscina, 'async') },
    { name: A_BATCH, mechanism: 'a', batch: BATCH, start: () => queueClient(SharedQueue, 'queue-async') },
    { name: B_BATCH, mechanism: 'b', batch: BATCH, start: () => portClient() },
    { name: A_PIPE, mechanism: 'a', batch: 1, inFlight: IN_FLIGHT, start: () => queueClient(SharedQueue, 'queue-async') },
    { name: B_PIPE, mechanism: 'b', batch: 1, inFlight: IN_FLIGHT, start: () => portClient() },
  ];
  const available = (v) => (v.mechanism === 'd' ? Piscina !== null : v.mechanism === 'b' || SharedQueue !== null);
  return list.filter(available);
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = parseOrExit(
    'signaling',
    argv,
    `\n(here --seconds defaults to ${DEFAULT_SECONDS} and --warmup to ${DEFAULT_WARMUP}; --size is ignored)`,
  );
  if (!opts) return;
  const given = (name) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!given('seconds')) opts.seconds = DEFAULT_SECONDS;
  if (!given('warmup')) opts.warmup = DEFAULT_WARMUP;

  const notes = [];
  let SharedQueue = null;
  try {
    SharedQueue = loadSharedQueue();
    await checkQueueLayout(SharedQueue);
  } catch (err) {
    SharedQueue = null;
    notes.push(`SharedQueue variants (a), (c), (e) skipped: ${err.message}`);
  }
  let Piscina = null;
  try {
    const mod = await import('piscina');
    Piscina = mod.Piscina ?? mod.default;
  } catch (err) {
    notes.push(`piscina variants skipped: ${String(err.message).split('\n')[0]} (it is a devDependency: npm install)`);
  }
  let piscinaVersion = null;
  if (Piscina) {
    try {
      piscinaVersion = require('piscina/package.json').version;
    } catch {}
  }

  const active = variants(SharedQueue, Piscina).filter((v) => selected(opts.only, v.name));
  if (active.length === 0) {
    console.error(`signaling: no variant matches --only ${opts.only.join(', ')}`);
    for (const note of notes) console.error(`  note: ${note}`);
    process.exit(2);
  }

  console.log('signaling: one wake main → worker → main, per mechanism (no I/O: a 64 B request record in, a 16 B reply out)');
  console.log(`  ${machineLine()}, availableParallelism ${os.availableParallelism()}`);
  console.log(`  ${opts.rounds} rounds x ${opts.seconds} s per variant, ${opts.warmup} s warm-up before each run` +
    (piscinaVersion ? `; piscina ${piscinaVersion}` : ''));
  for (const note of notes) console.log(`  note: ${note}`);
  console.log('');

  const deadlineMs = (seconds) => seconds * 1000 + HANG_GRACE_MS;
  const state = await runRounds(active, opts, {
    setupStage: 'start-up',
    setup: (v) => withDeadline(v.start(), HANG_GRACE_MS, 'start-up', LOST_WAKE),
    run: (v, client, seconds, what) => withDeadline(run(v, client, seconds), deadlineMs(seconds), what, LOST_WAKE),
    line: (v, r) =>
      `  ${v.name.padEnd(44)} ${formatInt(r.roundTrips / r.seconds).padStart(8)} ${v.inFlight > 1 ? 'requests/s   ' : 'round trips/s'}` +
      `   p50 ${formatRatio(r.p50).padStart(7)} us   p99 ${formatRatio(r.p99).padStart(8)} us` +
      `   cpu ${formatRatio(r.cpuMicrosPerRoundTrip, 1).padStart(6)} us/rt`,
  });

  const closeErrors = [];
  for (const v of active) {
    const { ctx: client, ready } = state.get(v);
    if (!ready) continue;
    try {
      const message = await withDeadline(client.close(v.name), EXIT_TIMEOUT_MS * 2, `closing ${v.name}`, LOST_WAKE);
      if (message) closeErrors.push(message);
    } catch (err) {
      closeErrors.push(`${v.name}: close failed: ${err.message}`);
    }
  }

  // -------------------------------------------------------------------------
  // Report: medians over the rounds of each round's figures.
  const results = active.map((v) => {
    const { samples, error } = state.get(v);
    const rates = samples.map((r) => r.roundTrips / r.seconds);
    const { median: rate, min: lo, max: hi } = spread(rates);
    return {
      name: v.name,
      mechanism: v.mechanism,
      recordsPerWake: v.batch,
      inFlight: v.inFlight ?? 1,
      rounds: samples,
      roundTripsPerSec: rate,
      min: lo,
      max: hi,
      recordsPerSec: rate * v.batch,
      p50: median(samples.map((r) => r.p50)),
      p99: median(samples.map((r) => r.p99)),
      cpuMicrosPerRoundTrip: median(samples.map((r) => r.cpuMicrosPerRoundTrip)),
      error,
    };
  });
  const byName = (name) => results.find((r) => r.name === name);
  const label = (r) => failedLabel(r.name, r.error, r.rounds.length);

  const single = results.filter((r) => r.recordsPerWake === 1 && r.inFlight === 1);
  if (single.length > 0) {
    const base = byName(A);
    console.log('');
    console.log(`Round trip, one record per wake: medians over ${opts.rounds} rounds of each round's p50 / p99 / rate`);
    printTable(
      columns('<mechanism', 'p50 us', 'p99 us', 'round trips/s', 'min', 'max', 'CPU us/rt', 'p50 vs (a)'),
      single.map((r) => [
        label(r), formatRatio(r.p50), formatRatio(r.p99), formatInt(r.roundTripsPerSec), formatInt(r.min), formatInt(r.max),
        formatRatio(r.cpuMicrosPerRoundTrip, 1), formatTimes(r.p50 / (base?.p50 ?? NaN)),
      ]),
    );
    console.log('  (CPU us/rt: user + system time of the whole process, all threads, per round trip)');
  }

  const howSent = (r) =>
    r.inFlight > 1 ? `${r.inFlight} in flight, 1 per send` : r.recordsPerWake > 1 ? `${r.recordsPerWake} per wake` : '1 per wake';
  const throughputRows = [[A, A_BATCH, A_PIPE], [B, B_BATCH, B_PIPE]].flatMap(([one, ...more]) => {
    const r1 = byName(one);
    const others = more.map(byName).filter(Boolean);
    if (others.length === 0) return [];
    return [r1, ...others].filter(Boolean).map((r) => ({ r, perOne: r.recordsPerSec / (r1?.recordsPerSec ?? NaN) }));
  });
  if (throughputRows.length > 0) {
    console.log('');
    console.log(`Throughput: records/s with 1 record per wake (ping-pong), ${BATCH} per wake (the worker answers all in one wake), ` +
      `and ${IN_FLIGHT} single-record requests in flight`);
    printTable(
      columns('<mechanism', '<records sent', 'records/s', 'p50 us', 'CPU us/record', 'vs 1/wake'),
      throughputRows.map(({ r, perOne }) => [
        (r.mechanism === 'a' ? A : B) + (r.error && r.rounds.length === 0 ? ' (failed)' : ''), howSent(r), formatInt(r.recordsPerSec),
        formatRatio(r.p50), formatRatio(r.cpuMicrosPerRoundTrip / r.recordsPerWake, 2), formatTimes(perOne),
      ]),
    );
    console.log('  (p50: of one round trip; with requests in flight, of one request from send to reply)');
  }

  const failed = results.filter((r) => r.error);
  for (const r of failed) console.log(`  note: ${r.name} failed: ${r.error}`);
  for (const message of closeErrors) console.log(`  note: ${message}`);
  for (const note of notes) console.log(`  note: ${note}`);

  if (opts.json) {
    const report = {
      ...reportHeader('signaling'),
      availableParallelism: os.availableParallelism(),
      piscina: piscinaVersion,
      rounds: opts.rounds,
      seconds: opts.seconds,
      warmup: opts.warmup,
      results,
      closeErrors,
      notes,
    };
    writeJson(opts.json, report);
    console.log(`\nresults written to ${opts.json}`);
  }
  if (failed.length > 0 || closeErrors.length > 0) process.exitCode = 1;
}

if (isMainThread) {
  // Exit explicitly: a worker that hung must not keep the benchmark from finishing.
  runMain(main);
} else if (workerData?.signalingRole) {
  runWorkerRole(workerData).catch((err) => {
    // The main thread sees a missing reply (a hang) and reports it.
    console.error(`signaling worker: ${err.stack ?? err}`);
    process.exit(1);
  });
}
