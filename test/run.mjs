#!/usr/bin/env node
// Runs the uvu suite once per configuration (backend x worker count) in a
// fresh process each, then Node's own fs and net tests against the drop-in
// modules once per backend, and prints one closing line summed over every run:
//   N passed, N failed
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');

// The whole suite runs once per backend (io_uring against the real kernel,
// and the node:fs fallback) and per worker count of the runtime. Tests that
// depend on neither (the package as installed, leak warnings in child
// processes) run once, on their own.
const ONCE = /^(package|leak-warnings)\.test\.mjs$/;
const configurations = [
  ...['io_uring', 'fallback'].flatMap((backend) =>
    [1, 2, 4].map((workers) => ({
      name: `${backend} backend, ${workers} worker${workers > 1 ? 's' : ''}`,
      // One configuration per backend is its primary: suites that need not repeat per worker count run there only.
      env: { SAFER_RING_BACKEND: backend, SAFER_RING_WORKERS: String(workers), SAFER_RING_TEST_PRIMARY: workers === 1 ? '1' : '0' },
      once: false,
    })),
  ),
  { name: 'backend-independent (once)', env: {}, once: true },
];

const only = process.argv[2]; // optional file pattern, e.g. `npm test -- cancel`
let passed = 0;
let failed = 0;
const summary = [];

const selected = fs.readdirSync(path.join(root, 'test'))
  .filter((f) => /\.test\.mjs$/.test(f) && (!only || new RegExp(only).test(f)));
const escape = (name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const config of configurations) {
  // The files this configuration runs, named exactly; a configuration with none is left out.
  const files = selected.filter((f) => ONCE.test(f) === config.once);
  if (files.length === 0) continue;
  process.stdout.write(`\n=== ${config.name} ===\n`);
  const t0 = Date.now();
  // --expose-gc: tests that count arena slots first let the GC reclaim what earlier tests dropped.
  const args = ['--expose-gc', uvu, 'test', `^(${files.map(escape).join('|')})$`, '-c', 'false'];
  const run = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...config.env },
    encoding: 'utf8',
    timeout: 4 * 60 * 1000, // a run takes seconds: a hang fails fast, well inside CI's limit
  });
  const out = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  process.stdout.write(out);
  if (run.status !== 0) {
    const why = run.error?.code === 'ETIMEDOUT' ? 'timed out' : run.signal ? `killed by ${run.signal}` : `exit status ${run.status}`;
    process.stdout.write(`!! ${config.name}: the test process ended badly (${why})\n`);
  }
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  // A run that crashed or never printed its totals counts as one failure, so it cannot pass silently.
  // uvu's Total counts the tests that ran; skipped ones are reported apart.
  const bad = total - ok + (run.status !== 0 && total === ok ? 1 : 0);
  passed += ok;
  failed += bad;
  summary.push(`  ${config.name}: ${ok} ok, ${bad} not ok, ${skipped} skipped (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// External suites: test runners other than uvu (Node's own test files run
// against our drop-in modules), once per backend. Each reports
// `N passed, N failed of M applicable` on its last line; those counts join
// the totals. A suite whose runner is not on this machine is skipped, saying why.
const nodeTests = [process.env.NODE_TESTS_DIR, path.join(root, '..', 'shared', 'node-tests'), path.join(root, '..', '..', 'shared', 'node-tests')]
  .find((dir) => dir && fs.existsSync(path.join(dir, 'run.sh')));
const externalSuites = [
  { name: "Node's fs-promises tests", runner: nodeTests && path.join(nodeTests, 'run.sh'), args: ['--suite', 'fs-promises', 'dist/src/fs/promises.js'] },
  { name: "Node's fs-extra tests", runner: nodeTests && path.join(nodeTests, 'run.sh'), args: ['--suite', 'fs-extra', 'dist/src/fs/promises.js'] },
  { name: "Node's net tests", runner: nodeTests && path.join(nodeTests, 'run.sh'), args: ['--suite', 'net', 'dist/src/net/index.js'] },
];

for (const suite of only ? [] : externalSuites) {
  for (const backend of ['io_uring', 'fallback']) {
    const name = `${suite.name}, ${backend} backend`;
    if (!suite.runner) {
      summary.push(`  ${name}: skipped (the node-tests folder is not next to the repository: ../shared/node-tests, or set NODE_TESTS_DIR)`);
      continue;
    }
    process.stdout.write(`\n=== ${name} ===\n`);
    const t0 = Date.now();
    const run = spawnSync('bash', [suite.runner, ...suite.args], {
      cwd: root,
      env: { ...process.env, SAFER_RING_BACKEND: backend, NODETESTS_QUIET: '1', JOBS: process.env.JOBS ?? '2' },
      encoding: 'utf8',
      timeout: 10 * 60 * 1000,
    });
    const out = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    process.stdout.write(out.split('\n').filter((line) => !line.startsWith('PASS ')).join('\n'));
    const counts = /(\d+) passed, (\d+) failed of \d+ applicable/.exec(out);
    const ok = Number(counts?.[1] ?? 0);
    const bad = counts ? Number(counts[2]) : 1; // no summary line: the runner itself failed
    passed += ok;
    failed += bad;
    summary.push(`  ${name}: ${ok} ok, ${bad} not ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

process.stdout.write(`\n${summary.join('\n')}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
