// Source trees with every case the copy job must handle, and a byte-for-byte,
// metadata-for-metadata comparison of a copy against its source.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pattern } from './env.mjs';

export const isRoot = process.getuid?.() === 0;

/** Names that are not UTF-8, or hold a newline or spaces. */
export const ODD_NAMES = [
  Buffer.from('with space.txt'),
  Buffer.from('new\nline'),
  Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]), // 'f', then bytes that are not UTF-8
];

export const SPARSE_SIZE = 5 * 1024 ** 3 + 12345; // past 4 GiB, costs a few KiB of disk
export const SPARSE_DATA = [0, 4 * 1024 ** 3 + 7, SPARSE_SIZE - 1000];

const bjoin = (dir, name) => Buffer.concat([Buffer.from(dir), Buffer.from('/'), Buffer.from(name)]);

/**
 * Builds the tree at `root`:
 *   empty file, small files, a 3 MiB file (the large-file path), odd names,
 *   nested and empty directories, a directory 120 levels deep, symlinks to a
 *   file and a directory and a dangling one, two hard links of one file, a
 *   sparse file larger than 4 GiB (`sparse`), a FIFO (`fifo`), modes.
 * Every atime is set after its mtime, so reading a file (relatime) leaves it be.
 */
export function makeTree(root, { sparse = true, fifo = true, deep = 120, large = 3 * 1024 * 1024 } = {}) {
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'empty'), '');
  fs.writeFileSync(path.join(root, 'small.txt'), 'hello, world\n');
  fs.mkdirSync(path.join(root, 'a', 'b', 'c'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty-dir'));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(root, 'a', `f${i}`), pattern(100 + i * 997, i));
  fs.writeFileSync(path.join(root, 'a', 'b', 'c', 'deepfile'), pattern(5000, 3));
  if (large > 0) fs.writeFileSync(path.join(root, 'large.bin'), pattern(large, 11));
  for (const name of ODD_NAMES) fs.writeFileSync(bjoin(root, name), Buffer.concat([Buffer.from('odd:'), name]));
  fs.mkdirSync(bjoin(root, Buffer.from([0x64, 0xe9, 0x80]))); // a directory whose name is not UTF-8
  fs.writeFileSync(bjoin(bjoin(root, Buffer.from([0x64, 0xe9, 0x80])), 'inside'), 'inside');
  fs.symlinkSync('small.txt', path.join(root, 'link-to-file'));
  fs.symlinkSync('a/b', path.join(root, 'link-to-dir'));
  fs.symlinkSync('does-not-exist', path.join(root, 'dangling'));
  fs.writeFileSync(path.join(root, 'hard1'), 'two names, one file');
  fs.linkSync(path.join(root, 'hard1'), path.join(root, 'a', 'hard2'));
  fs.writeFileSync(path.join(root, 'mode640'), 'x');
  fs.chmodSync(path.join(root, 'mode640'), 0o640);
  fs.mkdirSync(path.join(root, 'dir750'));
  fs.writeFileSync(path.join(root, 'dir750', 'f'), 'y');
  fs.chmodSync(path.join(root, 'dir750'), 0o750);
  if (deep > 0) {
    let d = path.join(root, 'deep');
    for (let i = 0; i < deep; i++) d = path.join(d, 'd');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'bottom'), 'bottom');
  }
  if (sparse) {
    const fd = fs.openSync(path.join(root, 'sparse.img'), 'w');
    fs.ftruncateSync(fd, SPARSE_SIZE);
    for (const at of SPARSE_DATA) fs.writeSync(fd, pattern(1000, at & 255), 0, 1000, at);
    fs.closeSync(fd);
  }
  if (fifo) execFileSync('mkfifo', [path.join(root, 'fifo')]);
  setTimesBelow(root);
}

/** atime = mtime + 5 s for every entry (bottom up, so directories keep theirs). */
function setTimesBelow(dir) {
  for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
    const p = bjoin(dir, name);
    const st = fs.lstatSync(p);
    if (st.isDirectory()) setTimesBelow(p);
    const mtime = new Date(Date.now() - 3_600_000 + Math.floor(Math.random() * 1000));
    if (st.isSymbolicLink()) fs.lutimesSync(p, new Date(mtime.getTime() + 5000), mtime);
    else if (!st.isFIFO()) fs.utimesSync(p, new Date(mtime.getTime() + 5000), mtime);
  }
}

/** Temporary names the copy job uses: `.<8 hex>.<thread>.<n>.tmp`. */
export const TEMP_NAME = /^\.[0-9a-f]{8}\.\d+\.\d+\.tmp$/;

