#!/usr/bin/env node
// Random 4 KiB reads from a page-cached file: safer-ring against node:fs and
// against a plain C liburing program (the ceiling), all in one run.
//
// Variants run one at a time, interleaved round by round (the starting
// variant rotates each round), so slow drifts of the machine spread over all
// of them instead of favouring whichever ran first. The C variants run as
// child processes; the Node variants run in this process, each after a short
// untimed warm-up. See bench/README.md for how to read the output.
//
//   node bench/read-random.mjs [--rounds N] [--seconds S] [--size 256m] [--only TEXT]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { ensureCProgram } from './lib/cbuild.mjs';
import { parseBenchArgs, selected, USAGE } from './lib/cli.mjs';
import { BLOCK, ensureDataFile, formatBytes, warmPageCache } from './lib/datafile.mjs';
import { RandomPositions } from './lib/rng.mjs';
import { formatInt, formatRatio, formatTimes, max, median, min, printTable } from './lib/stats.mjs';

const QD = 64;
const RING_ENTRIES = 256;

// The figures the project tracks for readOwned at QD64.
const TARGET_VS_FS_PROMISES = 7;
const TARGET_VS_C = 0.55;

// Names used for the ratio columns and the key-figures block.
const C_QD64 = 'C liburing QD64';
const C_QD1 = 'C liburing QD1';
const FS_PROMISES = 'fs.promises FileHandle.read QD64';
const OWNED_QD64 = 'safer-ring readOwned QD64';

// ---------------------------------------------------------------------------
// Measurement plumbing for the Node variants.

/**
 * Counts completed reads and decides when a timed run is over. The deadline is
 * checked every 256 operations rather than with a timer: a timer could be
 * starved if completions are delivered without returning to the event loop,
 * and reading the clock on every operation would cost more than the cheapest
 * reads themselves.
 */
class Clock {
  constructor(seconds) {
    this.ops = 0;
    this.done = false;
    this.start = performance.now();
    this.deadline = this.start + seconds * 1000;
  }

  /** Records one completed read; returns true once time is up. */
  tick() {
    if ((++this.ops & 255) === 0 && performance.now() >= this.deadline) this.done = true;
    return this.done;
  }

  result() {
    return { ops: this.ops, seconds: (performance.now() - this.start) / 1000 };
  }
}

function checkRead(n) {
  if (n !== BLOCK) throw new Error(`short read: ${n} bytes instead of ${BLOCK}`);
}

/**
 * Runs `qd` async lanes until the clock stops them. If a lane fails, the
 * others are stopped and awaited before the error is rethrown, so no read of
 * this variant is still running when the next variant starts.
 */
async function runLanes(qd, clock, lane) {
  const lanes = [];
  for (let i = 0; i < qd; i++) {
    lanes.push(
      lane(i).catch((err) => {
        clock.done = true;
        throw err;
      }),
    );
  }
  const settled = await Promise.allSettled(lanes);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return clock.result();
}

// ---------------------------------------------------------------------------
// Variants. Each is { name, qd, kind, setup(), run(ctx, seconds), teardown(ctx) };
// setup/teardown are outside the timed region and happen once per variant.

