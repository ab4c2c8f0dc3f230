// FileHandle side by side with node:fs/promises': open flags, read in all
// three call forms, positions (null, -1, bigint, unsafe), writes of buffers
// and strings, readv/writev, stat, truncate, sync, metadata, readFile and
// writeFile on a handle, streams, readLines, web streams, Node's closing
// rules, concurrent writes landing in order, and errors with the caller's stack.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import nodeFsp from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { spawnSync } from 'node:child_process';
import ours from 'safer-ring/fs/promises';
import { backend, ioUringOnly, pattern, tmpPath, tmpRoot } from './helpers/env.mjs';
import { outcome, sameError, sameStats } from './helpers/fs-compare.mjs';

function fileOf(content) {
  const file = tmpPath('fh');
  fs.writeFileSync(file, content);
  return file;
}

/** Opens the same file with both modules and runs `steps(handle)`, comparing every step's outcome. */
async function handlesAlike(what, content, steps, flags = 'r+') {
  const files = [fileOf(content), fileOf(content)];
  const results = [];
  for (const [i, m] of [ours, nodeFsp].entries()) {
    const h = await m.open(files[i], flags);
    const out = [];
    try {
      for (const step of steps) out.push(await outcome(() => step(h)));
    } finally {
      await h.close();
    }
    results.push(out);
  }
  results[0].forEach((a, i) => {
    const b = results[1][i];
    const label = `${what} step ${i}`;
    if (b.error) {
      assert.ok(a.error, `${label}: node failed (${b.error.message}), ours did not`);
      sameError(a.error, b.error, label);
    } else {
      assert.ok(!a.error, `${label}: ${a.error?.stack}`);
      const norm = (v) => (v && typeof v === 'object' && 'bytesRead' in v ? { n: v.bytesRead, b: Buffer.from(v.buffer.buffer ?? v.buffer) } : v);
      assert.equal(norm(a.value), norm(b.value), label);
    }
  });
  assert.ok(fs.readFileSync(files[0]).equals(fs.readFileSync(files[1])), `${what}: files end the same`);
}

const data = pattern(100_000);

test('read: the three call forms, offsets, lengths and every kind of position', async () => {
  const buf = () => Buffer.alloc(64);
  await handlesAlike('read forms', data, [
    (h) => h.read(buf(), 0, 64, 0),
    (h) => h.read(buf(), 10, 20, 1000),
    (h) => h.read(buf(), 0, 64, null),
    (h) => h.read(buf(), 0, 64, -1),
    (h) => h.read(buf(), 0, 64, 5n),
    (h) => h.read(buf(), 0, 64, 2 ** 53),
    (h) => h.read(buf(), { offset: 3, length: 10, position: 7 }),
    (h) => h.read(buf(), { position: 77 }),
    (h) => h.read({ buffer: buf(), offset: 1, length: 5, position: 99 }),
    (h) => h.read({ buffer: buf() }),
    (h) => h.read().then((r) => ({ bytesRead: r.bytesRead, buffer: r.buffer.subarray(0, 64) })),
    (h) => h.read(null, 0, 0, 0).then((r) => r.buffer.length),
    (h) => h.read(new Uint16Array(8), 0, 16, 0),
    (h) => h.read(new DataView(new ArrayBuffer(8)), 0, 8, 0),
    (h) => h.read(buf(), 0, 0, 0),
    (h) => h.read(buf(), 0, 64, 99_990),
    (h) => h.read(buf(), 0, 64, 2 ** 40),
  ]);
});

test('read: argument errors', async () => {
  await handlesAlike('read errors', data, [
    (h) => h.read(0, 0, 0, 0),
    (h) => h.read(Buffer.alloc(8), -1, 4, 0),
    (h) => h.read(Buffer.alloc(8), 0, 9, 0),
    (h) => h.read(Buffer.alloc(8), 4, 5, 0),
    (h) => h.read(Buffer.alloc(8), 1.5, 1, 0),
    (h) => h.read(Buffer.alloc(8), '1', 1, 0),
    (h) => h.read(Buffer.alloc(0), 0, 1, 0),
    (h) => h.read({ buffer: 'nope' }),
    (h) => h.read([]),
  ]);
});

