#!/usr/bin/env node
// The Runtime's scaling curve: throughput at 1, 2, 4, 8 and 15 ring workers
// for random 4 KiB reads of a page-cached file, next to the same number of C
// liburing processes (the ceiling: the kernel's own scaling on this machine),
// and for the copy job (safer-ring/copy) on a generated tree.
//
// It needs a machine with more cores than workers + 1 (the main thread): on
// fewer, the larger counts measure threads taking turns on the same cores,
// and the script says so. See docs/benchmarks.md (scaling) for how to run it
// on a machine other than the development one: bench/scaling/pack.sh makes a
// bundle (node, the built library and addon, the C program), and
// bench/scaling/run.sh runs this script from it.
//
//   node bench/scaling.mjs [--workers 1,2,4,8,15] [--qd 64] [--rounds 3] [--seconds 2]
//                          [--size 1g] [--copy-size 1g] [--only reads|c liburing|copy] [--json FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ensureCProgram } from './lib/cbuild.mjs';
import { runMain, selected } from './lib/cli.mjs';
import { BLOCK, ensureDataFile, formatBytes, parseSize, sizeLabel, warmPageCache } from './lib/datafile.mjs';
import { dataDir } from './lib/paths.mjs';
import { readOwnedLanes, withDeadline } from './lib/lanes.mjs';
import { machineLine, reportHeader, writeJson } from './lib/report.mjs';
import { RandomPositions } from './lib/rng.mjs';
import { runRounds } from './lib/rounds.mjs';
import { loadSaferRing } from './lib/saferring.mjs';
import { columns, formatInt, formatRatio, formatTimes, printTable, spread } from './lib/stats.mjs';

