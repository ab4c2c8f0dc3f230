#!/usr/bin/env node
// submit() of more descriptors than the submission queue holds, on an SQPOLL
// ring and on a plain one: a coded refusal at once. (On SQPOLL the native
// layer used to wait for room that could never come: a busy loop forever. The
// native fuzzer found it; this child runs under a timeout, so a hang fails.)
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { binding } = require(path.join(root, 'dist', 'src', 'native.js'));
if (binding === null) {
  process.stdout.write(`${JSON.stringify({ skipped: 'the native addon is not available' })}\n`);
  process.exit(0);
}
const outcomes = {};
for (const [name, flags] of [['sqpoll', 1], ['plain', 0]]) {
  const desc = new Int32Array(16 * 8);
  const ring = new binding.NativeRing(2, flags, 10, desc, new Int32Array(64), new Int32Array(48), () => {});
  const n = ring.info().sqEntries + 1;
  for (let i = 0; i < n; i++) { desc[i * 16] = 0; desc[i * 16 + 2] = i + 1; desc[i * 16 + 5] = -1; desc[i * 16 + 12] = -1; }
  try {
    ring.submit(n);
    outcomes[name] = 'accepted';
  } catch (err) {
    outcomes[name] = err.code;
  }
  outcomes[`${name}InFlight`] = ring.inFlight();
  ring.destroy();
}
const ok = outcomes.sqpoll === 'ERR_INVALID_ARG_VALUE' && outcomes.plain === 'ERR_INVALID_ARG_VALUE' && outcomes.sqpollInFlight === 0 && outcomes.plainInFlight === 0;
process.stdout.write(`${JSON.stringify(ok ? { ok: true, stats: outcomes } : { violation: 'an over-full submit was not refused with a code', outcomes })}\n`);
process.exit(ok ? 0 : 1);
