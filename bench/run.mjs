#!/usr/bin/env node
// Entry point of `npm run bench` (which builds the library with tsc first).
//
//   npm run bench -- [--bench NAME] [options passed to every benchmark]
//
// Each benchmark script runs in its own Node process, one after the other, so
// one benchmark's heap, JIT state or open rings cannot colour the next. To add
// a benchmark, write bench/<name>.mjs and list it in BENCHMARKS.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchDir } from './lib/paths.mjs';
import { USAGE } from './lib/cli.mjs';

const BENCHMARKS = [
  {
    name: 'read-random',
    script: 'read-random.mjs',
    description: 'random 4 KiB reads of a cached file: safer-ring vs node:fs vs C liburing',
  },
  {
    name: 'runtime',
    script: 'runtime.mjs',
    description: 'random 4 KiB reads: Runtime (1, 2, 4 workers) vs inline Ring vs node:fs, QD64 and QD1 latency',
  },
  {
    name: 'presets',
    script: 'presets.mjs',
    description: 'random 4 KiB reads, QD64 and QD1, on a Ring built from each SaferRingConfig preset',
  },
  {
    name: 'net',
    script: 'net.mjs',
    description: 'safer-ring/net vs node:net: echo (C client), 1 GiB bulk, node:http with wrk; raw Ring vs Runtime echo',
  },
  {
    name: 'fs',
    script: 'fs.mjs',
    description: 'safer-ring/fs/promises vs node:fs/promises: readFile/writeFile 4 KiB-64 MiB, stat, FileHandle.read; QD64 and QD1',
  },
  {
    name: 'fs-placement',
    script: 'fs-placement.mjs',
    description: 'the fs layer\'s operations (statx, open + close, 4 KiB read) through the inline Ring vs a Runtime, QD64 and QD1',
  },
  {
    name: 'fs-chain',
    script: 'fs-chain.mjs',
    description: 'readFile\'s linked open → read → read chain against the same work in three submits, QD64 and QD1',
  },
  {
    name: 'copy',
    script: 'copy.mjs',
    description: 'a 20,000 x 4 KiB tree and a 1 GiB file: safer-ring cp vs cp vs fs.promises.cp vs copyFile',
  },
  {
    name: 'signaling',
    script: 'signaling.mjs',
    description: 'one wake main → worker → main: Atomics.waitAsync vs postMessage vs Atomics.wait vs piscina; 64 records per wake, 64 in flight',
  },
];

function usage() {
  const list = BENCHMARKS.map((b) => `  ${b.name.padEnd(14)} ${b.description}`).join('\n');
  return `usage: node bench/run.mjs [--bench NAME]... [options]
benchmarks (all run by default):
${list}
${USAGE}`;
}

// Pull out --bench NAME (repeatable); everything else goes to the scripts.
const args = process.argv.slice(2);
const wanted = [];
const passThrough = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--bench') wanted.push(args[++i]);
  else if (arg.startsWith('--bench=')) wanted.push(arg.slice('--bench='.length));
  else if (arg === '--help' || arg === '-h') {
    console.log(usage());
    process.exit(0);
  } else passThrough.push(arg);
}

const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')}\n${usage()}`);
  process.exit(2);
}
const chosen = wanted.length > 0 ? BENCHMARKS.filter((b) => wanted.includes(b.name)) : BENCHMARKS;

let status = 0;
for (const bench of chosen) {
  if (chosen.length > 1) console.log(`\n=== ${bench.name} ===\n`);
  const r = spawnSync(process.execPath, [path.join(benchDir, bench.script), ...passThrough], { stdio: 'inherit' });
  if (r.error) {
    console.error(`bench: could not run ${bench.script}: ${r.error.message}`);
    status = 1;
  } else if (r.status !== 0) {
    console.error(`bench: ${bench.name} exited with ${r.signal ?? `status ${r.status}`}`);
    status = 1;
  }
}
process.exit(status);
