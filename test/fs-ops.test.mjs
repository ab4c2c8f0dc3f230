// Filesystem opcodes through a Ring and a Runtime: unlinkat, mkdirat,
// renameat, linkat, symlinkat, ftruncate, fallocate, splice. Each outcome is
// checked on disk, and each error against node:fs's own for the same call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Ring, Runtime, createPipe } from 'safer-ring';
import { tmpPath, backend, nativeBinding, quiesce } from './helpers/env.mjs';

const ring = new Ring(16);
const rt = new Runtime();
test.after(async () => {
  await ring.close();
  await rt.close();
});

const targets = { ring, runtime: rt };
const probe = backend === 'fallback' ? {} : nativeBinding().probe();

/** The error node:fs/promises gives for the same call, to compare shapes with. */
async function nodeError(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('node:fs did not fail');
}

function sameError(ours, theirs) {
  assert.ok(ours instanceof Error, String(ours));
  for (const key of ['code', 'errno', 'syscall', 'path', 'dest', 'message', 'name']) {
    assert.is(ours[key], theirs[key], `${key}: ${ours.message}`);
  }
}

test('mkdirat and unlinkat (file and directory), with node:fs\'s errors', async () => {
  for (const [name, t] of Object.entries(targets)) {
    const dir = tmpPath(`mkdir-${name}`);
    await t.mkdirat(dir, 0o750);
    const st = fs.statSync(dir);
    assert.ok(st.isDirectory());
    assert.is(st.mode & 0o777, 0o750 & ~process.umask());
    sameError(await t.mkdirat(dir).catch((e) => e), await nodeError(() => fsp.mkdir(dir)));
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'x');
    await t.unlinkat(file);
    assert.not.ok(fs.existsSync(file));
    sameError(await t.unlinkat(file).catch((e) => e), await nodeError(() => fsp.unlink(file)));
    await t.unlinkat(dir, { removeDir: true });
    assert.not.ok(fs.existsSync(dir));
    sameError(await t.unlinkat(dir, { removeDir: true }).catch((e) => e), await nodeError(() => fsp.rmdir(dir)));
  }
});

test('paths relative to a directory fd', async () => {
  const dir = tmpPath('dirfd');
  fs.mkdirSync(dir);
  const dirfd = fs.openSync(dir, 'r');
  for (const [name, t] of Object.entries(targets)) {
    await t.mkdirat(`sub-${name}`, 0o755, { dirfd });
    assert.ok(fs.statSync(path.join(dir, `sub-${name}`)).isDirectory());
    fs.writeFileSync(path.join(dir, `a-${name}`), name);
    await t.renameat(`a-${name}`, `b-${name}`, { dirfd, newDirfd: dirfd });
    assert.is(fs.readFileSync(path.join(dir, `b-${name}`), 'utf8'), name);
    await t.unlinkat(`b-${name}`, { dirfd });
    await t.unlinkat(`sub-${name}`, { dirfd, removeDir: true });
  }
  assert.equal(fs.readdirSync(dir), []);
  fs.closeSync(dirfd);
});

test('renameat replaces, or with noReplace refuses with EEXIST; errors name both paths', async () => {
  for (const [name, t] of Object.entries(targets)) {
    const a = tmpPath(`ren-a-${name}`);
    const b = tmpPath(`ren-b-${name}`);
    fs.writeFileSync(a, 'A');
    fs.writeFileSync(b, 'B');
    const err = await t.renameat(a, b, { noReplace: true }).catch((e) => e);
    assert.is(err.code, 'EEXIST');
    assert.is(err.dest, b);
    assert.is(fs.readFileSync(b, 'utf8'), 'B');
    await t.renameat(a, b);
    assert.is(fs.readFileSync(b, 'utf8'), 'A');
    assert.not.ok(fs.existsSync(a));
    sameError(await t.renameat(a, b).catch((e) => e), await nodeError(() => fsp.rename(a, b)));
    const c = tmpPath(`ren-c-${name}`);
    await t.renameat(b, c, { noReplace: true });
    assert.is(fs.readFileSync(c, 'utf8'), 'A');
  }
});

test('linkat and symlinkat, with node:fs\'s errors', async () => {
  for (const [name, t] of Object.entries(targets)) {
    const file = tmpPath(`link-src-${name}`);
    fs.writeFileSync(file, 'linked');
    const hard = tmpPath(`hard-${name}`);
    await t.linkat(file, hard);
    assert.is(fs.statSync(file).nlink, 2);
    assert.is(fs.statSync(hard).ino, fs.statSync(file).ino);
    sameError(await t.linkat(file, hard).catch((e) => e), await nodeError(() => fsp.link(file, hard)));
    const sym = tmpPath(`sym-${name}`);
    await t.symlinkat('some/relative target', sym);
    assert.is(fs.readlinkSync(sym), 'some/relative target');
    sameError(await t.symlinkat('x', sym).catch((e) => e), await nodeError(() => fsp.symlink('x', sym)));
    // followSymlinks links the file a symlink points at, not the symlink.
    const toFile = tmpPath(`sym-to-file-${name}`);
    fs.symlinkSync(file, toFile);
    const followed = tmpPath(`followed-${name}`);
    await t.linkat(toFile, followed, { followSymlinks: true });
    assert.is(fs.lstatSync(followed).ino, fs.statSync(file).ino);
  }
});

