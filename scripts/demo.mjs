#!/usr/bin/env node
// A short tour of safer-ring on sample data it makes itself (`npm start`).
//
//   1. which backend serves rings here, and what this kernel supports;
//   2. a 64 MiB file copied three ways (Ring with owned buffers, node:fs
//      FileHandle read/write, fs.copyFile), each way's last copy checked
//      against the source;
//   3. random 4 KiB reads of that file for about a second each through an
//      inline Ring, a Runtime with 2 worker rings, and fs.promises.
//
// Everything it writes lives in one directory under os.tmpdir(), removed at
// exit. Runs in well under 20 s; SAFER_RING_BACKEND=fallback shows the
// node:fs fallback backend instead of io_uring.
import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OwnedBuffer, Ring, Runtime, getEnvironmentInfo } from 'safer-ring';

const FILE_SIZE = 64 * 1024 * 1024;
const CHUNK = 256 * 1024;
const COPY_IN_FLIGHT = 8; // chunks being copied at once (each a read, then its write)
const COPY_REPEATS = 5; // timed copies per method, interleaved, after one untimed warm-up copy each; the median is shown
const BLOCK = 4096;
const READ_QD = 64;
const READ_SECONDS = 1;
const RUNTIME_WORKERS = 2;

const MiB = 1024 * 1024;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000); // MB/s, 1 MB = 10^6 bytes
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const say = (text = '') => console.log(text);
const step = (text) => process.stdout.write(`  ${text} ... `);

// Every Ring, Runtime and file handle is closed by the try/finally around its
// use; the sample directory goes at exit, whatever happens.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-demo-'));
const removeSamples = () => fs.rmSync(tmp, { recursive: true, force: true });
process.on('exit', removeSamples);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

/**
 * Runs `count` async lanes to the end, even when one fails, so that nothing is
 * in flight when the caller closes its files; `stop()` tells the others to
 * finish early. Rethrows the first failure.
 */
async function runLanes(count, lane, stop) {
  const settled = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      lane(i).catch((err) => {
        stop();
        throw err;
      }),
    ),
  );
  const failed = settled.find((x) => x.status === 'rejected');
  if (failed) throw failed.reason;
}

// ---------------------------------------------------------------------------
// 1. Environment.

function showEnvironment() {
  const env = getEnvironmentInfo();
  say('1. Environment');
  say(`  backend        ${env.backend}${env.backendReason ? ` (${env.backendReason})` : ''}`);
  say(`  kernel         ${env.kernel}${env.simulated ? ` (simulating ${env.kernelVersion})` : ''}, node ${process.version}, ${os.availableParallelism()} CPUs`);
  const sysctl = env.ioUringDisabledSysctl;
  say(`  io_uring       ${env.ioUringAvailable ? 'available' : 'not used'}` +
    (sysctl === null ? '' : `; kernel.io_uring_disabled = ${sysctl}`) +
    (env.memlockLimitBytes === null ? '' : `; RLIMIT_MEMLOCK ${env.memlockLimitBytes === Infinity ? 'unlimited' : `${fmt(env.memlockLimitBytes / 1024)} KiB`}`));
  const on = Object.entries(env.features).filter(([, v]) => v).map(([k]) => k);
  const off = Object.entries(env.features).filter(([, v]) => !v).map(([k]) => k);
  say(`  features on    ${on.length ? on.join(', ') : '(none)'}`);
  if (off.length) say(`  features off   ${off.join(', ')}`);
  say('  paths taken:');
  for (const [feature, how] of Object.entries(env.paths)) say(`    ${feature.padEnd(20)} ${how}`);
  return env;
}

// ---------------------------------------------------------------------------
// 2. Copying a file.