test('write: buffers and strings, positions, encodings; writev and readv', async () => {
  await handlesAlike('writes', data, [
    (h) => h.write(Buffer.from('abc')).then((r) => r.bytesWritten),
    (h) => h.write(Buffer.from('defgh'), 1, 3, 10).then((r) => r.bytesWritten),
    (h) => h.write(Buffer.from('xyz'), { offset: 1, position: 20 }).then((r) => r.bytesWritten),
    (h) => h.write(Buffer.from('tail'), null, null, null).then((r) => r.bytesWritten),
    (h) => h.write('a string').then((r) => r.bytesWritten),
    (h) => h.write('at 50', 50).then((r) => r.bytesWritten),
    (h) => h.write('c0ffee', 60, 'hex').then((r) => r.bytesWritten),
    (h) => h.write('abc', 0, 'hex'),
    (h) => h.write('ümlaut', 70, 'latin1').then((r) => r.bytesWritten),
    (h) => h.write('ümlaut', 80, 'no-such-encoding').then((r) => r.bytesWritten),
    (h) => h.write(new Float32Array([1.5, 2.5]), 0, 8, 90).then((r) => r.bytesWritten),
    (h) => h.write(Buffer.alloc(0)).then((r) => r.bytesWritten),
    (h) => h.write(42),
    (h) => h.write(Buffer.alloc(4), 5),
    (h) => h.write(Buffer.alloc(4), 0, 5),
    (h) => h.writev([Buffer.from('one'), Buffer.from('two')], 200).then((r) => r.bytesWritten),
    (h) => h.writev([Buffer.from('cur')]).then((r) => r.bytesWritten),
    (h) => h.writev([]).then((r) => r.bytesWritten),
    (h) => h.writev(['x']),
    (h) => h.readv([Buffer.alloc(3), Buffer.alloc(4)], 200).then((r) => [r.bytesRead, Buffer.concat(r.buffers).toString('latin1')]),
    (h) => h.readv([Buffer.alloc(5)], 0).then((r) => [r.bytesRead, r.buffers[0].toString('latin1')]),
    (h) => h.readv('no'),
  ]);
});

test('stat (number and bigint), truncate, sync, datasync, chmod, chown, utimes', async () => {
  const files = [fileOf(data), fileOf(data)];
  const handles = [await ours.open(files[0], 'r+'), await nodeFsp.open(files[1], 'r+')];
  const [a, b] = handles;
  await a.truncate(-5);
  await b.truncate(-5);
  assert.is(fs.statSync(files[0]).size, 0);
  await a.truncate(1234);
  await b.truncate(1234);
  assert.is(fs.statSync(files[0]).size, fs.statSync(files[1]).size);
  for (const bad of ['1', 1.5, null]) {
    const [x, y] = [await outcome(() => a.truncate(bad)), await outcome(() => b.truncate(bad))];
    if (y.error) sameError(x.error, y.error, `truncate(${bad})`);
  }
  await a.sync();
  await a.datasync();
  await a.chmod(0o640);
  await a.utimes(1_000_000, new Date(2_000_000_000));
  await b.chmod(0o640);
  await b.utimes(1_000_000, new Date(2_000_000_000));
  const [sa, sb] = [await a.stat(), await b.stat()];
  assert.is(sa.mode, sb.mode);
  assert.is(sa.size, 1234);
  assert.is(sa.mtimeMs, sb.mtimeMs);
  assert.ok(sa instanceof fs.Stats);
  sameStats(await a.stat(), fs.statSync(files[0]), 'fstat vs statSync');
  sameStats(await a.stat({ bigint: true }), fs.statSync(files[0], { bigint: true }), 'bigint fstat vs statSync');
  for (const [uid, gid] of [[process.getuid(), process.getgid()], [1, -2], ['0', 0]]) {
    const [x, y] = [await outcome(() => a.chown(uid, gid)), await outcome(() => b.chown(uid, gid))];
    if (y.error) sameError(x.error, y.error, `chown(${uid}, ${gid})`);
    else assert.ok(!x.error);
  }
  for (const mode of ['abc', -1, {}]) {
    const [x, y] = [await outcome(() => a.chmod(mode)), await outcome(() => b.chmod(mode))];
    sameError(x.error, y.error, `chmod(${String(mode)})`);
  }
  await a.close();
  await b.close();
});