function cVariant(name, binary, file, qd, fixed) {
  return {
    name,
    qd,
    kind: 'c',
    setup: async () => null,
    run: async (_ctx, seconds) => {
      const args = [file, String(qd), String(seconds), ...(fixed ? ['fixed'] : [])];
      const r = spawnSync(binary, args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error((r.stderr || `exit status ${r.status}`).trim());
      const lines = r.stdout.trim().split('\n');
      const { ops, seconds: elapsed } = JSON.parse(lines[lines.length - 1]);
      return { ops, seconds: elapsed };
    },
    teardown: async () => {},
  };
}

function nodeVariants(file, size) {
  const positions = new RandomPositions(size);
  const openFd = async () => ({ fd: fs.openSync(file, 'r') });
  const closeFd = async (ctx) => fs.closeSync(ctx.fd);

  return [
    {
      name: FS_PROMISES,
      qd: QD,
      kind: 'node',
      setup: async () => {
        const fh = await fs.promises.open(file, 'r');
        const buffers = Array.from({ length: QD }, () => Buffer.alloc(BLOCK));
        return { fh, buffers };
      },
      run: ({ fh, buffers }, seconds) => {
        const clock = new Clock(seconds);
        return runLanes(QD, clock, async (i) => {
          const buf = buffers[i];
          while (!clock.done) {
            const { bytesRead } = await fh.read(buf, 0, BLOCK, positions.next());
            checkRead(bytesRead);
            clock.tick();
          }
        });
      },
      teardown: ({ fh }) => fh.close(),
    },
    {
      name: 'fs.read callback QD64',
      qd: QD,
      kind: 'node',
      setup: openFd,
      run: ({ fd }, seconds) =>
        new Promise((resolve, reject) => {
          const clock = new Clock(seconds);
          let active = QD;
          let failure = null;
          const finishLane = () => {
            if (--active > 0) return;
            if (failure) reject(failure);
            else resolve(clock.result());
          };
          for (let i = 0; i < QD; i++) {
            const buf = Buffer.alloc(BLOCK);
            const onRead = (err, bytesRead) => {
              if (!err && bytesRead !== BLOCK) err = new Error(`short read: ${bytesRead} bytes`);
              if (err) {
                failure ??= err;
                clock.done = true;
                return finishLane();
              }
              if (clock.tick()) return finishLane();
              fs.read(fd, buf, 0, BLOCK, positions.next(), onRead);
            };
            fs.read(fd, buf, 0, BLOCK, positions.next(), onRead);
          }
        }),
      teardown: closeFd,
    },
    {
      name: 'fs.readSync QD1',
      qd: 1,
      kind: 'node',
      setup: async () => ({ ...(await openFd()), buf: Buffer.alloc(BLOCK) }),
      run: async ({ fd, buf }, seconds) => {
        const clock = new Clock(seconds);
        do checkRead(fs.readSync(fd, buf, 0, BLOCK, positions.next()));
        while (!clock.tick());
        return clock.result();
      },
      teardown: closeFd,
    },
  ];
}

function saferRingVariants(lib, file, size) {
  const { Ring, OwnedBuffer } = lib;
  const positions = new RandomPositions(size);

  // readOwned hands the buffer to the kernel; the one passed in is dead after
  // the call and the returned one is used for the lane's next read. The lane
  // buffers live in ctx so they carry over from round to round.
  const owned = (qd) => ({
    name: `safer-ring readOwned QD${qd}`,
    qd,
    kind: 'node',
    setup: async () => {
      const ring = new Ring(RING_ENTRIES);
      const buffers = Array.from({ length: qd }, () => new OwnedBuffer(BLOCK));
      return { ring, buffers, fd: fs.openSync(file, 'r') };
    },
    run: (ctx, seconds) => {
      const { ring, buffers, fd } = ctx;
      const clock = new Clock(seconds);
      return runLanes(qd, clock, async (i) => {
        let buf = buffers[i];
        try {
          while (!clock.done) {
            const { bytesRead, buffer } = await ring.readOwned(fd, buf, { position: positions.next() });
            buf = buffer;
            checkRead(bytesRead);
            clock.tick();
          }
        } finally {
          buffers[i] = buf;
        }
      });
    },
    teardown: async ({ ring, fd }) => {
      await ring.close();
      fs.closeSync(fd);
    },
  });

  return [
    owned(QD),
    owned(1),
    {
      name: 'safer-ring read (copy) QD64',
      qd: QD,
      kind: 'node',
      setup: async () => {
        const ring = new Ring(RING_ENTRIES);
        const arrays = Array.from({ length: QD }, () => new Uint8Array(BLOCK));
        return { ring, arrays, fd: fs.openSync(file, 'r') };
      },
      run: ({ ring, arrays, fd }, seconds) => {
        const clock = new Clock(seconds);
        return runLanes(QD, clock, async (i) => {
          const u8 = arrays[i];
          while (!clock.done) {
            const { bytesRead } = await ring.read(fd, u8, { position: positions.next() });
            checkRead(bytesRead);
            clock.tick();
          }
        });
      },
      teardown: async ({ ring, fd }) => {
        await ring.close();
        fs.closeSync(fd);
      },
    },
  ];
}

/** Loads the built library; returns { lib } or { error } with a short reason. */
async function loadSaferRing() {
  let mod;
  try {
    mod = await import('safer-ring');
  } catch (err) {
    const notBuilt = err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND');
    const reason = String(err && err.message).split('\n')[0];
    return { error: notBuilt ? `library not built? run \`npm run build\` (${reason})` : `import failed: ${reason}` };
  }
  // Named exports of a CommonJS module are detected statically; fall back to
  // the default export (module.exports) in case detection missed them.
  const Ring = mod.Ring ?? mod.default?.Ring;
  const OwnedBuffer = mod.OwnedBuffer ?? mod.default?.OwnedBuffer;
  if (typeof Ring !== 'function') return { error: 'safer-ring does not export Ring' };
  if (typeof OwnedBuffer !== 'function') return { error: 'safer-ring does not export OwnedBuffer' };

  // Open one ring up front: a ring that cannot be created skips the variants
  // with the reason, and the backend in use (io_uring or the node:fs fallback)
  // is printed, since fallback numbers say nothing about io_uring.
  let backend;
  try {
    const ring = new Ring(RING_ENTRIES);
    backend = ring.backend ?? mod.backend ?? mod.default?.backend;
    await ring.close();
  } catch (err) {
    return { error: `new Ring(${RING_ENTRIES}) failed: ${err.message}` };
  }
  const env = process.env.SAFER_RING_BACKEND ? ` (SAFER_RING_BACKEND=${process.env.SAFER_RING_BACKEND})` : '';
  return { lib: { Ring, OwnedBuffer }, backend: `${backend ?? 'not reported by the library'}${env}` };
}

// ---------------------------------------------------------------------------

async function main() {
  let opts;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`read-random: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(`usage: node bench/read-random.mjs [options]\n${USAGE}`);
    return;
  }

  const notes = [];
  const file = ensureDataFile(opts.size, (msg) => console.log(msg));
  const warmSeconds = warmPageCache(file);

  const variants = [];
  try {
    const binary = ensureCProgram('read_random');
    variants.push(
      cVariant(C_QD64, binary, file, QD, false),
      cVariant('C liburing QD64 fixed', binary, file, QD, true),
      cVariant(C_QD1, binary, file, 1, false),
    );
  } catch (err) {
    notes.push(`C liburing variants skipped: ${err.message.split('\n')[0]}`);
  }
  variants.push(...nodeVariants(file, opts.size));
  const saferRing = await loadSaferRing();
  if (saferRing.lib) variants.push(...saferRingVariants(saferRing.lib, file, opts.size));
  else notes.push(`safer-ring variants skipped: ${saferRing.error}`);

  const active = variants.filter((v) => selected(opts.only, v.name));
  if (active.length === 0) {
    console.error(`read-random: no variant matches --only ${opts.only.join(', ')}`);
    process.exit(2);
  }

  const cpus = os.cpus();
  console.log(`read-random: ${BLOCK} B random reads, page-cached file`);
  console.log(`  node ${process.version}, linux ${os.release()}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}`);
  console.log(`  file ${file} (${formatBytes(opts.size)}, cache warm-up ${warmSeconds.toFixed(2)} s)`);
  console.log(`  ${opts.rounds} rounds x ${opts.seconds} s per variant, ${opts.warmup} s warm-up (Node variants)`);
  console.log(`  UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  if (saferRing.lib) console.log(`  safer-ring backend: ${saferRing.backend}`);
  for (const note of notes) console.log(`  note: ${note}`);
  console.log('');

  // Per-variant state: setup context, samples, and the error that stopped it.
  const state = new Map(active.map((v) => [v, { ctx: undefined, ready: false, samples: [], error: null }]));
  const fail = (v, stage, err) => {
    state.get(v).error = `${stage}: ${err && err.message ? err.message : err}`;
    console.log(`  ${v.name}: FAILED (${state.get(v).error})`);
  };

  for (let round = 0; round < opts.rounds; round++) {
    console.log(`round ${round + 1}/${opts.rounds}`);
    for (let k = 0; k < active.length; k++) {
      const v = active[(round + k) % active.length];
      const s = state.get(v);
      if (s.error) continue;
      try {
        if (!s.ready) {
          s.ctx = await v.setup();
          s.ready = true;
        }
        if (v.kind === 'node' && opts.warmup > 0) await v.run(s.ctx, opts.warmup);
        const r = await v.run(s.ctx, opts.seconds);
        const opsPerSec = r.ops / r.seconds;
        s.samples.push({ ...r, opsPerSec });
        console.log(`  ${v.name.padEnd(34)} ${formatInt(opsPerSec).padStart(11)} ops/s`);
      } catch (err) {
        fail(v, s.ready ? 'run' : 'setup', err);
      }
    }
  }
  for (const v of active) {
    const s = state.get(v);
    if (!s.ready) continue;
    try {
      await v.teardown(s.ctx);
    } catch (err) {
      console.log(`  ${v.name}: teardown failed (${err.message})`);
    }
  }

  // -------------------------------------------------------------------------
  // Report.
  const results = active.map((v) => {
    const { samples, error } = state.get(v);
    const rates = samples.map((x) => x.opsPerSec);
    const ops = samples.reduce((a, x) => a + x.ops, 0);
    const seconds = samples.reduce((a, x) => a + x.seconds, 0);
    return {
      name: v.name,
      qd: v.qd,
      samples: rates,
      median: median(rates),
      min: min(rates),
      max: max(rates),
      meanMicros: ops > 0 ? (seconds / ops) * 1e6 : NaN,
      error,
    };
  });
  const byName = (name) => results.find((r) => r.name === name);
  const medianOf = (name) => byName(name)?.median ?? NaN;
  const fsMedian = medianOf(FS_PROMISES);
  const cMedian = medianOf(C_QD64);

  console.log('');
  console.log(`Median ops/s over ${opts.rounds} rounds (ratios compare medians)`);
  printTable(
    [
      { title: 'variant', align: 'left' },
      { title: 'QD', align: 'right' },
      { title: 'median ops/s', align: 'right' },
      { title: 'min', align: 'right' },
      { title: 'max', align: 'right' },
      { title: 'vs fs.promises', align: 'right' },
      { title: 'vs C QD64', align: 'right' },
    ],
    results.map((r) => [
      r.error && r.samples.length === 0 ? `${r.name} (failed)` : r.name,
      String(r.qd),
      formatInt(r.median),
      formatInt(r.min),
      formatInt(r.max),
      formatTimes(r.median / fsMedian),
      formatRatio(r.median / cMedian),
    ]),
  );

  const qd1 = results.filter((r) => r.qd === 1);
  if (qd1.length > 0) {
    const cQd1Micros = byName(C_QD1)?.meanMicros ?? NaN;
    console.log('');
    console.log('QD1 latency view (one read in flight: time per op is the round-trip latency)');
    printTable(
      [
        { title: 'variant', align: 'left' },
        { title: 'median ops/s', align: 'right' },
        { title: 'mean us/op', align: 'right' },
        { title: 'vs C QD1', align: 'right' },
      ],
      qd1.map((r) => [r.name, formatInt(r.median), formatRatio(r.meanMicros), formatTimes(r.meanMicros / cQd1Micros)]),
    );
  }

  // The figures the project tracks.
  const owned = byName(OWNED_QD64);
  const ownedMedian = owned?.median ?? NaN;
  const vsFs = ownedMedian / fsMedian;
  const vsC = ownedMedian / cMedian;
  const verdict = (value, target) => (Number.isFinite(value) ? (value >= target ? 'ok' : 'BELOW TARGET') : '');
  console.log('');
  console.log('Key figures: safer-ring readOwned, QD64');
  if (!owned) {
    console.log(`  not measured (${saferRing.error ? 'safer-ring variants skipped, see note' : 'filtered out by --only'})`);
  } else {
    const failedNote = owned.samples.length === 0 ? '   (failed, see note)' : '';
    console.log(`  readOwned QD64             ${formatInt(ownedMedian).padStart(11)} ops/s (median)${failedNote}`);
    console.log(`  vs fs.promises QD64        ${formatTimes(vsFs).padStart(11)}   target >= ${TARGET_VS_FS_PROMISES}x   ${verdict(vsFs, TARGET_VS_FS_PROMISES)}`);
    console.log(`  vs C liburing QD64         ${formatRatio(vsC).padStart(11)}   target >= ${TARGET_VS_C}   ${verdict(vsC, TARGET_VS_C)}`);
  }
  const failed = results.filter((r) => r.error);
  for (const r of failed) console.log(`  note: ${r.name} failed: ${r.error}`);
  for (const note of notes) console.log(`  note: ${note}`);

  if (opts.json) {
    const report = {
      benchmark: 'read-random',
      date: new Date().toISOString(),
      node: process.version,
      kernel: os.release(),
      cpus: cpus.length,
      file,
      fileSize: opts.size,
      blockSize: BLOCK,
      rounds: opts.rounds,
      seconds: opts.seconds,
      warmup: opts.warmup,
      results,
      keyFigures: { readOwnedQd64: ownedMedian, vsFsPromises: vsFs, vsC },
      notes,
    };
    // JSON has no NaN; write null for figures that were not measured.
    fs.writeFileSync(opts.json, `${JSON.stringify(report, (_k, x) => (Number.isNaN(x) ? null : x), 2)}\n`);
    console.log(`\nresults written to ${opts.json}`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

// Exit explicitly: a handle left open by a variant (say, a ring that did not
// close cleanly) must not keep the benchmark from finishing.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
