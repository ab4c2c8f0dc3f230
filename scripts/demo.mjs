#!/usr/bin/env node
// `npm start`: the main job of safer-ring, on sample data it makes itself.
//
//   1. a short tour: which backend serves rings here and what this kernel supports;
//   2. a sample tree in a temporary directory: a few thousand small files in
//      nested directories and one large file;
//   3. the tree copied three ways, side by side: `safer-ring cp -r` (its
//      progress bar shows on a terminal), `cp -r` and fs.promises.cp, each as
//      its own process so each pays its own start-up;
//   4. all three copies checked against the source, byte for byte;
//   5. a table: files/s, MB/s and ratios.
//
// Everything it writes lives in one directory under os.tmpdir(), removed at
// exit (also after Ctrl-C). Runs in well under a minute;
// SAFER_RING_BACKEND=fallback shows the node:fs fallback backend instead.
import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getEnvironmentInfo } from 'safer-ring';

const DIRS = 40; // directories, each with SUBDIRS subdirectories
const SUBDIRS = 2;
const FILES_PER_DIR = 40; // small files in each of those (DIRS * (1 + SUBDIRS) * FILES_PER_DIR in all)
const LARGE_FILE = 256 * 1024 * 1024;
const MiB = 1024 * 1024;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'src', 'copy', 'cli.js');
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const say = (text = '') => console.log(text);
const step = (text) => process.stdout.write(`  ${text} ... `);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-demo-'));
const removeSamples = () => fs.rmSync(tmp, { recursive: true, force: true });
process.on('exit', removeSamples);
process.once('SIGINT', () => process.exit(130)); // a child gets Ctrl-C too and stops on its own
process.once('SIGTERM', () => process.exit(143));

function showEnvironment() {
  const env = getEnvironmentInfo();
  say(`  backend   ${env.backend}${env.backendReason ? ` (${env.backendReason})` : ''}`);
  say(`  kernel    ${env.kernel}${env.simulated ? ` (simulating ${env.kernelVersion})` : ''}, node ${process.version}, ${os.availableParallelism()} CPUs`);
  const on = Object.entries(env.features).filter(([, v]) => v).map(([k]) => k);
  say(`  features  ${on.length ? on.join(', ') : '(none)'}`);
  return env;
}

/** Small files of 0.5-16 KiB of random bytes in nested directories, and one large file. */
function makeSampleTree(dir) {
  let files = 0;
  let bytes = 0;
  const buf = Buffer.allocUnsafe(16 * 1024);
  for (let d = 0; d < DIRS; d++) {
    for (let s = 0; s <= SUBDIRS; s++) {
      const sub = s === 0 ? path.join(dir, `dir${d}`) : path.join(dir, `dir${d}`, `sub${s}`);
      fs.mkdirSync(sub, { recursive: true });
      for (let f = 0; f < FILES_PER_DIR; f++) {
        const size = 512 + ((d * 7919 + s * 104729 + f * 1299709) % (15.5 * 1024));
        randomFillSync(buf, 0, size);
        fs.writeFileSync(path.join(sub, `file${f}.dat`), buf.subarray(0, size));
        files++;
        bytes += size;
      }
    }
  }
  const big = Buffer.allocUnsafe(8 * MiB);
  const fd = fs.openSync(path.join(dir, 'large.bin'), 'w');
  try {
    for (let at = 0; at < LARGE_FILE; at += big.length) fs.writeSync(fd, randomFillSync(big), 0, big.length, at);
  } finally {
    fs.closeSync(fd);
  }
  return { files: files + 1, dirs: DIRS * (1 + SUBDIRS) + 1, bytes: bytes + LARGE_FILE };
}

/** Reads every file of the tree, so each copy starts from a warm page cache. */
function readTree(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) readTree(p);
    else fs.readFileSync(p);
  }
}

/** Runs a command as its own process; resolves to its wall-clock time in ms. Its stderr goes to ours (the progress bar). */
function timed(command, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(performance.now() - t0);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit status ${code}`})`));
    });
  });
}