test('readFile, writeFile and appendFile on a handle use its position', async () => {
  await handlesAlike('handle readFile/writeFile', 'hello world', [
    (h) => h.read(Buffer.alloc(6), 0, 6, null).then((r) => r.bytesRead),
    (h) => h.readFile('utf8'),
    (h) => h.writeFile('+written'),
    (h) => h.appendFile(Buffer.from('+appended')),
    (h) => h.readFile(),
    (h) => h.read(Buffer.alloc(40), 0, 40, 0),
    (h) => h.writeFile(['a', 'b']),
    (h) => h.writeFile(42),
  ]);
});

// A guarantee safer-ring adds (Node's own handles write from several pool threads at once): io_uring only.
ioUringOnly(test)('concurrent writes through one FileHandle land in call order', async () => {
  const file = tmpPath('order');
  const h = await ours.open(file, 'w+');
  const parts = Array.from({ length: 500 }, (_, i) => `${i},`.repeat(1 + (i % 7)));
  await Promise.all(parts.map((p, i) => (i % 3 === 0 ? h.write(p) : i % 3 === 1 ? h.write(Buffer.from(p)) : h.writev([Buffer.from(p)]))));
  await h.close();
  assert.is(fs.readFileSync(file, 'utf8'), parts.join(''));
  const appended = tmpPath('order-append');
  const g = await ours.open(appended, 'a');
  await Promise.all(parts.map((p) => g.appendFile(p)));
  await g.close();
  assert.is(fs.readFileSync(appended, 'utf8'), parts.join(''));
});

test('reads and writes on both sides of the ring\'s size limit (256 KiB), at positions and in order', async () => {
  const big = pattern(3 << 20, 13);
  const file = fileOf(big);
  const h = await ours.open(file, 'r+');
  for (const size of [256 * 1024, 256 * 1024 + 1, 1 << 20]) {
    const r = await h.read(Buffer.alloc(size), 0, size, 1000);
    assert.is(r.bytesRead, size);
    assert.ok(r.buffer.equals(big.subarray(1000, 1000 + size)), `read ${size}`);
  }
  await h.read(Buffer.alloc(10), 0, 10, null); // position 10
  const seq = await h.read(Buffer.alloc(300_000), 0, 300_000, null);
  assert.ok(seq.buffer.equals(big.subarray(10, 300_010)), 'in order from the current position');
  const data = pattern(600_000, 99);
  await h.write(data, 0, data.length, 5);
  await h.writev([data.subarray(0, 300_000), data.subarray(300_000)], 700_000);
  await h.close();
  const disk = fs.readFileSync(file);
  assert.ok(disk.subarray(5, 600_005).equals(data));
  assert.ok(disk.subarray(700_000, 1_300_000).equals(data));
});

test('positional reads run at once; many in flight return the right bytes', async () => {
  const file = fileOf(pattern(1 << 20, 11));
  const expected = fs.readFileSync(file);
  const h = await ours.open(file);
  const reads = Array.from({ length: 256 }, (_, i) => {
    const at = (i * 4099) % ((1 << 20) - 4096);
    return h.read(Buffer.alloc(4096), 0, 4096, at).then((r) => [at, r]);
  });
  for (const [at, r] of await Promise.all(reads)) {
    assert.is(r.bytesRead, 4096);
    assert.ok(r.buffer.equals(expected.subarray(at, at + 4096)), `at ${at}`);
  }
  await h.close();
});

