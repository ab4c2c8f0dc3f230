#!/usr/bin/env node
// API fuzzer for safer-ring/fs/promises, property-based (fast-check): random
// sequences of calls run side by side on two twin directories, ours on one
// and node:fs/promises on the other, one call after the other.
//
//   SAFER_RING_BACKEND=io_uring|fallback node --expose-gc test/fuzz/fs-child.mjs --seed N [--runs N] [--steps N] [--time-ms N]
//
// The calls: open (flags as strings, numbers and garbage; modes), FileHandle
// read/readv/write/writev in every call form (buffer + offset/length/position,
// an options object, no arguments, a string with position and encoding), with
// Buffers, other typed arrays, DataViews, empty and detached views, and
// offsets, lengths and positions that are huge, negative, fractional, NaN,
// bigint or of the wrong type; readFile, writeFile and appendFile on paths
// and handles (strings, buffers, iterables, encodings, flags, flush) with
// AbortSignals aborted before the call or at a random point during it; a
// handle closed while operations are pending, and used after; stat, lstat,
// handle.stat (bigint too); rename, unlink, mkdir (recursive), rm (recursive,
// force), rmdir, truncate, link and symlink inside the twin directory. On the
// io_uring backend also views whose length lies and buffers detached or
// shrunk while the operation is in flight (node:fs aborts the process on the
// first, so those are checked against the file instead of against Node).
//
// Checked after every call: the same values (bytes read, bytes written, the
// buffers' contents, stats fields, resolved values) and the same errors
// (class, name, code, errno, syscall, path, dest, message) as Node; both
// directory trees equal afterwards (names, types, sizes, modes, contents).
// A call aborted at a random point may finish or fail with Node's AbortError;
// a write it cut short leaves a prefix of its data. At the end of each
// sequence: every promise settled, no unhandled rejection, no fd left open
// (/proc/self/fd), every arena slot and every direct-descriptor slot back.
// Prints one JSON line; exits 1 with the shrunk counterexample on failure.
import fs from 'node:fs';
import nodeFsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ours = require('safer-ring/fs/promises');
const ringContext = require(path.join(root, 'dist', 'src', 'fs', 'ring-context.js'));
const { Arena } = require(path.join(root, 'dist', 'src', 'buffers', 'arena.js'));
const { FileHandle: OurFileHandle } = require(path.join(root, 'dist', 'src', 'fs', 'file-handle.js'));

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const seed = Number(args.seed ?? 1) | 0;
const runs = Number(args.runs ?? 10);
const steps = Number(args.steps ?? 25);
const timeMs = Number(args['time-ms'] ?? 0);
const backend = process.env.SAFER_RING_BACKEND ?? 'io_uring';
const viaRing = ringContext.ringBackend();
const DIRECT_SLOTS = 256;
const SETTLE_MS = 15_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const openFds = () => fs.readdirSync('/proc/self/fd').length;
const top = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-fsfuzz-'));
process.on('exit', () => fs.rmSync(top, { recursive: true, force: true }));

const unhandled = [];
process.on('unhandledRejection', (err) => unhandled.push(String(err?.stack ?? err)));