const USAGE = `usage: node bench/scaling.mjs [options]
  --workers LIST    worker counts, comma-separated (default 1,2,4,8,15)
  --qd N            reads in flight per worker (default 64)
  --rounds N        rounds; every variant runs once per round, interleaved (default 3)
  --seconds S       timed seconds per variant per round (default 2)
  --warmup S        untimed warm-up before each run (default 0.5)
  --size SIZE       data file for the reads (default 1g)
  --copy-size SIZE  bytes in the copy job's source tree (default 1g)
  --only TEXT       run only variants whose name contains TEXT (repeatable)
  --json FILE       also write every sample and the curve as JSON
  -h, --help        show this help`;

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      workers: { type: 'string', default: '1,2,4,8,15' },
      qd: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '0.5' },
      size: { type: 'string', default: '1g' },
      'copy-size': { type: 'string', default: '1g' },
      only: { type: 'string', multiple: true, default: [] },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const positive = (name, text, integer) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}: ${text}`);
    return n;
  };
  return {
    help: values.help,
    workers: values.workers.split(',').map((w) => positive('workers', w.trim(), true)),
    qd: positive('qd', values.qd, true),
    rounds: positive('rounds', values.rounds, true),
    seconds: positive('seconds', values.seconds, false),
    warmup: Number(values.warmup) >= 0 ? Number(values.warmup) : positive('warmup', values.warmup, false),
    size: parseSize(values.size),
    copySize: parseSize(values['copy-size']),
    only: values.only.map((s) => s.toLowerCase()),
    json: values.json ?? null,
  };
}

// ---------------------------------------------------------------------------
// Reads through the Runtime: qd lanes per worker, each reusing its buffer.

function readVariant(Runtime, OwnedBuffer, file, size, workers, qd) {
  const positions = new RandomPositions(size);
  return {
    name: `reads: Runtime(${workers}) readOwned, QD ${qd * workers}`,
    kind: 'reads',
    workers,
    setup: async () => {
      const runtime = new Runtime({ workers, entries: 256 });
      const fd = fs.openSync(file, 'r');
      const buffers = Array.from({ length: qd * workers }, () => new OwnedBuffer(BLOCK));
      return { runtime, fd, buffers };
    },
    run: async (ctx, seconds) => {
      const cpu = process.cpuUsage();
      const r = await withDeadline(readOwnedLanes(ctx.runtime, ctx.fd, ctx.buffers, positions, seconds), (seconds + 15) * 1000, 'reads');
      const c = process.cpuUsage(cpu);
      return { ...r, rate: r.ops / r.seconds, cpuMicrosPerOp: (c.user + c.system) / r.ops };
    },
    teardown: async (ctx) => {
      for (const b of ctx.buffers) b.release();
      await withDeadline(ctx.runtime.close(), 15_000, 'Runtime.close()');
      fs.closeSync(ctx.fd);
    },
  };
}

// ---------------------------------------------------------------------------
// The ceiling: the same number of C liburing processes (QD qd each), started
// together; their ops/s add up.

function cVariant(binary, file, workers, qd) {
  return {
    name: `c liburing: ${workers} process${workers === 1 ? '' : 'es'}, QD ${qd} each`,
    kind: 'c',
    workers,
    setup: async () => null,
    run: async (_ctx, seconds) => {
      const runs = Array.from({ length: workers }, () => runC(binary, [file, String(qd), String(seconds)], seconds));
      const results = await Promise.all(runs);
      const ops = results.reduce((n, r) => n + r.ops, 0);
      const elapsed = Math.max(...results.map((r) => r.seconds));
      return { ops, seconds: elapsed, rate: results.reduce((n, r) => n + r.ops / r.seconds, 0) };
    },
    teardown: async () => {},
  };
}

function runC(binary, args, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(err.trim() || `exit status ${code}`));
      const lines = out.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1]));
    });
  });
}

// ---------------------------------------------------------------------------
// The copy job. HOOK: this is the one place that knows the copy job's API
// (safer-ring/copy: `copy(src, dst, { recursive, workers })`, resolving with
// a summary). If that module is not in the build, the copy variants are
// skipped with a note and the read curve still runs.

async function loadCopyJob() {
  try {
    const mod = await import('safer-ring/copy');
    const copy = mod.copy ?? mod.default?.copy;
    if (typeof copy !== 'function') return { error: 'safer-ring/copy has no copy() export' };
    return { copy };
  } catch (err) {
    return { error: `safer-ring/copy is not available in this build (${String(err.message).split('\n')[0]})` };
  }
}

/** The copy job's source: a tree of large and small files, `bytes` in all, made once and kept. */
function ensureCopyTree(bytes) {
  const root = path.join(dataDir, `scaling-tree-${sizeLabel(bytes)}`);
  const marker = path.join(root, '.complete');
  if (fs.existsSync(marker)) return root;
  fs.rmSync(root, { recursive: true, force: true });
  // Three quarters in 8 MiB files (the large-file lanes), a quarter in 16 KiB files (the per-file path).
  const large = Math.max(1, Math.floor((bytes * 0.75) / (8 << 20)));
  const small = Math.max(1, Math.floor((bytes * 0.25) / (16 << 10)));
  const chunk = Buffer.alloc(8 << 20);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  fs.mkdirSync(path.join(root, 'large'), { recursive: true });
  for (let i = 0; i < large; i++) fs.writeFileSync(path.join(root, 'large', `f${i}.bin`), chunk);
  for (let d = 0; d * 256 < small; d++) {
    const dir = path.join(root, 'small', `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = d * 256; i < Math.min(small, (d + 1) * 256); i++) fs.writeFileSync(path.join(dir, `f${i}.bin`), chunk.subarray(i % 512, (i % 512) + (16 << 10)));
  }
  fs.writeFileSync(marker, '');
  return root;
}

function treeBytes(root) {
  let total = 0;
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name !== '.complete') total += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return total;
}

function copyVariant(copy, source, bytes, workers) {
  return {
    name: `copy job: ${workers} worker${workers === 1 ? '' : 's'}`,
    kind: 'copy',
    workers,
    setup: async () => ({ n: 0 }),
    run: async (ctx, seconds) => {
      // One whole copy per run, however long it takes (`seconds` does not apply); a fresh destination each time.
      const dst = path.join(dataDir, `scaling-copy-${process.pid}-${workers}-${ctx.n++}`);
      const t0 = performance.now();
      try {
        await withDeadline(copy(source, dst, { recursive: true, workers }), 600_000, 'copy job');
        const elapsed = (performance.now() - t0) / 1000;
        return { ops: bytes, seconds: elapsed, rate: bytes / elapsed };
      } finally {
        fs.rmSync(dst, { recursive: true, force: true });
      }
    },
    teardown: async () => {},
  };
}

// ---------------------------------------------------------------------------

