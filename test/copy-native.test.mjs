// The copy job's two native loops, called directly: copySmallFiles (a batch of
// small files, one syscall after another) and listDirectory (readdir + fstatat
// in one call). The copy tests run them end to end; here each rule they keep
// is checked on its own: nothing under a final name before it is complete, a
// name can only ever be an entry of the two directories given, the first
// failure stops the loop with its step and errno, the stop word is honoured,
// and bad arguments throw an error with a code instead of crashing.
// They are plain syscalls (no ring), so they run once per backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeBinding, oncePerBackend, pattern, tmpPath } from './helpers/env.mjs';

const native = nativeBinding();
const once = oncePerBackend(test);
const O_DIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY;
const Step = { None: 0, Open: 1, Create: 2, Read: 3, Write: 4, Link: 5, Close: 6, Stopped: 7 };

/** Two fresh directories, `files` ({ name: Buffer }) in the first, both opened. */
function dirs(files = {}) {
  const src = tmpPath('src');
  const dst = tmpPath('dst');
  fs.mkdirSync(src);
  fs.mkdirSync(dst);
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(src, name), bytes);
  const srcFd = fs.openSync(src, O_DIR);
  const dstFd = fs.openSync(dst, O_DIR);
  return { src, dst, srcFd, dstFd, close: () => { fs.closeSync(srcFd); fs.closeSync(dstFd); } };
}

/** The loop's arguments for `names` (sizes and modes as planned), with overrides. */
function args(d, names, over = {}) {
  const encoded = names.map((n) => Buffer.from(n));
  const nameEnds = new Uint32Array(names.length);
  let end = 0;
  encoded.forEach((b, i) => { end += b.length; nameEnds[i] = end; });
  const a = {
    srcFd: d.srcFd, dstFd: d.dstFd, names: Buffer.concat(encoded), nameEnds,
    sizes: new Float64Array(names.map((n) => { try { return fs.statSync(path.join(d.src, n)).size; } catch { return 0; } })),
    modes: new Uint32Array(names.length).fill(0o100640), from: 0, to: names.length, flags: 0,
    stop: new Int32Array(1), budgetNs: 1e9, bytesOut: new Float64Array(names.length), errorsOut: new Int32Array(2 * names.length),
    ...over,
  };
  return a;
}

function call(a) {
  return native.copySmallFiles(a.srcFd, a.dstFd, a.names, a.nameEnds, a.sizes, a.modes, a.from, a.to, a.flags, a.stop, a.budgetNs, a.bytesOut, a.errorsOut);
}

function throwsCode(fn, code, what) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, `${what}: throws`);
  assert.is(caught.code, code, what);
}