// ------------------------------------------------------------------ values
const pattern = (n, salt) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt * 7 + 3) & 255;
  return b;
};
/** The initial files of both twins: names, sizes (the first read of readFile is 64 KiB, the ring's limit 256 KiB). */
const INITIAL = [['a', 100], ['b', 0], ['mid', 70 * 1024], ['big', 300 * 1024], ['d/e', 5000]];
const NAMES = ['a', 'b', 'mid', 'big', 'd', 'd/e', 'd/f', 'g', 'missing/x', 'a/x', ''];
const EDGE_NUMBERS = [-1, -2, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, Infinity, -Infinity, NaN, 1.5, -0];
const numberish = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 80_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 7n, 100n, -1n, 2n ** 63n - 1n, 2n ** 64n) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, '5', true, {}) },
);
/** truncate's length: small, or past what readFile takes (2 GiB) or the file system allows; never a 2 GiB file both twins would read whole. */
const truncateLen = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 80_000 }) },
  { weight: 2, arbitrary: fc.constantFrom(-1, 1.5, NaN, Infinity, 2 ** 32, 2 ** 53, 2 ** 63, -0, 0n, 5n, '5', null, undefined) },
);
const bufSpec = fc.record({
  kind: fc.constantFrom('Buffer', 'Buffer', 'Uint8Array', 'Uint16Array', 'Float64Array', 'DataView', 'sub', 'empty', 'detached', 'shared'),
  size: fc.oneof(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 80_000 })),
  salt: fc.integer({ min: 0, max: 255 }),
});
/** A fresh buffer for one side: both sides get the same kind and contents. */
function makeBuffer({ kind, size, salt }) {
  const bytes = pattern(size, salt);
  switch (kind) {
    case 'Uint8Array': return new Uint8Array(bytes);
    case 'Uint16Array': return new Uint16Array(new Uint8Array(bytes.subarray(0, size & ~1)).buffer);
    case 'Float64Array': return new Float64Array(new Uint8Array(bytes.subarray(0, size & ~7)).buffer);
    case 'DataView': { const ab = new ArrayBuffer(size + 16); new Uint8Array(ab).set(bytes, 8); return new DataView(ab, 8, size); }
    case 'sub': { const b = Buffer.alloc(size + 32, 0xee); bytes.copy(b, 16); return b.subarray(16, 16 + size); }
    case 'empty': return Buffer.alloc(0);
    case 'detached': { const ab = new ArrayBuffer(size); const v = new Uint8Array(ab); structuredClone(ab, { transfer: [ab] }); return v; }
    case 'shared': { const v = new Uint8Array(new SharedArrayBuffer(size)); v.set(bytes); return v; }
    default: return Buffer.from(bytes);
  }
}
const bytesOfView = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const pathKind = fc.constantFrom('string', 'string', 'string', 'buffer', 'url');
function pathArg(dir, name, kind) {
  const p = name === '' ? '' : path.join(dir, name);
  if (kind === 'buffer') return Buffer.from(p);
  if (kind === 'url' && p !== '') return pathToFileURL(p);
  return p;
}
const dataSpec = fc.record({
  kind: fc.constantFrom('string', 'string', 'buffer', 'uint8', 'dataview', 'empty', 'iterable', 'asyncIterable', 'big', 'detached', 'number'),
  size: fc.integer({ min: 0, max: 5000 }),
  salt: fc.integer({ min: 0, max: 255 }),
});
function makeData({ kind, size, salt }) {
  const bytes = pattern(size, salt);
  switch (kind) {
    case 'string': return `${'éx'.repeat(size >> 3)}${salt}`;
    case 'uint8': return new Uint8Array(bytes);
    case 'dataview': return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    case 'empty': return Buffer.alloc(0);
    case 'iterable': return [bytes.subarray(0, size >> 1), `s${salt}`, bytes.subarray(size >> 1)];
    case 'asyncIterable': return (async function* gen() { yield bytes.subarray(0, 7); await null; yield `t${salt}`; yield bytes.subarray(7); })();
    case 'big': return pattern(300 * 1024 + size, salt);
    case 'detached': { const ab = new ArrayBuffer(16); structuredClone(ab, { transfer: [ab] }); return new Uint8Array(ab); }
    case 'number': return salt;
    default: return Buffer.from(bytes);
  }
}
/** The bytes a data spec stands for (what a completed write of it leaves). */
function dataBytes(spec, encoding) {
  const d = makeData(spec);
  if (typeof d === 'string') return Buffer.from(d, Buffer.isEncoding(encoding) ? encoding : 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  if (Array.isArray(d)) return Buffer.concat(d.map((x) => (typeof x === 'string' ? Buffer.from(x, Buffer.isEncoding(encoding) ? encoding : 'utf8') : x)));
  return null; // an async iterable or garbage: not predicted
}
const abortSpec = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ when: 'none' }) },
  { weight: 1, arbitrary: fc.constant({ when: 'before' }) },
  { weight: 2, arbitrary: fc.record({ when: fc.constant('during'), turns: fc.integer({ min: 0, max: 6 }), how: fc.constantFrom('immediate', 'microtask', 'timeout') }) },
);
const encodingArb = fc.constantFrom(undefined, undefined, 'utf8', 'latin1', 'base64', 'hex', 'buffer', 'ucs2', 'bogus', null);
const flagArb = fc.constantFrom(undefined, 'r', 'r+', 'w', 'w+', 'a', 'a+', 'wx', 'ax', 'rs+', 0, 2, 66, 1089, -1, 'bogus', null);
const modeArb = fc.constantFrom(undefined, 0o644, 0o600, '755', 0o7777, 0o10000, -1, 1.5, 'rwx');

// ------------------------------------------------------------------ the actions
const actionArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('open'), file: fc.constantFrom(...NAMES), pk: pathKind, flags: flagArb, mode: modeArb }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('read'), h: fc.nat(), form: fc.integer({ min: 0, max: 6 }), buf: bufSpec, offset: numberish, length: numberish, position: numberish }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('write'), h: fc.nat(), form: fc.integer({ min: 0, max: 4 }), buf: bufSpec, offset: numberish, length: numberish, position: numberish, enc: encodingArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('readFile'), onHandle: fc.boolean(), h: fc.nat(), file: fc.constantFrom(...NAMES), pk: pathKind, encoding: encodingArb, flag: fc.constantFrom(undefined, 'r', 'a+', 'r+', 'bogus'), abort: abortSpec }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('writeFile'), fn: fc.constantFrom('writeFile', 'appendFile'), onHandle: fc.boolean(), h: fc.nat(), file: fc.constantFrom(...NAMES), pk: pathKind, data: dataSpec, encoding: encodingArb, flag: fc.constantFrom(undefined, 'w', 'a', 'wx', 'r+', 'a+'), mode: modeArb, flush: fc.constantFrom(undefined, true, false, 'yes'), abort: abortSpec }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('closeBusy'), h: fc.nat(), ops: fc.array(fc.record({ kind: fc.constantFrom('read', 'read', 'stat', 'readv'), at: fc.integer({ min: 0, max: 40_000 }), size: fc.integer({ min: 1, max: 20_000 }) }), { maxLength: 4 }), write: fc.option(fc.record({ at: fc.integer({ min: 64 * 1024, max: 200_000 }), size: fc.integer({ min: 1, max: 30_000 }), salt: fc.nat(255) })), after: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('stat'), fn: fc.constantFrom('stat', 'lstat', 'fstat'), h: fc.nat(), file: fc.constantFrom(...NAMES, 'lnk'), pk: pathKind, bigint: fc.constantFrom(false, true, undefined) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fsop'), fn: fc.constantFrom('rename', 'unlink', 'mkdir', 'rm', 'rmdir', 'truncate', 'link', 'symlink'), a: fc.constantFrom(...NAMES, 'lnk'), b: fc.constantFrom(...NAMES, 'lnk'), recursive: fc.constantFrom(undefined, true, false, 'yes'), force: fc.constantFrom(undefined, true, false), len: truncateLen, mode: modeArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('close'), h: fc.nat() }) },
  { weight: viaRing ? 2 : 0, arbitrary: fc.record({ t: fc.constant('lying'), h: fc.nat(), how: fc.constantFrom('getter', 'defineProperty', 'dataview'), op: fc.constantFrom('read', 'readOpts', 'readObj', 'readv', 'write', 'writev', 'writeFile'), size: fc.integer({ min: 1, max: 4096 }), claim: fc.constantFrom(65536, 1 << 20, 2 ** 31 - 1), position: fc.integer({ min: 0, max: 80_000 }) }) },
  { weight: viaRing ? 2 : 0, arbitrary: fc.record({ t: fc.constant('detach'), h: fc.nat(), op: fc.constantFrom('read', 'write', 'readv', 'writev'), how: fc.constantFrom('transfer', 'shrink'), size: fc.integer({ min: 1, max: 70_000 }), position: fc.integer({ min: 0, max: 80_000 }) }) },
);

