// Helpers for the safer-ring/net tests: events as promises, a seeded PRNG,
// and a child-process runner for keep-alive checks.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** xorshift32: the same "random" sizes and bytes on every run. */
export function prng(seed = 0x9e3779b9) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** `length` bytes of a pattern that depends on `seed` (cheap to make, easy to check). */
export function patterned(length, seed) {
  const b = Buffer.allocUnsafe(length);
  let v = seed & 255;
  for (let i = 0; i < length; i++) {
    b[i] = v;
    v = (v * 13 + 7) & 255;
  }
  return b;
}

export async function listening(server, ...args) {
  server.listen(...args);
  await once(server, 'listening');
  return server.address();
}

/** Resolves with everything `socket` delivers until 'end' (rejects on 'error'). */
export function readAll(socket) {
  return new Promise((resolve, reject) => {
    const parts = [];
    socket.on('data', (d) => parts.push(d));
    socket.on('end', () => resolve(Buffer.concat(parts)));
    socket.on('error', reject);
  });
}

/** The first 'error' a socket or server emits. */
export function nextError(emitter) {
  return new Promise((resolve) => emitter.once('error', resolve));
}

/**
 * Runs `code` (an ES module body) in a child process and resolves with
 * { code, stdout, stderr }. The child is killed (then `code` is null)
 * `killAfterMs` after it starts, or, with `readyMarker`, that long after it
 * prints the marker: a slow start on a busy machine then cannot look like an
 * early exit.
 */
export function runChild(code, { killAfterMs = 10_000, readyMarker = null, env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const kill = () => child.kill('SIGKILL');
    // A child that never gets ready is killed eventually too.
    let timer = setTimeout(kill, readyMarker === null ? killAfterMs : 60_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (readyMarker !== null && stdout.includes(readyMarker)) {
        readyMarker = null;
        clearTimeout(timer);
        timer = setTimeout(kill, killAfterMs);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout, stderr });
    });
  });
}
