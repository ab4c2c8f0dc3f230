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
import fs from 'node:fs';
import { ensureCProgram, runCProgram } from './lib/cbuild.mjs';
import { parseOrExit, runMain, selected } from './lib/cli.mjs';
import { BLOCK, ensureDataFile, formatBytes, warmPageCache } from './lib/datafile.mjs';
import { checkRead, Clock, readOwnedLanes, runLanes } from './lib/lanes.mjs';
import { machineLine, reportHeader, writeJson } from './lib/report.mjs';
import { RandomPositions } from './lib/rng.mjs';
import { runRounds } from './lib/rounds.mjs';
import { loadSaferRing } from './lib/saferring.mjs';
import { columns, failedLabel, formatInt, formatRatio, formatTimes, printTable, spread } from './lib/stats.mjs';

const QD = 64;
const RING_ENTRIES = 256;

// The figures the project tracks.
const TARGET_VS_FS_PROMISES = 7; // readOwned QD64 ops/s over fs.promises QD64: at least
const TARGET_VS_C = 0.85; // readOwned QD64 ops/s over C liburing QD64: at least
const TARGET_MANY_VS_C = 0.95; // the batch path (readOwnedMany) at QD64 over C liburing QD64: at least
const TARGET_QD1_VS_C = 2; // readOwned QD1 time per read over C liburing QD1's: at most

// Names used for the ratio columns and the key-figures block.
const C_QD64 = 'C liburing QD64';
const C_QD1 = 'C liburing QD1';
const FS_PROMISES = 'fs.promises FileHandle.read QD64';
const OWNED_QD64 = 'safer-ring readOwned QD64';
const OWNED_QD1 = 'safer-ring readOwned QD1';
const MANY_QD64 = 'safer-ring readOwnedMany 2 x 32';

// ---------------------------------------------------------------------------
// Variants. Each is { name, qd, kind, setup(), run(ctx, seconds), teardown(ctx) };
// setup/teardown are outside the timed region and happen once per variant.