test('ftruncate grows and shrinks a file', async () => {
  if (backend !== 'fallback' && !probe.FTRUNCATE) return; // IORING_OP_FTRUNCATE needs Linux 6.9
  for (const [name, t] of Object.entries(targets)) {
    const file = tmpPath(`trunc-${name}`);
    fs.writeFileSync(file, 'abcdef');
    const fd = fs.openSync(file, 'r+');
    await t.ftruncate(fd, 3);
    assert.is(fs.readFileSync(file, 'utf8'), 'abc');
    await t.ftruncate(fd, 5);
    assert.equal([...fs.readFileSync(file)], [97, 98, 99, 0, 0]);
    await t.ftruncate(fd);
    assert.is(fs.statSync(file).size, 0);
    fs.closeSync(fd);
    const ro = fs.openSync(file, 'r');
    const err = await t.ftruncate(ro, 1).catch((e) => e);
    assert.ok(err.code === 'EINVAL' || err.code === 'EBADF', err.code);
    fs.closeSync(ro);
  }
});

test('fallocate reserves blocks and, with KEEP_SIZE|PUNCH_HOLE, punches a hole', async () => {
  if (backend === 'fallback') {
    const fd = fs.openSync(tmpPath('falloc-fb'), 'w');
    const err = await ring.fallocate(fd, 0, 4096).catch((e) => e);
    assert.is(err.code, 'EINVAL'); // node:fs has no fallocate: reported as a kernel without the op would
    fs.closeSync(fd);
    return;
  }
  for (const [name, t] of Object.entries(targets)) {
    const file = tmpPath(`falloc-${name}`);
    const fd = fs.openSync(file, 'w+');
    await t.fallocate(fd, 0, 1 << 20);
    assert.is(fs.fstatSync(fd).size, 1 << 20);
    fs.writeSync(fd, Buffer.alloc(1 << 20, 1), 0, 1 << 20, 0);
    await t.fallocate(fd, 0, 65536, { mode: 0x01 | 0x02 }); // FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
    const head = Buffer.alloc(65536, 9);
    fs.readSync(fd, head, 0, 65536, 0);
    assert.ok(head.every((b) => b === 0), 'the punched range reads as zeros');
    assert.is(fs.fstatSync(fd).size, 1 << 20);
    const bad = await t.fallocate(fd, 0, 4096, { mode: 0x02 }).catch((e) => e); // a hole without KEEP_SIZE
    assert.is(bad.code, 'ERR_INVALID_ARG_VALUE');
    fs.closeSync(fd);
  }
});

test('splice moves a file\'s bytes through a pipe into another file inside the kernel', async () => {
  if (backend === 'fallback') return; // node:fs has no splice; the op answers EINVAL there
  for (const [name, t] of Object.entries(targets)) {
    const src = tmpPath(`splice-src-${name}`);
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
    fs.writeFileSync(src, data);
    const dst = tmpPath(`splice-dst-${name}`);
    const inFd = fs.openSync(src, 'r');
    const outFd = fs.openSync(dst, 'w');
    const [r, w] = createPipe();
    let done = 0;
    while (done < data.length) {
      const n = await t.splice(inFd, w, Math.min(65536, data.length - done), { inOffset: done });
      assert.ok(n > 0);
      let moved = 0;
      while (moved < n) moved += await t.splice(r, outFd, n - moved, { outOffset: done + moved });
      done += n;
    }
    assert.is(await t.splice(inFd, w, 100, { inOffset: data.length }), 0, 'end of input');
    assert.ok(fs.readFileSync(dst).equals(data));
    for (const fd of [inFd, outFd, r, w]) fs.closeSync(fd);
  }
});

test('argument errors are Node\'s TypeErrors and RangeErrors, and allocate nothing', async () => {
  await quiesce();
  const before = ring.stats().arena.slotsInUse;
  const cases = [
    [() => ring.mkdirat(42), 'ERR_INVALID_ARG_TYPE', TypeError],
    [() => ring.mkdirat('x', 0o70000), 'ERR_OUT_OF_RANGE', RangeError],
    [() => ring.renameat('a', null), 'ERR_INVALID_ARG_TYPE', TypeError],
    [() => ring.renameat('a\0b', 'c'), 'ERR_INVALID_ARG_VALUE', TypeError],
    [() => ring.linkat('a', 'b', { newDirfd: -3 }), 'ERR_OUT_OF_RANGE', RangeError],
    [() => ring.unlinkat('x', { signal: 'nope' }), 'ERR_INVALID_ARG_TYPE', TypeError],
    [() => ring.ftruncate(3, -1), 'ERR_OUT_OF_RANGE', RangeError],
    [() => ring.splice(3, 4, 2 ** 31), 'ERR_OUT_OF_RANGE', RangeError],
  ];
  for (const [fn, code, cls] of cases) {
    const err = await fn().catch((e) => e);
    assert.is(err.code, code, err.message);
    assert.ok(err instanceof cls, `${code} is a ${cls.name}`);
  }
  await quiesce();
  assert.is(ring.stats().arena.slotsInUse, before);
});

test.run();
