// safer-ring/copy on trees with every special case: compared byte for byte
// and by metadata with their sources, on the backend and worker count of this run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { copy, createCopyJob } from 'safer-ring/copy';
import { tmpPath, pattern } from './helpers/env.mjs';
import { makeTree, compareTrees, listTree, temporariesBelow, isRoot, ODD_NAMES, SPARSE_SIZE } from './helpers/tree.mjs';

// One source tree for the tests that only read it.
const source = tmpPath('copy-src');
makeTree(source);

test('copies a tree with every special case, byte for byte', async () => {
  const dst = tmpPath('copy-dst');
  const summary = await copy(source, dst, { recursive: true });
  assert.equal(compareTrees(source, dst, { skip: ['fifo'] }), []);
  assert.is(summary.failed.length, 0, summary.failed.map((f) => f.error.message).join('\n'));
  assert.not.ok(summary.aborted);
  // The FIFO is skipped with a warning, not copied.
  assert.not.ok(fs.existsSync(path.join(dst, 'fifo')));
  assert.ok(summary.skipped.some((s) => s.path.endsWith('/fifo')));
  assert.ok(summary.warnings.some((w) => w.includes('fifo')));
  // Odd names arrive exactly (bytes, not text).
  const names = fs.readdirSync(dst, { encoding: 'buffer' });
  for (const n of ODD_NAMES) assert.ok(names.some((m) => m.equals(n)), `missing ${n.toString('hex')}`);
  // Links: kept as links, the dangling one too.
  assert.is(fs.readlinkSync(path.join(dst, 'dangling')), 'does-not-exist');
  assert.ok(fs.lstatSync(path.join(dst, 'link-to-dir')).isSymbolicLink());
  // Hard links without preserve: two separate files (cp -r).
  assert.is.not(fs.statSync(path.join(dst, 'hard1')).ino, fs.statSync(path.join(dst, 'a', 'hard2')).ino);
  // The sparse file (> 4 GiB): full length, holes kept.
  const sp = fs.statSync(path.join(dst, 'sparse.img'));
  assert.is(sp.size, SPARSE_SIZE);
  assert.ok(sp.blocks * 512 < 1024 * 1024, `sparse copy allocated ${sp.blocks} blocks`);
  // The summary adds up: every regular file's bytes (the sparse file counts its data, not its holes).
  assert.ok(summary.bytes > 3 * 1024 * 1024);
  // Every entry is counted: the root and every directory below it, every other entry but the FIFO.
  const all = listTree(source).map((p) => fs.lstatSync(p));
  assert.is(summary.directories, all.filter((st) => st.isDirectory()).length + 1);
  assert.is(summary.files, all.filter((st) => !st.isDirectory() && !st.isFIFO()).length);
});

test("every step through the ring (smallFileIo and largeFileIo: 'ring'), with named temporaries", async () => {
  process.env.SAFER_RING_COPY_TEMPORARIES = 'named';
  try {
    const dst = tmpPath('copy-ring-named');
    const summary = await copy(source, dst, { recursive: true, smallFileIo: 'ring', largeFileIo: 'ring', preserve: true });
    assert.is(summary.failed.length, 0, summary.failed.map((f) => f.error.message).join('\n'));
    assert.equal(compareTrees(source, dst, { preserve: true, skip: ['fifo'] }), []);
  } finally {
    delete process.env.SAFER_RING_COPY_TEMPORARIES;
  }
});

test('workers: 0 copies on this thread, through its own ring, without blocking it', async () => {
  const dst = tmpPath('copy-inline');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const summary = await copy(source, dst, { recursive: true, workers: 0 });
    assert.is(summary.failed.length, 0, summary.failed.map((f) => f.error.message).join('\n'));
  } finally {
    clearInterval(timer);
  }
  assert.equal(compareTrees(source, dst, { skip: ['fifo'] }), []);
  assert.ok(ticks > 0, 'the event loop kept turning');
});

test('preserve keeps mode, owner, timestamps and hard links', async () => {
  const dst = tmpPath('copy-preserve');
  const summary = await copy(source, dst, { recursive: true, preserve: true });
  assert.is(summary.failed.length, 0, summary.failed.map((f) => f.error.message).join('\n'));
  assert.equal(compareTrees(source, dst, { preserve: true, skip: ['fifo'] }), []);
  assert.is(fs.statSync(path.join(dst, 'hard1')).ino, fs.statSync(path.join(dst, 'a', 'hard2')).ino);
  assert.is(fs.statSync(path.join(dst, 'mode640')).mode & 0o777, 0o640);
  assert.is(fs.statSync(path.join(dst, 'dir750')).mode & 0o777, 0o750);
});

