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
import { parseOrExit, runMain, selected } from './lib/cli.mjs';
import { BLOCK, ensureDataFile, formatBytes, warmPageCache } from './lib/datafile.mjs';
import { checkRead, Clock, LatencyRecorder, readOwnedLanes, runLanes, withDeadline } from './lib/lanes.mjs';
import { machineLine, reportHeader, writeJson } from './lib/report.mjs';
import { RandomPositions } from './lib/rng.mjs';
import { runRounds } from './lib/rounds.mjs';
import { loadSaferRing } from './lib/saferring.mjs';
import { columns, failedLabel, formatInt, formatRatio, formatTimes, median, printTable, spread } from './lib/stats.mjs';

const QD = 64;
const RING_ENTRIES = 256;
const THROUGHPUT_WORKERS = [1, 2, 4];
const LATENCY_WORKERS = [1, 2];

// The figures the project tracks for the Runtime.
const KEY_WORKERS = 2;
const TARGET_QD64_VS_FS_PROMISES = 5; // Runtime(2) QD64 ops/s over fs.promises QD64 ops/s: at least this
const TARGET_QD1_P50_VS_FS_PROMISES = 1; // Runtime(2) QD1 p50 over fs.promises QD1 p50: at most this
const TARGET_RUNTIME1_VS_RING = 0.7; // Runtime(1) QD64 ops/s over the inline Ring's QD64: at least this

// The worker's watch for work after a batch (RuntimeOptions spinMicros /
// adaptiveSpin), compared at QD1 with one worker: latency against CPU spent.
// The default (adaptive, at most 50 us) is the plain Runtime(1) variant.
const SPIN_SETTINGS = [
  { label: 'no spin', options: { spinMicros: 0 } },
  { label: 'fixed 50 us spin', options: { spinMicros: 50, adaptiveSpin: false } },
];

// A timed run (or a close) that has not finished this long after it should
// have is reported as a hang instead of stalling the benchmark forever.
const HANG_GRACE_MS = 15_000;
const CLOSE_TIMEOUT_MS = 15_000;