// ------------------------------------------------------------------ one sequence
class Twins {
  constructor(n) {
    this.a = path.join(top, `ours-${n}`);
    this.b = path.join(top, `node-${n}`);
    for (const dir of [this.a, this.b]) {
      fs.mkdirSync(path.join(dir, 'd'), { recursive: true });
      for (const [name, size] of INITIAL) fs.writeFileSync(path.join(dir, name), pattern(size, name.length));
      fs.symlinkSync('a', path.join(dir, 'lnk'));
    }
    this.handles = []; // [ours, node] pairs
    this.pending = new Set();
    this.violations = [];
    this.log = [];
  }

  violation(what, extra = {}) {
    this.violations.push({ what, ...extra, log: this.log.slice(-8) });
  }

  track(p) {
    const t = Promise.resolve(p);
    this.pending.add(t);
    const done = () => this.pending.delete(t);
    t.then(done, done);
    return t;
  }

  /** Settles a call into { value } or { error }, tracking its promise. */
  async outcome(fn) {
    try {
      return { value: await this.track(fn()) };
    } catch (error) {
      return { error };
    }
  }

  handle(i) {
    return this.handles.length === 0 ? null : this.handles[i % this.handles.length];
  }

  /** Ours' error, with our directory's name replaced by the node twin's, for comparison. */
  normalize(s) {
    return typeof s === 'string' ? s.split(this.a).join(this.b) : s;
  }

  sameError(what, e1, e2) {
    if (!(e1 instanceof Error)) return this.violation(`${what}: ours rejected with a non-Error`, { ours: String(e1) });
    for (const cls of [TypeError, RangeError]) {
      if ((e1 instanceof cls) !== (e2 instanceof cls)) return this.violation(`${what}: error class differs`, { ours: e1.stack, node: e2.stack });
    }
    for (const key of ['name', 'code', 'errno', 'syscall', 'path', 'dest', 'message']) {
      const x = this.normalize(e1[key] instanceof Buffer ? e1[key].toString() : e1[key]);
      const y = e2[key] instanceof Buffer ? e2[key].toString() : e2[key];
      if (x !== y) return this.violation(`${what}: error ${key} differs`, { ours: String(x), node: String(y), oursStack: String(e1.stack).slice(0, 600) });
    }
  }

  /** Same outcome: both values equal (by `same`), or both errors alike. */
  compare(what, o1, o2, same = (x, y) => isDeepStrictEqual(x, y)) {
    if (o2.error) {
      if (!o1.error) return this.violation(`${what}: node failed but ours did not`, { node: String(o2.error.stack).slice(0, 600), ours: String(o1.value).slice(0, 200) });
      return this.sameError(what, o1.error, o2.error);
    }
    if (o1.error) return this.violation(`${what}: ours failed but node did not`, { ours: String(o1.error.stack).slice(0, 1200), node: String(o2.value).slice(0, 200) });
    if (!same(o1.value, o2.value)) this.violation(`${what}: values differ`, { ours: show(o1.value), node: show(o2.value) });
  }

  /** Both trees equal: names, types, sizes, permission bits, file contents, link targets. */
  compareTrees(what) {
    const t1 = tree(this.a);
    const t2 = tree(this.b);
    if (!isDeepStrictEqual(t1, t2)) {
      const diff = Object.keys({ ...t1, ...t2 }).filter((k) => !isDeepStrictEqual(t1[k], t2[k])).slice(0, 5);
      this.violation(`${what}: the twin directories differ`, { diff: diff.map((k) => ({ k, ours: show(t1[k]), node: show(t2[k]) })) });
    }
  }