test('streams, readLines and web streams', async () => {
  const file = fileOf('line one\n\nline three\nlast');
  const h = await ours.open(file);
  const lines = [];
  for await (const line of h.readLines()) lines.push(line);
  assert.equal(lines, ['line one', '', 'line three', 'last']);
  assert.is(h.fd, -1, 'the stream closed the handle (autoClose)');

  const h2 = await ours.open(file);
  const chunks = [];
  for await (const c of h2.createReadStream({ start: 5, encoding: 'utf8' })) chunks.push(c);
  assert.is(chunks.join(''), 'one\n\nline three\nlast');

  const out = tmpPath('ws');
  const h3 = await ours.open(out, 'w');
  const ws = h3.createWriteStream();
  for (let i = 0; i < 100; i++) ws.write(`chunk ${i}\n`);
  ws.end('end');
  await finished(ws);
  assert.is(fs.readFileSync(out, 'utf8'), Array.from({ length: 100 }, (_, i) => `chunk ${i}\n`).join('') + 'end');

  const h4 = await ours.open(file);
  const viaNodeStream = fs.createReadStream(null, { fd: h4 });
  let text = '';
  for await (const c of viaNodeStream) text += c;
  assert.is(text, fs.readFileSync(file, 'utf8'));

  for (const type of [undefined, 'bytes']) {
    const h5 = await ours.open(file);
    const rs = h5.readableWebStream(type ? { type } : undefined);
    let got = '';
    for await (const c of rs) got += Buffer.from(c).toString();
    assert.is(got, fs.readFileSync(file, 'utf8'), `web stream ${type}`);
    const again = await outcome(() => h5.readableWebStream());
    assert.is(again.error?.code, 'ERR_INVALID_STATE');
    await h5.close();
  }
});

test('closing: close event, double close, ops after close, close while ops run', async () => {
  const file = fileOf(data);
  for (const m of [ours, nodeFsp]) {
    const h = await m.open(file);
    let closes = 0;
    h.on('close', () => closes++);
    const fd = h.fd;
    assert.ok(fd >= 0);
    const reading = h.read(Buffer.alloc(10), 0, 10, 0);
    const closing = h.close();
    assert.is(h.close(), closing, 'a second close gets the same promise');
    assert.is(h.fd, fd, 'the fd stays open while an op runs');
    assert.is((await reading).bytesRead, 10);
    await closing;
    assert.is(h.fd, -1);
    assert.is(closes, 1);
    await h.close();
  }
  const [a, b] = [await ours.open(file), await nodeFsp.open(file)];
  await a.close();
  await b.close();
  for (const [name, call] of [
    ['read', (h) => h.read(Buffer.alloc(1), 0, 1, 0)], ['stat', (h) => h.stat()], ['write', (h) => h.write('x')],
    ['truncate', (h) => h.truncate()], ['sync', (h) => h.sync()], ['datasync', (h) => h.datasync()], ['readFile', (h) => h.readFile()],
    ['writeFile', (h) => h.writeFile('x')], ['appendFile', (h) => h.appendFile('x')], ['chmod', (h) => h.chmod(0o600)],
    ['readv', (h) => h.readv([Buffer.alloc(1)])], ['writev', (h) => h.writev([Buffer.alloc(1)])], ['utimes', (h) => h.utimes(1, 1)],
    ['chown', (h) => h.chown(0, 0)],
  ]) {
    const [x, y] = [await outcome(() => call(a)), await outcome(() => call(b))];
    sameError(x.error, y.error, `${name} after close`);
  }
  const [x, y] = [await outcome(() => ours.readFile(a)), await outcome(() => nodeFsp.readFile(b))];
  sameError(x.error, y.error, 'readFile(closed handle)');
  const wrong = await outcome(() => a.stat.call({}));
  assert.is(wrong.error?.code, 'ERR_INTERNAL_ASSERTION');
  assert.match(wrong.error.message, /handle must be an instance of FileHandle/);
});

