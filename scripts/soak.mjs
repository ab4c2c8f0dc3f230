#!/usr/bin/env node
// npm run soak [-- --ops N] [--window N]
//
// 1,000,000 mixed operations (by default) through a Ring and a Runtime at
// once: reads into owned, lent and plain buffers, readv, writes, pipe
// round trips, statx, nops, and now and then an aborted read. Every read's
// bytes are checked against the file. Prints RSS, arena slots in use and open
// fds before (after a warm-up) and after, and fails if they did not stay flat;
// then closes everything and exits by itself. Backend: SAFER_RING_BACKEND, or
// io_uring when it works.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ring, Runtime, OwnedBuffer, createPipe } from 'safer-ring';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const TOTAL = opt('ops', 1_000_000);
const WINDOW = opt('window', 64); // ops in flight per executor
// Allocator and thread-pool arenas settle first: RSS is judged from after the warm-up.
const WARMUP = Math.min(100_000, Math.floor(TOTAL / 10));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-soak-'));
const FILE_SIZE = 1 << 20;
const content = Buffer.alloc(FILE_SIZE);
for (let i = 0; i < FILE_SIZE; i++) content[i] = (i * 131 + 17) & 255;
const contentPath = path.join(dir, 'content');
fs.writeFileSync(contentPath, content);
const readFd = fs.openSync(contentPath, 'r');
const writeFd = fs.openSync(path.join(dir, 'scratch'), 'w+');

const ring = new Ring(256);
const runtime = new Runtime({ entries: 256 });
const executors = [ring, runtime];

let done = 0;
let errors = 0;
let wrongBytes = 0;
const counts = {};

function expectRead(bytes, pos, n) {
  if (!Buffer.from(bytes.buffer, bytes.byteOffset, n).equals(content.subarray(pos, pos + n))) wrongBytes++;
}

/** One randomly chosen operation on `x`; resolves when it settled (and was checked). */
async function oneOp(x, k, laneNo) {
  const kind = Math.imul(k, 0x9e3779b1) >>> 28; // a spread of the op index over the 16 kinds
  const size = 64 << (k % 7); // 64 B .. 4 KiB
  const pos = (k * 4099) % (FILE_SIZE - size);
  switch (kind) {
    case 0: case 1: case 2: {
      const { bytesRead, buffer } = await x.readOwned(readFd, new OwnedBuffer(size), { position: pos });
      expectRead(buffer.bytes, pos, bytesRead);
      buffer.release();
      return 'readOwned';
    }
    case 3: case 4: {
      const owner = new OwnedBuffer(size);
      const { bytesRead } = await x.read(readFd, owner.bytes, { position: pos });
      expectRead(owner.bytes, pos, bytesRead);
      owner.release();
      return 'read(lent)';
    }
    case 5: case 6: {
      const plain = Buffer.allocUnsafe(size);
      const { bytesRead } = await x.read(readFd, plain, { position: pos });
      expectRead(plain, pos, bytesRead);
      return 'read(copy)';
    }
    case 7: {
      const a = Buffer.allocUnsafe(size >> 1), b = new OwnedBuffer(size >> 1);
      const { bytesRead } = await x.readv(readFd, [a, b.bytes], { position: pos });
      expectRead(Buffer.concat([a, Buffer.from(b.bytes)]), pos, bytesRead);
      b.release();
      return 'readv';
    }
    case 8: case 9: {
      const buf = OwnedBuffer.from(content.subarray(pos, pos + size));
      const { buffer } = await x.writeOwned(writeFd, buf, { position: (k % 256) * 4096 });
      buffer.release();
      return 'writeOwned';
    }
    case 10: {
      await x.write(writeFd, content.subarray(pos, pos + size), { position: (k % 256) * 4096 });
      return 'write(copy)';
    }
    case 11: {
      const [r, w] = pipes[laneNo];
      const out = Buffer.from(`m${k}`);
      const inBuf = Buffer.alloc(out.length);
      const [, got] = await Promise.all([x.write(w, out), readFully(x, r, inBuf)]);
      if (!got.equals(out)) wrongBytes++;
      return 'pipe';
    }
    case 12: {
      const st = await x.statx(contentPath);
      if (Number(st.size) !== FILE_SIZE) wrongBytes++;
      return 'statx';
    }
    case 13: {
      // An aborted read: rejects with ABORT_ERR, or resolves if it won the race.
      const ac = new AbortController();
      const p = x.readOwned(readFd, new OwnedBuffer(size), { position: pos, signal: ac.signal });
      ac.abort();
      try {
        const { bytesRead, buffer } = await p;
        expectRead(buffer.bytes, pos, bytesRead);
        buffer.release();
      } catch (err) {
        if (err.code !== 'ABORT_ERR') throw err;
      }
      return 'aborted read';
    }
    default:
      await x.nop();
      return 'nop';
  }
}