const runtimeName = (workers, qd, spin = '') =>
  `Runtime(${workers} worker${workers === 1 ? '' : 's'}${spin ? `, ${spin}` : ''}) readOwned QD${qd}`;
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
            const rec = new LatencyRecorder(seconds, { cpu: true });
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
        : (ctx, seconds) => readOwnedLanes(ctx.target, ctx.fd, ctx.buffers, positions, seconds),
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
        const rec = new LatencyRecorder(seconds, { cpu: true });
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
          const rec = new LatencyRecorder(seconds, { cpu: true });
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
  const runtimes = new Map(); // "workers" or "workers, spin setting" -> Runtime

  const runtimeVariant = (workers, qd, spin = null) =>
    ownedVariant({
      name: runtimeName(workers, qd, spin?.label),
      qd,
      workers,
      path: PATH_RUNTIME,
      file,
      size,
      OwnedBuffer,
      acquire: async () => {
        const key = spin ? `${workers}, ${spin.label}` : String(workers);
        if (!runtimes.has(key)) runtimes.set(key, new Runtime({ workers, entries: RING_ENTRIES, ...spin?.options }));
        return runtimes.get(key);
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
    ...SPIN_SETTINGS.map((spin) => runtimeVariant(1, 1, spin)),
    ringVariant(RING_QD1, 1),
  ];
  return { variants, runtimes, closeRuntimes };
}

// ---------------------------------------------------------------------------

async function main() {
  const opts = parseOrExit('runtime', process.argv.slice(2));
  if (!opts) return;
  const wanted = (name) => selected(opts.only, name);

  const notes = [];
  const file = ensureDataFile(opts.size, (msg) => console.log(msg));
  const warmSeconds = warmPageCache(file);

  const variants = [];
  const saferRing = await loadSaferRing(['Ring', 'Runtime', 'OwnedBuffer'], RING_ENTRIES);
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

  const parallelism = os.availableParallelism();
  const maxWorkers = Math.max(0, ...active.map((v) => v.workers ?? 0));
  console.log(`runtime: ${BLOCK} B random reads, page-cached file; Runtime (worker rings) vs inline Ring vs node:fs`);
  console.log(`  ${machineLine()}`);
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

  const deadlineMs = (seconds) => seconds * 1000 + HANG_GRACE_MS;
  const state = await runRounds(active, opts, {
    setup: (v) => withDeadline(v.setup(), HANG_GRACE_MS, 'setup'),
    run: (v, ctx, seconds, what) => withDeadline(v.run(ctx, seconds), deadlineMs(seconds), what),
    sample: (_v, r) => ({ ...r, opsPerSec: r.ops / r.seconds }),
    line: (v, r) => {
      const latency = v.qd === 1 ? `   p50 ${formatRatio(r.p50).padStart(7)} us   p99 ${formatRatio(r.p99).padStart(7)} us` : '';
      return `  ${v.name.padEnd(50)} ${formatInt(r.opsPerSec).padStart(11)} ops/s${latency}`;
    },
  });

  // How the least-loaded routing spread the reads, read before the runtimes close.
  const routing = [...runtimes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
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
      rounds: samples.map(({ ops, seconds, opsPerSec, p50, p99, cpuMicros }) => ({ ops, seconds, opsPerSec, p50, p99, cpuMicros })),
      ...spread(rates),
      p50: v.qd === 1 ? median(samples.map((x) => x.p50)) : null,
      p99: v.qd === 1 ? median(samples.map((x) => x.p99)) : null,
      // CPU time of the whole process (every thread) per read, at QD1.
      cpuPerOp: v.qd === 1 ? median(samples.map((x) => x.cpuMicros / x.ops)) : null,
      error,
    };
  });
  const byName = (name) => results.find((r) => r.name === name);
  const label = (r) => failedLabel(r.name, r.error, r.rounds.length);

  const qd64 = results.filter((r) => r.qd === QD);
  if (qd64.length > 0) {
    const fsMedian = byName(FS_PROMISES_QD64)?.median ?? NaN;
    console.log('');
    console.log(`QD${QD} throughput: median ops/s over ${opts.rounds} rounds (ratios compare medians)`);
    printTable(
      columns('<variant', 'median ops/s', 'min', 'max', 'vs fs.promises'),
      qd64.map((r) => [label(r), formatInt(r.median), formatInt(r.min), formatInt(r.max), formatTimes(r.median / fsMedian)]),
    );
  }

  const qd1 = results.filter((r) => r.qd === 1);
  if (qd1.length > 0) {
    const fsQd1 = byName(FS_PROMISES_QD1);
    console.log('');
    console.log(`QD1 latency: one read in flight, per-read latency; medians over ${opts.rounds} rounds of each round's p50 / p99`);
    printTable(
      columns('<variant', 'median ops/s', 'p50 us', 'p99 us', 'CPU us/read', 'ops/s vs fs.promises', 'p50 vs fs.promises', '<path of one read'),
      qd1.map((r) => [
        label(r),
        formatInt(r.median),
        formatRatio(r.p50),
        formatRatio(r.p99),
        formatRatio(r.cpuPerOp),
        formatTimes(r.median / (fsQd1?.median ?? NaN)),
        formatTimes(r.p50 / (fsQd1?.p50 ?? NaN)),
        r.path,
      ]),
      (text) => console.log(text.trimEnd()),
    );
    console.log('  (p50 vs fs.promises below 1.00x means lower latency than fs.promises; CPU us/read is every thread\'s,');
    console.log('   so a worker watching its queue shows there: compare the spin settings of Runtime(1 worker))');
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
  const runtime1 = byName(runtimeName(1, QD));
  const ringQd64 = byName(RING_QD64);
  const vsRing = (runtime1?.median ?? NaN) / (ringQd64?.median ?? NaN);
  line(
    `Runtime(1) QD${QD} vs Ring`,
    formatRatio(vsRing),
    `      target >= ${TARGET_RUNTIME1_VS_RING}         ${verdict(vsRing >= TARGET_RUNTIME1_VS_RING, vsRing)}${missing(runtime1, ringQd64)}`,
  );
  const failed = results.filter((r) => r.error);
  for (const r of failed) console.log(`  note: ${r.name} failed: ${r.error}`);
  for (const message of closeErrors) console.log(`  note: ${message}`);
  for (const note of notes) console.log(`  note: ${note}`);

  if (opts.json) {
    const report = {
      ...reportHeader('runtime'),
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
        runtime1Qd64VsRing: vsRing,
      },
      closeErrors,
      notes,
    };
    writeJson(opts.json, report);
    console.log(`\nresults written to ${opts.json}`);
  }
  if (failed.length > 0 || closeErrors.length > 0) process.exitCode = 1;
}

runMain(main);