test('Symbol.asyncDispose closes the handle and emits close', async () => {
  const h = await ours.open(fileOf('x'));
  let closed = false;
  h.on('close', () => { closed = true; });
  await h[Symbol.asyncDispose]();
  assert.is(h.fd, -1);
  assert.ok(closed);
});

test('open: flags as strings and numbers, modes, errors', async () => {
  const dir = tmpPath('odir');
  fs.mkdirSync(dir);
  const existing = fileOf('e');
  const cases = [
    [existing, 'r'], [existing, 'r+'], [existing, 'a'], [existing, fs.constants.O_RDONLY], [existing, 'wx'], [existing, 'bogus'],
    [existing, 1.5], [existing, 'r', 'abc'], [existing, 'r', -1], [tmpPath('none')], [tmpPath('none'), 'r+'], [dir, 'w'], [dir],
    [null], ['a\u0000b'],
  ];
  for (const args of cases) {
    const [x, y] = [await outcome(() => ours.open(...args)), await outcome(() => nodeFsp.open(...args))];
    if (y.error) sameError(x.error, y.error, `open(${args.map(String).join(', ')})`);
    else {
      assert.ok(!x.error, `open(${args.map(String).join(', ')}): ${x.error?.message}`);
      assert.is(typeof x.value.fd, 'number');
      await x.value.close();
      await y.value.close();
    }
  }
  const created = tmpPath('mode');
  const h = await ours.open(created, 'w', 0o640);
  await h.close();
  assert.is(fs.statSync(created).mode & 0o777, 0o640 & ~process.umask());
});

test('errors from a handle carry the caller\'s stack', async () => {
  const h = await ours.open(tmpPath('stack'), 'w');
  async function writerFrame() {
    await h.read(Buffer.alloc(4), 0, 4, 0); // EBADF: opened write-only
  }
  const r = await outcome(writerFrame);
  assert.is(r.error.code, 'EBADF');
  assert.match(r.error.stack, /at async writerFrame \(.*fs-file-handle\.test\.mjs:\d+:\d+\)/);
  await h.close();
  // A large read goes to Node's own fs.read: its errors get the caller's stack too.
  const dir = await ours.open(tmpRoot);
  async function bigReadFrame() {
    await dir.read(Buffer.alloc(300_000), 0, 300_000, 0);
  }
  const big = await outcome(bigReadFrame);
  assert.is(big.error.code, 'EISDIR');
  assert.match(big.error.stack, /at async bigReadFrame \(.*fs-file-handle\.test\.mjs:\d+:\d+\)/);
  await dir.close();
});

test('a handle left open is closed on garbage collection, with Node\'s warnings', () => {
  const file = fileOf('gc');
  const script = `
    const fsp = require('safer-ring/fs/promises');
    const warnings = [];
    process.on('warning', (w) => warnings.push([w.name, w.message, w.code]));
    let fd;
    (async () => { fd = (await fsp.open(${JSON.stringify(file)})).fd; })().then(() => setImmediate(() => {
      globalThis.gc();
      setTimeout(() => {
        let open = true; // still open: the fd names our file (another file may have its number by now)
        try { open = require('node:fs').fstatSync(fd).ino === require('node:fs').statSync(${JSON.stringify(file)}).ino; } catch { open = false; }
        console.log(JSON.stringify({ fd, open, warnings }));
      }, 100);
    }));`;
  const run = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: process.env, cwd: process.cwd() });
  assert.is(run.status, 0, run.stderr);
  const { fd, open, warnings } = JSON.parse(run.stdout);
  assert.not.ok(open, 'the fd was closed');
  assert.ok(warnings.some(([name, msg]) => name === 'Warning' && msg === `Closing file descriptor ${fd} on garbage collection`), JSON.stringify(warnings));
  assert.ok(warnings.some(([name, , code]) => name === 'DeprecationWarning' && code === 'DEP0137'), JSON.stringify(warnings));
});

test.run();
