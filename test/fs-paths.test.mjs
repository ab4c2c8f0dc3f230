// The path functions of safer-ring/fs/promises side by side with
// node:fs/promises: stat and lstat (numbers and bigint), unlink, rename,
// link, symlink, mkdir (recursive too), rmdir, rm, truncate, and the members
// that stay Node's own (access, copyFile, readdir, readlink, realpath, chmod,
// utimes, mkdtemp, opendir, cp, watch): same results, same errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import nodeFsp from 'node:fs/promises';
import ours from 'safer-ring/fs/promises';
import { tmpPath } from './helpers/env.mjs';
import { outcome, sameError, sameStats, sideBySide } from './helpers/fs-compare.mjs';

function tree() {
  const root = tmpPath('tree');
  fs.mkdirSync(path.join(root, 'dir', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'file'), 'content');
  fs.writeFileSync(path.join(root, 'dir', 'inner'), 'inner');
  fs.symlinkSync(path.join(root, 'file'), path.join(root, 'link'));
  fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'dangling'));
  return root;
}

test('stat and lstat: Node\'s Stats and BigIntStats, field for field; errors', async () => {
  const root = tree();
  for (const name of ['file', 'dir', 'link', 'dangling', 'missing', 'file/x']) {
    const p = path.join(root, name);
    for (const fn of ['stat', 'lstat']) {
      for (const options of [undefined, { bigint: false }, { bigint: true }]) {
        await sideBySide(ours, nodeFsp, (m) => m[fn](p, options), { what: `${fn} ${name} ${JSON.stringify(options)}`, compare: (a, b) => sameStats(a, b, `${fn} ${name}`) });
      }
    }
  }
  for (const special of ['/', '/proc/self/status', '/dev/null', process.execPath]) {
    sameStats(await ours.stat(special), await nodeFsp.stat(special), special);
    sameStats(await ours.lstat(special, { bigint: true }), await nodeFsp.lstat(special, { bigint: true }), special);
  }
  const s = await ours.stat(path.join(root, 'dir'));
  assert.ok(s.isDirectory() && !s.isFile() && s.atime instanceof Date);
  for (const bad of [42, null, {}, 'a\u0000b']) await sideBySide(ours, nodeFsp, (m) => m.stat(bad), { what: `stat(${String(bad)})` });
  await sideBySide(ours, nodeFsp, (m) => m.stat(root, null), { what: 'stat options null' });
});

test('unlink, rename, link, symlink: effects and errors', async () => {
  for (const m of [ours, nodeFsp]) {
    const root = tree();
    const p = (n) => path.join(root, n);
    await m.rename(p('file'), p('renamed'));
    assert.is(fs.readFileSync(p('renamed'), 'utf8'), 'content');
    await m.link(p('renamed'), p('hard'));
    assert.is(fs.statSync(p('hard')).nlink, 2);
    await m.symlink('renamed', p('soft'));
    assert.is(fs.readlinkSync(p('soft')), 'renamed');
    await m.symlink(p('dir'), p('dirlink'), 'dir');
    await m.unlink(p('hard'));
    assert.not.ok(fs.existsSync(p('hard')));
  }
  const root = tree();
  const p = (n) => path.join(root, n);
  const cases = [
    ['unlink missing', (m) => m.unlink(p('missing'))],
    ['unlink a directory', (m) => m.unlink(p('dir'))],
    ['rename missing', (m) => m.rename(p('missing'), p('x'))],
    ['rename onto a non-empty dir', (m) => m.rename(p('file'), p('dir'))],
    ['link onto an existing name', (m) => m.link(p('file'), p('dir'))],
    ['link missing', (m) => m.link(p('missing'), p('y'))],
    ['symlink onto an existing name', (m) => m.symlink('x', p('file'))],
    ['symlink with a bad type', (m) => m.symlink('x', p('z'), 'bogus')],
    ['bad oldPath', (m) => m.rename(1, p('x'))],
    ['bad newPath', (m) => m.rename(p('file'), undefined)],
    ['bad existingPath', (m) => m.link({}, p('x'))],
    ['bad target', (m) => m.symlink(null, p('x'))],
  ];
  for (const [what, call] of cases) await sideBySide(ours, nodeFsp, call, { what });
});