  /** After a call whose outcome was a race (an abort at a random point): the node twin gets our state. */
  copyToNodeTwin(name) {
    const from = path.join(this.a, name);
    const to = path.join(this.b, name);
    let st = null;
    try { st = fs.lstatSync(from); } catch { /* gone */ }
    if (st === null) {
      try { fs.rmSync(to, { force: true, recursive: true }); } catch { /* not there either (a parent is a file) */ }
    } else if (st.isFile() && st.size > 8 << 20) {
      // A large sparse file (a write far out): its first and last MiB, which is what the trees compare.
      fs.truncateSync(to, 0);
      const head = Buffer.alloc(1 << 20);
      const tail = Buffer.alloc(1 << 20);
      const [src, dst] = [fs.openSync(from, 'r'), fs.openSync(to, 'r+')];
      fs.readSync(src, head, 0, head.length, 0);
      fs.readSync(src, tail, 0, tail.length, st.size - tail.length);
      fs.writeSync(dst, head, 0, head.length, 0);
      fs.writeSync(dst, tail, 0, tail.length, st.size - tail.length);
      fs.closeSync(src);
      fs.closeSync(dst);
      fs.chmodSync(to, st.mode & 0o7777);
    } else if (st.isFile()) {
      fs.writeFileSync(to, fs.readFileSync(from)); // in place: open handles keep their file
      fs.chmodSync(to, st.mode & 0o7777);
    }
  }
}

function show(v) {
  if (v instanceof Error) return v.stack;
  if (Buffer.isBuffer(v)) return `Buffer(${v.length}) ${v.subarray(0, 24).toString('hex')}`;
  try { return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x))?.slice(0, 300); } catch { return String(v); }
}

/** A file's bytes (its first and last MiB for a large, sparse one: truncate and far writes make those). */
function contentKey(file, size) {
  if (size <= 8 << 20) return fs.readFileSync(file).toString('base64');
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(1 << 20);
    const tail = Buffer.alloc(1 << 20);
    fs.readSync(fd, head, 0, head.length, 0);
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    return `${head.toString('base64')}...${tail.toString('base64')}`;
  } finally {
    fs.closeSync(fd);
  }
}

function tree(dir) {
  const out = {};
  const walk = (rel) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isSymbolicLink()) out[r] = ['link', fs.readlinkSync(path.join(dir, r))];
      else if (st.isDirectory()) { out[r] = ['dir', st.mode & 0o7777]; walk(r); }
      else out[r] = ['file', st.mode & 0o7777, st.size, contentKey(path.join(dir, r), st.size)];
    }
  };
  walk('');
  return out;
}

/** The parts of a Stats both twins share (inode numbers and times differ between two files). */
function statShape(st) {
  if (st === null || typeof st !== 'object') return st;
  return {
    proto: Object.getPrototypeOf(st)?.constructor?.name, file: st.isFile(), dir: st.isDirectory(), link: st.isSymbolicLink(),
    size: st.size, mode: st.mode, nlink: st.nlink, uid: st.uid, gid: st.gid, blksize: st.blksize,
    types: Object.keys(st).map((k) => `${k}:${typeof st[k]}`).join(','),
  };
}

function abortSignal(spec) {
  if (spec.when === 'none') return undefined;
  if (spec.when === 'before') return AbortSignal.abort();
  const ac = new AbortController();
  let turns = spec.turns;
  const next = () => {
    if (turns-- <= 0) return ac.abort();
    if (spec.how === 'immediate') setImmediate(next);
    else if (spec.how === 'microtask') queueMicrotask(next);
    else setTimeout(next, 0);
  };
  next();
  return ac.signal;
}

const isAbortError = (e) => e instanceof Error && e.name === 'AbortError' && e.code === 'ABORT_ERR';