function cVariant(name, binary, file, qd, fixed) {
  return {
    name,
    qd,
    kind: 'c',
    setup: async () => null,
    run: async (_ctx, seconds) =>
      runCProgram(binary, [file, String(qd), String(seconds), ...(fixed ? ['fixed'] : [])], seconds),
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
    run: (ctx, seconds) => readOwnedLanes(ctx.ring, ctx.fd, ctx.buffers, positions, seconds),
    teardown: async ({ ring, fd }) => {
      await ring.close();
      fs.closeSync(fd);
    },
  });

  // readOwnedMany: `calls` lanes, each with one call of QD / calls reads in
  // flight at a time, each call taking the buffers the lane's last one gave back.
  const many = (calls) => ({
    name: `safer-ring readOwnedMany ${calls} x ${QD / calls}`,
    qd: QD,
    kind: 'node',
    setup: async () => {
      const ring = new Ring(RING_ENTRIES);
      const lanes = Array.from({ length: calls }, () => Array.from({ length: QD / calls }, () => new OwnedBuffer(BLOCK)));
      return { ring, lanes, fd: fs.openSync(file, 'r') };
    },
    run: (ctx, seconds) => {
      const clock = new Clock(seconds);
      const per = QD / calls;
      return runLanes(calls, clock, async (i) => {
        const at = new Array(per).fill(0);
        while (!clock.done) {
          for (let k = 0; k < per; k++) at[k] = positions.next();
          const { bytesRead, buffers } = await ctx.ring.readOwnedMany(ctx.fd, ctx.lanes[i], at);
          ctx.lanes[i] = buffers;
          for (let k = 0; k < per; k++) {
            checkRead(bytesRead[k]);
            clock.tick();
          }
        }
      });
    },
    teardown: async ({ ring, lanes, fd }) => {
      for (const lane of lanes) for (const b of lane) b.release();
      await ring.close();
      fs.closeSync(fd);
    },
  });

  return [
    owned(QD),
    owned(1),
    many(1),
    many(2),
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

// ---------------------------------------------------------------------------

async function main() {
  const opts = parseOrExit('read-random', process.argv.slice(2));
  if (!opts) return;

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
  const saferRing = await loadSaferRing(['Ring', 'OwnedBuffer'], RING_ENTRIES);
  if (saferRing.lib) variants.push(...saferRingVariants(saferRing.lib, file, opts.size));
  else notes.push(`safer-ring variants skipped: ${saferRing.error}`);

  const active = variants.filter((v) => selected(opts.only, v.name));
  if (active.length === 0) {
    console.error(`read-random: no variant matches --only ${opts.only.join(', ')}`);
    process.exit(2);
  }

  console.log(`read-random: ${BLOCK} B random reads, page-cached file`);
  console.log(`  ${machineLine()}`);
  console.log(`  file ${file} (${formatBytes(opts.size)}, cache warm-up ${warmSeconds.toFixed(2)} s)`);
  console.log(`  ${opts.rounds} rounds x ${opts.seconds} s per variant, ${opts.warmup} s warm-up (Node variants)`);
  console.log(`  UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  if (saferRing.lib) console.log(`  safer-ring backend: ${saferRing.backend}`);
  for (const note of notes) console.log(`  note: ${note}`);
  console.log('');

  const state = await runRounds(active, opts, {
    setup: (v) => v.setup(),
    run: (v, ctx, seconds) => v.run(ctx, seconds),
    warms: (v) => v.kind === 'node',
    sample: (_v, r) => ({ ...r, opsPerSec: r.ops / r.seconds }),
    line: (v, r) => `  ${v.name.padEnd(34)} ${formatInt(r.opsPerSec).padStart(11)} ops/s`,
  });
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
      ...spread(rates),
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
    columns('<variant', 'QD', 'median ops/s', 'min', 'max', 'vs fs.promises', 'vs C QD64'),
    results.map((r) => [
      failedLabel(r.name, r.error, r.samples.length),
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
      columns('<variant', 'median ops/s', 'mean us/op', 'vs C QD1'),
      qd1.map((r) => [r.name, formatInt(r.median), formatRatio(r.meanMicros), formatTimes(r.meanMicros / cQd1Micros)]),
    );
  }

  // The figures the project tracks.
  const owned = byName(OWNED_QD64);
  const ownedMedian = owned?.median ?? NaN;
  const manyMedian = byName(MANY_QD64)?.median ?? NaN;
  const vsFs = ownedMedian / fsMedian;
  const vsC = ownedMedian / cMedian;
  const manyVsC = manyMedian / cMedian;
  const qd1VsC = (byName(OWNED_QD1)?.meanMicros ?? NaN) / (byName(C_QD1)?.meanMicros ?? NaN);
  const verdict = (value, target, atMost = false) =>
    Number.isFinite(value) ? ((atMost ? value <= target : value >= target) ? 'ok' : 'BELOW TARGET') : 'not measured';
  console.log('');
  console.log('Key figures: safer-ring against C liburing and fs.promises, in this run');
  if (!owned) {
    console.log(`  not measured (${saferRing.error ? 'safer-ring variants skipped, see note' : 'filtered out by --only'})`);
  } else {
    const failedNote = owned.samples.length === 0 ? '   (failed, see note)' : '';
    console.log(`  readOwned QD64             ${formatInt(ownedMedian).padStart(11)} ops/s (median)${failedNote}`);
    console.log(`  vs fs.promises QD64        ${formatTimes(vsFs).padStart(11)}   target >= ${TARGET_VS_FS_PROMISES}x   ${verdict(vsFs, TARGET_VS_FS_PROMISES)}`);
    console.log(`  vs C liburing QD64         ${formatRatio(vsC).padStart(11)}   target >= ${TARGET_VS_C}   ${verdict(vsC, TARGET_VS_C)}`);
    console.log(`  readOwnedMany (2 x 32)     ${formatRatio(manyVsC).padStart(11)}   of C QD64, target >= ${TARGET_MANY_VS_C}   ${verdict(manyVsC, TARGET_MANY_VS_C)}`);
    console.log(`  readOwned QD1 time per op  ${formatTimes(qd1VsC).padStart(11)}   of C QD1's, target <= ${TARGET_QD1_VS_C}x   ${verdict(qd1VsC, TARGET_QD1_VS_C, true)}`);
  }
  const failed = results.filter((r) => r.error);
  for (const r of failed) console.log(`  note: ${r.name} failed: ${r.error}`);
  for (const note of notes) console.log(`  note: ${note}`);

  if (opts.json) {
    const report = {
      ...reportHeader('read-random'),
      file,
      fileSize: opts.size,
      blockSize: BLOCK,
      rounds: opts.rounds,
      seconds: opts.seconds,
      warmup: opts.warmup,
      results,
      keyFigures: { readOwnedQd64: ownedMedian, vsFsPromises: vsFs, vsC, readOwnedManyVsC: manyVsC, readOwnedQd1TimeVsC: qd1VsC },
      notes,
    };
    writeJson(opts.json, report);
    console.log(`\nresults written to ${opts.json}`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

runMain(main);
