// Backend fallback where io_uring is blocked by seccomp, as under a default
// container profile. Each check runs a child process through
// test/support/no-io-uring.c, which makes io_uring_setup fail with EPERM in
// that child only; the parent and the rest of the machine are untouched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeBinding } from './helpers/env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonFile = path.join(root, 'build', 'Release', 'safer_ring.node');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-seccomp-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

const CHILD_TIMEOUT_MS = 20_000;

/** Compiles the launcher; returns its path, or why these checks cannot run here. */
function buildLauncher() {
  if (!fs.existsSync(addonFile)) return { skip: `the native addon is not built (${addonFile})` };
  const exe = path.join(work, 'no-io-uring');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', exe, path.join(root, 'test', 'support', 'no-io-uring.c')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (cc.error?.code === 'ENOENT') return { skip: 'no C compiler (cc) on PATH' };
  if (/unsupported architecture/.test(cc.stderr ?? '')) return { skip: `no seccomp launcher for ${process.arch}` };
  if (cc.error || cc.status !== 0) throw new Error(`cc failed to build the launcher:\n${cc.stderr}${cc.error ?? ''}`);
  // A kernel without seccomp filters cannot run these checks at all.
  const check = spawnSync(exe, ['true'], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  if (check.status === 125 && /EINVAL|ENOSYS|Invalid argument|not implemented/.test(check.stderr)) {
    return { skip: `this kernel cannot install a seccomp filter: ${check.stderr.trim()}` };
  }
  if (check.status !== 0) throw new Error(`the launcher does not run: status ${check.status}\n${check.stderr}`);
  return { exe };
}

const launcher = buildLauncher();
const seccompTest = launcher.exe ? test : test.skip;
if (launcher.skip) console.log(`  fallback-seccomp: skipped, ${launcher.skip}`);

/** Whether io_uring works in this (unfiltered) process, whatever SAFER_RING_BACKEND says. */
function parentHasIoUring() {
  try {
    nativeBinding().probe();
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `node -e script args...` from the repository root (so that
 * require('safer-ring') resolves to this package), through the launcher when
 * `filtered`. `env` is merged over this process's environment; a value of
 * undefined removes the variable. The script prints one JSON line last.
 */
function runNode(script, args, { filtered = true, env = {} } = {}) {
  // NODE_NO_WARNINGS would hide the warning these checks count.
  const childEnv = { ...process.env, NODE_NO_WARNINGS: undefined };
  Object.assign(childEnv, env);
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const argv = [process.execPath, '-e', script, ...args];
  const run = filtered
    ? spawnSync(launcher.exe, argv, { cwd: root, env: childEnv, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS })
    : spawnSync(argv[0], argv.slice(1), { cwd: root, env: childEnv, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  if (run.error) throw new Error(`child failed to run: ${run.error.message}\nstderr:\n${run.stderr}`);
  if (run.status !== 0) throw new Error(`child exited with status ${run.status} (signal ${run.signal})\nstderr:\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]), stderr: run.stderr };
}

function fallbackWarnings(stderr) {
  return stderr.split('\n').filter((line) => line.includes('SAFER_RING_FALLBACK'));
}

// Opens, writes, fsyncs, reads back, statx-es and closes a file through a Ring,
// and reports which backend served it and whether io_uring itself can be set
// up in this process. argv: file, expected backend.
const ringScript = `
const assert = require('node:assert');
const path = require('node:path');
const { Ring } = require('safer-ring');
const [file, expected] = process.argv.slice(1);
(async () => {
  const ring = new Ring(8);
  assert.strictEqual(ring.backend, expected);
  const second = new Ring(4); // a second ring must not warn again
  assert.strictEqual(second.backend, expected);
  await second.close();
  // The addon is already loaded (and given its error class) by safer-ring.
  let probe = 'ok';
  try { require(path.resolve('build/Release/safer_ring.node')).probe(); } catch (err) { probe = err.code; }
  const text = 'written through the ring under seccomp';
  const fd = await ring.openat(file, 'w+', 0o600);
  const w = await ring.write(fd, Buffer.from(text), { position: 0 });
  await ring.fsync(fd);
  const back = Buffer.alloc(64);
  const r = await ring.read(fd, back, { position: 0 });
  const st = await ring.statx(fd);
  await ring.closeFd(fd);
  await ring.close();
  console.log(JSON.stringify({
    backend: ring.backend, probe, written: w.bytesWritten, bytesRead: r.bytesRead,
    readBack: back.subarray(0, r.bytesRead).toString(), size: st.size, text,
  }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

seccompTest('under a seccomp filter, the default selection falls back with one warning and round-trips a file', () => {
  const file = path.join(work, 'ring-default');
  const { result, stderr } = runNode(ringScript, [file, 'fallback'], { env: { SAFER_RING_BACKEND: undefined } });
  assert.is(result.backend, 'fallback');
  assert.is(result.probe, 'EPERM', 'io_uring_setup is refused inside the filtered child');
  assert.is(result.written, result.text.length);
  assert.is(result.bytesRead, result.text.length);
  assert.is(result.readBack, result.text);
  assert.is(result.size, result.text.length);
  assert.is(fs.readFileSync(file, 'utf8'), result.text);
  const warnings = fallbackWarnings(stderr);
  assert.is(warnings.length, 1, `exactly one SAFER_RING_FALLBACK warning, got:\n${stderr}`);
  assert.match(warnings[0], /EPERM/);
  fs.rmSync(file);
});

seccompTest('control: the same script without the filter uses io_uring when this process can', () => {
  const file = path.join(work, 'ring-control');
  const expected = parentHasIoUring() ? 'io_uring' : 'fallback';
  const { result, stderr } = runNode(ringScript, [file, expected], { filtered: false, env: { SAFER_RING_BACKEND: undefined } });
  assert.is(result.backend, expected);
  assert.is(result.probe === 'ok', expected === 'io_uring');
  assert.is(result.readBack, result.text);
  assert.is(fs.readFileSync(file, 'utf8'), result.text);
  assert.is(fallbackWarnings(stderr).length, expected === 'io_uring' ? 0 : 1, stderr);
  fs.rmSync(file);
});

seccompTest('under a seccomp filter, SAFER_RING_BACKEND=io_uring makes new Ring() throw ERR_IO_URING_UNAVAILABLE', () => {
  const script = `
const { Ring } = require('safer-ring');
let out;
try { new Ring(); out = { code: null }; } catch (err) { out = { code: err.code, message: err.message }; }
console.log(JSON.stringify(out));
`;
  const { result, stderr } = runNode(script, [], { env: { SAFER_RING_BACKEND: 'io_uring' } });
  assert.is(result.code, 'ERR_IO_URING_UNAVAILABLE');
  assert.match(result.message, /EPERM/);
  assert.is(fallbackWarnings(stderr).length, 0, stderr);
});

seccompTest('under a seccomp filter, a two-worker Runtime follows the fallback and round-trips a file', () => {
  const file = path.join(work, 'runtime');
  const script = `
const assert = require('node:assert');
const { Runtime } = require('safer-ring');
const [file] = process.argv.slice(1);
(async () => {
  const rt = new Runtime({ workers: 2 });
  assert.strictEqual(rt.workerCount, 2);
  const text = 'written by a worker ring under seccomp';
  const fd = await rt.openat(file, 'w+', 0o600);
  const w = await rt.write(fd, Buffer.from(text), { position: 0 });
  await rt.fsync(fd);
  const back = Buffer.alloc(64);
  const r = await rt.read(fd, back, { position: 0 });
  await rt.closeFd(fd);
  await rt.close();
  console.log(JSON.stringify({
    backend: rt.backend, written: w.bytesWritten, readBack: back.subarray(0, r.bytesRead).toString(), text,
  }));
})().catch((err) => { console.error(err); process.exit(1); });
`;
  const { result, stderr } = runNode(script, [file], { env: { SAFER_RING_BACKEND: undefined } });
  assert.is(result.backend, 'fallback');
  assert.is(result.written, result.text.length);
  assert.is(result.readBack, result.text);
  assert.is(fs.readFileSync(file, 'utf8'), result.text);
  const warnings = fallbackWarnings(stderr);
  assert.is(warnings.length, 1, `exactly one SAFER_RING_FALLBACK warning, got:\n${stderr}`);
  assert.match(warnings[0], /EPERM/);
  fs.rmSync(file);
});

test.run();
