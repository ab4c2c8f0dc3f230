// Shared test fixtures: temp files, pipes and a loopback listener.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

export const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-test-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));

let counter = 0;
export function tmpPath(name = 'file') {
  return path.join(tmpRoot, `${name}-${process.pid}-${counter++}`);
}

/** A file with `size` bytes of a known pattern (byte i = (i * 31 + 7) & 255). */
export function patternFile(size) {
  const file = tmpPath('pattern');
  fs.writeFileSync(file, pattern(size));
  return file;
}

export function pattern(size, seed = 7) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

/** The compiled addon itself (the file the library loads), for tests that talk to the native layer directly. */
export function nativeBinding() {
  const require = createRequire(import.meta.url);
  return process.env.SAFER_RING_NATIVE_ADDON
    ? require(process.env.SAFER_RING_NATIVE_ADDON)
    : require('node-gyp-build')(path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..'));
}

export const backend = process.env.SAFER_RING_BACKEND ?? 'io_uring';

/**
 * A well-formed fd that is not open. Not "an fd we just closed": other threads
 * in the test process (ring workers starting up) open files all the time and
 * may get that number back before the test uses it.
 */
export const NOT_OPEN_FD = 999_999;

/**
 * `base` (uvu's test) for suites that need io_uring itself; on the fallback
 * backend every test in it is registered as skipped, with the file saying why.
 */
export function ioUringOnly(base) {
  if (backend !== 'fallback') return base;
  return Object.assign((...args) => base.skip(...args), { run: base.run, after: base.after, before: base.before, skip: base.skip });
}

/** This process's io_uring fds (every one belongs to a safer-ring ring: libuv's own io_uring is off in Node 20). */
export function ringFds() {
  const fds = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${name}`) === 'anon_inode:[io_uring]') fds.push(Number(name));
    } catch {
      // the fd of the directory listing itself is gone by now
    }
  }
  return fds;
}

/**
 * `base` for suites that need to run once per backend, not once per worker
 * count (the fuzzers' short runs): test/run.mjs marks one configuration per
 * backend with SAFER_RING_TEST_PRIMARY=1 and the others with 0; run alone
 * (variable unset), the suite runs.
 */
export function oncePerBackend(base) {
  if (process.env.SAFER_RING_TEST_PRIMARY !== '0') return base;
  return Object.assign((...args) => base.skip(...args), { run: base.run, after: base.after, before: base.before, skip: base.skip });
}

/**
 * Lets the garbage collector reclaim buffers earlier tests dropped (their
 * slots come back through a FinalizationRegistry whenever the loop turns), so
 * arena counts taken afterwards stay put. Needs --expose-gc (test/run.mjs).
 */
export async function quiesce() {
  if (typeof globalThis.gc !== 'function') return;
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((res) => setImmediate(res));
  }
}

/**
 * Awaits `promise`, or fails after `ms` with `describe()`'s account of the
 * state: a test that stops making progress fails on its own, saying where it
 * stood, instead of running into the runner's limit for the whole
 * configuration (which reports no more than a timeout).
 */
export async function withinDeadline(promise, ms, describe) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no progress after ${ms} ms: ${JSON.stringify(describe())}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
