// readFile side by side with node:fs/promises: sizes around every boundary of
// the implementation (the one-submit chain, the continuation, the reads into
// the result), empty and very large files, encodings, flags, Buffer and URL
// paths, /proc files, pipes, directories, missing files, argument errors,
// AbortSignal at several points, FileHandles, and more calls at once than
// there are direct-descriptor slots.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import nodeFsp from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import ours from 'safer-ring/fs/promises';
import { pattern, tmpPath } from './helpers/env.mjs';
import { outcome, sameError, sideBySide } from './helpers/fs-compare.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

function fileOf(size, seed = 7) {
  const file = tmpPath(`rf-${size}`);
  fs.writeFileSync(file, pattern(size, seed));
  return file;
}

test('bytes of every size class match node:fs/promises and the file', async () => {
  // Around the chain's first read (64 KiB), its second (16 KiB more), and the reads into the result (1 MiB each, 4 at once).
  const sizes = [0, 1, 4 * KiB, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 80 * KiB - 1, 80 * KiB, 80 * KiB + 1, 256 * KiB + 1,
    MiB, MiB + 80 * KiB, MiB + 80 * KiB + 1, 4 * MiB + 80 * KiB, 4 * MiB + 80 * KiB + 1, 9 * MiB + 12345];
  for (const size of sizes) {
    const file = fileOf(size, size & 255);
    const got = await ours.readFile(file);
    assert.ok(Buffer.isBuffer(got), `size ${size}: a Buffer`);
    assert.is(got.length, size, `size ${size}`);
    assert.ok(got.equals(fs.readFileSync(file)), `size ${size}: bytes`);
    await sideBySide(ours, nodeFsp, (m) => m.readFile(file), { what: `size ${size}` });
  }
});

test('a 64 MiB file, read whole, several at once', async () => {
  const file = fileOf(64 * MiB, 3);
  const expected = fs.readFileSync(file);
  const results = await Promise.all([ours.readFile(file), ours.readFile(file), ours.readFile(file)]);
  for (const got of results) assert.ok(got.equals(expected));
  fs.unlinkSync(file);
});

test('encodings, flags and options as node:fs/promises takes them', async () => {
  const file = tmpPath('enc');
  fs.writeFileSync(file, 'héllo wörld ✓ '.repeat(5000));
  for (const options of ['utf8', 'latin1', 'hex', 'base64', 'ucs2', { encoding: 'utf8' }, { encoding: null }, { flag: 'r' }, { flag: 'a+' },
    { flag: 'r+', encoding: 'utf8' }, null, undefined, () => {}, { encoding: 'buffer' }]) {
    await sideBySide(ours, nodeFsp, (m) => m.readFile(file, options), { what: `options ${String(options && JSON.stringify(options))}` });
  }
  await sideBySide(ours, nodeFsp, (m) => m.readFile(Buffer.from(file)), { what: 'Buffer path' });
  await sideBySide(ours, nodeFsp, (m) => m.readFile(pathToFileURL(file)), { what: 'URL path' });
  const created = tmpPath('created');
  await sideBySide(ours, nodeFsp, (m) => m.readFile(created, { flag: 'a+' }), { what: 'a+ creates', prepare: () => fs.rmSync(created, { force: true }) });
  assert.ok(fs.existsSync(created));
});

test('errors: missing file, directory, bad arguments — same code, errno, syscall, path, message and class', async () => {
  const dir = tmpPath('dir');
  fs.mkdirSync(dir);
  const file = fileOf(10);
  const cases = [
    ['missing', [tmpPath('missing')]],
    ['directory', [dir]],
    ['not a dir', [`${file}/x`]],
    ['number path', [42]],
    ['object path', [{}]],
    ['null byte', ['a\u0000b']],
    ['bad encoding', [file, 'nope']],
    ['bad options', [file, 42]],
    ['bad flag', [file, { flag: 'rw' }]],
    ['bad signal', [file, { signal: 'x' }]],
    ['exclusive flag on an existing file', [file, { flag: 'wx' }]],
    ['http URL', [new URL('http://example.com/x')]],
  ];
  for (const [what, args] of cases) await sideBySide(ours, nodeFsp, (m) => m.readFile(...args), { what });
});