async function readFully(x, fd, buf) {
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await x.read(fd, buf.subarray(n));
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return buf;
}

// One pipe per lane, so a lane's write and read pair up (each lane has one op at a time).
const pipes = [];

/** Keeps WINDOW ops in flight on each executor until `target` ops have completed. */
async function drive(target) {
  let issued = done;
  const lane = async (x, laneNo) => {
    while (issued < target) {
      const k = issued++;
      try {
        const what = await oneOp(x, k, laneNo);
        counts[what] = (counts[what] ?? 0) + 1;
      } catch (err) {
        errors++;
        if (errors < 5) process.stderr.write(`op ${k} failed: ${err.stack}\n`);
      }
      done++;
    }
  };
  await Promise.all(executors.flatMap((x, xi) => Array.from({ length: WINDOW }, (_, i) => lane(x, xi * WINDOW + i))));
}

function snapshot() {
  globalThis.gc?.();
  return {
    rssMiB: Math.round(process.memoryUsage().rss / 1048576 * 10) / 10,
    slotsInUse: ring.stats().arena.slotsInUse,
    arenaChunks: ring.stats().arena.chunks,
    fds: fs.readdirSync('/proc/self/fd').length,
  };
}

for (let i = 0; i < executors.length * WINDOW; i++) pipes.push(createPipe());
const t0 = Date.now();
await drive(WARMUP);
const before = snapshot();
process.stdout.write(`soak: ${TOTAL} ops on ${ring.backend}, ${WINDOW} in flight on a Ring and on a Runtime (${runtime.stats().workers} workers)\n`);
process.stdout.write(`before (after ${WARMUP} warm-up ops): ${JSON.stringify(before)}\n`);
let lastReport = Date.now();
while (done < TOTAL) {
  await drive(Math.min(TOTAL, done + 100_000));
  if (Date.now() - lastReport > 3000) {
    globalThis.gc?.();
    process.stdout.write(`  ${done} ops, ${Math.round(done / ((Date.now() - t0) / 1000))} ops/s, rss ${Math.round(process.memoryUsage().rss / 1048576)} MiB, heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MiB, external ${Math.round(process.memoryUsage().external / 1048576)} MiB\n`);
    lastReport = Date.now();
  }
}
const after = snapshot();
const seconds = (Date.now() - t0) / 1000;
process.stdout.write(`after: ${JSON.stringify(after)}\n`);
process.stdout.write(`mix: ${JSON.stringify(counts)}\n`);
process.stdout.write(`${done} ops in ${seconds.toFixed(1)} s (${Math.round(done / seconds)} ops/s), ${errors} errors, ${wrongBytes} wrong reads\n`);

for (const [r, w] of pipes) { fs.closeSync(r); fs.closeSync(w); }
await ring.close();
await runtime.close();
fs.closeSync(readFd);
fs.closeSync(writeFd);
fs.rmSync(dir, { recursive: true, force: true });

// Flat: no slot or fd more than before, RSS within 32 MiB of it (the GC's own slack).
const problems = [];
if (after.slotsInUse !== before.slotsInUse) problems.push(`arena slots in use ${before.slotsInUse} -> ${after.slotsInUse}`);
if (after.fds !== before.fds) problems.push(`open fds ${before.fds} -> ${after.fds}`);
if (after.rssMiB - before.rssMiB > 32) problems.push(`RSS grew ${before.rssMiB} -> ${after.rssMiB} MiB`);
if (errors > 0) problems.push(`${errors} ops failed`);
if (wrongBytes > 0) problems.push(`${wrongBytes} reads returned wrong bytes`);
process.stdout.write(problems.length === 0 ? 'soak: flat, every op succeeded\n' : `soak: FAILED: ${problems.join('; ')}\n`);
process.exitCode = problems.length === 0 ? 0 : 1;