test('mkdir: modes, recursive (its result and its errors), rmdir', async () => {
  const base = tmpPath('mk');
  fs.mkdirSync(base);
  const file = path.join(base, 'a-file');
  fs.writeFileSync(file, '');
  let n = 0;
  const fresh = () => path.join(base, `d${n++}`);
  for (const [what, make] of [
    ['plain', (m, d) => m.mkdir(d)],
    ['mode number', (m, d) => m.mkdir(d, 0o700)],
    ['mode string', (m, d) => m.mkdir(d, '755')],
    ['recursive, deep', (m, d) => m.mkdir(path.join(d, 'x', 'y', 'z'), { recursive: true })],
    ['recursive, exists', (m, d) => { fs.mkdirSync(d); return m.mkdir(d, { recursive: true }); }],
    ['recursive, parent exists', (m, d) => { fs.mkdirSync(d); return m.mkdir(path.join(d, 'k'), { recursive: true }); }],
    ['recursive with dots', (m, d) => m.mkdir(`${d}/./a/../b`, { recursive: true })],
    ['recursive, trailing slash', (m, d) => m.mkdir(`${d}/t/`, { recursive: true })],
    ['exists, not recursive', (m, d) => { fs.mkdirSync(d); return m.mkdir(d); }],
    ['missing parent', (m, d) => m.mkdir(path.join(d, 'x', 'y'))],
  ]) {
    const [da, db] = [fresh(), fresh()];
    const [x, y] = [await outcome(() => make(ours, da)), await outcome(() => make(nodeFsp, db))];
    if (y.error) sameError(x.error, { ...y.error, message: y.error.message.replaceAll(db, da), path: y.error.path?.replace(db, da), name: y.error.name, code: y.error.code }, what);
    else assert.is(x.value, y.value?.replace(db, da), `${what}: result`);
    assert.is(fs.existsSync(da), fs.existsSync(db), what);
    if (fs.existsSync(da)) assert.is(fs.statSync(da).mode, fs.statSync(db).mode, `${what}: mode`);
  }
  for (const [what, call] of [
    ['recursive onto a file', (m) => m.mkdir(file, { recursive: true })],
    ['recursive through a file', (m) => m.mkdir(path.join(file, 'x', 'y'), { recursive: true })],
    ['recursive not boolean', (m) => m.mkdir(fresh(), { recursive: 1 })],
    ['bad mode', (m) => m.mkdir(fresh(), { mode: 'xyz' })],
    ['bad path', (m) => m.mkdir(7)],
    ['rmdir missing', (m) => m.rmdir(path.join(base, 'nope'))],
    ['rmdir a file', (m) => m.rmdir(file)],
    ['rmdir not empty', (m) => m.rmdir(base)],
  ]) await sideBySide(ours, nodeFsp, call, { what });
  const empty = fresh();
  fs.mkdirSync(empty);
  await ours.rmdir(empty);
  assert.not.ok(fs.existsSync(empty));
});

test('truncate: lengths, errors, Node\'s order (the file is opened before len is checked)', async () => {
  for (const len of [undefined, 0, 3, 100, -4]) {
    const files = [tmpPath('t'), tmpPath('t')];
    for (const f of files) fs.writeFileSync(f, 'abcdefgh');
    await ours.truncate(files[0], len);
    await nodeFsp.truncate(files[1], len);
    assert.ok(fs.readFileSync(files[0]).equals(fs.readFileSync(files[1])), `len ${len}`);
  }
  const f = tmpPath('t');
  fs.writeFileSync(f, 'x');
  const none = tmpPath('none');
  for (const [what, call] of [
    ['missing', (m) => m.truncate(none)],
    ['missing with a bad len', (m) => m.truncate(none, 'x')],
    ['bad len', (m) => m.truncate(f, 'x')],
    ['fractional len', (m) => m.truncate(f, 1.5)],
    ['a directory', (m) => m.truncate(path.dirname(f))],
  ]) await sideBySide(ours, nodeFsp, call, { what });
});

