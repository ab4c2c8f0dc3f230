#!/usr/bin/env node
// Copy jobs, side by side in one run: a tree of many small files and one
// large file, copied by `safer-ring cp`, `cp`, fs.promises.cp and
// fs.promises.copyFile (64 in flight for the tree), each as its own process,
// so each pays its own start-up, as a user running it would.
//
//   node bench/copy.mjs [--rounds N] [--files N] [--dirs N] [--file-size SIZE] [--size SIZE]
//                       [--only TEXT] [--json FILE] [--svg FILE] [--markdown FILE]
//
// Method (see docs/benchmarks.md#copy-jobs):
//  - rounds are interleaved: every variant runs once per round, and each
//    round rotates the order within a group, so each variant runs in each
//    position (see rotatedWithinGroups);
//  - before each timed run, `sync` (so no run pays for the previous one's
//    writeback), then the source is read (the host reclaims idle page cache,
//    and every variant should start from a warm one);
//  - between runs of the tree the previous destination is moved aside
//    (rename), and all of them are deleted only after the last timed run: on
//    ext4 here, an `rm -rf` of 20,000 files makes the next run's creates
//    several times slower, which would hide every difference;
//  - the large file's previous copy, by contrast, is deleted before the next
//    run: kept, each copy adds a GiB of page cache, and once the guest's
//    recently used memory is taken every copy writes into pages the VM's host
//    has to back first, which measured 4-5 s of memcpy in the kernel per GiB
//    (against 0.4 s) for every variant alike: a measure of the host, not of
//    the copy. Deleting one file has no after-effect on the next run;
//  - wall time per run (spawn to exit), and CPU time (user + system, from
//    /usr/bin/time when present), medians over the rounds; ratios against cp
//    and fs.promises.cp.
import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataDir, repoRoot } from './lib/paths.mjs';
import { ensureDataFile, parseSize, formatBytes, warmPageCache } from './lib/datafile.mjs';
import { median, printTable, columns, formatInt, formatTimes } from './lib/stats.mjs';
import { machineLine, reportHeader, writeJson } from './lib/report.mjs';
import { runMain } from './lib/cli.mjs';
import { barChartSvg } from './lib/svg.mjs';

const USAGE = `usage: node bench/copy.mjs [options]
  --rounds N         rounds, interleaved (default 3)
  --files N          small files in the tree (default 20000)
  --dirs N           directories they are spread over (default 200)
  --file-size SIZE   size of each small file (default 4k)
  --size SIZE        the large file (default 1g)
  --only TEXT        only variants whose name contains TEXT (repeatable)
  --json FILE        also write the results as JSON
  --svg FILE         write a chart of the results (SVG)
  --markdown FILE    write the result tables as Markdown
  -h, --help         this help
(--seconds and --warmup, which npm run bench passes to every benchmark, are accepted and ignored.)`;

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      files: { type: 'string', default: '20000' },
      dirs: { type: 'string', default: '200' },
      'file-size': { type: 'string', default: '4k' },
      size: { type: 'string', default: '1g' },
      only: { type: 'string', multiple: true, default: [] },
      json: { type: 'string' },
      svg: { type: 'string' },
      markdown: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const int = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer: ${values[name]}`);
    return n;
  };
  return {
    help: values.help,
    rounds: int('rounds'),
    files: int('files'),
    dirs: int('dirs'),
    fileSize: parseSize(values['file-size']),
    size: parseSize(values.size),
    only: values.only.map((s) => s.toLowerCase()),
    json: values.json ?? null,
    svg: values.svg ?? null,
    markdown: values.markdown ?? null,
  };
}

const cli = path.join(repoRoot, 'dist', 'src', 'copy', 'cli.js');
const copyFileTree = path.join(repoRoot, 'bench', 'lib', 'copyfile-tree.mjs');
const hasTime = spawnSync('/usr/bin/time', ['-f', '%e', 'true'], { stdio: 'ignore' }).status === 0;

/** The small-file tree, made once and kept in .bench-data (its name says its shape). */
function ensureTree(files, dirs, fileSize, log) {
  const dir = path.join(dataDir, `copy-tree-${files}x${fileSize}-${dirs}d`);
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  log(`creating ${dir} (${files} files of ${formatBytes(fileSize)} in ${dirs} directories) ...`);
  fs.rmSync(dir, { recursive: true, force: true });
  const buf = Buffer.allocUnsafe(fileSize);
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `d${String(i % dirs).padStart(3, '0')}`);
    if (i < dirs) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}`), randomFillSync(buf));
  }
  fs.writeFileSync(done, '');
  return dir;
}

function warmTree(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) warmTree(p);
    else fs.readFileSync(p);
  }
}