test('/proc files (size 0) and sysfs-style files are read to the end', async () => {
  for (const file of ['/proc/self/status', '/proc/self/maps', '/proc/cpuinfo', '/proc/self/mountinfo']) {
    const got = await ours.readFile(file, 'utf8');
    assert.ok(got.length > 0, file);
    // /proc/self is whoever reads it: compare the shape, and the content where it is stable.
    if (file === '/proc/cpuinfo') assert.is(got, await nodeFsp.readFile(file, 'utf8'));
    else assert.ok(got.endsWith('\n'), `${file} ends with its last line`);
  }
  const maps = await ours.readFile('/proc/self/maps', 'utf8');
  assert.ok(maps.split('\n').length > 20, 'maps has many lines (more than one read of a seq file)');
});

test('a FIFO is read until its writer closes it, across pauses', async () => {
  for (const m of [ours, nodeFsp]) {
    const fifo = tmpPath('fifo');
    assert.is(spawnSync('mkfifo', [fifo]).status, 0);
    const writer = spawn('sh', ['-c', `{ echo Hello; sleep 0.2; echo World; } > ${fifo}`], { stdio: 'ignore' });
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    const got = await m.readFile(fifo, 'utf8');
    assert.is(got, 'Hello\nWorld\n');
    await exited;
  }
});

test('AbortSignal: already aborted, aborted during the call, aborted after it settled', async () => {
  const file = fileOf(3 * MiB);
  const aborted = AbortSignal.abort(new Error('why'));
  const [a, b] = [await outcome(() => ours.readFile(file, { signal: aborted })), await outcome(() => nodeFsp.readFile(file, { signal: aborted }))];
  sameError(a.error, b.error, 'pre-aborted');
  assert.is(a.error.cause, b.error.cause);
  for (const when of ['sync', 'nextTick', 'microtask']) {
    const ac = new AbortController();
    const p = ours.readFile(file, { signal: ac.signal });
    if (when === 'sync') ac.abort();
    else if (when === 'nextTick') process.nextTick(() => ac.abort());
    else queueMicrotask(() => ac.abort());
    const r = await outcome(() => p);
    assert.is(r.error?.name, 'AbortError', when);
    assert.is(r.error?.code, 'ABORT_ERR', when);
  }
  const ac = new AbortController();
  const done = await ours.readFile(file, { signal: ac.signal });
  ac.abort();
  assert.is(done.length, 3 * MiB);
});

test('a file over 2 GiB is refused with ERR_FS_FILE_TOO_LARGE, as Node refuses it', async () => {
  const file = tmpPath('huge');
  fs.writeFileSync(file, '0');
  fs.truncateSync(file, 2 ** 31); // sparse
  await sideBySide(ours, nodeFsp, (m) => m.readFile(file), { what: 'too large' });
  const h = await ours.open(file);
  const r = await outcome(() => h.readFile());
  assert.is(r.error?.code, 'ERR_FS_FILE_TOO_LARGE');
  assert.ok(r.error instanceof RangeError);
  await h.close();
  fs.unlinkSync(file);
});

test('readFile of a FileHandle reads from its current position, as Node does', async () => {
  const file = fileOf(200 * KiB, 9);
  for (const m of [ours, nodeFsp]) {
    const h = await m.open(file);
    await h.read(Buffer.alloc(1000), 0, 1000, null);
    const rest = await m.readFile(h);
    assert.is(rest.length, 200 * KiB - 1000);
    assert.ok(rest.equals(fs.readFileSync(file).subarray(1000)));
    assert.is((await h.readFile()).length, 0, 'at the end now');
    await h.close();
  }
});

test('more readFiles at once than there are direct slots: all complete, all right', async () => {
  const files = Array.from({ length: 40 }, (_, i) => fileOf(1000 + i, i));
  const expected = files.map((f) => fs.readFileSync(f));
  const results = await Promise.all(Array.from({ length: 600 }, (_, i) => ours.readFile(files[i % files.length])));
  results.forEach((got, i) => assert.ok(got.equals(expected[i % files.length]), `call ${i}`));
});

test('errors carry the caller\'s stack', async () => {
  async function callerFrame() {
    await ours.readFile(tmpPath('nothing-here'));
  }
  const r = await outcome(callerFrame);
  assert.match(r.error.stack, /at async callerFrame \(.*fs-read-file\.test\.mjs:\d+:\d+\)/);
  assert.ok(!r.error.stack.includes('engine.js'), 'no ring internals in the stack');
});

test.run();