// ------------------------------------------------------------------ running one action on both twins
async function run(tw, act) {
  tw.log.push(show(act));
  switch (act.t) {
    case 'open': {
      const o1 = await tw.outcome(() => ours.open(pathArg(tw.a, act.file, act.pk), act.flags, act.mode));
      const o2 = await tw.outcome(() => nodeFsp.open(pathArg(tw.b, act.file, act.pk), act.flags, act.mode));
      tw.compare('open', o1, o2, () => true);
      if (!o1.error && !o2.error) tw.handles.push([o1.value, o2.value]);
      else { if (!o1.error) await o1.value.close(); if (!o2.error) await o2.value.close(); }
      return tw.compareTrees('open');
    }
    case 'read': {
      const pair = tw.handle(act.h);
      if (pair === null) return;
      const call = (h) => {
        const buffer = makeBuffer(act.buf);
        const p = (() => {
          switch (act.form) {
            case 0: return h.read(buffer, act.offset, act.length, act.position);
            case 1: return h.read(buffer, { offset: act.offset, length: act.length, position: act.position });
            case 2: return h.read({ buffer, offset: act.offset, length: act.length, position: act.position });
            case 3: return h.read();
            case 4: return h.read(buffer);
            case 5: return h.readv([buffer, makeBuffer({ ...act.buf, salt: act.buf.salt + 1 })], act.position);
            default: return h.read(buffer, act.offset);
          }
        })();
        return p.then((r) => ({ n: r.bytesRead, bufs: (r.buffers ?? [r.buffer]).map((b) => bytesOfView(b).toString('base64')), keys: Object.keys(r) }));
      };
      const notComparable = [0, 1, 2].includes(act.form) && act.length != null && typeof act.length !== 'bigint' &&
        !(typeof act.length === 'number' && (Number.isInteger(act.length) || act.length === Infinity || act.length === -Infinity));
      // Where our module is node:fs/promises itself (the fallback), such a read would abort this process.
      if (notComparable && !viaRing) return;
      const o1 = await tw.outcome(() => call(pair[0]));
      if (notComparable) {
        // A length that is not an integer (NaN, 1.5, '5', {}) can pass node:fs/promises' checks and
        // then fail an assertion in its native read, which aborts the process: not comparable. Ours
        // must answer sanely (it reads as node:fs's callback read does, with the length made an integer).
        if (o1.error ? typeof o1.error.code !== 'string' : !(Number.isInteger(o1.value.n) && o1.value.n >= 0)) tw.violation('read with a fractional length', { ours: show(o1.error ?? o1.value) });
        return dropHandle(tw, pair); // the positions of the pair may differ now
      }
      tw.compare(`read form ${act.form}`, o1, await tw.outcome(() => call(pair[1])));
      return;
    }
    case 'write': {
      const pair = tw.handle(act.h);
      if (pair === null) return;
      const call = (h) => {
        const buffer = makeBuffer(act.buf);
        const p = (() => {
          switch (act.form) {
            case 0: return h.write(buffer, act.offset, act.length, act.position);
            case 1: return h.write(buffer, { offset: act.offset, length: act.length, position: act.position });
            case 2: return h.write(`s${act.buf.salt}-${'x'.repeat(act.buf.size % 300)}`, act.position, act.enc);
            case 3: return h.writev([buffer, makeBuffer({ ...act.buf, salt: act.buf.salt + 1 })], act.position);
            default: return h.write(buffer);
          }
        })();
        return p.then((r) => ({ n: r.bytesWritten, keys: Object.keys(r) }));
      };
      // A length of -0 passes node:fs/promises' checks in Node 20 and then fails an assertion in its
      // native write (args[3]->IsInt32()), which aborts the process: not comparable. Where our module
      // is node:fs/promises itself (the fallback) it is not tried; on the ring ours must write nothing.
      if ((act.form === 0 || act.form === 1) && Object.is(act.length, -0)) {
        if (!viaRing) return;
        const o1 = await tw.outcome(() => call(pair[0]));
        if (o1.error ? typeof o1.error.code !== 'string' : o1.value.n !== 0) tw.violation('write with a length of -0', { ours: show(o1.error ?? o1.value) });
        return;
      }
      tw.compare(`write form ${act.form}`, await tw.outcome(() => call(pair[0])), await tw.outcome(() => call(pair[1])));
      return tw.compareTrees(`write form ${act.form}`);
    }
    case 'readFile': {
      const pair = act.onHandle ? tw.handle(act.h) : null;
      if (act.onHandle && pair === null) return;
      const opts = (signal) => (act.encoding === undefined && act.flag === undefined && signal === undefined ? undefined : { encoding: act.encoding, flag: act.flag, signal });
      const norm = (v) => (Buffer.isBuffer(v) ? v.toString('base64') : v);
      const target = (side) => (act.onHandle ? pair[side] : pathArg(side === 0 ? tw.a : tw.b, act.file, act.pk));
      if (act.abort.when === 'during') {
        // A race: our outcome is the whole file or Node's AbortError. The handle's position is then unknown.
        const o2 = await tw.outcome(() => nodeFsp.readFile(target(1), opts(undefined)));
        const o1 = await tw.outcome(() => ours.readFile(target(0), opts(abortSignal(act.abort))));
        if (!(o1.error && isAbortError(o1.error))) tw.compare('readFile (aborted during)', { ...o1, value: norm(o1.value) }, { ...o2, value: norm(o2.value) });
        // 'a+' may have created the file, or not; a handle's position is unknown now.
        await syncAfterRace(tw, act, pair);
        return tw.compareTrees('readFile (aborted during)');
      }
      const o1 = await tw.outcome(() => ours.readFile(target(0), opts(abortSignal(act.abort))).then(norm));
      const o2 = await tw.outcome(() => nodeFsp.readFile(target(1), opts(abortSignal(act.abort))).then(norm));
      tw.compare('readFile', o1, o2);
      return tw.compareTrees('readFile');
    }
    case 'writeFile': {
      const pair = act.onHandle ? tw.handle(act.h) : null;
      if (act.onHandle && pair === null) return;
      const opts = (signal) => ({ encoding: act.encoding, flag: act.flag, mode: act.mode, flush: act.flush, signal });
      const target = (side) => (act.onHandle ? pair[side] : pathArg(side === 0 ? tw.a : tw.b, act.file, act.pk));
      if (act.abort.when === 'during') {
        const before = act.onHandle ? null : readOrNull(path.join(tw.a, act.file));
        const o1 = await tw.outcome(() => ours[act.fn](target(0), makeData(act.data), opts(abortSignal(act.abort))));
        if (o1.error && !isAbortError(o1.error)) {
          // Not the abort: then it must be Node's own outcome.
          const o2 = await tw.outcome(() => nodeFsp[act.fn](target(1), makeData(act.data), opts(undefined)));
          tw.compare(`${act.fn} (aborted during, failed)`, o1, o2);
        } else if (!act.onHandle) {
          // Whole, or cut short by the abort: the file holds what was there (append) and a prefix of the data.
          const after = readOrNull(path.join(tw.a, act.file));
          const data = dataBytes(act.data, act.encoding);
          const append = act.fn === 'appendFile' ? (act.flag ?? 'a') : (act.flag ?? 'w');
          const head = append.startsWith('a') && before !== null ? before : Buffer.alloc(0);
          const unchanged = o1.error !== undefined && before !== null && after !== null && after.equals(before); // aborted before it began
          if (after !== null && data !== null && append !== 'r+' && !unchanged && !(after.subarray(0, head.length).equals(head) && data.subarray(0, after.length - head.length).equals(after.subarray(head.length)))) {
            tw.violation(`${act.fn} aborted during: the file is not its old bytes and a prefix of the data`, { after: show(after), data: show(data) });
          }
          if (!o1.error && data !== null && after !== null && append !== 'r+' && after.length !== head.length + data.length) {
            tw.violation(`${act.fn} resolved but did not write all its data`, { after: after.length, want: head.length + data.length });
          }
        }
        await syncAfterRace(tw, act, pair);
        return tw.compareTrees(`${act.fn} (aborted during)`);
      }
      const o1 = await tw.outcome(() => ours[act.fn](target(0), makeData(act.data), opts(abortSignal(act.abort))));
      const o2 = await tw.outcome(() => nodeFsp[act.fn](target(1), makeData(act.data), opts(abortSignal(act.abort))));
      tw.compare(act.fn, o1, o2);
      return tw.compareTrees(act.fn);
    }
    case 'closeBusy': {
      const pair = tw.handle(act.h);
      if (pair === null) return;
      // A write that would make the file longer changes what reads near its end see: only one that stays inside.
      let fileSize = 0;
      try { fileSize = fs.fstatSync(pair[0].fd).size; } catch { /* closed */ }
      const write = act.write !== null && act.write.at + act.write.size <= fileSize ? act.write : null;
      const side = async (h) => {
        // Positional reads and stats, at most one write past what they read: the same results whatever the order.
        const started = act.ops.map((o) => tw.outcome(() => (o.kind === 'stat' && !write ? h.stat().then(statShape)
          : o.kind === 'readv' ? h.readv([Buffer.alloc(o.size)], o.at).then((r) => [r.bytesRead, r.buffers[0].toString('base64')])
            : h.read(Buffer.alloc(o.size), 0, o.size, o.at).then((r) => [r.bytesRead, r.buffer.toString('base64')]))));
        if (write) started.push(tw.outcome(() => h.write(pattern(write.size, write.salt), 0, write.size, write.at).then((r) => r.bytesWritten)));
        const closing = tw.outcome(() => h.close());
        // Started after close() but while the handle is still busy: Node lets it run (the fd closes after it).
        const late = act.after ? tw.outcome(() => h.read(Buffer.alloc(16), 0, 16, 0).then((r) => r.bytesRead)) : null;
        const results = await Promise.all([...started, closing, late]);
        const afterClose = await tw.outcome(() => h.read(Buffer.alloc(16), 0, 16, 0));
        const again = await tw.outcome(() => h.close());
        return [...results, afterClose, again, h.fd];
      };
      const r1 = await side(pair[0]);
      const r2 = await side(pair[1]);
      r1.forEach((o, i) => {
        if (o === null || typeof o === 'number') {
          if (o !== r2[i]) tw.violation('closeBusy: fd after close', { ours: o, node: r2[i] });
        } else {
          tw.compare(`closeBusy op ${i}`, o, r2[i]);
        }
      });
      tw.handles = tw.handles.filter((p) => p !== pair);
      return tw.compareTrees('closeBusy');
    }
    case 'stat': {
      if (act.fn === 'fstat') {
        const pair = tw.handle(act.h);
        if (pair === null) return;
        const opt = act.bigint === undefined ? undefined : { bigint: act.bigint };
        tw.compare('handle.stat', await tw.outcome(() => pair[0].stat(opt).then(statShape)), await tw.outcome(() => pair[1].stat(opt).then(statShape)));
        return;
      }
      const opt = act.bigint === undefined ? undefined : { bigint: act.bigint };
      tw.compare(act.fn, await tw.outcome(() => ours[act.fn](pathArg(tw.a, act.file, act.pk), opt).then(statShape)),
        await tw.outcome(() => nodeFsp[act.fn](pathArg(tw.b, act.file, act.pk), opt).then(statShape)));
      return;
    }
    case 'fsop': {
      const call = (impl, dir) => {
        const a = act.a === '' ? '' : path.join(dir, act.a); // '' is the empty path, not the directory
        const b = act.b === '' ? '' : path.join(dir, act.b);
        switch (act.fn) {
          case 'rename': return impl.rename(a, b);
          case 'unlink': return impl.unlink(a);
          case 'mkdir': return impl.mkdir(a, act.recursive === undefined && act.mode === undefined ? undefined : { recursive: act.recursive, mode: act.mode });
          case 'rm': return impl.rm(a, act.recursive === undefined && act.force === undefined ? undefined : { recursive: act.recursive, force: act.force });
          case 'rmdir': return impl.rmdir(a);
          case 'truncate': return impl.truncate(a, act.len);
          case 'link': return impl.link(a, b);
          default: return impl.symlink(act.a, b);
        }
      };
      // mkdir -p resolves to the first directory it made: a path in each twin.
      const norm = (v) => (typeof v === 'string' ? v.split(tw.a).join(tw.b) : v);
      tw.compare(act.fn, await tw.outcome(() => call(ours, tw.a).then(norm)), await tw.outcome(() => call(nodeFsp, tw.b)));
      return tw.compareTrees(act.fn);
    }
    case 'close': {
      const pair = tw.handle(act.h);
      if (pair === null) return;
      tw.compare('close', await tw.outcome(() => pair[0].close()), await tw.outcome(() => pair[1].close()));
      tw.handles = tw.handles.filter((p) => p !== pair);
      return;
    }
    case 'lying': return lying(tw, act);
    case 'detach': return detach(tw, act);
    default: throw new Error(`unknown action ${act.t}`);
  }
}