once('copySmallFiles copies each file whole under its name, with the mode asked for, and reports the bytes', () => {
  const files = { a: pattern(0), b: pattern(1), c: pattern(4096), d: pattern(300_000, 3) };
  const d = dirs(files);
  try {
    const a = args(d, Object.keys(files));
    a.modes[2] = 0o100600;
    assert.is(call(a), 4);
    for (const [i, [name, bytes]] of Object.entries(files).entries()) {
      assert.ok(fs.readFileSync(path.join(d.dst, name)).equals(bytes), name);
      assert.is(a.bytesOut[i], bytes.length, `${name} bytes`);
      assert.is(a.errorsOut[2 * i + 1], Step.None, `${name} step`);
    }
    assert.is(fs.statSync(path.join(d.dst, 'c')).mode & 0o777, 0o600);
    assert.equal(fs.readdirSync(d.dst).sort(), ['a', 'b', 'c', 'd'], 'no temporary left under any other name');
  } finally {
    d.close();
  }
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Why test/support/no-flink.c cannot be built and run here, or null when it can (decided at load, without compiling). */
const noFlinkRefusal = spawnSync('sh', ['-c', 'command -v cc']).status !== 0 ? 'no C compiler (cc) on PATH'
  : !['x64', 'arm64'].includes(process.arch) ? `no seccomp launcher for ${process.arch}` : null;

/** test/support/no-flink.c, built into the test's temporary directory. */
function noFlinkLauncher() {
  const exe = tmpPath('no-flink');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', exe, path.join(root, 'test', 'support', 'no-flink.c')], { encoding: 'utf8', timeout: 60_000 });
  if (cc.status !== 0) throw new Error(`cc failed: ${cc.error?.message ?? cc.stderr}`);
  return exe;
}

const flinkTest = 'copySmallFiles names its files through /proc/self/fd where linkat(AT_EMPTY_PATH) is refused (older kernels, no CAP_DAC_READ_SEARCH)';
(noFlinkRefusal === null ? once : (name, fn) => test.skip(`${name} [skipped: ${noFlinkRefusal}]`, fn))(flinkTest, () => {
  const exe = noFlinkLauncher();
  const files = { a: pattern(10), b: pattern(70_000, 5), c: pattern(0) };
  const d = dirs(files);
  d.close(); // the child opens its own
  // The child runs the loop under a seccomp filter that refuses the direct form, as such a kernel does.
  const child = `
    const fs = require('node:fs');
    const native = ${JSON.stringify(process.env.SAFER_RING_NATIVE_ADDON ?? '')}
      ? require(${JSON.stringify(process.env.SAFER_RING_NATIVE_ADDON ?? '')})
      : require(${JSON.stringify(path.join(root, 'node_modules', 'node-gyp-build'))})(${JSON.stringify(root)});
    const O_DIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY;
    const names = ['a', 'b', 'c'];
    const ends = new Uint32Array([1, 2, 3]);
    const sizes = new Float64Array(names.map((n) => fs.statSync(${JSON.stringify(d.src)} + '/' + n).size));
    const bytes = new Float64Array(3), errors = new Int32Array(6);
    const done = native.copySmallFiles(fs.openSync(${JSON.stringify(d.src)}, O_DIR), fs.openSync(${JSON.stringify(d.dst)}, O_DIR),
      Buffer.from('abc'), ends, sizes, new Uint32Array(3).fill(0o100644), 0, 3, 0, new Int32Array(1), 1e9, bytes, errors);
    // linkAt (the large files' way) takes the same turn.
    let link = 'ok';
    try { native.linkAt(fs.openSync(${JSON.stringify(d.dst)}, fs.constants.O_WRONLY | 0o20200000), Buffer.from(${JSON.stringify(d.dst)} + '/probe')); } catch (e) { link = e.code; }
    console.log(JSON.stringify({ done, bytes: [...bytes], errors: [...errors], link }));
  `;
  const r = spawnSync(exe, [process.execPath, '-e', child], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.is(out.done, 3);
  assert.equal(out.errors, [0, 0, 0, 0, 0, 0]);
  assert.equal(out.bytes, [10, 70_000, 0]);
  for (const [name, bytes] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(d.dst, name)).equals(bytes), name);
  assert.is(out.link, 'ok');
  assert.ok(fs.existsSync(path.join(d.dst, 'probe')));
});

once('copySmallFiles stops at the first failure with its step and errno, and never replaces an existing name', () => {
  const d = dirs({ a: pattern(10), b: pattern(20), c: pattern(30) });
  try {
    fs.writeFileSync(path.join(d.dst, 'b'), 'keep me');
    const a = args(d, ['a', 'b', 'c']);
    assert.is(call(a), 2, 'returns the index after the failed item');
    assert.is(a.errorsOut[3], Step.Link);
    assert.is(a.errorsOut[2], 17 /* EEXIST */);
    assert.is(fs.readFileSync(path.join(d.dst, 'b'), 'utf8'), 'keep me');
    assert.not.ok(fs.existsSync(path.join(d.dst, 'c')), 'nothing after the failure');
    assert.equal(fs.readdirSync(d.dst).sort(), ['a', 'b']);

    const missing = args(d, ['gone']);
    assert.is(call(missing), 1);
    assert.equal([missing.errorsOut[0], missing.errorsOut[1]], [2 /* ENOENT */, Step.Open]);
  } finally {
    d.close();
  }
});

once('copySmallFiles does not follow a symlink unless asked to', () => {
  const d = dirs({ real: pattern(100) });
  try {
    fs.symlinkSync('real', path.join(d.src, 'link'));
    const a = args(d, ['link'], { sizes: new Float64Array([100]) });
    assert.is(call(a), 1);
    assert.equal([a.errorsOut[0], a.errorsOut[1]], [40 /* ELOOP */, Step.Open]);
    assert.not.ok(fs.existsSync(path.join(d.dst, 'link')));
    const followed = args(d, ['link'], { sizes: new Float64Array([100]), flags: 1 });
    assert.is(call(followed), 1);
    assert.is(followed.errorsOut[1], Step.None);
    assert.ok(fs.readFileSync(path.join(d.dst, 'link')).equals(pattern(100)));
  } finally {
    d.close();
  }
});

once('copySmallFiles honours the stop word before each file', () => {
  const d = dirs({ a: pattern(10), b: pattern(10) });
  try {
    const a = args(d, ['a', 'b']);
    a.stop[0] = 1;
    assert.is(call(a), 0, 'nothing done');
    assert.equal(fs.readdirSync(d.dst), []);
  } finally {
    d.close();
  }
});

once('copySmallFiles refuses names that could leave the two directories, and malformed arguments, with a code and nothing done', () => {
  const d = dirs({ a: pattern(10) });
  try {
    for (const bad of ['..', '.', 'x/y', '../a', 'a\0b']) {
      throwsCode(() => call(args(d, [bad])), 'ERR_INVALID_ARG_VALUE', JSON.stringify(bad));
    }
    throwsCode(() => call(args(d, ['a'], { nameEnds: new Uint32Array([0]) })), 'ERR_INVALID_ARG_VALUE', 'empty name');
    throwsCode(() => call(args(d, ['a'], { nameEnds: new Uint32Array([1000]) })), 'ERR_INVALID_ARG_VALUE', 'a name past the names buffer');
    throwsCode(() => call(args(d, ['a'], { nameEnds: new Uint32Array([0xffffffff]) })), 'ERR_INVALID_ARG_VALUE', 'a huge name end');
    throwsCode(() => call(args(d, ['a'], { names: Buffer.from('x'.repeat(300)), nameEnds: new Uint32Array([300]) })), 'ERR_INVALID_ARG_VALUE', 'a name over 255 bytes');
    for (const size of [-1, 0.5, NaN, Infinity, 2 ** 64]) {
      throwsCode(() => call(args(d, ['a'], { sizes: new Float64Array([size]) })), 'ERR_INVALID_ARG_VALUE', `size ${size}`);
    }
    throwsCode(() => call(args(d, ['a'], { modes: new Uint32Array([0x7fff0000]) })), 'ERR_INVALID_ARG_VALUE', 'mode bits beyond st_mode');
    throwsCode(() => call(args(d, ['a'], { to: 2 })), 'ERR_OUT_OF_RANGE', 'to past the items');
    throwsCode(() => call(args(d, ['a'], { from: 1, to: 0 })), 'ERR_OUT_OF_RANGE', 'from after to');
    throwsCode(() => call(args(d, ['a'], { flags: 2 })), 'ERR_OUT_OF_RANGE', 'unknown flags');
    throwsCode(() => call(args(d, ['a'], { errorsOut: new Int32Array(1) })), 'ERR_OUT_OF_RANGE', 'errorsOut too short');
    throwsCode(() => call(args(d, ['a'], { bytesOut: new Float64Array(0) })), 'ERR_OUT_OF_RANGE', 'bytesOut too short');
    throwsCode(() => call(args(d, ['a'], { stop: new Int32Array(0) })), 'ERR_OUT_OF_RANGE', 'no stop word');
    throwsCode(() => call(args(d, ['a'], { sizes: new Uint32Array([10]) })), 'ERR_INVALID_ARG_VALUE', 'sizes of the wrong type');
    throwsCode(() => call(args(d, ['a'], { nameEnds: [1] })), 'ERR_INVALID_ARG_VALUE', 'nameEnds not a typed array');
    throwsCode(() => call(args(d, ['a'], { srcFd: -1 })), 'ERR_INVALID_ARG_VALUE', 'negative fd');
    throwsCode(() => native.copySmallFiles(), 'ERR_INVALID_ARG_VALUE', 'no arguments');
    assert.equal(fs.readdirSync(d.dst), [], 'nothing was created by any refused call');
  } finally {
    d.close();
  }
});

once('listDirectory lists names bytewise sorted with the stats node:fs reports, and refuses bad paths with a code', () => {
  const d = dirs({ b: pattern(5), a: pattern(3000), 'é': pattern(1) });
  try {
    fs.mkdirSync(path.join(d.src, 'sub'));
    fs.symlinkSync('a', path.join(d.src, 'ln'));
    const [names, nameEnds, stats, statErrors] = native.listDirectory(Buffer.from(d.src), false);
    const listed = [];
    let start = 0;
    for (const end of nameEnds) {
      listed.push(names.subarray(start, end).toString());
      start = end;
    }
    assert.equal(listed, ['a', 'b', 'ln', 'sub', 'é']);
    const fields = stats.length / listed.length;
    listed.forEach((name, i) => {
      const st = fs.lstatSync(path.join(d.src, name));
      assert.is(statErrors[i], 0, name);
      assert.is(stats[i * fields + 0], st.mode, `${name} mode`);
      assert.is(stats[i * fields + 1], st.size, `${name} size`);
      assert.is(stats[i * fields + 7], st.ino, `${name} ino`);
    });
    const [, , followedStats] = native.listDirectory(Buffer.from(d.src), true);
    assert.is(followedStats[2 * fields + 1], 3000, 'the symlink followed has its target\'s size');

    throwsCode(() => native.listDirectory(Buffer.alloc(0), false), 'ERR_INVALID_ARG_VALUE', 'empty path');
    throwsCode(() => native.listDirectory(Buffer.from('a\0b'), false), 'ERR_INVALID_ARG_VALUE', 'NUL in the path');
    throwsCode(() => native.listDirectory('/tmp', false), 'ERR_INVALID_ARG_VALUE', 'a string path');
    throwsCode(() => native.listDirectory(Buffer.from(d.src)), 'ERR_INVALID_ARG_VALUE', 'no follow flag');
    throwsCode(() => native.listDirectory(Buffer.from(path.join(d.src, 'missing')), false), 'ENOENT', 'a missing directory');
    throwsCode(() => native.listDirectory(Buffer.from(path.join(d.src, 'a')), false), 'ENOTDIR', 'a file');
  } finally {
    d.close();
  }
});

test.run();
