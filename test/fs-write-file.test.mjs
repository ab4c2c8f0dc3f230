// writeFile and appendFile side by side with node:fs/promises: what lands on
// disk, for every kind of data Node takes (strings in each encoding, every
// TypedArray, DataView, iterables, async iterables, streams), flags, modes,
// flush, empty and very large data, errors and AbortSignal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import nodeFsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import ours from 'safer-ring/fs/promises';
import { ioUringOnly, pattern, tmpPath } from './helpers/env.mjs';
import { outcome, sameError, sideBySide } from './helpers/fs-compare.mjs';

const MiB = 1024 * 1024;

/** Writes with both modules to two files; the files must end up the same (and the calls settle the same). */
async function writesAlike(what, call, { before } = {}) {
  const a = tmpPath('w-ours');
  const b = tmpPath('w-node');
  if (before) {
    before(a);
    before(b);
  }
  const ra = await outcome(() => call(ours, a));
  const rb = await outcome(() => call(nodeFsp, b));
  if (rb.error) {
    assert.ok(ra.error, `${what}: node failed with ${rb.error.message}, ours did not`);
    const fix = (e) => Object.assign(Object.create(Object.getPrototypeOf(e)), e, { message: e.message.replace(a, b), path: e.path === a ? b : e.path });
    sameError(fix(ra.error), rb.error, what);
  } else {
    assert.ok(!ra.error, `${what}: ${ra.error?.stack}`);
    assert.is(ra.value, rb.value, `${what}: result`);
  }
  const ea = fs.existsSync(a);
  assert.is(ea, fs.existsSync(b), `${what}: file created`);
  if (ea) {
    assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${what}: contents`);
    assert.is(fs.statSync(a).mode, fs.statSync(b).mode, `${what}: mode`);
  }
}

test('strings, encodings and every kind of view', async () => {
  const text = 'héllo wörld ✓ 0123456789abcdef';
  for (const enc of ['utf8', 'latin1', 'hex', 'base64', 'ucs2', 'ascii', 'base64url']) {
    await writesAlike(`string ${enc}`, (m, f) => m.writeFile(f, text, enc));
    await writesAlike(`string { encoding: ${enc} }`, (m, f) => m.writeFile(f, text, { encoding: enc }));
  }
  const bytes = pattern(100_003);
  const views = [
    bytes, new Uint8Array(bytes), new Uint16Array(bytes.buffer, bytes.byteOffset, 50_000), new Float64Array(8),
    new DataView(bytes.buffer, bytes.byteOffset + 3, 1000), bytes.subarray(17, 9999), new Uint8Array(0), Buffer.alloc(0),
  ];
  for (const [i, view] of views.entries()) await writesAlike(`view ${i} (${view.constructor.name})`, (m, f) => m.writeFile(f, view));
});

// Node itself reads the lying byteLength (and throws); safer-ring never lets it size the copy.
ioUringOnly(test)('a view whose length properties lie writes its true bytes', async () => {
  const real = pattern(64);
  const liar = new Uint8Array(real);
  Object.defineProperty(liar, 'length', { value: 1 << 20 });
  Object.defineProperty(liar, 'byteLength', { value: 1 << 20 });
  const file = tmpPath('liar');
  await ours.writeFile(file, liar);
  assert.ok(fs.readFileSync(file).equals(real));
});

test('iterables, async iterables and streams, with encodings', async () => {
  const sources = {
    'array of strings': () => ['a', 'b', 'ü'],
    'generator of Buffers': () => (function* () { yield Buffer.from('x'); yield new Uint8Array([65, 66]); })(),
    'async generator': () => (async function* () { yield 'one'; yield Buffer.from('two'); })(),
    stream: () => Readable.from(['ümlaut', ' ', 'sechzig']),
    'large chunk': () => [Buffer.alloc(3 * MiB + 7, 'q')],
  };
  for (const [what, make] of Object.entries(sources)) {
    await writesAlike(what, (m, f) => m.writeFile(f, make()));
    await writesAlike(`${what} latin1`, (m, f) => m.writeFile(f, make(), 'latin1'));
  }
  for (const bad of [42, {}, null, true, Symbol('s')]) {
    await writesAlike(`iterable of ${String(bad)}`, (m, f) => m.writeFile(f, [bad]));
  }
});

test('flags, modes, flush and appendFile', async () => {
  await writesAlike('mode 0o600', (m, f) => m.writeFile(f, 'x', { mode: 0o600 }));
  await writesAlike('mode "640"', (m, f) => m.writeFile(f, 'x', { mode: '640' }));
  await writesAlike('flag wx on an existing file', (m, f) => m.writeFile(f, 'x', { flag: 'wx' }), { before: (f) => fs.writeFileSync(f, 'old') });
  await writesAlike('flag a', (m, f) => m.writeFile(f, 'new', { flag: 'a' }), { before: (f) => fs.writeFileSync(f, 'old') });
  await writesAlike('flag r+ keeps the tail', (m, f) => m.writeFile(f, 'NEW', { flag: 'r+' }), { before: (f) => fs.writeFileSync(f, 'old-and-long') });
  await writesAlike('numeric flags', (m, f) => m.writeFile(f, 'n', { flag: fs.constants.O_WRONLY | fs.constants.O_CREAT }));
  await writesAlike('flush', (m, f) => m.writeFile(f, pattern(5000), { flush: true }));
  await writesAlike('appendFile', (m, f) => m.appendFile(f, 'more'), { before: (f) => fs.writeFileSync(f, 'old') });
  await writesAlike('appendFile with flag null', (m, f) => m.appendFile(f, 'more', { flag: null }), { before: (f) => fs.writeFileSync(f, 'old') });
  await writesAlike('appendFile creates', (m, f) => m.appendFile(f, Buffer.from('fresh')));
  // Past 256 KiB the file is opened by Node's open and written by Node's writes: the same flags and modes.
  const large = pattern(300 * 1024);
  await writesAlike('large, mode 0o600', (m, f) => m.writeFile(f, large, { mode: 0o600 }));
  await writesAlike('large, flag wx on an existing file', (m, f) => m.writeFile(f, large, { flag: 'wx' }), { before: (f) => fs.writeFileSync(f, 'old') });
  await writesAlike('large, flag r+ keeps the tail', (m, f) => m.writeFile(f, large, { flag: 'r+' }), { before: (f) => fs.writeFileSync(f, pattern(400 * 1024, 3)) });
  await writesAlike('large, flush', (m, f) => m.writeFile(f, large, { flush: true }));
  await writesAlike('large appendFile', (m, f) => m.appendFile(f, large), { before: (f) => fs.writeFileSync(f, 'old') });
});

test('argument errors and system errors match', async () => {
  for (const [what, data, options] of [
    ['number data', 42], ['object data', {}], ['null data', null], ['bad encoding', 'x', 'bogus'], ['bad flush', 'x', { flush: 1 }],
    ['bad mode', 'x', { mode: 'abc' }], ['bad flag', 'x', { flag: 'q' }], ['bad options', 'x', 7], ['bad signal', 'x', { signal: {} }],
    ['odd hex is fine for writeFile', 'abc', 'hex'],
  ]) {
    await writesAlike(what, (m, f) => m.writeFile(f, data, options));
  }
  const noDir = `${tmpPath('no-dir')}/x`;
  await sideBySide(ours, nodeFsp, (m) => m.writeFile(noDir, 'x'), { what: 'missing directory' });
  await sideBySide(ours, nodeFsp, (m) => m.writeFile(noDir, pattern(300 * 1024)), { what: 'missing directory, large data' });
  await sideBySide(ours, nodeFsp, (m) => m.writeFile('/proc/version', pattern(300 * 1024)), { what: 'read-only file, large data' });
  await sideBySide(ours, nodeFsp, (m) => m.writeFile('/proc/version', 'x'), { what: 'read-only file' });
  await sideBySide(ours, nodeFsp, (m) => m.writeFile(42, 'x'), { what: 'fd number is not a path here' });
});

test('empty data and a 64 MiB write', async () => {
  await writesAlike('empty string truncates', (m, f) => m.writeFile(f, ''), { before: (f) => fs.writeFileSync(f, 'old') });
  const big = pattern(64 * MiB + 3);
  const file = tmpPath('big');
  await ours.writeFile(file, big);
  assert.ok(fs.readFileSync(file).equals(big));
  fs.unlinkSync(file);
});

test('AbortSignal: before, during and after', async () => {
  const data = Buffer.alloc(8 * MiB, 'z');
  const pre = AbortSignal.abort();
  const [a, b] = [await outcome(() => ours.writeFile(tmpPath('ab'), data, { signal: pre })), await outcome(() => nodeFsp.writeFile(tmpPath('ab'), data, { signal: pre }))];
  sameError(a.error, b.error, 'pre-aborted');
  for (const when of ['sync', 'nextTick', 'microtask']) {
    const ac = new AbortController();
    const p = ours.writeFile(tmpPath('ab'), data, { signal: ac.signal });
    if (when === 'sync') ac.abort();
    else if (when === 'nextTick') process.nextTick(() => ac.abort());
    else queueMicrotask(() => ac.abort());
    const r = await outcome(() => p);
    assert.is(r.error?.name, 'AbortError', when);
  }
  const ac = new AbortController();
  const stream = new Readable({ read() {} });
  const p = ours.writeFile(tmpPath('ab'), stream, { signal: ac.signal });
  stream.push('a');
  setTimeout(() => {
    ac.abort();
    stream.push('b');
    stream.push(null);
  }, 20);
  assert.is((await outcome(() => p)).error?.name, 'AbortError', 'between stream chunks');
  const done = tmpPath('ab');
  const ac2 = new AbortController();
  await ours.writeFile(done, 'all of it', { signal: ac2.signal });
  ac2.abort();
  assert.is(fs.readFileSync(done, 'utf8'), 'all of it');
});

test('many writeFiles at once, more than the direct slots', async () => {
  const files = Array.from({ length: 600 }, (_, i) => tmpPath(`many-${i}`));
  await Promise.all(files.map((f, i) => ours.writeFile(f, `file ${i}`)));
  files.forEach((f, i) => assert.is(fs.readFileSync(f, 'utf8'), `file ${i}`));
});

test.run();
