// A NativeRing made straight from the addon, for tests of the native layer's
// own checks (no Ring in between), and the assertion those tests make most.
import * as assert from 'uvu/assert';
import { SaferRingError } from 'safer-ring';
import { nativeBinding } from './env.mjs';
import { sleep } from './net.mjs';

// The native ring holds its callback weakly: its owner (this list) keeps it alive.
const callbacks = [];

/** A 4-entry ring with one 4 KiB arena chunk; `completions` collects { res, flags } as they come. */
export function nativeRing() {
  const native = nativeBinding();
  native.setErrorClass(SaferRingError);
  const desc = new Int32Array(16 * 4);
  const comps = new Int32Array(64);
  const completions = [];
  const onComplete = (n) => {
    for (let i = 0; i < n; i++) completions.push({ res: comps[i * 4 + 2], flags: comps[i * 4 + 3] });
  };
  callbacks.push(onComplete);
  const r = new native.NativeRing(4, 0, 0, desc, comps, new Int32Array(24), onComplete);
  r.addChunk(0, new Uint8Array(new SharedArrayBuffer(4096)), 4096);
  return { r, desc, completions, native };
}

/** Asserts that fn throws a SaferRingError with `expected` as its code; returns the error. */
export function code(fn, expected) {
  try {
    fn();
  } catch (err) {
    assert.instance(err, SaferRingError);
    assert.is(err.code, expected, err.message);
    return err;
  }
  assert.unreachable(`expected ${expected}`);
}

/** Waits for the ring's first completion and returns it. */
export async function firstCompletion(completions) {
  while (completions.length === 0) await sleep(1);
  return completions[0];
}