/** Runs one command; resolves to { ms, cpuMs } (cpuMs NaN without /usr/bin/time). */
function runTimed(argv) {
  return new Promise((resolve, reject) => {
    const timeFile = path.join(dataDir, `.time-${process.pid}`);
    const full = hasTime ? ['/usr/bin/time', '-f', '%U %S', '-o', timeFile, ...argv] : argv;
    const t0 = performance.now();
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${argv.join(' ')} failed (status ${code}): ${err.slice(-2000)}`));
      let cpuMs = NaN;
      if (hasTime) {
        const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
        cpuMs = (u + s) * 1000;
        fs.rmSync(timeFile, { force: true });
      }
      resolve({ ms, cpuMs });
    });
  });
}

/**
 * The jobs in the order of round `k`: each group's variants rotated by k, so
 * every variant runs in every position of its group. On this host a copy's
 * speed depends on the memory the runs before it left behind (the host backs
 * the guest's memory lazily): with a fixed order, the first large-file copy of
 * each round ran in 0.6-0.7 s and the next ones in 2.7-5 s, and run by hand
 * in a fixed order, `cp` first was the fast one. Rotating keeps any such
 * effect from always favouring one variant.
 */
function rotatedWithinGroups(jobs, k) {
  const groups = [...new Set(jobs.map((j) => j.group))];
  return groups.flatMap((g) => {
    const list = jobs.filter((j) => j.group === g);
    const at = k % list.length;
    return [...list.slice(at), ...list.slice(0, at)];
  });
}

/** Moves a destination aside; everything moved aside is deleted at the very end. */
const trash = path.join(dataDir, 'copy-trash');
let trashed = 0;
function moveAside(p) {
  if (!fs.existsSync(p)) return;
  fs.mkdirSync(trash, { recursive: true });
  fs.renameSync(p, path.join(trash, `${trashed++}`));
}

async function main() {
  const opts = options(process.argv.slice(2));
  if (opts.help) return console.log(USAGE);
  const log = (t) => console.error(t);
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build first (npm run build)`);
  if (fs.existsSync(trash)) {
    log(`removing ${trash} left by an earlier run (then waiting 5 s, so the deletion does not slow the first runs)`);
    fs.rmSync(trash, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 5000));
  }
  const tree = ensureTree(opts.files, opts.dirs, opts.fileSize, log);
  const large = ensureDataFile(opts.size, log);
  const out = path.join(dataDir, 'copy-out');
  fs.mkdirSync(out, { recursive: true });
  const treeBytes = opts.files * opts.fileSize;

  const node = process.execPath;
  const nodeCp = 'require("fs").promises.cp(process.argv[1], process.argv[2], { recursive: true }).catch((e) => { console.error(e); process.exit(1); })';
  const nodeCopyFile = 'require("fs").promises.copyFile(process.argv[1], process.argv[2]).catch((e) => { console.error(e); process.exit(1); })';
  const jobs = [
    { group: 'tree', name: 'safer-ring cp -r', argv: (s, d) => [node, cli, 'cp', '-r', '-q', s, d] },
    { group: 'tree', name: 'cp -r', argv: (s, d) => ['cp', '-r', s, d] },
    { group: 'tree', name: 'fs.promises.cp', argv: (s, d) => [node, '-e', nodeCp, s, d] },
    { group: 'tree', name: 'fs.promises.copyFile x64', argv: (s, d) => [node, copyFileTree, s, d, '64'] },
    { group: 'large', name: 'safer-ring cp', argv: (s, d) => [node, cli, 'cp', '-q', s, d] },
    { group: 'large', name: 'cp', argv: (s, d) => ['cp', s, d] },
    { group: 'large', name: 'fs.promises.copyFile', argv: (s, d) => [node, '-e', nodeCopyFile, s, d] },
  ].filter((j) => opts.only.length === 0 || opts.only.some((o) => `${j.group} ${j.name}`.toLowerCase().includes(o)));
  for (const j of jobs) j.samples = [];

  log(`copy benchmark: ${machineLine()}`);
  log(`tree: ${opts.files} x ${formatBytes(opts.fileSize)} in ${opts.dirs} directories; large file: ${formatBytes(opts.size)}; ${opts.rounds} rounds`);
  for (let round = 1; round <= opts.rounds; round++) {
    for (const j of rotatedWithinGroups(jobs, round - 1)) {
      const src = j.group === 'tree' ? tree : large;
      const dst = path.join(out, `${j.group}-${j.name.replace(/[^a-z0-9]+/gi, '-')}`);
      if (j.group === 'tree') moveAside(dst);
      else fs.rmSync(dst, { force: true });
      // The previous run's dirty pages are written back first (untimed), so a
      // run does not pay for the one before it.
      spawnSync('sync');
      if (j.group === 'tree') warmTree(src);
      else warmPageCache(src);
      const r = await runTimed(j.argv(src, dst));
      j.samples.push(r);
      log(`  round ${round}: ${j.group.padEnd(5)} ${j.name.padEnd(26)} ${(r.ms / 1000).toFixed(3)} s` + (Number.isNaN(r.cpuMs) ? '' : `, cpu ${(r.cpuMs / 1000).toFixed(3)} s`));
    }
  }
  // Check the last copy of each variant against its source (names and sizes; bytes for the large file).
  for (const j of jobs) {
    const dst = path.join(out, `${j.group}-${j.name.replace(/[^a-z0-9]+/gi, '-')}`);
    if (j.group === 'large') {
      if (fs.statSync(dst).size !== opts.size) throw new Error(`${j.name}: wrong size`);
    } else {
      let n = 0;
      for (const d of fs.readdirSync(dst)) if (d !== '.complete') n += fs.readdirSync(path.join(dst, d)).length;
      if (n !== opts.files) throw new Error(`${j.name}: ${n} files in the copy, ${opts.files} expected`);
    }
  }
  log('deleting the copies ...');
  for (const j of jobs) moveAside(path.join(out, `${j.group}-${j.name.replace(/[^a-z0-9]+/gi, '-')}`));
  fs.rmSync(trash, { recursive: true, force: true });

  const results = jobs.map((j) => {
    const ms = median(j.samples.map((s) => s.ms));
    const cpuMs = median(j.samples.map((s) => s.cpuMs));
    const bytes = j.group === 'tree' ? treeBytes : opts.size;
    return { group: j.group, name: j.name, ms, cpuMs, filesPerSecond: j.group === 'tree' ? opts.files / (ms / 1000) : NaN, mbPerSecond: bytes / 1e6 / (ms / 1000), samples: j.samples };
  });
  const ref = (group, name) => results.find((r) => r.group === group && r.name === name)?.ms;
  const lines = [];
  const md = [];
  for (const group of ['tree', 'large']) {
    const rows = results.filter((r) => r.group === group);
    if (rows.length === 0) continue;
    const cpMs = ref(group, group === 'tree' ? 'cp -r' : 'cp');
    const fsMs = ref(group, group === 'tree' ? 'fs.promises.cp' : 'fs.promises.copyFile');
    const title = group === 'tree' ? `${formatInt(opts.files)} files of ${formatBytes(opts.fileSize)} in ${opts.dirs} directories` : `one ${formatBytes(opts.size)} file`;
    const head = ['<variant', 'time (median)', 'cpu', group === 'tree' ? 'files/s' : 'MB/s', 'vs cp', group === 'tree' ? 'vs fs.cp' : 'vs copyFile'];
    const body = rows.map((r) => [
      r.name, `${(r.ms / 1000).toFixed(3)} s`, Number.isNaN(r.cpuMs) ? 'n/a' : `${(r.cpuMs / 1000).toFixed(3)} s`,
      group === 'tree' ? formatInt(r.filesPerSecond) : formatInt(r.mbPerSecond), formatTimes(cpMs / r.ms), formatTimes(fsMs / r.ms),
    ]);
    lines.push('', `${title}:`);
    printTable(columns(...head), body, (t) => lines.push(t));
    md.push('', `**${title}** (median of ${opts.rounds} rounds)`, '', `| ${head.map((h) => h.replace('<', '')).join(' | ')} |`, `|${head.map((h) => (h.startsWith('<') ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of body) md.push(`| ${row.join(' | ')} |`);
  }
  console.log(lines.join('\n'));
  if (opts.markdown) fs.writeFileSync(opts.markdown, `${md.join('\n').trim()}\n`);
  if (opts.svg) {
    fs.writeFileSync(opts.svg, barChartSvg({
      title: `Copy jobs (${machineLine()})`,
      groups: ['tree', 'large'].map((group) => ({
        label: group === 'tree' ? `${formatInt(opts.files)} × ${formatBytes(opts.fileSize)} files: files/s` : `one ${formatBytes(opts.size)} file: MB/s`,
        bars: results.filter((r) => r.group === group).map((r) => ({ label: r.name, value: group === 'tree' ? r.filesPerSecond : r.mbPerSecond, highlight: r.name.startsWith('safer-ring') })),
      })).filter((g) => g.bars.length > 0),
    }));
  }
  if (opts.json) writeJson(opts.json, { ...reportHeader('copy'), options: opts, results });
}

runMain(main);