test('rm: files, trees, symlinks, force, recursive, option errors — same effects and errors', async () => {
  const build = () => {
    const root = tree();
    const p = (n) => path.join(root, n);
    for (let i = 0; i < 30; i++) fs.mkdirSync(p(`dir/sub/d${i}/e`), { recursive: true });
    for (let i = 0; i < 30; i++) fs.writeFileSync(p(`dir/sub/d${i}/e/f`), 'x');
    fs.symlinkSync(p('dir'), p('dir/sub/loop'));
    return p;
  };
  for (const [what, call, check] of [
    ['a file', (m, p) => m.rm(p('file')), (p) => !fs.existsSync(p('file'))],
    ['a symlink (not its target)', (m, p) => m.rm(p('link')), (p) => !fs.existsSync(p('link')) && fs.existsSync(p('file'))],
    ['a dangling symlink', (m, p) => m.rm(p('dangling')), (p) => { try { fs.lstatSync(p('dangling')); return false; } catch { return true; } }],
    ['a tree, recursive', (m, p) => m.rm(p('dir'), { recursive: true }), (p) => !fs.existsSync(p('dir')) && fs.existsSync(p('file'))],
    ['a directory without recursive', (m, p) => m.rm(p('dir')), (p) => fs.existsSync(p('dir'))],
    ['missing', (m, p) => m.rm(p('missing'))],
    ['missing with force', (m, p) => m.rm(p('missing'), { force: true })],
    ['missing, recursive with force', (m, p) => m.rm(p('missing/deeper'), { force: true, recursive: true })],
    ['bad options', (m, p) => m.rm(p('file'), 'x')],
    ['bad force', (m, p) => m.rm(p('file'), { force: 1 })],
    ['bad maxRetries', (m, p) => m.rm(p('file'), { maxRetries: -1 })],
    ['bad retryDelay', (m, p) => m.rm(p('file'), { retryDelay: 1.5 })],
    ['bad path', (m) => m.rm(42)],
    ['through a file', (m, p) => m.rm(p('file/x'))],
  ]) {
    const pa = build();
    const pb = build();
    const [x, y] = [await outcome(() => call(ours, pa)), await outcome(() => call(nodeFsp, pb))];
    if (y.error) {
      const fix = (v) => (typeof v === 'string' ? v.replaceAll(pb(''), pa('')) : v);
      assert.ok(x.error, `${what}: node failed (${y.error.message}), ours did not`);
      for (const key of ['name', 'code', 'errno', 'syscall']) assert.is(x.error[key], y.error[key], `${what}: ${key}`);
      assert.is(x.error.message, fix(y.error.message), `${what}: message`);
      assert.is(x.error.path, fix(y.error.path), `${what}: path`);
    } else {
      assert.ok(!x.error, `${what}: ${x.error?.stack}`);
    }
    if (check) assert.is(check(pa), check(pb), `${what}: effect`);
  }
});

test('the members that stay Node\'s own give Node\'s results', async () => {
  const root = tree();
  const p = (n) => path.join(root, n);
  await sideBySide(ours, nodeFsp, (m) => m.access(p('file')), { what: 'access' });
  await sideBySide(ours, nodeFsp, (m) => m.access(p('missing')), { what: 'access missing' });
  await sideBySide(ours, nodeFsp, (m) => m.readdir(root).then((l) => l.sort()), { what: 'readdir' });
  await sideBySide(ours, nodeFsp, (m) => m.readdir(root, { withFileTypes: true }).then((l) => l.map((d) => [d.name, d.isDirectory()]).sort()), { what: 'readdir withFileTypes' });
  await sideBySide(ours, nodeFsp, (m) => m.readdir(root, { recursive: true }).then((l) => l.sort()), { what: 'readdir recursive' });
  await sideBySide(ours, nodeFsp, (m) => m.readlink(p('link')), { what: 'readlink' });
  await sideBySide(ours, nodeFsp, (m) => m.realpath(p('link')), { what: 'realpath' });
  await sideBySide(ours, nodeFsp, (m) => m.statfs(root).then((s) => s.type), { what: 'statfs' });
  const made = await ours.mkdtemp(p('tmp-'));
  assert.ok(fs.statSync(made).isDirectory());
  await ours.chmod(p('file'), 0o600);
  assert.is(fs.statSync(p('file')).mode & 0o777, 0o600);
  await ours.utimes(p('file'), 1000, 2000);
  assert.is(fs.statSync(p('file')).mtimeMs, 2_000_000);
  const d = await ours.opendir(root);
  const names = [];
  for await (const e of d) names.push(e.name);
  assert.ok(names.includes('file'));
  await ours.cp(p('dir'), p('dir-copy'), { recursive: true });
  assert.is(fs.readFileSync(p('dir-copy/inner'), 'utf8'), 'inner');
  await ours.copyFile(p('file'), p('copied'));
  assert.is(fs.readFileSync(p('copied'), 'utf8'), 'content');
  await sideBySide(ours, nodeFsp, (m) => m.copyFile(p('file'), p('copied'), fs.constants.COPYFILE_EXCL), { what: 'copyFile EXCL' });
  const ac = new AbortController();
  const watcher = ours.watch(root, { signal: ac.signal });
  const next = watcher[Symbol.asyncIterator]().next();
  setTimeout(() => fs.writeFileSync(p('watched'), 'w'), 50);
  const event = await next;
  assert.ok(event.value.filename);
  ac.abort();
});

test('errors from the ring carry the caller\'s stack', async () => {
  async function statFrame() {
    await ours.stat(tmpPath('nope'));
  }
  async function mkdirFrame() {
    await ours.mkdir(tmpPath('nope') + '/a/b');
  }
  for (const fn of [statFrame, mkdirFrame]) {
    const r = await outcome(fn);
    assert.match(r.error.stack, new RegExp(`at async ${fn.name} \\(.*fs-paths\\.test\\.mjs:\\d+:\\d+\\)`));
    assert.match(r.error.stack, /^Error: ENOENT: no such file or directory/);
  }
});

test.run();