async function main() {
  let opts;
  try {
    opts = options(process.argv.slice(2));
  } catch (err) {
    console.error(`scaling: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) return console.log(USAGE);

  const notes = [];
  const cpus = os.availableParallelism();
  const most = Math.max(...opts.workers);
  if (cpus < most + 1) {
    notes.push(`only ${cpus} CPUs: Runtime(${most}) needs ${most + 1} (workers + main thread); counts above ${cpus - 1} measure contention, not scaling`);
  }
  const file = ensureDataFile(opts.size, (msg) => console.log(msg));
  warmPageCache(file);

  const variants = [];
  const lib = await loadSaferRing(['Ring', 'Runtime', 'OwnedBuffer'], 256);
  if (lib.lib) {
    for (const w of opts.workers) variants.push(readVariant(lib.lib.Runtime, lib.lib.OwnedBuffer, file, opts.size, w, opts.qd));
  } else {
    notes.push(`read variants skipped: ${lib.error}`);
  }
  try {
    const binary = ensureCProgram('read_random');
    for (const w of opts.workers) variants.push(cVariant(binary, file, w, opts.qd));
  } catch (err) {
    notes.push(`C variants skipped: ${err.message.split('\n')[0]}`);
  }
  let copyBytes = 0;
  if (opts.only.length === 0 || opts.only.some((o) => 'copy job'.includes(o))) {
    const job = await loadCopyJob();
    if (job.copy) {
      const tree = ensureCopyTree(opts.copySize);
      copyBytes = treeBytes(tree);
      for (const w of opts.workers) variants.push(copyVariant(job.copy, tree, copyBytes, w));
    } else {
      notes.push(`copy variants skipped: ${job.error}`);
    }
  }
  const active = variants.filter((v) => selected(opts.only, v.name));

  console.log('scaling: throughput by worker count');
  console.log(`  ${machineLine()}; availableParallelism ${cpus}`);
  console.log(`  reads: ${BLOCK} B at random positions of ${file} (${formatBytes(opts.size)}, page-cached), QD ${opts.qd} per worker`);
  if (copyBytes > 0) console.log(`  copy: a tree of ${formatBytes(copyBytes)} (8 MiB and 16 KiB files), one whole copy per run`);
  console.log(`  ${opts.rounds} rounds x ${opts.seconds} s, ${opts.warmup} s warm-up; safer-ring backend: ${lib.backend ?? 'n/a'}`);
  for (const note of notes) console.log(`  note: ${note}`);
  console.log('');

  const state = await runRounds(active, { ...opts, warmup: opts.warmup }, {
    setup: (v) => v.setup(),
    run: (v, ctx, seconds) => v.run(ctx, seconds),
    warms: (v) => v.kind === 'reads',
    line: (v, r) => `  ${v.name.padEnd(44)} ${formatInt(r.rate).padStart(13)} ${v.kind === 'copy' ? 'B/s' : 'ops/s'}`,
  });
  for (const v of active) {
    const s = state.get(v);
    if (s.ready) await v.teardown(s.ctx).catch((err) => console.log(`  ${v.name}: teardown failed (${err.message})`));
  }

  const curve = opts.workers.map((w) => {
    const pick = (kind) => {
      const v = active.find((x) => x.kind === kind && x.workers === w);
      const s = v && state.get(v);
      return s ? { ...spread(s.samples.map((x) => x.rate)), error: s.error, cpuMicrosPerOp: s.samples.map((x) => x.cpuMicrosPerOp ?? NaN) } : null;
    };
    return { workers: w, reads: pick('reads'), c: pick('c'), copy: pick('copy') };
  });
  const base = curve[0];
  console.log('');
  console.log(`Medians over ${opts.rounds} rounds; "x1" is the gain over the first worker count, "/C" the fraction of the C processes' ops/s`);
  printTable(
    columns('<workers', 'reads ops/s', 'x1', '/C', 'C ops/s', 'x1', 'copy MB/s', 'x1'),
    curve.map((p) => [
      String(p.workers),
      formatInt(p.reads?.median),
      formatTimes(p.reads?.median / base.reads?.median),
      formatRatio(p.reads?.median / p.c?.median),
      formatInt(p.c?.median),
      formatTimes(p.c?.median / base.c?.median),
      p.copy ? formatRatio(p.copy.median / 1e6, 1) : 'n/a',
      p.copy ? formatTimes(p.copy.median / base.copy.median) : 'n/a',
    ]),
  );
  for (const note of notes) console.log(`  note: ${note}`);
  const failed = active.filter((v) => state.get(v).error);
  for (const v of failed) console.log(`  note: ${v.name} failed: ${state.get(v).error}`);
  if (opts.json) {
    writeJson(opts.json, {
      ...reportHeader('scaling'),
      availableParallelism: cpus,
      options: { ...opts, json: undefined },
      curve,
      samples: Object.fromEntries(active.map((v) => [v.name, state.get(v).samples])),
      notes,
    });
    console.log(`\nresults written to ${opts.json}`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

runMain(main);