/** Compares two trees: same names, same types, same bytes. Returns the number of files checked. */
function sameTree(a, b) {
  let files = 0;
  const names = (d) => fs.readdirSync(d).sort();
  const walk = (x, y) => {
    const nx = names(x);
    const ny = names(y);
    if (nx.join('\0') !== ny.join('\0')) throw new Error(`${y} does not hold the same names as ${x}`);
    for (const n of nx) {
      const px = path.join(x, n);
      const py = path.join(y, n);
      const sx = fs.lstatSync(px);
      if (sx.isDirectory()) walk(px, py);
      else {
        if (!fs.readFileSync(px).equals(fs.readFileSync(py))) throw new Error(`${py} differs from ${px}`);
        files++;
      }
    }
  };
  walk(a, b);
  return files;
}

async function main() {
  const started = performance.now();
  say('safer-ring: copying a tree (npm start)');
  say('');
  const env = showEnvironment();
  say('');

  const src = path.join(tmp, 'source');
  step(`making sample data in ${tmp}`);
  const sample = makeSampleTree(src);
  say(`${fmt(sample.files)} files (one of ${LARGE_FILE / MiB} MiB) in ${sample.dirs} directories, ${fmt(sample.bytes / 1e6)} MB`);
  say('');

  const hasCp = spawnSync('cp', ['--version'], { stdio: 'ignore' }).status === 0;
  const methods = [
    { name: 'safer-ring cp -r', command: process.execPath, args: (dst) => [cli, 'cp', '-r', src, dst] },
    ...(hasCp ? [{ name: 'cp -r', command: 'cp', args: (dst) => ['-r', src, dst] }] : []),
    {
      name: 'fs.promises.cp',
      command: process.execPath,
      args: (dst) => ['-e', 'require("fs").promises.cp(process.argv[1], process.argv[2], { recursive: true }).catch((e) => { console.error(e); process.exit(1); })', src, dst],
    },
  ];
  say(`Copying it ${methods.length} ways (each a process of its own, from a warm page cache):`);
  for (const [i, m] of methods.entries()) {
    const dst = path.join(tmp, `copy-${i}`);
    // Untimed: the sample data's (and the previous copy's) dirty pages are
    // written back first, so no run pays for another's writes.
    spawnSync('sync');
    readTree(src);
    say(`  ${m.name}`);
    m.ms = await timed(m.command, m.args(dst));
    m.dst = dst;
  }
  say('');

  step('checking every copy against the source, byte for byte');
  for (const m of methods) {
    const checked = sameTree(src, m.dst);
    if (checked !== sample.files) throw new Error(`${m.name}: ${checked} files checked, ${sample.files} expected`);
  }
  say('all identical');
  say('');

  const width = Math.max(...methods.map((m) => m.name.length));
  const cpMs = methods.find((m) => m.name === 'cp -r')?.ms;
  const fsMs = methods.find((m) => m.name === 'fs.promises.cp').ms;
  say(`  ${'method'.padEnd(width)}  ${'time'.padStart(8)}  ${'files/s'.padStart(8)}  ${'MB/s'.padStart(7)}  ${cpMs ? 'vs cp -r'.padStart(8) : ''}  vs fs.cp`);
  for (const m of methods) {
    const secs = m.ms / 1000;
    say(`  ${m.name.padEnd(width)}  ${`${fmt(secs, 2)} s`.padStart(8)}  ${fmt(sample.files / secs).padStart(8)}  ${fmt(sample.bytes / 1e6 / secs).padStart(7)}  ` +
      `${cpMs ? `${fmt(cpMs / m.ms, 2)}x`.padStart(8) : ''}  ${`${fmt(fsMs / m.ms, 2)}x`.padStart(8)}`);
  }
  say('');
  say('  One run each, start-up included, on whatever else this machine is doing: a first look, not a benchmark.');
  if (env.backend !== 'io_uring') say('  (safer-ring ran on its node:fs fallback backend: these numbers say nothing about io_uring)');
  say(`Done in ${fmt((performance.now() - started) / 1000, 1)} s; the sample data is removed.`);
  say('Side-by-side measurements: `npm run bench -- --bench copy` (bench/README.md); results: docs/benchmarks.md; the API and CLI: docs/copy.md.');
}

main()
  .catch((err) => {
    console.error(`\nnpm start failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(removeSamples);