function makeSampleFile(file) {
  const fd = fs.openSync(file, 'w');
  try {
    const buf = Buffer.allocUnsafe(8 * MiB);
    for (let done = 0; done < FILE_SIZE; done += buf.length) {
      randomFillSync(buf);
      fs.writeSync(fd, buf, 0, buf.length, done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function sha256(file) {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * MiB);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Ring copy: COPY_IN_FLIGHT lanes, each owning one 256 KiB OwnedBuffer. A lane
 * takes the next chunk, reads it into its buffer (the buffer moves into the
 * read and comes back in the result), writes it out the same way, and goes on
 * with the next chunk. Short reads and writes continue where they stopped.
 */
async function copyWithRing(ring, src, dst) {
  const input = await ring.openat(src, 'r');
  const output = await ring.openat(dst, 'w');
  let next = 0;
  const lane = async () => {
    let buf = new OwnedBuffer(CHUNK);
    try {
      for (let at = next; at < FILE_SIZE; at = next) {
        next += CHUNK;
        const want = Math.min(CHUNK, FILE_SIZE - at);
        let got = 0;
        while (got < want) {
          const r = await ring.readOwned(input, buf, { offset: got, length: want - got, position: at + got });
          buf = r.buffer;
          if (r.bytesRead === 0) throw new Error(`unexpected end of file at ${at + got}`);
          got += r.bytesRead;
        }
        for (let put = 0; put < want; ) {
          const w = await ring.writeOwned(output, buf, { offset: put, length: want - put, position: at + put });
          buf = w.buffer;
          put += w.bytesWritten;
        }
      }
    } finally {
      buf.release();
    }
  };
  try {
    await runLanes(COPY_IN_FLIGHT, lane, () => (next = FILE_SIZE));
  } finally {
    await ring.closeFd(input);
    await ring.closeFd(output);
  }
}

/** The same copy with node:fs/promises FileHandles: the same lanes, chunk size and buffers per lane. */
async function copyWithFileHandles(src, dst) {
  const input = await fs.promises.open(src, 'r');
  const output = await fs.promises.open(dst, 'w');
  let next = 0;
  const lane = async () => {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let at = next; at < FILE_SIZE; at = next) {
      next += CHUNK;
      const want = Math.min(CHUNK, FILE_SIZE - at);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await input.read(buf, got, want - got, at + got);
        if (bytesRead === 0) throw new Error(`unexpected end of file at ${at + got}`);
        got += bytesRead;
      }
      for (let put = 0; put < want; ) {
        const { bytesWritten } = await output.write(buf, put, want - put, at + put);
        put += bytesWritten;
      }
    }
  };
  try {
    await runLanes(COPY_IN_FLIGHT, lane, () => (next = FILE_SIZE));
  } finally {
    await input.close();
    await output.close();
  }
}

async function showCopies(ring, src) {
  say(`2. Copying a ${FILE_SIZE / MiB} MiB file (page cache to page cache, ${CHUNK / 1024} KiB chunks, ${COPY_IN_FLIGHT} in flight; ` +
    `median of ${COPY_REPEATS} runs each after a warm-up)`);
  step('hashing the source');
  const expected = sha256(src);
  say(`sha256 ${expected.slice(0, 16)}...`);
  const methods = [
    { name: `Ring readOwned → writeOwned (${ring.backend})`, copy: (dst) => copyWithRing(ring, src, dst), ms: [] },
    { name: 'fs.promises FileHandle read → write', copy: (dst) => copyWithFileHandles(src, dst), ms: [] },
    { name: 'fs.promises.copyFile', copy: (dst) => fs.promises.copyFile(src, dst), ms: [] },
  ];
  // Round 0 warms up (JIT, buffers, the ring's arena) and is not timed.
  for (let round = 0; round <= COPY_REPEATS; round++) {
    for (const [i, m] of methods.entries()) {
      const dst = path.join(tmp, `copy-${i}.bin`);
      const t0 = performance.now();
      await m.copy(dst);
      if (round > 0) m.ms.push(performance.now() - t0);
      if (round === COPY_REPEATS) {
        // The last timed copy of each method is checked against the source.
        const size = fs.statSync(dst).size;
        const digest = sha256(dst);
        if (size !== FILE_SIZE || digest !== expected) throw new Error(`${m.name}: the copy differs from the source (${size} bytes, sha256 ${digest})`);
        m.verified = true;
      }
      fs.rmSync(dst);
    }
  }
  const width = Math.max(...methods.map((m) => m.name.length));
  const base = mbps(FILE_SIZE, median(methods[1].ms));
  for (const m of methods) {
    const rate = mbps(FILE_SIZE, median(m.ms));
    say(`  ${m.name.padEnd(width)}  ${fmt(rate).padStart(6)} MB/s  ${(rate / base).toFixed(2)}x FileHandle   ${m.verified ? 'identical to the source' : ''}`);
  }
}

// ---------------------------------------------------------------------------
// 3. Random reads.

function positions(seed) {
  const blocks = FILE_SIZE / BLOCK;
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x % blocks) * BLOCK;
  };
}