/** A file's bytes, or null (absent, or one of the large sparse files far writes make). */
function readOrNull(file) {
  try { return fs.statSync(file).size > 8 << 20 ? null : fs.readFileSync(file); } catch { return null; }
}

/** After a call that raced an abort: the node twin gets our file as it is, and a handle pair (whose positions may differ) goes. */
async function syncAfterRace(tw, act, pair) {
  if (!act.onHandle) return tw.copyToNodeTwin(act.file);
  const file = fileOf(pair);
  await dropHandle(tw, pair);
  if (file !== null && file.startsWith(`${tw.a}/`)) tw.copyToNodeTwin(path.relative(tw.a, file));
}

async function dropHandle(tw, pair) {
  await tw.outcome(() => pair[0].close());
  await tw.outcome(() => pair[1].close());
  tw.handles = tw.handles.filter((p) => p !== pair);
}

/** The file a handle pair has open, by its fd's link (ours' side). */
function fileOf(pair) {
  try { return fs.readlinkSync(`/proc/self/fd/${pair[0].fd}`); } catch { return null; }
}

/**
 * A view whose length lies (ours only: node:fs asserts and aborts the
 * process). The true view sits between guard bytes that must stay as they
 * are; a completed read must hold the file's bytes, a completed write must
 * have written the true view's bytes; a refusal must have a code.
 */
