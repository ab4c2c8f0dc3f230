// Leak warnings: buffers garbage-collected without release() are reported as
// one SAFER_RING_LEAK warning per burst, with a count per allocation site in
// development mode. Each case runs in a child process with --expose-gc, so
// collection is deterministic and warnings from other tests cannot mix in.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tmpPath } from './helpers/env.mjs';

const index = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'index.js')).href;

/** Runs `body` as an ES module after the harness below; returns the SAFER_RING_LEAK messages it saw. */
function run(body, env = {}) {
  const file = `${tmpPath('leak')}.mjs`;
  fs.writeFileSync(file, `
import { OwnedBuffer, BufferPool, setLeakWarnings } from ${JSON.stringify(index)};
const warnings = [];
process.on('warning', (w) => { if (w.code === 'SAFER_RING_LEAK') warnings.push(w.message); });
async function collect() {
  for (let i = 0; i < 4; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 5)); }
}
${body}
await collect();
console.log(JSON.stringify(warnings));
`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--no-warnings', file], {
    encoding: 'utf8',
    env: { ...process.env, SAFER_RING_DEBUG: '', ...env },
    timeout: 60_000,
  });
  assert.is(r.status, 0, r.stderr);
  return { warnings: JSON.parse(r.stdout.trim().split('\n').pop()), file };
}

test('1,000 leaked buffers give one warning with the count and where they were allocated', () => {
  const { warnings, file } = run(`
function leakMany() { for (let i = 0; i < 1000; i++) new OwnedBuffer(64); }
function leakFew() { for (let i = 0; i < 3; i++) OwnedBuffer.from([1, 2, 3]); }
leakMany();
leakFew();
new OwnedBuffer(16).release(); // released: never reported
`, { SAFER_RING_DEBUG: '1' });
  assert.is(warnings.length, 1, JSON.stringify(warnings));
  const [first, ...sites] = warnings[0].split('\n');
  assert.match(first, /^1003 buffers \(\d+ bytes of arena memory\) were garbage-collected without release\(\); allocated at:$/);
  const url = pathToFileURL(file).href;
  // Most frequent first; each site is the caller's frame, not safer-ring's own.
  assert.ok(sites[0].startsWith(`  1000 x at leakMany (${url}:`), sites[0]);
  assert.match(sites[0], / <- at /); // and its caller
  assert.match(sites[1], /^ {2}3 x at leakFew \(/);
  assert.is(sites.length, 2);
  assert.not.match(warnings[0], 'owned-buffer');
});

test('separate bursts give separate warnings; pooled buffers are reported from where they were taken', () => {
  const { warnings } = run(`
const pool = new BufferPool(4, 32);
function takeFromPool() { for (let i = 0; i < 2; i++) pool.get(); }
takeFromPool();
await collect();
new OwnedBuffer(8);
`, { SAFER_RING_DEBUG: '1' });
  assert.is(warnings.length, 2, JSON.stringify(warnings));
  assert.match(warnings[0], /^2 buffers .*\n {2}2 x at takeFromPool \(/);
  assert.match(warnings[1], /^1 buffer \(\d+ bytes of arena memory\) was garbage-collected/);
});

test('off by default; buffers allocated before it was switched on are counted without a site', () => {
  const { warnings } = run(`
function early() { for (let i = 0; i < 5; i++) new OwnedBuffer(8); }
early();
await collect(); // reclaimed with warnings off: nothing reported
function late() { for (let i = 0; i < 2; i++) new OwnedBuffer(8); }
late();
setLeakWarnings(true);
await collect();
`);
  assert.is(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0], /^2 buffers .*\n {2}2 x allocated before leak warnings were on/);
});

test.run();
