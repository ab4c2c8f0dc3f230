// The safety of the data in a copy job: temporaries and final names under
// abort and failure, overwrite modes, a destination inside its source,
// verify, and a destination filesystem that runs out of space.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { copy, createCopyJob } from 'safer-ring/copy';
import { tmpPath, pattern } from './helpers/env.mjs';
import { listTree, temporariesBelow, isRoot } from './helpers/tree.mjs';

function smallTree(root, files = 40) {
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(root, i % 3 ? 'sub' : '', `f${i}`), pattern(500 + i * 37, i));
}

/** Every file under `dst` is complete: the same bytes as its source. */
function everyCopyComplete(src, dst) {
  const bad = [];
  for (const d of listTree(dst)) {
    const rel = d.subarray(Buffer.from(dst).length);
    const s = Buffer.concat([Buffer.from(src), rel]);
    if (fs.lstatSync(d).isFile() && !fs.readFileSync(d).equals(fs.readFileSync(s))) bad.push(rel.toString());
  }
  return bad;
}

const abortSrc = tmpPath('abort-src');
smallTree(abortSrc, 400);
fs.writeFileSync(path.join(abortSrc, 'big.bin'), pattern(16 * 1024 * 1024, 5));

for (const [label, smallFileIo, temporaries] of [['unnamed temporaries', 'sync', undefined], ['named temporaries, through the ring', 'ring', 'named']]) {
  test(`abort mid-job (${label}): rejects with AbortError and a summary; no partial file, no temporary`, async () => {
    if (temporaries) process.env.SAFER_RING_COPY_TEMPORARIES = temporaries;
    try {
      const dst = tmpPath('abort-dst');
      const ac = new AbortController();
      const job = createCopyJob([{ src: abortSrc, dst }], { recursive: true, signal: ac.signal, concurrency: 1, smallFileIo, largeFileIo: smallFileIo === 'ring' ? 'ring' : 'copy-file-range' });
      let files = 0;
      job.on('file', () => {
        if (++files === 5) ac.abort();
      });
      const err = await job.done.catch((e) => e);
      assert.is(err.name, 'AbortError');
      assert.is(err.code, 'ABORT_ERR');
      assert.ok(err.summary.aborted);
      assert.ok(err.summary.files >= 5 && err.summary.files < 401, `copied ${err.summary.files}`);
      assert.equal(temporariesBelow(dst), []);
      assert.equal(everyCopyComplete(abortSrc, dst), []);
    } finally {
      delete process.env.SAFER_RING_COPY_TEMPORARIES;
    }
  });
}

test('an AbortSignal already aborted: nothing is written', async () => {
  const src = tmpPath('abort0-src');
  smallTree(src, 5);
  const dst = tmpPath('abort0-dst');
  const err = await copy(src, dst, { recursive: true, signal: AbortSignal.abort() }).catch((e) => e);
  assert.is(err.code, 'ABORT_ERR');
  assert.not.ok(fs.existsSync(dst));
});

test("overwrite 'error' (the default) never replaces: those files fail, the rest are copied", async () => {
  const src = tmpPath('ow-src');
  smallTree(src, 10);
  const dst = tmpPath('ow-dst');
  fs.mkdirSync(path.join(dst, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dst, 'f0'), 'mine');
  fs.writeFileSync(path.join(dst, 'sub', 'f1'), 'mine too');
  const summary = await copy(src, dst, { recursive: true });
  assert.is(summary.failed.length, 2);
  assert.ok(summary.failed.every((f) => f.error.code === 'ERR_FS_CP_EEXIST'), summary.failed.map((f) => f.error.code).join());
  assert.is(fs.readFileSync(path.join(dst, 'f0'), 'utf8'), 'mine');
  assert.is(fs.readFileSync(path.join(dst, 'sub', 'f1'), 'utf8'), 'mine too');
  assert.is(summary.files, 8);
  assert.ok(fs.readFileSync(path.join(dst, 'sub', 'f2')).equals(fs.readFileSync(path.join(src, 'sub', 'f2'))));
  assert.equal(temporariesBelow(dst), []);
});

test("overwrite 'replace' replaces; 'skip-identical' skips what matches and replaces the rest", async () => {
  const src = tmpPath('ow2-src');
  smallTree(src, 10);
  const dst = tmpPath('ow2-dst');
  await copy(src, dst, { recursive: true, preserve: { timestamps: true } });
  fs.writeFileSync(path.join(dst, 'f0'), 'changed');
  const replaced = await copy(src, dst, { recursive: true, overwrite: 'replace' });
  assert.is(replaced.failed.length, 0);
  assert.is(replaced.files, 10);
  assert.ok(fs.readFileSync(path.join(dst, 'f0')).equals(fs.readFileSync(path.join(src, 'f0'))));
  // Times now differ (replace without preserve): make two match again, change one.
  await copy(src, dst, { recursive: true, overwrite: 'replace', preserve: { timestamps: true } });
  fs.writeFileSync(path.join(dst, 'sub', 'f1'), 'different');
  const job = createCopyJob([{ src, dst }], { recursive: true, overwrite: 'skip-identical', preserve: { timestamps: true } });
  const copied = [];
  job.on('file', (r) => r.status === 'copied' && copied.push(r.src));
  const skipped = await job.done;
  if (copied.length !== 1) throw new Error(`copied: ${copied.join(', ')}`);
  assert.is(skipped.skipped.length, 9);
  assert.ok(fs.readFileSync(path.join(dst, 'sub', 'f1')).equals(fs.readFileSync(path.join(src, 'sub', 'f1'))));
  // With verify, same size and mtime is not enough: the bytes must match too.
  const st = fs.statSync(path.join(dst, 'f0'));
  fs.writeFileSync(path.join(dst, 'f0'), Buffer.alloc(st.size, 0x78));
  fs.utimesSync(path.join(dst, 'f0'), st.atime, st.mtime);
  const verified = await copy(src, dst, { recursive: true, overwrite: 'skip-identical', verify: true });
  assert.is(verified.files, 1);
  assert.ok(fs.readFileSync(path.join(dst, 'f0')).equals(fs.readFileSync(path.join(src, 'f0'))));
});