async function lying(tw, act) {
  const pair = tw.handle(act.h);
  // A handle ours opened through node:fs/promises (flags it leaves to Node: a negative number) is Node's own: skipped.
  if (pair === null || !OurFileHandle.isFileHandle(pair[0])) return;
  const file = fileOf(pair);
  const ab = new ArrayBuffer(act.size + 128);
  const all = new Uint8Array(ab);
  all.fill(0xee);
  const truth = new Uint8Array(ab, 64, act.size);
  truth.set(pattern(act.size, 9));
  let view;
  if (act.how === 'getter') {
    const claim = act.claim;
    view = new (class Liar extends Uint8Array { get length() { return claim; } get byteLength() { return claim; } })(ab, 64, act.size);
  } else if (act.how === 'defineProperty') {
    view = new Uint8Array(ab, 64, act.size);
    Object.defineProperty(view, 'length', { value: act.claim });
    Object.defineProperty(view, 'byteLength', { value: act.claim });
  } else {
    view = new DataView(ab, 64, act.size);
    Object.defineProperty(view, 'byteLength', { value: act.claim });
    Object.defineProperty(view, 'byteOffset', { value: 0 });
  }
  const h = pair[0];
  const before = file === null ? null : readOrNull(file);
  const o = await tw.outcome(() => {
    switch (act.op) {
      case 'read': return h.read(view, 0, act.claim, act.position);
      case 'readOpts': return h.read(view, { position: act.position });
      case 'readObj': return h.read({ buffer: view, position: act.position });
      case 'readv': return h.readv([view], act.position);
      case 'write': return h.write(view, 0, act.claim, act.position);
      case 'writev': return h.writev([view], act.position);
      default: return h.writeFile(view);
    }
  });
  const guardOk = all.subarray(0, 64).every((b) => b === 0xee) && all.subarray(64 + act.size).every((b) => b === 0xee);
  if (!guardOk) tw.violation('a lying view let the kernel write outside its true memory', { act: show(act) });
  if (o.error && typeof o.error.code !== 'string') tw.violation('a lying view was refused without a code', { error: String(o.error.stack) });
  if (!o.error && act.op.startsWith('read') && before !== null) {
    const n = o.value.bytesRead;
    if (!(n <= act.size)) tw.violation('a lying view reported more bytes than it holds', { n, size: act.size });
    if (!Buffer.from(ab, 64, n).equals(before.subarray(act.position, act.position + n))) tw.violation('a read through a lying view holds other bytes than the file', {});
  }
  if (!o.error && act.op.startsWith('write') && act.op !== 'writeFile') {
    const n = o.value.bytesWritten;
    if (!(n <= act.size)) tw.violation('a write through a lying view reported more bytes than it holds', { n, size: act.size });
  }
  // The node twin gets what our file holds now (and this handle pair's positions are unknown).
  if (file !== null && file.startsWith(`${tw.a}/`)) tw.copyToNodeTwin(path.relative(tw.a, file));
  await dropHandle(tw, pair);
  tw.compareTrees('lying view');
}

/**
 * Memory detached (transferred) or shrunk (a resizable ArrayBuffer) while the
 * operation is in flight: ours either completes or refuses with a code
 * (ERR_INVALID_STATE for a read whose bytes have nowhere to go); nothing
 * leaks (checked at the end of the sequence). The twins then get our state.
 */
async function detach(tw, act) {
  const pair = tw.handle(act.h);
  if (pair === null) return;
  const file = fileOf(pair);
  const ab = act.how === 'shrink' ? new ArrayBuffer(act.size, { maxByteLength: act.size * 2 }) : new ArrayBuffer(act.size);
  const view = new Uint8Array(ab);
  view.set(pattern(act.size, 5));
  const h = pair[0];
  const p = tw.outcome(() => {
    switch (act.op) {
      case 'read': return h.read(view, 0, act.size, act.position);
      case 'readv': return h.readv([view], act.position);
      case 'write': return h.write(view, 0, act.size, act.position);
      default: return h.writev([view], act.position);
    }
  });
  if (act.how === 'shrink') ab.resize(1);
  else structuredClone(ab, { transfer: [ab] });
  const o = await p;
  if (o.error && typeof o.error.code !== 'string') tw.violation('an op on memory detached in flight failed without a code', { error: String(o.error.stack) });
  if (file !== null && file.startsWith(`${tw.a}/`)) tw.copyToNodeTwin(path.relative(tw.a, file));
  await dropHandle(tw, pair);
  tw.compareTrees('detached in flight');
}

