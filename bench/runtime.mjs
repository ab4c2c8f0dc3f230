#!/usr/bin/env node
// The worker-thread Runtime against the inline Ring and node:fs, in one run:
// random 4 KiB reads from a page-cached file, at QD64 (throughput) and at QD1
// (per-operation latency).
//
// Variants run one at a time, interleaved round by round (the starting
// variant rotates each round), like read-random.mjs. Each Runtime is created
// once per worker count, shared by its QD64 and QD1 variants, kept across
// rounds and closed at the end. See bench/README.md for how to read the output.
//
//   node bench/runtime.mjs [--rounds N] [--seconds S] [--size 256m] [--only TEXT]
import fs from 'node:fs';
import os from 'node:os';
import { parseBenchArgs, selected, USAGE } from './lib/cli.mjs';
import { BLOCK, ensureDataFile, formatBytes, warmPageCache } from './lib/datafile.mjs';
import { RandomPositions } from './lib/rng.mjs';
import { formatInt, formatRatio, formatTimes, max, median, min, printTable } from './lib/stats.mjs';

const QD = 64;
const RING_ENTRIES = 256;
const THROUGHPUT_WORKERS = [1, 2, 4];
const LATENCY_WORKERS = [1, 2];

// The figures the project tracks for the Runtime.
const KEY_WORKERS = 2;
const TARGET_QD64_VS_FS_PROMISES = 5; // Runtime(2) QD64 ops/s over fs.promises QD64 ops/s: at least this
const TARGET_QD1_P50_VS_FS_PROMISES = 1; // Runtime(2) QD1 p50 over fs.promises QD1 p50: at most this

// A timed run (or a close) that has not finished this long after it should
// have is reported as a hang instead of stalling the benchmark forever.
const HANG_GRACE_MS = 15_000;
const CLOSE_TIMEOUT_MS = 15_000;

const runtimeName = (workers, qd) => `Runtime(${workers} worker${workers === 1 ? '' : 's'}) readOwned QD${qd}`;
const RING_QD64 = 'Ring readOwned QD64';
const RING_QD1 = 'Ring readOwned QD1';
const FS_PROMISES_QD64 = 'fs.promises FileHandle.read QD64';
const FS_PROMISES_QD1 = 'fs.promises FileHandle.read QD1';
const FS_CALLBACK_QD1 = 'fs.read callback QD1';

// What one QD1 read crosses, printed next to the latency figures.
const PATH_RUNTIME = 'round trip main → worker → kernel → main';
const PATH_RING = 'main → kernel → main (inline io_uring)';
const PATH_FS = 'main → libuv pool thread → kernel → main';

// ---------------------------------------------------------------------------
// Measurement plumbing.

/**
 * Counts completed reads and decides when a timed QD64 run is over. The
 * deadline is checked every 256 operations rather than with a timer: a timer
 * could be starved if completions are delivered without returning to the
 * event loop, and reading the clock on every operation would cost more than
 * the cheapest reads themselves.
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

/**
 * Per-operation latencies of a QD1 run, in milliseconds (performance.now()
 * units), in a growable Float64Array so a run of a few hundred thousand reads
 * costs no garbage. The clock read that ends one sample also decides whether
 * the run is over, so timing adds one performance.now() per read, not two.
 */
class LatencyRecorder {
  constructor(seconds) {
    this.samples = new Float64Array(1 << 16);
    this.count = 0;
    this.start = performance.now();
    this.deadline = this.start + seconds * 1000;
  }

  /** Records one read that started at t0 and ended at t1; returns true once time is up. */
  record(t0, t1) {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.count++] = t1 - t0;
    return t1 >= this.deadline;
  }

  result() {
    const seconds = (performance.now() - this.start) / 1000;
    const sorted = this.samples.subarray(0, this.count).sort();
    return {
      ops: this.count,
      seconds,
      p50: percentileMicros(sorted, 0.5),
      p99: percentileMicros(sorted, 0.99),
    };
  }
}

/** Nearest-rank percentile of sorted millisecond samples, in microseconds. */
function percentileMicros(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] * 1000;
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

