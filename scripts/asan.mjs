#!/usr/bin/env node
// npm run test:asan [-- --fuzz-seconds N]
//
// Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer into
// build-asan/ (a copy of binding.gyp and native/, so the ordinary build in
// build/ is left alone), then runs the test suite on the io_uring backend
// (one and four workers, all but the packaging test; the fallback backend runs no native code) with that
// addon, and, with --fuzz-seconds, a longer native fuzz run. Node itself is
// not instrumented, so the sanitizer runtime is preloaded (LD_PRELOAD), the
// usual way to check an addon. Every child process the tests start (fuzz
// batches, fault tests) inherits the same environment.
//
// Passes when the suite passes and the sanitizers wrote zero reports
// (reports go to files under build-asan/reports/; leak detection is off
// because Node's own allocations at exit are not ours).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build-asan');
const reports = path.join(out, 'reports');
const argv = process.argv.slice(2);
const fuzzSeconds = Number(argv[argv.indexOf('--fuzz-seconds') + 1] ?? 0) || 0;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status === 0;
}

function sanitizerRuntime() {
  const r = spawnSync(process.env.CXX || 'g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const file = r.stdout?.trim();
  if (r.status !== 0 || !file || !fs.existsSync(file)) return null;
  return fs.realpathSync(file);
}

const asanLib = sanitizerRuntime();
if (asanLib === null) {
  process.stderr.write('test:asan: the compiler has no libasan (install the gcc/g++ package that ships it)\n');
  process.exit(1);
}

// 1. The sanitizer build, in its own directory.
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'scripts'), { recursive: true });
fs.cpSync(path.join(root, 'native'), path.join(out, 'native'), { recursive: true });
fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(out, 'binding.gyp'));
fs.copyFileSync(path.join(root, 'scripts', 'liburing.js'), path.join(out, 'scripts', 'liburing.js'));
const flags = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1';
const gyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const localHeaders = path.resolve(path.dirname(process.execPath), '..');
const gypArgs = [gyp, 'rebuild'];
if (fs.existsSync(path.join(localHeaders, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${localHeaders}`);
process.stdout.write(`test:asan: building the addon with ${flags}\n`);
if (!run(process.execPath, gypArgs, { cwd: out, env: { ...process.env, CXXFLAGS: flags, LDFLAGS: '-fsanitize=address,undefined' } })) {
  process.stderr.write('test:asan: the sanitizer build failed\n');
  process.exit(1);
}
const addon = path.join(out, 'build', 'Release', 'safer_ring.node');

// 2. The suite and the fuzzers with it.
fs.mkdirSync(reports, { recursive: true });
const env = {
  ...process.env,
  SAFER_RING_NATIVE_ADDON: addon,
  SAFER_RING_REQUIRE_NATIVE: '1',
  LD_PRELOAD: [asanLib, process.env.LD_PRELOAD].filter(Boolean).join(':'),
  ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=${path.join(reports, 'asan')}:allow_user_segv_handler=1`,
  UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${path.join(reports, 'ubsan')}`,
};
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
let ok = true;
const summary = [];
for (const workers of [1, 4]) {
  const t0 = Date.now();
  // The packaging test packs and installs the package (its own build, not this one): left out.
  const r = spawnSync(process.execPath, ['--expose-gc', uvu, 'test', '^(?!package\\.)[^/]*\\.test\\.mjs$', '-c', 'false'], {
    cwd: root,
    env: { ...env, SAFER_RING_BACKEND: 'io_uring', SAFER_RING_WORKERS: String(workers), SAFER_RING_TEST_PRIMARY: workers === 1 ? '1' : '0' },
    encoding: 'utf8',
    timeout: 15 * 60 * 1000,
  });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  process.stdout.write(text);
  const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const good = r.status === 0 && total > 0 && passed === total;
  ok &&= good;
  summary.push(`  io_uring, ${workers} worker(s) under ASan+UBSan: ${passed}/${total} passed (${((Date.now() - t0) / 1000).toFixed(1)} s)${good ? '' : ' FAILED'}`);
}
if (fuzzSeconds > 0) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'fuzz.mjs'), '--time', String(fuzzSeconds), '--only', 'native'], { cwd: root, env, stdio: 'inherit' });
  ok &&= r.status === 0;
  summary.push(`  native fuzz under ASan+UBSan for ${fuzzSeconds} s: ${r.status === 0 ? 'no violation' : 'FAILED'}`);
}

// 3. Zero reports.
const found = fs.readdirSync(reports);
for (const f of found) process.stdout.write(`\n--- ${f}\n${fs.readFileSync(path.join(reports, f), 'utf8')}`);
summary.push(`  sanitizer reports: ${found.length}`);
process.stdout.write(`\n${summary.join('\n')}\n`);
process.exitCode = ok && found.length === 0 ? 0 : 1;
process.stdout.write(process.exitCode === 0 ? 'test:asan: passed, zero sanitizer reports\n' : 'test:asan: FAILED\n');