test('a destination inside its source is refused before anything is written', async () => {
  const src = tmpPath('self-src');
  smallTree(src, 3);
  const before = listTree(src).length;
  for (const dst of [path.join(src, 'copy'), path.join(src, 'sub', 'deeper', 'copy'), src]) {
    const err = await copy(src, dst, { recursive: true }).catch((e) => e);
    assert.is(err.code, 'ERR_FS_CP_EINVAL', dst);
  }
  // Through a symlink to the source, too.
  const alias = tmpPath('self-alias');
  fs.symlinkSync(src, alias);
  const err = await copy(src, path.join(alias, 'copy'), { recursive: true }).catch((e) => e);
  assert.is(err.code, 'ERR_FS_CP_EINVAL');
  assert.is(listTree(src).length, before);
});

test('a failing file is reported and the rest are copied; failFast stops at the first', async () => {
  const src = tmpPath('fail-src');
  smallTree(src, 20);
  // The filter runs while the source is listed: removing a file there makes
  // it vanish between the listing and its copy.
  const vanish = (s) => {
    if (s.endsWith('/sub/f4')) fs.rmSync(s);
    return true;
  };
  const dst = tmpPath('fail-dst');
  const summary = await copy(src, dst, { recursive: true, filter: vanish });
  assert.is(summary.failed.length, 1);
  assert.is(summary.failed[0].error.code, 'ENOENT');
  assert.ok(summary.failed[0].path.endsWith('/sub/f4'));
  assert.is(summary.files, 19);
  assert.equal(temporariesBelow(dst), []);

  fs.writeFileSync(path.join(src, 'sub', 'f4'), 'back');
  const dst2 = tmpPath('fail-dst2');
  const err = await copy(src, dst2, { recursive: true, filter: vanish, failFast: true, workers: 1, concurrency: 1 }).catch((e) => e);
  assert.is(err.code, 'ENOENT');
  assert.ok(err.summary.aborted);
  assert.equal(temporariesBelow(dst2), []);
  assert.equal(everyCopyComplete(src, dst2), []);
});

test('filter leaves entries (and whole directories) out', async () => {
  const src = tmpPath('filter-src');
  smallTree(src, 12);
  const dst = tmpPath('filter-dst');
  const summary = await copy(src, dst, { recursive: true, filter: (s, d, info) => !(info.type === 'directory' && s.endsWith('/sub')) && !s.endsWith('/f3') });
  assert.not.ok(fs.existsSync(path.join(dst, 'sub')));
  assert.not.ok(fs.existsSync(path.join(dst, 'f3')));
  assert.is(summary.files, 3);
});

test('verify: a copy that does not match its source fails and leaves nothing', async () => {
  // Each read of this file gives a new random UUID: like a source that
  // changes while it is copied, the copy never matches a second read.
  const dst = tmpPath('verify-dst');
  const summary = await copy('/proc/sys/kernel/random/uuid', dst, { verify: true });
  assert.is(summary.failed.length, 1);
  assert.is(summary.failed[0].error.code, 'ERR_COPY_VERIFY_MISMATCH');
  assert.not.ok(fs.existsSync(dst));
  assert.equal(temporariesBelow(path.dirname(dst)), []);
  // An ordinary file verifies.
  const src = tmpPath('verify-src');
  fs.writeFileSync(src, pattern(3 * 1024 * 1024 + 3, 1));
  const ok = await copy(src, tmpPath('verify-ok'), { verify: true });
  assert.is(ok.failed.length, 0);
  assert.is(ok.files, 1);
});

const canMount = isRoot && (() => {
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Needs root to mount a small tmpfs; skipped (and said so) otherwise.
(canMount ? test : test.skip)('ENOSPC on a small filesystem: the file that does not fit fails, the rest are copied, no temporary remains', async () => {
  const mnt = tmpPath('enospc-mnt');
  fs.mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  } catch (err) {
    console.log(`  (skipped: cannot mount a tmpfs here: ${err.message.split('\n')[0]})`);
    return;
  }
  try {
    const src = tmpPath('enospc-src');
    smallTree(src, 10);
    fs.writeFileSync(path.join(src, 'too-big.bin'), pattern(3 * 1024 * 1024, 2));
    const dst = path.join(mnt, 'copy');
    // One task at a time (the large file goes first): while it fills the
    // filesystem nothing else is written, so exactly it fails.
    const summary = await copy(src, dst, { recursive: true, workers: 1, concurrency: 1 });
    assert.is(summary.failed.length, 1, summary.failed.map((f) => `${f.path}: ${f.error.code}`).join());
    assert.is(summary.failed[0].error.code, 'ENOSPC');
    assert.ok(summary.failed[0].path.endsWith('too-big.bin'));
    assert.is(summary.files, 10);
    assert.not.ok(fs.existsSync(path.join(dst, 'too-big.bin')));
    assert.equal(temporariesBelow(dst), []);
    assert.equal(everyCopyComplete(src, dst), []);
  } finally {
    execFileSync('umount', [mnt]);
  }
});
if (!canMount) console.log('copy-safety: the ENOSPC test needs root (to mount a small tmpfs) and is skipped');

test.run();
