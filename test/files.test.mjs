import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring } from 'safer-ring';
import { tmpPath, patternFile, tmpRoot, NOT_OPEN_FD } from './helpers/env.mjs';

const ring = new Ring(16);
test.after(() => ring.close());

test('openat creates, writes and closes a file; node:fs sees the bytes', async () => {
  const file = tmpPath('open');
  const fd = await ring.openat(file, 'w', 0o640);
  assert.type(fd, 'number');
  await ring.write(fd, Buffer.from('opened by the ring'), { position: 0 });
  await ring.fsync(fd);
  await ring.fsync(fd, { datasync: true });
  await ring.closeFd(fd);
  assert.is(fs.readFileSync(file, 'utf8'), 'opened by the ring');
  assert.is(fs.statSync(file).mode & 0o777, 0o640 & ~process.umask());
  // The fd is closed: fstat fails, or (if another thread already reused the number) names another file.
  let reused = null;
  try {
    reused = fs.fstatSync(fd);
  } catch (err) {
    assert.is(err.code, 'EBADF');
  }
  if (reused !== null) assert.is.not(reused.ino, fs.statSync(file).ino);
});

test('openat with a missing file rejects with ENOENT, errno, syscall and path', async () => {
  const missing = `${tmpRoot}/missing/nope`;
  try {
    await ring.openat(missing);
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ENOENT');
    assert.is(err.errno, -2);
    assert.is(err.syscall, 'open');
    assert.is(err.path, missing);
    assert.match(err.message, /^ENOENT: no such file or directory, open '/);
  }
});

test('openat relative to a directory fd, with wx failing on an existing file', async () => {
  const dirFd = fs.openSync(tmpRoot, 'r');
  const fd = await ring.openat('relative-file', 'wx', 0o600, { dirfd: dirFd });
  await ring.close(fd);
  try {
    await ring.openat('relative-file', 'wx', 0o600, { dirfd: dirFd });
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'EEXIST');
  }
  fs.closeSync(dirFd);
  assert.ok(fs.existsSync(`${tmpRoot}/relative-file`));
});

test('statx by path and by fd matches node:fs.stat', async () => {
  const file = patternFile(12345);
  const st = await ring.statx(file);
  const ref = fs.statSync(file);
  assert.is(st.size, 12345);
  assert.is(st.ino, ref.ino);
  assert.is(st.mode, ref.mode);
  assert.is(st.nlink, ref.nlink);
  assert.is(st.dev, ref.dev);
  assert.is(Math.floor(st.mtimeMs), Math.floor(ref.mtimeMs));
  assert.ok(st.isFile());
  assert.not.ok(st.isDirectory());
  const fd = fs.openSync(file, 'r');
  const byFd = await ring.statx(fd);
  assert.is(byFd.ino, ref.ino);
  fs.closeSync(fd);
  assert.ok((await ring.statx(tmpRoot)).isDirectory());
});

test('statx with noFollow sees the symlink itself', async () => {
  const target = patternFile(10);
  const link = tmpPath('link');
  fs.symlinkSync(target, link);
  assert.ok((await ring.statx(link, { noFollow: true })).isSymbolicLink());
  assert.ok((await ring.statx(link)).isFile());
});

test('closing an fd that is not open rejects with EBADF', async () => {
  try {
    await ring.closeFd(NOT_OPEN_FD); // never "an fd we just closed": closing a reused number would close someone else's file
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'EBADF');
    assert.is(err.syscall, 'close');
  }
});

test('nop and timeout complete through the kernel', async () => {
  assert.is(await ring.nop(), 0);
  const t0 = performance.now();
  await ring.timeout(30);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 25, `timeout fired after ${elapsed} ms`);
});

test.run();