// ------------------------------------------------------------------ the property
let baselineFds = null;
let baselineSlots = null;
let sequences = 0;
let totalSteps = 0;
let twinNo = 0;
const stepCounts = {};

const arenaSlots = () => Arena.forThread().stats().slotsInUse;

/** Direct-descriptor slots free in this thread's pool (all taken, counted, and given back). */
function freeDirectSlots() {
  const taken = [];
  for (let s = ringContext.takeSlot(); s !== undefined; s = ringContext.takeSlot()) taken.push(s);
  for (const s of taken.reverse()) ringContext.returnSlot(s);
  return taken.length;
}

async function settleWithin(tw, promise, what) {
  let timer;
  const timeout = new Promise((res) => { timer = setTimeout(() => res('timeout'), SETTLE_MS); });
  const r = await Promise.race([promise, timeout]);
  clearTimeout(timer);
  if (r === 'timeout') tw.violation(`${what} did not settle within ${SETTLE_MS} ms`);
}

async function runSequence(actions) {
  const tw = new Twins(twinNo++);
  for (const act of actions) {
    await run(tw, act);
    totalSteps++;
    stepCounts[act.t] = (stepCounts[act.t] ?? 0) + 1;
    if (tw.violations.length > 0) break;
  }
  // Shutdown: close every handle, settle everything, count what is left.
  for (const pair of tw.handles) { await tw.outcome(() => pair[0].close()); await tw.outcome(() => pair[1].close()); }
  tw.handles = [];
  await settleWithin(tw, Promise.allSettled([...tw.pending]), 'every promise');
  if (tw.pending.size > 0) tw.violation('promises still pending at the end', { n: tw.pending.size });
  // Closes of direct slots are not waited for by the calls: let the ring finish them.
  const ring = viaRing ? ringContext.fsRing() : null;
  for (let i = 0; i < 200 && ring !== null && ring.stats().inFlight > 0; i++) await sleep(10);
  if (ring !== null && ring.stats().inFlight > 0) tw.violation('the fs ring still has ops in flight', { inFlight: ring.stats().inFlight });
  globalThis.gc?.();
  await sleep(0);
  const slots = arenaSlots();
  if (slots !== baselineSlots) tw.violation('arena slots still in use at the end', { slots, baseline: baselineSlots });
  if (viaRing && freeDirectSlots() !== DIRECT_SLOTS) tw.violation('direct-descriptor slots missing at the end', { free: freeDirectSlots(), want: DIRECT_SLOTS });
  let fds = openFds();
  for (let i = 0; i < 50 && fds > baselineFds; i++) { await sleep(20); fds = openFds(); }
  if (fds !== baselineFds) tw.violation('fds leaked', { fds, baseline: baselineFds, list: fs.readdirSync('/proc/self/fd').map((f) => { try { return `${f}->${fs.readlinkSync(`/proc/self/fd/${f}`)}`; } catch { return f; } }) });
  if (unhandled.length > 0) tw.violation('an unhandled rejection', { reason: unhandled.splice(0).join('\n').slice(0, 2000) });
  fs.rmSync(tw.a, { recursive: true, force: true });
  fs.rmSync(tw.b, { recursive: true, force: true });
  sequences++;
  if (tw.violations.length > 0) throw new Error(JSON.stringify(tw.violations[0], null, 1).slice(0, 6000));
}

// Warm up: the fs ring, its file table and the arena exist before the baseline.
{
  const tw = new Twins('warm');
  const h = await ours.open(path.join(tw.a, 'mid'), 'r+');
  await h.read(Buffer.alloc(100), 0, 100, 0);
  await h.write(Buffer.alloc(100), 0, 100, 0);
  await h.close();
  await ours.readFile(path.join(tw.a, 'big'));
  await ours.writeFile(path.join(tw.a, 'new'), pattern(70_000, 1));
  await ours.stat(tw.a);
  await sleep(50);
  fs.rmSync(tw.a, { recursive: true, force: true });
  fs.rmSync(tw.b, { recursive: true, force: true });
  globalThis.gc?.();
  await sleep(0);
  baselineSlots = arenaSlots();
  baselineFds = openFds();
}

const started = Date.now();
const property = fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: steps }), runSequence);
let result;
let s = seed;
do {
  result = await fc.check(property, { seed: s, numRuns: runs, endOnFailure: true });
  s++;
} while (timeMs > 0 && !result.failed && Date.now() - started < timeMs);
const stats = { seed, backend, viaRing, sequences, steps: totalSteps, actions: stepCounts, ms: Date.now() - started };
if (result.failed) {
  process.stdout.write(`${JSON.stringify({ violation: String(result.errorInstance?.message ?? result.error).slice(0, 6000), counterexample: fc.stringify(result.counterexample).slice(0, 4000), seed: result.seed, path: result.counterexamplePath, stats })}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ ok: true, stats })}\n`);
