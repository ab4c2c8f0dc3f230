#!/usr/bin/env node
// The native layer reads each descriptor once. Here the descriptor and iovec
// arrays are shared memory that a second thread rewrites without pause,
// flipping a length between a valid 64 and an overlong 65536, while this
// thread submits reads from /dev/zero into a 64-byte slot. If submit read a
// field twice (once to check it, once to use it), the kernel would sometimes
// get the overlong length and fill the neighbouring slots: those must keep
// their sentinel. (It did, before submit worked from a private copy.)
//
//   node test/fuzz/native-race-child.mjs [--time-ms N]
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { binding } = require(path.join(root, 'dist', 'src', 'native.js'));
if (binding === null) {
  process.stdout.write(`${JSON.stringify({ skipped: 'the native addon is not available' })}\n`);
  process.exit(0);
}
const at = process.argv.indexOf('--time-ms');
const timeMs = at > 0 ? Number(process.argv[at + 1]) : 1500;
const SENTINEL = 0xa5;

const desc = new Int32Array(new SharedArrayBuffer(16 * 4));
const descF64 = new Float64Array(desc.buffer);
const iovs = new Int32Array(new SharedArrayBuffer(3 * 4 * 4));
const comps = new Int32Array(64);
let pending = 0;
const onComplete = (n) => { pending -= n; };
const ring = new binding.NativeRing(8, 0, 0, desc, comps, iovs, onComplete);
const view = new Uint8Array(new SharedArrayBuffer(1 << 20));
view.fill(SENTINEL);
const SENTINEL_BLOCK = Buffer.alloc(view.length - 64, SENTINEL);
ring.addChunk(0, view, 64);
const zero = fs.openSync('/dev/zero', 'r');

const up = new Int32Array(new SharedArrayBuffer(4));
// The flipper: word 7 (the read's length) and word 2 of the first iovec triple (its length).
const flipper = new Worker(`
  const { workerData } = require('node:worker_threads');
  const d = new Int32Array(workerData.desc), v = new Int32Array(workerData.iovs), up = new Int32Array(workerData.up);
  Atomics.store(up, 0, 1);
  Atomics.notify(up, 0);
  for (;;) { d[7] = 65536; v[2] = 65536; d[7] = 64; v[2] = 64; }
`, { eval: true, workerData: { desc: desc.buffer, iovs: iovs.buffer, up: up.buffer } });
flipper.unref();
// The clock starts once the flipper runs.
Atomics.wait(up, 0, 0, 20_000);

let accepted = 0;
let refused = 0;
const t0 = Date.now();
for (let round = 0; Date.now() - t0 < timeMs; round++) {
  const readv = round % 2 === 1;
  desc.fill(0);
  desc[0] = readv ? 3 : 1; // READ or READV
  desc[1] = zero;
  desc[2] = round + 1;
  desc[5] = 0; desc[6] = 0; desc[7] = 64;
  descF64[4] = -1;
  desc[12] = readv ? 0 : -1; desc[14] = readv ? 1 : 0; // one iovec at triple 0
  iovs[0] = 0; iovs[1] = 0; iovs[2] = 64;
  try {
    ring.submit(1);
    accepted++;
    pending++;
  } catch (err) {
    if (err.code !== 'ERR_INVALID_ARG_VALUE') throw err;
    refused++;
  }
  const end = Date.now() + 2000;
  while (pending > 0 && Date.now() < end) pending -= ring.reap();
  if (Buffer.from(view.buffer).compare(SENTINEL_BLOCK, 0, SENTINEL_BLOCK.length, 64) !== 0) {
    const bad = view.subarray(64).findIndex((b) => b !== SENTINEL);
    process.stdout.write(`${JSON.stringify({ violation: `the kernel wrote past the 64-byte slot (byte ${64 + bad})`, accepted, refused })}\n`);
    process.exit(1);
  }
  view.fill(SENTINEL, 0, 64);
}
ring.destroy();
process.stdout.write(`${JSON.stringify({ ok: true, stats: { accepted, refused, ms: Date.now() - t0 } })}\n`);
process.exit(0);