test('special: FIFOs (and, as root, device nodes) are recreated', async () => {
  const src = tmpPath('copy-special-src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'plain'), 'p');
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [path.join(src, 'pipe')]);
  if (isRoot) execFileSync('mknod', [path.join(src, 'null-dev'), 'c', '1', '3']);
  const dst = tmpPath('copy-special-dst');
  const summary = await copy(src, dst, { recursive: true, special: true });
  assert.is(summary.failed.length, 0);
  assert.ok(fs.lstatSync(path.join(dst, 'pipe')).isFIFO());
  if (isRoot) {
    const st = fs.lstatSync(path.join(dst, 'null-dev'));
    assert.ok(st.isCharacterDevice());
    assert.is(st.rdev, fs.lstatSync(path.join(src, 'null-dev')).rdev);
  }
  assert.equal(temporariesBelow(dst), []);
});

test('dereference copies what links point to; a dangling link is reported, the rest copied', async () => {
  const src = tmpPath('copy-deref-src');
  fs.mkdirSync(path.join(src, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(src, 'dir', 'f'), 'target');
  fs.symlinkSync('dir/f', path.join(src, 'to-file'));
  fs.symlinkSync('dir', path.join(src, 'to-dir'));
  fs.symlinkSync('nowhere', path.join(src, 'dangling'));
  fs.symlinkSync('..', path.join(src, 'dir', 'loop'));
  const dst = tmpPath('copy-deref-dst');
  const summary = await copy(src, dst, { recursive: true, dereference: true });
  assert.ok(fs.lstatSync(path.join(dst, 'to-file')).isFile());
  assert.is(fs.readFileSync(path.join(dst, 'to-file'), 'utf8'), 'target');
  assert.ok(fs.lstatSync(path.join(dst, 'to-dir')).isDirectory());
  assert.is(fs.readFileSync(path.join(dst, 'to-dir', 'f'), 'utf8'), 'target');
  const failedPaths = summary.failed.map((f) => f.path);
  assert.ok(failedPaths.some((p) => p.endsWith('/dangling')), failedPaths.join());
  assert.ok(summary.failed.some((f) => f.error.code === 'ENOENT'));
  // A link back to an ancestor would never end: refused with ELOOP.
  assert.ok(summary.failed.some((f) => f.error.code === 'ELOOP' && f.path.endsWith('/loop')), failedPaths.join());
});

test('single files: to a new name, empty, and large', async () => {
  for (const size of [0, 1, 4096, 3 * 1024 * 1024 + 5]) {
    const src = tmpPath('copy-one');
    fs.writeFileSync(src, pattern(size, 9));
    fs.chmodSync(src, 0o604);
    const dst = tmpPath('copy-one-dst');
    const summary = await copy(src, dst);
    assert.is(summary.files, 1);
    assert.is(summary.bytes, size);
    assert.ok(fs.readFileSync(dst).equals(fs.readFileSync(src)));
    assert.is(fs.statSync(dst).mode & 0o777, 0o604 & ~process.umask());
  }
});

test('a directory without recursive is refused (ERR_FS_EISDIR) and nothing is written', async () => {
  const dst = tmpPath('copy-norec');
  const err = await copy(source, dst).catch((e) => e);
  assert.is(err.code, 'ERR_FS_EISDIR');
  assert.not.ok(fs.existsSync(dst));
});

test("per-file results: the 'file' event and the async iterator", async () => {
  const src = tmpPath('copy-events-src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(src, i % 2 ? 'sub' : '', `f${i}`), `file ${i}`);
  fs.symlinkSync('f0', path.join(src, 'ln'));
  const job = createCopyJob([{ src, dst: tmpPath('copy-events-dst') }], { recursive: true });
  const seen = [];
  for await (const r of job) seen.push(r);
  const summary = await job.done;
  assert.is(seen.length, 31);
  assert.ok(seen.every((r) => r.status === 'copied'));
  assert.is(seen.filter((r) => r.type === 'symlink').length, 1);
  assert.is(seen.reduce((n, r) => n + r.bytes, 0), summary.bytes);
  assert.ok(seen.every((r) => Buffer.isBuffer(r.srcBytes) && typeof r.dst === 'string'));
});

test('onProgress reports totals, and the last report has everything done', async () => {
  const src = tmpPath('copy-progress-src');
  fs.mkdirSync(src);
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, `f${i}`), pattern(1000 + i, i));
  const reports = [];
  const summary = await copy(src, tmpPath('copy-progress-dst'), { recursive: true, onProgress: (p) => reports.push(p) });
  const last = reports.at(-1);
  assert.ok(last.planned);
  assert.is(last.filesTotal, 50);
  assert.is(last.filesDone, 50);
  assert.is(last.bytesDone, summary.bytes);
  assert.is(last.bytesTotal, summary.bytes);
  assert.ok(reports.every((p) => p.bytesDone <= p.bytesTotal || !p.planned));
});

test.run();