/** Every path below `dir` (as Buffers), directories included. */
export function listTree(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of fs.readdirSync(d, { encoding: 'buffer' })) {
      const p = bjoin(d, name);
      out.push(p);
      if (fs.lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

export function temporariesBelow(dir) {
  return listTree(dir).filter((p) => TEMP_NAME.test(path.basename(p.toString('latin1'))));
}

function sameFileBytes(a, b, st) {
  if (st.size > 64 * 1024 * 1024) {
    // The sparse file: compare its data ranges and a few points inside holes.
    const fa = fs.openSync(a, 'r');
    const fb = fs.openSync(b, 'r');
    try {
      for (const at of [...SPARSE_DATA, 1024 ** 3, 3 * 1024 ** 3]) {
        const x = Buffer.alloc(1000);
        const y = Buffer.alloc(1000);
        fs.readSync(fa, x, 0, 1000, at);
        fs.readSync(fb, y, 0, 1000, at);
        if (!x.equals(y)) return false;
      }
      return true;
    } finally {
      fs.closeSync(fa);
      fs.closeSync(fb);
    }
  }
  return fs.readFileSync(a).equals(fs.readFileSync(b));
}

/**
 * Compares the copy `dst` with `src`: same names, types, bytes, link
 * targets; modes as cp gives them (source mode less the umask; with
 * `preserve`, the exact mode, owner and times); hard links shared or not.
 * Returns a list of differences (empty when equal). `skip` names source
 * entries (relative, as strings) expected to be missing from the copy.
 */
export function compareTrees(src, dst, { preserve = false, skip = [] } = {}) {
  const problems = [];
  const umask = process.umask();
  const inodes = new Map();
  // Every stat first: reading a copy moves its atime (relatime: its ctime is recent).
  const pairs = [];
  for (const s of listTree(src)) {
    const rel = s.subarray(Buffer.from(src).length);
    const relText = rel.toString();
    if (skip.some((k) => relText === `/${k}` || relText.startsWith(`/${k}/`))) continue;
    const d = Buffer.concat([Buffer.from(dst), rel]);
    let b;
    try {
      b = fs.lstatSync(d);
    } catch {
      problems.push(`missing: ${relText}`);
      continue;
    }
    pairs.push({ s, d, relText, a: fs.lstatSync(s), b });
  }
  for (const { s, d, relText, a, b } of pairs) {
    const type = (st) => st.mode & fs.constants.S_IFMT;
    if (type(a) !== type(b)) {
      problems.push(`type differs: ${relText}`);
      continue;
    }
    if (a.isSymbolicLink()) {
      if (!fs.readlinkSync(s, { encoding: 'buffer' }).equals(fs.readlinkSync(d, { encoding: 'buffer' }))) problems.push(`link target differs: ${relText}`);
    } else if (a.isFile()) {
      if (a.size !== b.size) problems.push(`size differs: ${relText} (${a.size} vs ${b.size})`);
      else if (!sameFileBytes(s, d, a)) problems.push(`bytes differ: ${relText}`);
      if (a.blocks * 512 < a.size && b.blocks > a.blocks + 64) problems.push(`holes not kept: ${relText} (${a.blocks} vs ${b.blocks} blocks)`);
      if (a.nlink > 1) {
        const key = `${a.dev}:${a.ino}`;
        const seen = inodes.get(key);
        if (seen === undefined) inodes.set(key, b.ino);
        else if (preserve && seen !== b.ino) problems.push(`hard link not kept: ${relText}`);
        else if (!preserve && seen === b.ino) problems.push(`hard link kept without preserve: ${relText}`);
      }
    }
    if (!a.isSymbolicLink()) {
      const want = preserve ? a.mode & 0o7777 : a.mode & 0o777 & ~umask;
      if ((b.mode & 0o7777) !== want) problems.push(`mode differs: ${relText} (${(b.mode & 0o7777).toString(8)}, want ${want.toString(8)})`);
    }
    if (preserve) {
      if (a.uid !== b.uid || a.gid !== b.gid) problems.push(`owner differs: ${relText}`);
      if (Math.abs(a.mtimeMs - b.mtimeMs) >= 1) problems.push(`mtime differs: ${relText} (${a.mtimeMs} vs ${b.mtimeMs})`);
      if (!a.isDirectory() && Math.abs(a.atimeMs - b.atimeMs) >= 1) problems.push(`atime differs: ${relText} (${a.atimeMs} vs ${b.atimeMs})`);
    }
  }
  for (const t of temporariesBelow(dst)) problems.push(`temporary left: ${t.toString()}`);
  return problems;
}