/** Rejects with a "hang" error if `promise` has not settled after `ms`. */
function withDeadline(promise, ms, what) {
  let timer;
  const hang = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${(ms / 1000).toFixed(1)} s (hang?)`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Variants. Each is { name, qd, workers, path, setup(), run(ctx, seconds),
// teardown(ctx) }; setup/teardown are outside the timed region and happen once
// per variant. QD64 runs return { ops, seconds }; QD1 runs add p50 and p99.

/**
 * Reads one block through `read` and compares it with fs.readSync of the same
 * block, so a variant that returns the wrong bytes fails instead of looking
 * fast. `read(position)` resolves to the bytes it read.
 */
async function checkContents(fd, size, read) {
  const blocks = Math.floor(size / BLOCK);
  const position = ((Math.floor(blocks / 2) + 1) % blocks) * BLOCK;
  const expected = Buffer.alloc(BLOCK);
  fs.readSync(fd, expected, 0, BLOCK, position);
  const got = await read(position);
  if (!expected.equals(Buffer.from(got.buffer, got.byteOffset, got.byteLength))) {
    throw new Error(`read at ${position} returned different bytes than fs.readSync`);
  }
}

/** A readOwned variant over any object with the Ring API (an inline Ring or a Runtime). */
function ownedVariant({ name, qd, workers, path, file, size, OwnedBuffer, acquire, release }) {
  const positions = new RandomPositions(size);
  return {
    name,
    qd,
    workers,
    path,
    setup: async () => {
      const target = await acquire();
      const fd = fs.openSync(file, 'r');
      const buffers = Array.from({ length: qd }, () => new OwnedBuffer(BLOCK));
      // The contents check reads into lane 0's buffer and keeps the one returned.
      await checkContents(fd, size, async (position) => {
        const { bytesRead, buffer } = await target.readOwned(fd, buffers[0], { position });
        buffers[0] = buffer;
        checkRead(bytesRead);
        return buffer.bytes;
      });
      return { target, fd, buffers };
    },
    // readOwned moves the buffer into the operation; the one passed in is dead
    // after the call and the returned one is used for the lane's next read.
    // The lane buffers live in ctx so they carry over from round to round.
    run:
      qd === 1
        ? async (ctx, seconds) => {
            const { target, fd } = ctx;
            const rec = new LatencyRecorder(seconds);
            let buf = ctx.buffers[0];
            try {
              for (;;) {
                const position = positions.next();
                const t0 = performance.now();
                const { bytesRead, buffer } = await target.readOwned(fd, buf, { position });
                const t1 = performance.now();
                buf = buffer;
                checkRead(bytesRead);
                if (rec.record(t0, t1)) break;
              }
            } finally {
              ctx.buffers[0] = buf;
            }
            return rec.result();
          }
        : (ctx, seconds) => {
            const { target, fd, buffers } = ctx;
            const clock = new Clock(seconds);
            return runLanes(qd, clock, async (i) => {
              let buf = buffers[i];
              try {
                while (!clock.done) {
                  const { bytesRead, buffer } = await target.readOwned(fd, buf, { position: positions.next() });
                  buf = buffer;
                  checkRead(bytesRead);
                  clock.tick();
                }
              } finally {
                buffers[i] = buf;
              }
            });
          },
    teardown: async ({ fd, buffers }) => {
      for (const b of buffers) b.release();
      fs.closeSync(fd);
      await release();
    },
  };
}

function fsVariants(file, size) {
  const positions = new RandomPositions(size);
  const openHandle = async (qd) => {
    const fh = await fs.promises.open(file, 'r');
    const buffers = Array.from({ length: qd }, () => Buffer.alloc(BLOCK));
    await checkContents(fh.fd, size, async (position) => {
      const { bytesRead } = await fh.read(buffers[0], 0, BLOCK, position);
      checkRead(bytesRead);
      return buffers[0];
    });
    return { fh, buffers };
  };

  return [
    {
      name: FS_PROMISES_QD64,
      qd: QD,
      path: PATH_FS,
      setup: () => openHandle(QD),
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
      name: FS_PROMISES_QD1,
      qd: 1,
      path: PATH_FS,
      setup: () => openHandle(1),
      run: async ({ fh, buffers }, seconds) => {
        const rec = new LatencyRecorder(seconds);
        const buf = buffers[0];
        for (;;) {
          const position = positions.next();
          const t0 = performance.now();
          const { bytesRead } = await fh.read(buf, 0, BLOCK, position);
          const t1 = performance.now();
          checkRead(bytesRead);
          if (rec.record(t0, t1)) break;
        }
        return rec.result();
      },
      teardown: ({ fh }) => fh.close(),
    },
    {
      name: FS_CALLBACK_QD1,
      qd: 1,
      path: PATH_FS,
      setup: async () => {
        const fd = fs.openSync(file, 'r');
        const buf = Buffer.alloc(BLOCK);
        await checkContents(fd, size, async (position) => {
          checkRead(await new Promise((resolve, reject) =>
            fs.read(fd, buf, 0, BLOCK, position, (err, n) => (err ? reject(err) : resolve(n)))));
          return buf;
        });
        return { fd, buf };
      },
      // One callback chain; t0 is taken just before fs.read, t1 first thing in its callback.
      run: ({ fd, buf }, seconds) =>
        new Promise((resolve, reject) => {
          const rec = new LatencyRecorder(seconds);
          let t0 = 0;
          const next = () => {
            const position = positions.next();
            t0 = performance.now();
            fs.read(fd, buf, 0, BLOCK, position, onRead);
          };
          const onRead = (err, bytesRead) => {
            const t1 = performance.now();
            if (!err && bytesRead !== BLOCK) err = new Error(`short read: ${bytesRead} bytes instead of ${BLOCK}`);
            if (err) return reject(err);
            if (rec.record(t0, t1)) return resolve(rec.result());
            next();
          };
          next();
        }),
      teardown: async ({ fd }) => fs.closeSync(fd),
    },
  ];
}

/**
 * The Runtime and inline-Ring variants. A Runtime is shared per worker count
 * by its QD64 and QD1 variants: created by the first of them to set up and
 * closed by closeRuntimes() once every variant has torn down.
 */
function saferRingVariants(lib, file, size) {
  const { Ring, Runtime, OwnedBuffer } = lib;
  const runtimes = new Map(); // workers -> Runtime

  const runtimeVariant = (workers, qd) =>
    ownedVariant({
      name: runtimeName(workers, qd),
      qd,
      workers,
      path: PATH_RUNTIME,
      file,
      size,
      OwnedBuffer,
      acquire: async () => {
        if (!runtimes.has(workers)) runtimes.set(workers, new Runtime({ workers, entries: RING_ENTRIES }));
        return runtimes.get(workers);
      },
      release: async () => {},
    });

  /** Closes every Runtime; returns the errors (a close that hangs is one). */
  const closeRuntimes = async () => {
    const errors = [];
    for (const [workers, runtime] of runtimes) {
      try {
        await withDeadline(runtime.close(), CLOSE_TIMEOUT_MS, `Runtime(${workers}).close()`);
      } catch (err) {
        errors.push(err.message);
      }
    }
    runtimes.clear();
    return errors;
  };

  const ringVariant = (name, qd) => {
    let ring = null;
    return ownedVariant({
      name,
      qd,
      workers: 0,
      path: PATH_RING,
      file,
      size,
      OwnedBuffer,
      acquire: async () => (ring = new Ring(RING_ENTRIES)),
      release: () => withDeadline(ring.close(), CLOSE_TIMEOUT_MS, 'Ring.close()'),
    });
  };

  const variants = [
    ...THROUGHPUT_WORKERS.map((w) => runtimeVariant(w, QD)),
    ringVariant(RING_QD64, QD),
    ...LATENCY_WORKERS.map((w) => runtimeVariant(w, 1)),
    ringVariant(RING_QD1, 1),
  ];
  return { variants, runtimes, closeRuntimes };
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
  const pick = (name) => mod[name] ?? mod.default?.[name];
  const lib = { Ring: pick('Ring'), Runtime: pick('Runtime'), OwnedBuffer: pick('OwnedBuffer') };
  for (const [name, value] of Object.entries(lib)) {
    if (typeof value !== 'function') return { error: `safer-ring does not export ${name}` };
  }
  // Open one ring up front: a ring that cannot be created skips the variants
  // with the reason, and the backend in use is printed.
  let backend;
  try {
    const ring = new lib.Ring(RING_ENTRIES);
    backend = ring.backend ?? pick('backend');
    await ring.close();
  } catch (err) {
    return { error: `new Ring(${RING_ENTRIES}) failed: ${err.message}` };
  }
  const env = process.env.SAFER_RING_BACKEND ? ` (SAFER_RING_BACKEND=${process.env.SAFER_RING_BACKEND})` : '';
  return { lib, backend: `${backend ?? 'not reported by the library'}${env}` };
}

// ---------------------------------------------------------------------------

async function main() {
  let opts;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`runtime: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(`usage: node bench/runtime.mjs [options]\n${USAGE}`);
    return;
  }
  const wanted = (name) => selected(opts.only, name);

  const notes = [];
  const file = ensureDataFile(opts.size, (msg) => console.log(msg));
  const warmSeconds = warmPageCache(file);

  const variants = [];
  const saferRing = await loadSaferRing();
  let runtimes = new Map();
  let closeRuntimes = async () => [];
  if (saferRing.lib) {
    const sr = saferRingVariants(saferRing.lib, file, opts.size);
    variants.push(...sr.variants);
    ({ runtimes, closeRuntimes } = sr);
  } else {
    notes.push(`safer-ring variants skipped: ${saferRing.error}`);
  }
  variants.push(...fsVariants(file, opts.size));

  const active = variants.filter((v) => wanted(v.name));
  if (active.length === 0) {
    console.error(`runtime: no variant matches --only ${opts.only.join(', ')}`);
    for (const note of notes) console.error(`  note: ${note}`);
    process.exit(2);
  }

  const cpus = os.cpus();
  const parallelism = os.availableParallelism();
  const maxWorkers = Math.max(0, ...active.map((v) => v.workers ?? 0));
  console.log(`runtime: ${BLOCK} B random reads, page-cached file; Runtime (worker rings) vs inline Ring vs node:fs`);
  console.log(`  node ${process.version}, linux ${os.release()}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}`);
  console.log(`  os.availableParallelism(): ${parallelism}`);
  console.log(`  file ${file} (${formatBytes(opts.size)}, cache warm-up ${warmSeconds.toFixed(2)} s)`);
  console.log(`  ${opts.rounds} rounds x ${opts.seconds} s per variant, ${opts.warmup} s warm-up before each run`);
  console.log(`  UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  if (saferRing.lib) console.log(`  safer-ring backend: ${saferRing.backend}`);
  if (maxWorkers > 0 && parallelism < maxWorkers + 1) {
    notes.push(
      `only ${parallelism} CPUs: Runtime(${maxWorkers} workers) needs ${maxWorkers + 1} (workers + main thread) to scale; ` +
        'worker-count comparisons on this machine show contention, not scaling',
    );
  }
  for (const note of notes) console.log(`  note: ${note}`);
  console.log('');

  // Per-variant state: setup context, samples, and the error that stopped it.
  const state = new Map(active.map((v) => [v, { ctx: undefined, ready: false, samples: [], error: null }]));
  const fail = (v, stage, err) => {
    state.get(v).error = `${stage}: ${err && err.message ? err.message : err}`;
    console.log(`  ${v.name}: FAILED (${state.get(v).error})`);
  };
  const deadlineMs = (seconds) => seconds * 1000 + HANG_GRACE_MS;

  for (let round = 0; round < opts.rounds; round++) {
    console.log(`round ${round + 1}/${opts.rounds}`);
    for (let k = 0; k < active.length; k++) {
      const v = active[(round + k) % active.length];
      const s = state.get(v);
      if (s.error) continue;
      try {
        if (!s.ready) {
          s.ctx = await withDeadline(v.setup(), HANG_GRACE_MS, 'setup');
          s.ready = true;
        }
        if (opts.warmup > 0) await withDeadline(v.run(s.ctx, opts.warmup), deadlineMs(opts.warmup), 'warm-up run');
        const r = await withDeadline(v.run(s.ctx, opts.seconds), deadlineMs(opts.seconds), 'timed run');
        const opsPerSec = r.ops / r.seconds;
        s.samples.push({ ...r, opsPerSec });
        const latency = v.qd === 1 ? `   p50 ${formatRatio(r.p50).padStart(7)} us   p99 ${formatRatio(r.p99).padStart(7)} us` : '';
        console.log(`  ${v.name.padEnd(34)} ${formatInt(opsPerSec).padStart(11)} ops/s${latency}`);
      } catch (err) {
        fail(v, s.ready ? 'run' : 'setup', err);
      }
    }
  }

  // How the least-loaded routing spread the reads, read before the runtimes close.
  const routing = [...runtimes.entries()]
    .sort(([a], [b]) => a - b)
    .map(([workers, runtime]) => {
      try {
        const st = runtime.stats();
        return `Runtime(${workers}): ${st.perWorker.map((w) => formatInt(w.completed)).join(' / ')} reads per worker` +
          (st.workersReplaced ? `, ${st.workersReplaced} workers replaced after dying` : '');
      } catch (err) {
        return `Runtime(${workers}): stats() failed: ${err.message}`;
      }
    });

  for (const v of active) {
    const s = state.get(v);
    if (!s.ready) continue;
    try {
      await v.teardown(s.ctx);
    } catch (err) {
      s.error ??= `teardown: ${err.message}`;
      console.log(`  ${v.name}: teardown failed (${err.message})`);
    }
  }
  const closeErrors = await closeRuntimes();
  for (const message of closeErrors) console.log(`  FAILED: ${message}`);

  // -------------------------------------------------------------------------
  // Report.
  const results = active.map((v) => {
    const { samples, error } = state.get(v);
    const rates = samples.map((x) => x.opsPerSec);
    return {
      name: v.name,
      qd: v.qd,
      workers: v.workers ?? null,
      path: v.path,
      rounds: samples.map(({ ops, seconds, opsPerSec, p50, p99 }) => ({ ops, seconds, opsPerSec, p50, p99 })),
      median: median(rates),
      min: min(rates),
      max: max(rates),
      p50: v.qd === 1 ? median(samples.map((x) => x.p50)) : null,
      p99: v.qd === 1 ? median(samples.map((x) => x.p99)) : null,
      error,
    };
  });
  const byName = (name) => results.find((r) => r.name === name);
  const label = (r) => (r.error && r.rounds.length === 0 ? `${r.name} (failed)` : r.name);

  const qd64 = results.filter((r) => r.qd === QD);
  if (qd64.length > 0) {
    const fsMedian = byName(FS_PROMISES_QD64)?.median ?? NaN;
    console.log('');
    console.log(`QD${QD} throughput: median ops/s over ${opts.rounds} rounds (ratios compare medians)`);
    printTable(
      [
        { title: 'variant', align: 'left' },
        { title: 'median ops/s', align: 'right' },
        { title: 'min', align: 'right' },
        { title: 'max', align: 'right' },
        { title: 'vs fs.promises', align: 'right' },
      ],
      qd64.map((r) => [label(r), formatInt(r.median), formatInt(r.min), formatInt(r.max), formatTimes(r.median / fsMedian)]),
    );
  }

  const qd1 = results.filter((r) => r.qd === 1);
  if (qd1.length > 0) {
    const fsQd1 = byName(FS_PROMISES_QD1);
    console.log('');
    console.log(`QD1 latency: one read in flight, per-read latency; medians over ${opts.rounds} rounds of each round's p50 / p99`);
    printTable(
      [
        { title: 'variant', align: 'left' },
        { title: 'median ops/s', align: 'right' },
        { title: 'p50 us', align: 'right' },
        { title: 'p99 us', align: 'right' },
        { title: 'ops/s vs fs.promises', align: 'right' },
        { title: 'p50 vs fs.promises', align: 'right' },
        { title: 'path of one read', align: 'left' },
      ],
      qd1.map((r) => [
        label(r),
        formatInt(r.median),
        formatRatio(r.p50),
        formatRatio(r.p99),
        formatTimes(r.median / (fsQd1?.median ?? NaN)),
        formatTimes(r.p50 / (fsQd1?.p50 ?? NaN)),
        r.path,
      ]),
      (text) => console.log(text.trimEnd()),
    );
    console.log('  (p50 vs fs.promises below 1.00x means lower latency than fs.promises)');
  }

  if (routing.length > 0) {
    console.log('');
    console.log('Routing (least-loaded worker for positional reads), reads completed over the whole run:');
    for (const line of routing) console.log(`  ${line}`);
  }

  // The figures the project tracks.
  const verdict = (ok, value) => (Number.isFinite(value) ? (ok ? 'ok' : 'BELOW TARGET') : '');
  const key = byName(runtimeName(KEY_WORKERS, QD));
  const keyQd1 = byName(runtimeName(KEY_WORKERS, 1));
  const fsQd64 = byName(FS_PROMISES_QD64);
  const fsQd1 = byName(FS_PROMISES_QD1);
  const qd64Ratio = (key?.median ?? NaN) / (fsQd64?.median ?? NaN);
  const p50Ratio = (keyQd1?.p50 ?? NaN) / (fsQd1?.p50 ?? NaN);
  const missing = (...rs) =>
    rs.some((r) => !r)
      ? `   (not measured: ${saferRing.error ? 'safer-ring variants skipped, see note' : 'filtered out by --only'})`
      : rs.some((r) => r.rounds.length === 0)
        ? '   (failed, see note)'
        : '';
  console.log('');
  const line = (title, value, rest) => console.log(`  ${title.padEnd(26)} ${value.padStart(11)} ${rest}`.trimEnd());
  console.log(`Key figures: Runtime(${KEY_WORKERS} workers) readOwned vs fs.promises FileHandle.read (${parallelism} CPUs available)`);
  line(`Runtime(${KEY_WORKERS}) QD${QD}`, formatInt(key?.median), 'ops/s (median)');
  line(
    `vs fs.promises QD${QD}`,
    formatTimes(qd64Ratio),
    `      target >= ${TARGET_QD64_VS_FS_PROMISES}x      ${verdict(qd64Ratio >= TARGET_QD64_VS_FS_PROMISES, qd64Ratio)}${missing(key, fsQd64)}`,
  );
  line(`Runtime(${KEY_WORKERS}) QD1 p50`, formatRatio(keyQd1?.p50), `us    (${PATH_RUNTIME})`);
  line('fs.promises QD1 p50', formatRatio(fsQd1?.p50), 'us');
  line(
    'QD1 p50 vs fs.promises',
    formatTimes(p50Ratio),
    `      target <= ${formatTimes(TARGET_QD1_P50_VS_FS_PROMISES)} (no worse)   ` +
      `${verdict(p50Ratio <= TARGET_QD1_P50_VS_FS_PROMISES, p50Ratio)}${missing(keyQd1, fsQd1)}`,
  );
  const failed = results.filter((r) => r.error);
  for (const r of failed) console.log(`  note: ${r.name} failed: ${r.error}`);
  for (const message of closeErrors) console.log(`  note: ${message}`);
  for (const note of notes) console.log(`  note: ${note}`);

  if (opts.json) {
    const report = {
      benchmark: 'runtime',
      date: new Date().toISOString(),
      node: process.version,
      kernel: os.release(),
      cpus: cpus.length,
      availableParallelism: parallelism,
      file,
      fileSize: opts.size,
      blockSize: BLOCK,
      rounds: opts.rounds,
      seconds: opts.seconds,
      warmup: opts.warmup,
      results,
      routing,
      keyFigures: {
        runtime2Qd64: key?.median ?? null,
        runtime2Qd64VsFsPromises: qd64Ratio,
        runtime2Qd1P50: keyQd1?.p50 ?? null,
        fsPromisesQd1P50: fsQd1?.p50 ?? null,
        runtime2Qd1P50VsFsPromises: p50Ratio,
      },
      closeErrors,
      notes,
    };
    // JSON has no NaN; write null for figures that were not measured.
    fs.writeFileSync(opts.json, `${JSON.stringify(report, (_k, x) => (Number.isNaN(x) ? null : x), 2)}\n`);
    console.log(`\nresults written to ${opts.json}`);
  }
  if (failed.length > 0 || closeErrors.length > 0) process.exitCode = 1;
}

// Exit explicitly: a handle left open by a variant (a runtime whose close hung,
// say) must not keep the benchmark from finishing.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
