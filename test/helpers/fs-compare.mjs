// Side-by-side helpers for the drop-in tests: run the same call through
// safer-ring/fs/promises and node:fs/promises and compare what comes back.
import * as assert from 'uvu/assert';
import { isDeepStrictEqual } from 'node:util';

/** Settles `fn()` into { value } or { error }. */
export async function outcome(fn) {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error };
  }
}

const ERROR_KEYS = ['name', 'code', 'errno', 'syscall', 'path', 'dest', 'message'];

/** The two errors match as Node users see them: class, name, code, errno, syscall, path, dest, message. */
export function sameError(ours, theirs, what = '') {
  assert.ok(ours instanceof Error, `${what}: ours is not an Error: ${ours}`);
  for (const cls of [TypeError, RangeError]) assert.is(ours instanceof cls, theirs instanceof cls, `${what}: instanceof ${cls.name}`);
  for (const key of ERROR_KEYS) assert.is(ours[key], theirs[key], `${what}: ${key} (${ours.message} vs ${theirs.message})`);
}

/** Stats equal field by field (atime may move between two calls; the rest may not). */
export function sameStats(a, b, what = '') {
  assert.is(Object.getPrototypeOf(a), Object.getPrototypeOf(b), `${what}: Stats class`);
  for (const key of Object.keys(b)) {
    if (key.startsWith('atime')) continue;
    const x = a[key];
    const y = b[key];
    assert.ok(x instanceof Date ? x.getTime() === y.getTime() : x === y, `${what}: ${key}: ${x} vs ${y}`);
  }
}

/**
 * Runs `call(impl)` with both modules (ours first) and asserts the same
 * outcome: equal values (deep), or matching errors. `prepare()` runs before
 * each side, for calls that change the file system.
 */
export async function sideBySide(ours, node, call, { prepare, compare, what = '' } = {}) {
  await prepare?.();
  const a = await outcome(() => call(ours));
  await prepare?.();
  const b = await outcome(() => call(node));
  if (b.error) {
    assert.ok(a.error, `${what}: node:fs failed (${b.error.message}) but ours gave ${String(a.value).slice(0, 80)}`);
    sameError(a.error, b.error, what);
  } else {
    assert.ok(!a.error, `${what}: ours failed: ${a.error?.stack}`);
    if (compare) compare(a.value, b.value);
    else assert.ok(isDeepStrictEqual(a.value, b.value), `${what}: values differ: ${String(a.value).slice(0, 80)} vs ${String(b.value).slice(0, 80)}`);
  }
  return a;
}