/** READ_QD lanes of `readOne(lane)` for READ_SECONDS; returns ops/s. Every read must return a whole block. */
async function timedReads(readOne) {
  let ops = 0;
  const end = performance.now() + READ_SECONDS * 1000;
  let stop = false;
  const t0 = performance.now();
  const lane = async (i) => {
    while (!stop) {
      const n = await readOne(i);
      if (n !== BLOCK) throw new Error(`short read: ${n} bytes`);
      if ((++ops & 255) === 0 && performance.now() >= end) stop = true;
    }
  };
  await runLanes(READ_QD, lane, () => (stop = true));
  return ops / ((performance.now() - t0) / 1000);
}

/** readOwned loops on a Ring or a Runtime (same API); each lane reads into the buffer its last read returned. */
async function ownedReads(target, fd) {
  const next = positions(0x9e3779b9);
  const buffers = Array.from({ length: READ_QD }, () => new OwnedBuffer(BLOCK));
  try {
    await timedReads(async (lane) => {
      const { bytesRead, buffer } = await target.readOwned(fd, buffers[lane], { position: next() });
      buffers[lane] = buffer;
      return bytesRead;
    });
    return await timedReads(async (lane) => {
      const { bytesRead, buffer } = await target.readOwned(fd, buffers[lane], { position: next() });
      buffers[lane] = buffer;
      return bytesRead;
    });
  } finally {
    for (const b of buffers) b.release();
  }
}

async function showRandomReads(ring, src) {
  say(`3. Random ${BLOCK / 1024} KiB reads of the cached file, ${READ_QD} in flight, ~${READ_SECONDS} s each (after a ${READ_SECONDS} s warm-up)`);
  const results = [];

  step(`Ring.readOwned (inline ${ring.backend})`);
  const ringFd = await ring.openat(src, 'r');
  try {
    results.push(['Ring.readOwned, inline ring', await ownedReads(ring, ringFd)]);
  } finally {
    await ring.closeFd(ringFd);
  }
  say(`${fmt(results.at(-1)[1])} ops/s`);

  step(`Runtime (${RUNTIME_WORKERS} worker rings) readOwned`);
  const runtime = new Runtime({ workers: RUNTIME_WORKERS });
  try {
    const fd = fs.openSync(src, 'r');
    try {
      results.push([`Runtime(${RUNTIME_WORKERS} workers).readOwned`, await ownedReads(runtime, fd)]);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    await runtime.close();
  }
  say(`${fmt(results.at(-1)[1])} ops/s`);

  step('fs.promises FileHandle.read');
  const fh = await fs.promises.open(src, 'r');
  try {
    const next = positions(0x9e3779b9);
    const buffers = Array.from({ length: READ_QD }, () => Buffer.alloc(BLOCK));
    const read = async (lane) => (await fh.read(buffers[lane], 0, BLOCK, next())).bytesRead;
    await timedReads(read);
    results.push(['fs.promises FileHandle.read', await timedReads(read)]);
  } finally {
    await fh.close();
  }
  say(`${fmt(results.at(-1)[1])} ops/s`);

  const base = results.at(-1)[1];
  const width = Math.max(...results.map(([name]) => name.length));
  say('');
  for (const [name, rate] of results) say(`  ${name.padEnd(width)}  ${fmt(rate).padStart(9)} ops/s  ${(rate / base).toFixed(2)}x fs.promises`);
}

// ---------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  say('safer-ring demo');
  say('');
  const env = showEnvironment();
  say('');

  const src = path.join(tmp, 'sample.bin');
  step(`writing ${FILE_SIZE / MiB} MiB of random sample data to ${tmp}`);
  makeSampleFile(src);
  say('done');

  const ring = new Ring();
  try {
    say('');
    await showCopies(ring, src);
    say('');
    await showRandomReads(ring, src);
  } finally {
    await ring.close();
  }

  say('');
  if (env.backend !== 'io_uring') say('  (these numbers come from the node:fs fallback backend: they say nothing about io_uring)');
  say(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s; the sample data is removed.`);
  say('Careful, side-by-side measurements: `npm run bench` (see bench/README.md); results and conclusions: docs/benchmarks.md.');
}

main()
  .catch((err) => {
    console.error(`\ndemo failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(removeSamples)
  .then(() => process.exit(process.exitCode ?? 0));
