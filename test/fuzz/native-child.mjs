#!/usr/bin/env node
// Native boundary fuzzer: one batch, run in a child process of its own (see
// native-fuzz.mjs), so that a crash of the addon fails a test instead of
// killing the runner.
//
//   node --expose-gc test/fuzz/native-child.mjs --seed N [--iterations N] [--time-ms N]
//
// Drives every entry point of the addon (the NativeRing constructor, addChunk,
// submit with random and adversarial descriptors of every opcode, reap,
// registerFiles/updateFiles/unregisterFiles, registerBufferRing (arena and owned
// groups)/recycleBuffer/takeBuffer/copyBuffer/unregisterBufferRing, allocResult/takeResult/releaseResult,
// inFlight, info, destroy, and the socket helpers) and
// checks after every round:
//   - every refusal is an Error with a code (ERR_* or an errno name), and a
//     refused submit names the bad descriptor and puts nothing in flight;
//   - every range an accepted descriptor names lies inside one slot of a
//     known chunk (an oracle independent of the native check);
//   - bytes outside every range an accepted op named (and outside what the
//     fuzzer wrote itself) still hold the sentinel: the kernel wrote nowhere else;
//   - every accepted op completes (after a cancel-all at worst) and inFlight
//     returns to 0; no completion names an op that was never accepted.
// Prints one JSON line with the figures; exits 1 on the first violation.
//
// Host safety: every fd an op may touch is the fuzzer's own (files in a fresh
// temporary directory that is also the working directory, /dev/null,
// /dev/zero, a pipe, loopback sockets); paths are bare names without '/' or
// '.'; connect addresses are loopback or an unknown family; fallocate
// lengths are small. Random words go everywhere else.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { prng, EDGE_WORDS, EDGE_DOUBLES } from './prng.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
// The same loader as the library (it also hands the addon its error class).
const { binding } = require(path.join(root, 'dist', 'src', 'native.js'));
if (binding === null) {
  process.stdout.write(`${JSON.stringify({ skipped: 'the native addon is not available' })}\n`);
  process.exit(0);
}

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const seed = Number(args.seed ?? 1) >>> 0;
const iterations = Number(args.iterations ?? 200);
const timeMs = Number(args['time-ms'] ?? 0);
const rng = prng(seed);

// ---------------------------------------------------------------- constants
// The opcodes and descriptor layout come from the library's descriptor module
// (src/ring/descriptor.ts, which mirrors native/descriptor.h) and the count
// from the addon itself: a new opcode is fuzzed, or fails the run below until
// it has a generator here, and the two lists are checked against each other.
const descriptor = require(path.join(root, 'dist', 'src', 'ring', 'descriptor.js'));
const { DESC_WORDS, COMPLETION_WORDS, IOV_WORDS, SQE_LINK, SQE_HARDLINK, SQE_FIXED_FILE, SQE_ASYNC, SQE_WEAK } = descriptor;
const OP = Object.fromEntries(Object.entries(descriptor.Op).filter(([, v]) => typeof v === 'number'));
const OPCODES = Object.values(OP).sort((a, b) => a - b);
const OP_COUNT = binding.opCount;
const SQE_ALL = SQE_LINK | SQE_HARDLINK | SQE_FIXED_FILE | SQE_ASYNC | SQE_WEAK;
/** Numbers below OP_COUNT that name no op (the gap 29..39 kept for filesystem ops): refused like any unknown one. */
const UNUSED_OPCODES = Array.from({ length: OP_COUNT }, (_, i) => i).filter((i) => !OPCODES.includes(i));
/** Opcodes this file builds descriptors for (the `descriptor` switch below): every opcode must be here. */
const GENERATED = new Set(['NOP', 'READ', 'WRITE', 'READV', 'WRITEV', 'OPENAT', 'CLOSE', 'STATX', 'FSYNC', 'ACCEPT', 'CONNECT', 'RECV',
  'SEND', 'TIMEOUT', 'CANCEL', 'RECV_SELECT', 'RECV_MULTISHOT', 'ACCEPT_MULTISHOT', 'UNLINKAT', 'RENAMEAT', 'MKDIRAT', 'SYMLINKAT',
  'LINKAT', 'FTRUNCATE', 'FALLOCATE', 'SPLICE', 'OPENAT_DIRECT', 'CLOSE_DIRECT', 'FIXED_FD_INSTALL', 'SEND_ZC', 'POLL_ADD', 'READ_RESULT']);
/** Ops whose successful result is a new fd of ours: closed as soon as it arrives. */
const MAKES_FD = new Set([OP.OPENAT, OP.ACCEPT, OP.ACCEPT_MULTISHOT, OP.FIXED_FD_INSTALL]);
const CQE_F_BUFFER = 1, CQE_F_MORE = 2;
const CANCEL_ALL = 1, CANCEL_ANY = 4;
const AT_FDCWD = -100;
const SENTINEL = 0xa5;

// ---------------------------------------------------------------- bookkeeping
const stats = {
  seed, rounds: 0, descriptors: 0, accepted: 0, refusedBatches: 0, completions: 0, rings: 0, ringsRefused: 0,
  calls: 0, refusals: {}, opsAccepted: {}, weakAccepted: 0, opcodes: OPCODES.length, opCount: OP_COUNT,
  blocksHandedOver: 0, blocksCopied: 0, resultsTaken: 0, resultsReleased: 0,
};

function fail(message, extra = {}) {
  process.stdout.write(`${JSON.stringify({ violation: message, ...extra, stats })}\n`);
  process.exit(1);
}
/** A refusal must be an Error whose code is ERR_* or an errno name; system errors carry errno and syscall. */
function checkRefusal(err, where) {
  if (!(err instanceof Error) || typeof err.code !== 'string' || !/^(ERR_[A-Z0-9_]+|E[A-Z0-9]+)$/.test(err.code)) {
    fail(`${where}: a refusal without a code`, { error: String(err?.stack ?? err) });
  }
  if (/^E[A-Z0-9]+$/.test(err.code) && (typeof err.errno !== 'number' || err.errno >= 0 || typeof err.syscall !== 'string')) {
    fail(`${where}: a system error without errno/syscall`, { error: String(err.stack) });
  }
  stats.refusals[err.code] = (stats.refusals[err.code] ?? 0) + 1;
}
/** Calls fn; a throw must be a coded refusal. Returns [ok, value]. */
function attempt(where, fn) {
  stats.calls++;
  try {
    return [true, fn()];
  } catch (err) {
    checkRefusal(err, where);
    return [false, err];
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));
for (const name of Object.keys(OP)) {
  if (!GENERATED.has(name)) fail(`opcode ${name} (${OP[name]}) has no descriptor generator in the native fuzzer: add one`);
  if (OP[name] >= OP_COUNT) fail(`opcode ${name} (${OP[name]}) is not below the addon's opCount (${OP_COUNT}): descriptor.ts and descriptor.h disagree`);
}

// ---------------------------------------------------------------- the host side: fds the ops may touch
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-fuzz-'));
process.chdir(dir); // AT_FDCWD and relative names stay inside it
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
fs.writeFileSync('content', Buffer.alloc(65536, 0x5a));
const fds = {
  content: fs.openSync('content', 'r'),
  scratch: fs.openSync('scratch', 'w+'),
  devNull: fs.openSync('/dev/null', 'w'),
  devZero: fs.openSync('/dev/zero', 'r'),
  dir: fs.openSync(dir, 'r'),
};
[fds.pipeR, fds.pipeW] = binding.pipe();
fs.writeSync(fds.pipeW, Buffer.alloc(16384, 0x50)); // a pipe holds 64 KiB: this never blocks

function sockaddrIn(ip, port) {
  const a = new Uint8Array(16);
  a[0] = 2; // AF_INET, little-endian u16
  a[2] = port >> 8; a[3] = port & 255;
  a.set(ip, 4);
  return a;
}
const LOOPBACK = [127, 0, 0, 1];

// ---------------------------------------------------------------- arena-like memory
// Each memory block is a SharedArrayBuffer filled with the sentinel; a ring
// knows parts of it as chunks (index -> view, slot size).
const memories = [];
function newMemory(bytes) {
  const sab = new SharedArrayBuffer(bytes);
  const view = new Uint8Array(sab);
  view.fill(SENTINEL);
  const m = { id: memories.length, sab, view, buf: Buffer.from(sab) };
  memories.push(m);
  return m;
}
const SENTINEL_BLOCK = Buffer.alloc(1 << 20, SENTINEL);
const fixedMemories = [newMemory(65536), newMemory(65536), newMemory(1 << 20), newMemory(8192)];
const CHUNK_PLAN = [[0, 64], [1, 4096], [2, 262144], [3, 8192]]; // memory, slot size

/** This process's io_uring and eventfd fds, number -> target (a ring's new fds are those not there before: numbers get reused). */
function ringFdTargets() {
  return new Map(fs.readdirSync('/proc/self/fd').map((f) => {
    try { return [f, fs.readlinkSync(`/proc/self/fd/${f}`)]; } catch { return [f, '']; }
  }).filter(([, target]) => /anon_inode:\[(io_uring|eventfd)\]/.test(target)));
}

// ---------------------------------------------------------------- one ring under test
class Harness {
  constructor(flags, entries) {
    this.entries = entries;
    this.desc = new Int32Array(entries * DESC_WORDS + DESC_WORDS);
    this.descF64 = new Float64Array(this.desc.buffer);
    this.comps = new Int32Array(Math.max(entries * 2, 8) * COMPLETION_WORDS);
    this.iovs = new Int32Array(256 * IOV_WORDS);
    this.ops = new Map(); // id -> { op, more }
    this.pending = 0;
    this.chunks = []; // index -> { mem, base, length, slotSize }
    this.groups = new Map(); // bgid -> { size, ranges: [[mem, off, len]], count }
    this.results = new Map(); // read result id -> { length, reads (accepted, final CQE not seen), released }
    this.takenResults = []; // [Buffer, copy when taken]: the kernel must never write one again
    this.files = 0;
    this.pendingWeak = 0; // accepted SQE_WEAK ops whose final completion has not come
    this.nextId = 1;
    this.unknownCompletion = null;
    const before = ringFdTargets();
    // The ring holds its callback weakly while idle (as the Engine does, the owner keeps it).
    this.callback = (n) => this.onComplete(n);
    this.ring = new binding.NativeRing(entries, flags, rng.int(0, 50), this.desc, this.comps, this.iovs, this.callback);
    // This ring's own fds (its io_uring fd and eventfd): a close of one must be refused.
    this.ownFds = [...ringFdTargets()].filter(([f, target]) => before.get(f) !== target).map(([f]) => Number(f));
  }

  onComplete(n) {
    for (let i = 0; i < n; i++) {
      const b = i * COMPLETION_WORDS;
      const id = this.comps[b], res = this.comps[b + 2], flags = this.comps[b + 3];
      stats.completions++;
      const rec = this.ops.get(id);
      if (rec !== undefined) (rec.cqes ??= []).push([res, flags]);
      if (rec === undefined) { this.unknownCompletion = { id, res, flags }; continue; }
      // New fds the kernel made for us (open, accept) go straight back.
      if (res >= 0 && MAKES_FD.has(rec.op)) {
        try { fs.closeSync(res); } catch { /* a linked close of the same number may have won */ }
      }
      if (flags & CQE_F_BUFFER) {
        const g = this.groups.get(rec.group);
        const bid = flags >>> 16;
        if (g !== undefined && g.owned && res > 0 && rng.chance(0.7)) {
          // An owned group's block: handed over (the whole block, zeroed past the receive) or copied out.
          if (rng.chance(0.5)) {
            const [ok, block] = attempt('takeBuffer', () => this.ring.takeBuffer(rec.group, bid, res));
            if (!ok) fail('a block the kernel just filled could not be handed over', { group: rec.group, bid, res });
            if (!Buffer.isBuffer(block) || block.length !== g.size) fail('takeBuffer returned another block size', { length: block?.length, size: g.size });
            if (!block.subarray(res).every((b) => b === 0)) fail('a handed-over block shows bytes past the receive');
            g.handed.push([block, Buffer.from(block)]);
            stats.blocksHandedOver++;
          } else {
            const into = Buffer.alloc(res);
            const [ok] = attempt('copyBuffer', () => this.ring.copyBuffer(rec.group, bid, into));
            if (!ok) fail('a block the kernel just filled could not be copied out', { group: rec.group, bid, res });
            stats.blocksCopied++;
          }
          const [again] = attempt('takeBuffer twice', () => this.ring.takeBuffer(rec.group, bid, 1));
          if (again) fail('a block already back in the kernel\'s ring was handed over');
        } else if (g !== undefined) {
          const [ok] = attempt('recycleBuffer', () => this.ring.recycleBuffer(rec.group, bid));
          if (!ok) fail('a buffer the kernel just selected could not be recycled', { group: rec.group, bid });
          // A second recycle of the same id must be refused: it is in the kernel's ring again.
          const [again] = attempt('recycleBuffer twice', () => this.ring.recycleBuffer(rec.group, bid));
          if (again) fail('a buffer already in the kernel\'s ring was recycled twice');
        }
      }
      if (!(flags & CQE_F_MORE) && rec.op === OP.READ_RESULT && !rec.done) {
        const r = this.results.get(rec.result);
        if (r === undefined || r.reads < 1) fail('a read into a result completed that the model has no read for', { id: rec.result });
        if (--r.reads === 0 && r.released) this.results.delete(rec.result);
      }
      if (!(flags & CQE_F_MORE)) {
        if (rec.done) fail('two final completions for one op', { id, op: rec.op, cqes: rec.cqes, weak: rec.weak, sqe: rec.sqe, fd: rec.fd, fdKind: rec.fdKind, flagsWord: rec.flagsWord, len: rec.ranges[0] });
        rec.done = true;
        this.pending--;
        if (rec.weak) this.pendingWeak--;
      }
    }
  }

  addChunks() {
    for (const [memIndex, slot] of CHUNK_PLAN) {
      const mem = fixedMemories[memIndex];
      const index = this.chunks.length;
      const [ok, err] = attempt('addChunk', () => this.ring.addChunk(index, mem.view, slot));
      if (!ok) fail('a well-formed chunk was refused', { error: String(err) });
      this.chunks[index] = { mem, base: 0, length: mem.view.length, slotSize: slot };
    }
  }

  /** addChunk with adversarial arguments: all refused with a code, or accepted and then modelled. */
  fuzzAddChunk() {
    const index = rng.chance(0.5) ? this.chunks.length + rng.int(0, 3) : rng.pick([...EDGE_WORDS, 0.5, NaN, '1', null, 1 << 16]);
    const mem = rng.chance(0.5) ? newMemory(rng.pick([4096, 8192, 65536])) : null;
    const choices = [
      () => mem.view,
      () => new Uint8Array(mem.sab, 4096, mem.view.length - 4096 || 0),
      () => new Uint8Array(new ArrayBuffer(4096)),
      () => new Int32Array(new SharedArrayBuffer(4096)),
      () => new Uint8Array(new SharedArrayBuffer(0)),
      () => new DataView(new SharedArrayBuffer(64)),
      () => ({ length: 4096 }),
      () => undefined,
    ];
    const view = mem === null ? rng.pick(choices.slice(2))() : rng.pick(choices.slice(0, 2))();
    const slot = rng.pick([64, 4096, 8192, 65536, 0, 3, 96, -64, 1 << 30, 2 ** 32, 1.5, NaN, 'x']);
    const [ok, res] = attempt('addChunk', () => this.ring.addChunk(index, view, slot));
    if (!ok) return;
    if (typeof res !== 'boolean') fail('addChunk returned a non-boolean');
    // Accepted: it had better be a whole-slot geometry over shared memory.
    if (!(view instanceof Uint8Array) || !(view.buffer instanceof SharedArrayBuffer) || view.length % slot !== 0 ||
        (slot & (slot - 1)) !== 0 || !Number.isInteger(index) || index < 0 || this.chunks[index] !== undefined) {
      fail('addChunk accepted a malformed chunk', { index, slot, type: view?.constructor?.name, len: view?.length });
    }
    this.chunks[index] = { mem: memories.find((m) => m.sab === view.buffer), base: view.byteOffset, length: view.length, slotSize: slot };
  }

  // -------- descriptor fields
  /** An adversarial choice: at its rate in a hostile round, a tenth of it in a calm one (so whole batches get through too). */
  bad(p) {
    return rng.chance(this.hostile ? p : p / 10);
  }

  knownChunk() {
    const known = this.chunks.map((c, i) => (c === undefined ? -1 : i)).filter((i) => i >= 0);
    return rng.pick(known);
  }

  /** A (chunk, offset, length) triple: mostly inside one slot, sometimes anything. */
  range(minLen = 0, maxLen = 1 << 20) {
    if (this.bad(0.12)) {
      return [rng.chance(0.5) ? this.knownChunk() : rng.pick(EDGE_WORDS), rng.pick(EDGE_WORDS), rng.pick(EDGE_WORDS)];
    }
    const ci = this.knownChunk();
    const c = this.chunks[ci];
    const slots = c.length / c.slotSize;
    const slot = rng.int(0, slots - 1);
    const within = rng.int(0, c.slotSize - 1);
    let len = Math.min(rng.int(minLen, Math.min(maxLen, c.slotSize - within)), c.slotSize - within);
    let off = slot * c.slotSize + within;
    if (this.bad(0.1)) len += rng.int(1, 64); // crosses into the next slot, or past the chunk
    if (this.bad(0.05)) off = c.length - rng.int(0, 2);
    return [ci, off, len];
  }

  /** A path: a bare name, NUL-terminated inside its slot (or not, sometimes). */
  path(dirty) {
    const [ci, off, len] = this.range(1, 24);
    const c = this.chunks[ci];
    if (c === undefined || off < 0 || len < 1 || off + len > c.length) return [ci, off, len];
    const name = Array.from({ length: Math.max(1, len - 1) }, () => rng.pick('abcdefgh')).join('');
    const bytes = Buffer.from(name);
    const at = c.base + off;
    const end = Math.min(len, bytes.length + 1);
    c.mem.view.set(bytes.subarray(0, end - 1), at);
    if (!this.bad(0.1)) c.mem.view[at + end - 1] = 0; // else: unterminated inside its range
    dirty.push([c.mem, at, end]);
    return [ci, off, len];
  }

  fd(kind = 'any') {
    if (this.bad(0.1)) return rng.pick([-1, AT_FDCWD, 999999, 0x7fffffff, -0x80000000, this.spare]);
    const pools = {
      any: [fds.content, fds.scratch, fds.devNull, fds.devZero, fds.pipeR, fds.pipeW, fds.client, fds.server, fds.listener],
      dir: [fds.dir, AT_FDCWD],
      socket: [fds.client, fds.server, fds.listener, this.spareSocket],
    };
    return rng.pick(pools[kind]);
  }

  position(d, word, allowNone) {
    const f = this.descF64;
    const v = this.bad(0.15) ? rng.pick(EDGE_DOUBLES) : allowNone && rng.chance(0.3) ? -1 : rng.int(0, 70000);
    f[(d >> 1) + (word >> 1)] = v;
  }

  /** Fills descriptor `i`; returns what the op names (for the oracle) and notes what the fuzzer wrote. */
  descriptor(i, dirty, iovCursor) {
    const d = i * DESC_WORDS;
    const w = this.desc;
    w.fill(0, d, d + DESC_WORDS);
    // Known opcodes, the newest ones (direct descriptors, zero-copy send) a little more often; or unknown numbers.
    const op = this.bad(0.04) ? rng.pick([-1, OP_COUNT, OP_COUNT + 1, 0x7fffffff, -0x80000000, ...UNUSED_OPCODES])
      : rng.chance(0.2) ? rng.pick([OP.OPENAT_DIRECT, OP.CLOSE_DIRECT, OP.FIXED_FD_INSTALL, OP.SEND_ZC]) : rng.pick(OPCODES);
    const id = this.bad(0.02) ? rng.pick([-1, -0x80000000]) : this.nextId++;
    w[d] = op;
    w[d + 2] = id;
    w[d + 3] = rng.word();
    let sqe = 0;
    if (rng.chance(0.15)) sqe |= SQE_LINK;
    if (rng.chance(0.05)) sqe |= SQE_HARDLINK;
    if (rng.chance(0.1)) sqe |= SQE_ASYNC;
    if (rng.chance(this.files > 0 ? 0.15 : 0.03)) sqe |= SQE_FIXED_FILE;
    // Weak ops (they do not keep the loop alive), alone and inside linked chains.
    if (rng.chance(0.2)) sqe |= SQE_WEAK;
    if (this.bad(0.02)) sqe = rng.chance(0.5) ? rng.word() : (SQE_ALL + 1) << rng.int(0, 26);
    w[d + 4] = sqe;
    w[d + 5] = -1;
    w[d + 12] = -1;
    const rec = { op, id, group: -1, ranges: [], paths: [], weak: false };
    const setRange = (word, r) => { w[d + word] = r[0]; w[d + word + 1] = r[1]; w[d + word + 2] = r[2]; };
    const fixedIndexOr = (fd) => ((sqe & SQE_FIXED_FILE) ? rng.int(-1, this.files) : fd);
    switch (op) {
      case OP.READ: case OP.WRITE: {
        w[d + 1] = fixedIndexOr(this.fd());
        const r = this.range(0, 65536);
        setRange(5, r); rec.ranges.push(r);
        this.position(d, 8, true);
        w[d + 10] = rng.chance(0.9) ? 0 : rng.pick([0x4 /* RWF_SYNC */, 0x8 /* RWF_NOWAIT */, 0x1000, rng.word()]);
        break;
      }
      case OP.READV: case OP.WRITEV: {
        w[d + 1] = fixedIndexOr(this.fd());
        const count = rng.chance(0.9) ? rng.int(1, 4) : rng.pick([0, -1, 1025, 0x7fffffff]);
        const start = rng.chance(0.95) ? iovCursor.at : rng.pick([-1, 255, 0x7fffffff]);
        w[d + 12] = start; w[d + 14] = count;
        if (start === iovCursor.at && count > 0 && count <= 4) {
          for (let k = 0; k < count; k++) {
            const r = this.range(0, 16384);
            this.iovs.set(r, (start + k) * IOV_WORDS);
            rec.ranges.push(r);
          }
          iovCursor.at += count;
        }
        this.position(d, 8, true);
        break;
      }
      case OP.OPENAT: {
        w[d + 1] = rng.chance(0.2) ? fixedIndexOr(fds.dir) : this.fd('dir');
        const p = this.path(dirty); setRange(5, p); rec.paths.push(p);
        w[d + 10] = rng.pick([0, 0o1 /* O_WRONLY */, 0o2, 0o100 | 0o2 /* O_CREAT|O_RDWR */, 0o100 | 0o200 | 0o1, 0o200000 /* O_DIRECTORY */, 0o20200000 /* O_TMPFILE */, rng.word() & ~0o1000 /* never O_TRUNC */]);
        w[d + 11] = rng.chance(0.9) ? 0o644 : rng.pick([-1, 0o10000, 0x7fffffff]);
        break;
      }
      case OP.CLOSE:
        w[d + 1] = rng.pick([this.spare, this.spare, ...this.ownFds, -1, 999999]);
        if (rng.chance(0.05)) w[d + 4] |= SQE_FIXED_FILE;
        rec.closes = w[d + 1];
        break;
      case OP.STATX: {
        w[d + 1] = this.fd('dir');
        const p = this.path(dirty); setRange(5, p); rec.paths.push(p);
        const out = this.range(256, 512); setRange(12, out); rec.ranges.push(out);
        w[d + 10] = rng.pick([0, 0x1000 /* AT_EMPTY_PATH */, 0x100, rng.word()]);
        w[d + 11] = rng.pick([0x7ff, 0, -1]);
        break;
      }
      case OP.FSYNC:
        w[d + 1] = fixedIndexOr(this.fd());
        w[d + 10] = rng.pick([0, 1, 2, rng.word()]);
        break;
      case OP.ACCEPT: {
        w[d + 1] = fixedIndexOr(rng.chance(0.7) ? fds.listener : this.fd('socket'));
        if (rng.chance(0.5)) { const r = this.range(8, 160); setRange(12, r); rec.ranges.push(r); }
        w[d + 10] = rng.pick([0, 0o4000 /* SOCK_NONBLOCK */, 0o2000000, rng.word()]);
        break;
      }
      case OP.CONNECT: {
        w[d + 1] = fixedIndexOr(this.fd('socket'));
        const r = this.range(2, 128);
        const c = this.chunks[r[0]];
        if (c !== undefined && r[1] >= 0 && r[2] >= 2 && r[1] + r[2] <= c.length) {
          // Loopback, or a family no network knows: never an address on a real network.
          const at = c.base + r[1];
          const bytes = rng.chance(0.6) ? sockaddrIn(LOOPBACK, rng.chance(0.5) ? fds.listenPort : rng.int(1, 65535)) : Uint8Array.of(0xff, 0x7f);
          c.mem.view.set(bytes.subarray(0, Math.min(bytes.length, r[2])), at);
          if (bytes[0] === 2 && r[2] >= 2 && r[2] < 16) c.mem.view[at] = 0xff; // a cut-off AF_INET address: make it unknown too
          dirty.push([c.mem, at, Math.min(bytes.length, r[2])]);
        }
        setRange(5, r); rec.ranges.push(r);
        break;
      }
      case OP.RECV: case OP.SEND: {
        w[d + 1] = fixedIndexOr(this.fd('socket'));
        const r = this.range(0, 65536); setRange(5, r); rec.ranges.push(r);
        w[d + 10] = rng.pick([0, 0x40 /* MSG_DONTWAIT */, 0x4000 /* MSG_NOSIGNAL */, 0x100 /* MSG_WAITALL */, rng.word()]);
        break;
      }
      case OP.RECV_SELECT: case OP.RECV_MULTISHOT: {
        w[d + 1] = fixedIndexOr(this.fd('socket'));
        const groups = [...this.groups.keys()];
        rec.group = w[d + 11] = groups.length > 0 && rng.chance(0.85) ? rng.pick(groups) : rng.pick([0, 7, 65535, 65536, -1]);
        w[d + 5] = rng.chance(0.95) ? -1 : 0;
        w[d + 7] = op === OP.RECV_MULTISHOT ? (rng.chance(0.9) ? 0 : 64) : rng.pick([0, 64, 4096, 1 << 20, -1]);
        w[d + 10] = rng.pick([0, 0x40, 0x100, rng.word()]);
        break;
      }
      case OP.ACCEPT_MULTISHOT:
        w[d + 1] = fixedIndexOr(rng.chance(0.7) ? fds.listener : this.fd('socket'));
        w[d + 10] = rng.pick([0, 0o4000, rng.word()]);
        if (rng.chance(0.1)) w[d + 12] = 0;
        break;
      case OP.READ_RESULT: {
        w[d + 1] = fixedIndexOr(this.fd());
        const held = [...this.results].filter(([, r]) => !r.released).map(([rid]) => rid);
        const gone = [...this.results].filter(([, r]) => r.released).map(([rid]) => rid);
        const rid = held.length > 0 && !this.bad(0.15) ? rng.pick(held) : rng.pick([0, -1, 0x7fffffff, this.lastTakenResult ?? 1, ...gone]);
        rec.result = w[d + 11] = rid;
        const length = this.results.get(rid)?.length ?? 4096;
        let off = rng.int(0, length - 1);
        let len = rng.int(1, Math.min(length - off, 65536));
        if (this.bad(0.1)) len += rng.int(1, 64); // past the result's end
        if (this.bad(0.05)) len = rng.pick([0, -1, 0x7fffffff]);
        if (this.bad(0.05)) off = rng.pick([-1, length, 0x7fffffff, -0x80000000]);
        w[d + 6] = off; w[d + 7] = len;
        if (this.bad(0.05)) w[d + 5] = rng.pick([0, 1]); // an arena buffer as well: refused
        this.position(d, 8, true);
        w[d + 10] = rng.chance(0.9) ? 0 : rng.pick([0x8 /* RWF_NOWAIT */, 0x1000, rng.word()]);
        break;
      }
      case OP.POLL_ADD:
        w[d + 1] = fixedIndexOr(rng.chance(0.8) ? this.fd('socket') : this.fd());
        w[d + 10] = rng.pick([0x1 /* POLLIN */, 0x4 /* POLLOUT */, 0x5, 0x2000 /* POLLRDHUP */, 0, 0x8 /* POLLERR: refused */, rng.word()]);
        break;
      case OP.TIMEOUT:
        this.descF64[(d >> 1) + 4] = rng.chance(0.85) ? rng.int(0, 3_000_000) : rng.pick(EDGE_DOUBLES);
        w[d + 10] = rng.pick([0, 0, 1 /* ABS */, 4 /* BOOTTIME */, rng.word()]);
        break;
      case OP.CANCEL:
        w[d + 10] = rng.pick([0, CANCEL_ALL, CANCEL_ANY, CANCEL_ALL | CANCEL_ANY, 2 /* FD: not allowed */, rng.word()]);
        w[d + 13] = rng.chance(0.7) ? rng.int(1, this.nextId) : rng.pick(EDGE_WORDS);
        w[d + 14] = rng.word();
        break;
      case OP.UNLINKAT: case OP.MKDIRAT: {
        w[d + 1] = rng.chance(0.1) ? fixedIndexOr(fds.dir) : this.fd('dir');
        const p = this.path(dirty); setRange(5, p); rec.paths.push(p);
        w[d + 10] = rng.pick([0, 0x200 /* AT_REMOVEDIR */, rng.word()]);
        w[d + 11] = rng.pick([0o755, 0o7777, 0o10000, -1]);
        break;
      }
      case OP.RENAMEAT: case OP.LINKAT: case OP.SYMLINKAT: {
        w[d + 1] = rng.chance(0.1) ? fixedIndexOr(fds.dir) : this.fd('dir');
        const a = this.path(dirty); setRange(5, a); rec.paths.push(a);
        const b = this.path(dirty); setRange(12, b); rec.paths.push(b);
        w[d + 11] = rng.chance(0.9) ? this.fd('dir') : rng.pick([-1, 999999, -0x80000000]);
        w[d + 10] = rng.pick([0, 1 /* NOREPLACE */, 2 /* EXCHANGE */, 0x400 /* AT_SYMLINK_FOLLOW */, rng.word()]);
        break;
      }
      case OP.OPENAT_DIRECT: {
        // Into a slot of the registered-file table; the dirfd is never a fixed file.
        w[d + 1] = this.fd('dir');
        if (this.bad(0.1)) w[d + 4] |= SQE_FIXED_FILE;
        const p = this.path(dirty); setRange(5, p); rec.paths.push(p);
        w[d + 10] = rng.pick([0, 0o2, 0o100 | 0o2 /* O_CREAT|O_RDWR */, 0o200000 /* O_DIRECTORY */, rng.word() & ~0o1000 /* never O_TRUNC */]);
        w[d + 11] = rng.chance(0.9) ? 0o644 : rng.pick([-1, 0o10000, 0x7fffffff]);
        w[d + 13] = this.fileSlot();
        break;
      }
      case OP.CLOSE_DIRECT:
        // Empties a slot: whatever it holds (an fd of ours registered there, a direct open, nothing).
        w[d + 1] = this.fileSlot();
        if (this.bad(0.1)) w[d + 4] |= SQE_FIXED_FILE;
        break;
      case OP.FIXED_FD_INSTALL:
        // A new fd for the file in a slot (closed as soon as it arrives); the slot travels in D_FD.
        w[d + 1] = this.fileSlot();
        w[d + 10] = rng.pick([0, 0, 1 /* NO_CLOEXEC */, 2, rng.word()]);
        if (this.bad(0.1)) w[d + 4] |= SQE_FIXED_FILE;
        break;
      case OP.SEND_ZC: {
        // The kernel sends from the slot itself and gives it back with a notification (the final CQE).
        w[d + 1] = fixedIndexOr(this.fd(rng.chance(0.8) ? 'socket' : 'any'));
        const r = this.range(0, 65536); setRange(5, r); rec.ranges.push(r);
        w[d + 10] = rng.pick([0, 0x4000 /* MSG_NOSIGNAL */, 0x40 /* MSG_DONTWAIT */, 0x100 /* MSG_WAITALL */, rng.word()]);
        break;
      }
      case OP.FTRUNCATE:
        w[d + 1] = fixedIndexOr(rng.pick([fds.scratch, fds.content, fds.pipeR, this.fd()]));
        this.position(d, 8, false);
        break;
      case OP.FALLOCATE: {
        w[d + 1] = fixedIndexOr(rng.pick([fds.scratch, fds.content, fds.pipeW, this.fd()]));
        this.position(d, 8, false);
        // Lengths stay small or invalid: a valid huge length would fill the disk.
        this.descF64[(d >> 1) + 6] = rng.chance(0.8) ? rng.int(0, 65536) : rng.pick([-1, 0, 0.5, NaN, Infinity, -0]);
        w[d + 10] = rng.pick([0, 1 /* KEEP_SIZE */, 2 /* PUNCH_HOLE */, 3, 0x10 /* ZERO_RANGE */, rng.word()]);
        break;
      }
      case OP.SPLICE: {
        w[d + 1] = fixedIndexOr(rng.pick([fds.pipeR, fds.devZero, fds.content, this.fd()]));
        w[d + 11] = rng.chance(0.9) ? rng.pick([fds.pipeW, fds.devNull, fds.scratch]) : rng.pick([-1, 999999, -0x80000000]);
        w[d + 7] = rng.chance(0.9) ? rng.int(0, 65536) : rng.pick(EDGE_WORDS);
        this.position(d, 8, true);
        this.descF64[(d >> 1) + 6] = rng.chance(0.85) ? -1 : rng.pick([0, 4096, ...EDGE_DOUBLES]);
        w[d + 10] = rng.pick([0, 1, 2, 4, 8 /* SPLICE_F_FD_IN_FIXED: not allowed */, rng.word()]);
        break;
      }
      default:
        for (let k = 1; k < DESC_WORDS; k++) if (k !== 2) w[d + k] = rng.word();
    }
    // A few descriptors get one random word anywhere.
    if (this.bad(0.04)) {
      // Never an fd word (1, and 11 where it is a second fd): a random number could name stdout or libuv's own fds.
      const k = rng.pick([4, 5, 6, 7, 10, 12, 13, 14, 15, ...([OP.SPLICE, OP.RENAMEAT, OP.LINKAT].includes(op) ? [] : [11])]);
      w[d + k] = rng.pick(EDGE_WORDS);
      rec.scrambled = true;
    }
    rec.weak = (w[d + 4] & SQE_WEAK) !== 0;
    rec.sqe = w[d + 4]; rec.fd = w[d + 1]; rec.flagsWord = w[d + 10]; rec.fdKind = Object.entries(fds).find(([, v]) => v === w[d + 1])?.[0] ?? (w[d + 1] === this.spareSocket ? 'spareSocket' : w[d + 1] === this.spare ? 'spare' : 'other');
    return rec;
  }

  /** A slot of the registered-file table (a direct descriptor's home): mostly one that exists. */
  fileSlot() {
    if (this.bad(0.15) || this.files === 0) return rng.pick([-1, this.files, this.files + 1, 0x7fffffff, -0x80000000, 65535, 0]);
    return rng.int(0, this.files - 1);
  }

  /** The oracle: every range an accepted op names lies inside one slot of a known chunk. */
  checkAccepted(rec, i) {
    const d = i * DESC_WORDS;
    const w = this.desc;
    const inSlot = (ci, off, len) => {
      const c = this.chunks[ci];
      return c !== undefined && off >= 0 && len >= 0 && off + len <= c.length &&
        (len === 0 || Math.floor(off / c.slotSize) === Math.floor((off + len - 1) / c.slotSize));
    };
    const named = [];
    if (w[d + 4] & ~SQE_ALL) fail('a descriptor with unknown SQE flags was accepted', { flags: w[d + 4] });
    const take = (ci, off, len, what) => {
      if (!inSlot(ci, off, len)) fail(`an accepted ${what} names memory outside one slot`, { op: rec.op, ci, off, len, chunk: this.chunks[ci] && { length: this.chunks[ci].length, slot: this.chunks[ci].slotSize } });
      const c = this.chunks[ci];
      if (len > 0) named.push([c.mem, c.base + off, len]);
      return c;
    };
    const takePath = (word) => {
      take(w[d + word], w[d + word + 1], w[d + word + 2], 'path');
      // Judged on the memory as submit saw it: an op of the same batch may have written over it since.
      if (!rec.nulBefore[word]) fail('an accepted path is not NUL-terminated inside its range', { op: rec.op });
    };
    switch (w[d]) {
      case OP.READ: case OP.WRITE: case OP.RECV: case OP.SEND: case OP.CONNECT: case OP.SEND_ZC:
        take(w[d + 5], w[d + 6], w[d + 7], 'buffer');
        break;
      case OP.OPENAT_DIRECT:
        takePath(5);
        if (w[d + 4] & SQE_FIXED_FILE) fail('a direct open with a fixed-file dirfd was accepted');
        if (!(w[d + 13] >= 0 && w[d + 13] < this.files)) fail('a direct open into a slot outside the file table was accepted', { slot: w[d + 13], files: this.files });
        break;
      case OP.CLOSE_DIRECT: case OP.FIXED_FD_INSTALL:
        if (w[d + 4] & SQE_FIXED_FILE) fail('a direct-descriptor op with SQE_FIXED_FILE was accepted', { op: rec.op });
        if (!(w[d + 1] >= 0 && w[d + 1] < this.files)) fail('a direct-descriptor op on a slot outside the file table was accepted', { op: rec.op, slot: w[d + 1], files: this.files });
        if (rec.op === OP.FIXED_FD_INSTALL && (w[d + 10] & ~1) !== 0) fail('fixed_fd_install accepted unknown flags', { flags: w[d + 10] });
        break;
      case OP.READV: case OP.WRITEV:
        for (let k = 0; k < w[d + 14]; k++) {
          const t = (w[d + 12] + k) * IOV_WORDS;
          take(this.iovs[t], this.iovs[t + 1], this.iovs[t + 2], 'iovec');
        }
        break;
      case OP.OPENAT: case OP.UNLINKAT: case OP.MKDIRAT:
        takePath(5);
        break;
      case OP.STATX:
        takePath(5);
        take(w[d + 12], w[d + 13], w[d + 14], 'statx buffer');
        break;
      case OP.ACCEPT:
        if (w[d + 12] !== -1) take(w[d + 12], w[d + 13], w[d + 14], 'address buffer');
        break;
      case OP.RENAMEAT: case OP.LINKAT: case OP.SYMLINKAT:
        takePath(5);
        takePath(12);
        break;
      case OP.READ_RESULT: {
        const r = this.results.get(w[d + 11]);
        if (r === undefined || r.released) fail('a read into a result that is not held was accepted', { id: w[d + 11] });
        if (!(w[d + 6] >= 0 && w[d + 7] >= 1 && w[d + 6] + w[d + 7] <= r.length)) fail('a read outside its result was accepted', { off: w[d + 6], len: w[d + 7], length: r.length });
        if (w[d + 5] !== -1) fail('a read into a result that also names an arena buffer was accepted', { chunk: w[d + 5] });
        rec.result = w[d + 11];
        break;
      }
      case OP.POLL_ADD:
        if (w[d + 10] === 0 || (w[d + 10] & ~(0x1 | 0x2 | 0x4 | 0x2000))) fail('a poll with unknown events was accepted', { events: w[d + 10] });
        break;
      case OP.RECV_SELECT: case OP.RECV_MULTISHOT: {
        const g = this.groups.get(w[d + 11]);
        if (g === undefined) fail('an accepted buffer-select op names no registered group', { group: w[d + 11] });
        rec.group = w[d + 11];
        break;
      }
      case OP.CLOSE:
        if (this.ownFds.includes(w[d + 1])) fail('a close of the ring\'s own fd was accepted', { fd: w[d + 1] });
        break;
      default:
    }
    return named;
  }

  async round() {
    stats.rounds++;
    const ring = this.ring;
    this.spare = fs.openSync('/dev/null', 'r');
    this.spareSocket = binding.socket(2, 1, 0);
    this.sideCalls();
    this.hostile = rng.chance(0.5);
    const count = this.bad(0.05) ? rng.pick([0, this.entries + 1, -1, 1.5, NaN]) : rng.int(1, Math.min(rng.chance(0.7) ? 3 : 8, this.entries));
    const n = Number.isInteger(count) && count > 0 ? Math.min(count, this.entries + 1) : 0;
    const dirty = [];
    const iovCursor = { at: rng.int(0, 16) };
    const recs = [];
    for (let i = 0; i < n; i++) recs.push(this.descriptor(i, dirty, iovCursor));
    stats.descriptors += n;
    // Which path ranges hold a NUL right now, as submit will see them.
    recs.forEach((rec, i) => {
      const d = i * DESC_WORDS;
      rec.nulBefore = {};
      for (const word of [5, 12]) {
        const c = this.chunks[this.desc[d + word]];
        const off = this.desc[d + word + 1], len = this.desc[d + word + 2];
        rec.nulBefore[word] = c !== undefined && off >= 0 && len >= 1 && off + len <= c.length && c.mem.view.subarray(c.base + off, c.base + off + len).includes(0);
      }
    });
    const before = ring.inFlight();
    let named = [];
    let accepted = false;
    try {
      stats.calls++;
      const got = ring.submit(count);
      accepted = true;
      if (got !== count) fail('submit returned another count', { got, count });
      recs.forEach((rec, i) => { named.push(...this.checkAccepted(rec, i)); });
      for (const rec of recs) {
        if (rec.op === OP.READ_RESULT) this.results.get(rec.result).reads++;
        this.ops.set(rec.id, rec);
        this.pending++;
        if (rec.weak) { this.pendingWeak++; stats.weakAccepted++; }
        stats.opsAccepted[rec.op] = (stats.opsAccepted[rec.op] ?? 0) + 1;
      }
      stats.accepted += recs.length;
    } catch (err) {
      checkRefusal(err, 'submit');
      stats.refusedBatches++;
      if (err.index !== undefined && !(Number.isInteger(err.index) && err.index >= 0 && err.index < n)) fail('a refused submit names no descriptor of the batch', { index: err.index, n });
      if (ring.inFlight() !== before) fail('a refused batch put ops in flight', { before, after: ring.inFlight() });
      named = [];
    }
    if (accepted && this.pending > 0) {
      // Ring side calls while ops are in flight: destroy must refuse.
      if (rng.chance(0.2)) {
        const [ok] = attempt('destroy in flight', () => ring.destroy());
        if (ok && ring.inFlight() > 0) fail('destroy succeeded with ops in flight');
        if (ok) { this.destroyed = true; }
      }
      if (rng.chance(0.3)) this.fuzzResults();
      if (rng.chance(0.2) && this.groups.size > 0) {
        const bgid = rng.pick([...this.groups.keys()]);
        const [ok] = attempt('unregisterBufferRing in flight', () => ring.unregisterBufferRing(bgid));
        if (ok) this.dropGroup(bgid);
      }
    }
    if (!this.destroyed) this.checkWeak('after submit');
    await this.settle(rng.int(0, 3) === 0 ? 30 : 5);
    if (this.unknownCompletion !== null) fail('a completion for an op that was never accepted', this.unknownCompletion);
    if (!this.destroyed) this.checkWeak('after the round');
    if (ring.inFlight() !== 0 || this.pending !== 0) {
      fail('ops still in flight after a cancel-all', { inFlight: ring.inFlight(), pending: this.pending, ops: [...this.ops.values()].filter((r) => !r.done && r.op !== undefined).map((r) => ({ op: r.op, id: r.id, cqes: r.cqes, sqe: r.sqe, fd: r.fd })) });
    }
    this.checkSentinels([...named, ...dirty]);
    this.checkHandedOver();
    // The spare fd: closed by an op or by us. Once an op closed it, its number
    // may already belong to someone else (a ring made during the round, such
    // as the socket drainer's, can take it; closing that by number would leave
    // the number listed as a ring's own fd): close it only if no op did.
    const closedByOp = recs.some((rec) => rec.op === OP.CLOSE && rec.closes === this.spare && !(rec.sqe & SQE_FIXED_FILE) &&
      (rec.cqes ?? []).some(([res]) => res === 0));
    if (!closedByOp) fs.closeSync(this.spare);
    fs.closeSync(this.spareSocket);
  }

  /**
   * The weak-op accounting (outside any completion callback, where the ring
   * and this model have seen the same completions): the ring counts exactly
   * the weak ops in flight, and holds the event loop open exactly while some
   * op in flight is not weak.
   */
  checkWeak(when) {
    const info = this.ring.info();
    const inFlight = this.ring.inFlight();
    if (info.weakInFlight !== this.pendingWeak) fail(`${when}: the ring counts another number of weak ops in flight`, { ring: info.weakInFlight, model: this.pendingWeak, inFlight });
    if (info.holdsLoop !== (inFlight > this.pendingWeak)) fail(`${when}: the ring holds the event loop ${info.holdsLoop ? 'with only weak ops' : 'not, with a strong op'} in flight`, { inFlight, weak: this.pendingWeak });
  }

  /** Waits for completions (callback and reap), then cancels whatever is left and waits for that too. */
  async settle(graceMs) {
    const deadline = Date.now() + graceMs;
    while (this.pending > 0 && Date.now() < deadline) {
      this.reapMaybe();
      await tick();
    }
    if (this.pending === 0 || this.destroyed) return;
    const d = 0;
    this.desc.fill(0, d, DESC_WORDS);
    this.desc[d] = OP.CANCEL;
    this.desc[d + 10] = CANCEL_ALL | CANCEL_ANY;
    this.desc[d + 5] = -1;
    this.desc[d + 12] = -1;
    for (let attemptNo = 0; attemptNo < 3 && this.pending > 0; attemptNo++) {
      // The cancel is an op too: it is waited for like the others (inFlight counts it).
      const id = this.nextId++;
      this.desc[d + 2] = id;
      try {
        this.ring.submit(1);
        this.ops.set(id, { op: OP.CANCEL, id });
        this.pending++;
      } catch (err) {
        checkRefusal(err, 'cancel-all');
        if (err.code !== 'ERR_RING_BUSY') fail('a cancel-all was refused', { error: String(err) });
      }
      const end = Date.now() + 2000;
      while (this.pending > 0 && Date.now() < end) {
        this.reapMaybe();
        // A zero-copy send ends with its notification, once its bytes have left the socket; with
        // the peer's receive queue full they wait there. Reading the pair lets them go.
        if ([...this.ops.values()].some((r) => r.op === OP.SEND_ZC && !r.done)) await drainSockets();
        await sleep(1);
      }
    }
  }

  reapMaybe() {
    if (rng.chance(0.3)) {
      const n = this.ring.reap();
      if (!Number.isInteger(n) || n < 0) fail('reap returned a bad count', { n });
      this.onComplete(n);
    }
  }

  checkSentinels(allowed) {
    for (const mem of memories) {
      const ranges = allowed.filter(([m]) => m === mem).map(([, off, len]) => [off, off + len]);
      for (const g of this.groups.values()) for (const [m, off, len] of g.ranges) if (m === mem) ranges.push([off, off + len]);
      ranges.sort((a, b) => a[0] - b[0]);
      let at = 0;
      const check = (from, to) => {
        for (let p = from; p < to; p += SENTINEL_BLOCK.length) {
          const end = Math.min(to, p + SENTINEL_BLOCK.length);
          if (mem.buf.compare(SENTINEL_BLOCK, 0, end - p, p, end) !== 0) {
            let bad = p;
            while (mem.view[bad] === SENTINEL) bad++;
            fail('a byte outside every named range changed', { memory: mem.id, offset: bad, value: mem.view[bad], allowed: ranges.slice(0, 20) });
          }
        }
      };
      for (const [from, to] of ranges) {
        if (from > at) check(at, from);
        at = Math.max(at, to);
      }
      check(at, mem.view.length);
      // Back to all-sentinel for the next round (group buffers included: nothing is in flight).
      for (const [from, to] of ranges) mem.view.fill(SENTINEL, from, to);
    }
  }

  dropGroup(bgid) {
    this.checkHandedOver();
    this.groups.delete(bgid);
  }

  /** The kernel never writes a block or a read result it has handed over: each still holds what it held then. */
  checkHandedOver() {
    for (const g of this.groups.values()) {
      for (const [block, copy] of g.handed ?? []) if (!block.equals(copy)) fail('a handed-over block changed');
    }
    for (const [buffer, copy] of this.takenResults) if (!buffer.equals(copy)) fail('a taken read result changed');
  }

  /**
   * Read results: allocResult with good and bad lengths, takeResult (refused
   * while a read into it is in flight, else the whole result with its bytes
   * past the length asked for zeroed) and releaseResult, of held, released,
   * taken and unknown ids. Also called with reads in flight.
   */
  fuzzResults() {
    const ring = this.ring;
    const which = rng.int(0, 2);
    const known = [...this.results.keys()];
    const someId = () => (known.length > 0 && rng.chance(0.8) ? rng.pick(known) : rng.pick([0, -1, 1.5, NaN, 'x', 0x7fffffff, this.lastTakenResult ?? 2 ** 32]));
    if (which === 0) {
      const good = rng.chance(0.8);
      const length = good ? rng.pick([1, 100, 4096, 65536, 300000]) : rng.pick([0, -1, 2 ** 31, 2 ** 32, 1.5, NaN, 'x', undefined]);
      const [ok, rid] = attempt('allocResult', () => ring.allocResult(length));
      if (ok !== good) fail(good ? 'allocResult refused a good length' : 'allocResult accepted a bad length', { length });
      if (!ok) return;
      if (!Number.isInteger(rid) || rid < 1 || this.results.has(rid)) fail('allocResult returned an id in use or not an id', { rid });
      this.results.set(rid, { length, reads: 0, released: false });
    } else if (which === 1) {
      const rid = someId();
      const r = this.results.get(rid);
      const length = r !== undefined && rng.chance(0.85) ? rng.int(0, r.length) : rng.pick([-1, (r?.length ?? 0) + 1, 1.5, undefined]);
      const [ok, buffer] = attempt('takeResult', () => ring.takeResult(rid, length));
      const allowed = r !== undefined && !r.released && r.reads === 0 && Number.isInteger(length) && length >= 0 && length <= r.length;
      if (ok !== allowed) fail(ok ? 'takeResult accepted what it must refuse' : 'takeResult refused a result it must hand over', { rid, length, model: r });
      if (!ok) return;
      if (!Buffer.isBuffer(buffer) || buffer.length !== r.length) fail('takeResult returned another length', { got: buffer?.length, length: r.length });
      if (!buffer.subarray(length).every((b) => b === 0)) fail('a taken result shows bytes past the length asked for');
      this.results.delete(rid);
      this.lastTakenResult = rid;
      if (this.takenResults.length < 64) this.takenResults.push([buffer, Buffer.from(buffer)]);
      stats.resultsTaken++;
    } else {
      const rid = someId();
      const r = this.results.get(rid);
      const [ok] = attempt('releaseResult', () => ring.releaseResult(rid));
      const allowed = r !== undefined && !r.released;
      if (ok !== allowed) fail(ok ? 'releaseResult accepted what it must refuse' : 'releaseResult refused a held result', { rid, model: r });
      if (!ok) return;
      if (r.reads > 0) r.released = true;
      else this.results.delete(rid);
      stats.resultsReleased++;
    }
  }

  sideCalls() {
    const ring = this.ring;
    if (rng.chance(0.1)) this.fuzzAddChunk();
    if (rng.chance(0.1)) this.fuzzFiles();
    if (rng.chance(0.15)) this.fuzzGroups();
    if (rng.chance(0.3)) this.fuzzResults();
    if (this.results.size < 2) {
      // Reads into results need some to name.
      const length = rng.pick([4096, 65536, 300000]);
      const [ok, rid] = attempt('allocResult', () => ring.allocResult(length));
      if (!ok) fail('allocResult refused a good length');
      this.results.set(rid, { length, reads: 0, released: false });
    }
    if (rng.chance(0.05)) {
      const [ok] = attempt('recycleBuffer', () => ring.recycleBuffer(rng.pick([...this.groups.keys(), 9, -1, 1.5]), rng.pick([0, 1, 65535, -1, 70000, NaN])));
      if (ok) fail('recycleBuffer accepted a buffer the kernel never handed out');
    }
    if (rng.chance(0.05)) {
      const group = rng.pick([...this.groups.keys(), 9, -1, 1.5]);
      const bid = rng.pick([0, 1, 65535, -1, 70000, NaN]);
      const [took] = attempt('takeBuffer', () => ring.takeBuffer(group, bid, rng.pick([1, 64, 0, -1, 2 ** 31, undefined])));
      if (took) fail('takeBuffer accepted a buffer the kernel never handed out');
      const [copied] = attempt('copyBuffer', () => ring.copyBuffer(group, bid, rng.pick([Buffer.alloc(8), new Uint16Array(4), null, 'x'])));
      if (copied) fail('copyBuffer accepted a buffer the kernel never handed out');
    }
    if (rng.chance(0.05)) {
      const info = ring.info();
      if (typeof info !== 'object' || info.live !== true) fail('info() of a live ring', { info });
    }
  }

  /** A registered-file table of 1..8 slots, some holding our fds, the rest empty (for direct descriptors). */
  registerSparseFiles() {
    const table = Int32Array.from({ length: rng.int(1, 8) }, () => (rng.chance(0.6) ? -1 : rng.pick([fds.content, fds.scratch, fds.pipeR, fds.pipeW, fds.client, fds.server, fds.devNull])));
    const [ok, n] = attempt('registerFiles', () => this.ring.registerFiles(table));
    if (!ok) fail('a well-formed sparse file table was refused');
    this.files = n;
  }

  fuzzFiles() {
    const ring = this.ring;
    const which = rng.int(0, 2);
    // Only the fuzzer's own fds, or numbers that are not open: a fixed file may be written to.
    const list = () => Int32Array.from({ length: rng.int(0, 6) }, () => rng.pick([fds.content, fds.scratch, fds.pipeR, fds.pipeW, fds.client, fds.server, fds.devNull, -1, -1, 999999, 0x7fffffff, -0x80000000]));
    if (which === 0) {
      const arg = rng.chance(0.9) ? list() : rng.pick([[1, 2], new Uint32Array(2), null]);
      const [ok, n] = attempt('registerFiles', () => ring.registerFiles(arg));
      if (ok) {
        if (this.files > 0 || n !== arg.length || n === 0) fail('registerFiles accepted a second table or an empty one', { n });
        this.files = n;
      }
    } else if (which === 1) {
      const offset = rng.chance(0.8) ? rng.int(0, Math.max(0, this.files)) : rng.pick(EDGE_WORDS);
      const arg = list();
      const [ok] = attempt('updateFiles', () => ring.updateFiles(offset, arg));
      if (ok && (this.files === 0 || offset + arg.length > this.files) && arg.length > 0) fail('updateFiles accepted an out-of-range update', { offset, len: arg.length, files: this.files });
    } else {
      // Refused while ops in flight use the table? The kernel answers; our model: nothing is in flight here.
      const [ok] = attempt('unregisterFiles', () => ring.unregisterFiles());
      if (ok) this.files = 0;
    }
  }

  fuzzGroups() {
    const ring = this.ring;
    if (this.groups.size > 0 && rng.chance(0.3)) {
      const bgid = rng.pick([...this.groups.keys()]);
      const [ok] = attempt('unregisterBufferRing', () => ring.unregisterBufferRing(bgid));
      if (!ok) fail('unregisterBufferRing of an idle group was refused', { bgid });
      this.dropGroup(bgid);
      return;
    }
    const bgid = rng.chance(0.85) ? rng.int(0, 8) : rng.pick([65535, 65536, -1, 1.5]);
    const size = rng.chance(0.85) ? rng.pick([64, 256, 4096]) : rng.pick([0, 1, 65, 1 << 20, 2 ** 31, -1]);
    const count = rng.chance(0.9) ? rng.int(1, 8) : rng.pick([0, 32769]);
    if (rng.chance(0.3)) {
      // An owned group: the native layer allocates the blocks (count and size are all it takes).
      const [ok, n] = attempt('registerBufferRing owned', () => ring.registerBufferRing(bgid, size, count));
      if (!ok) return;
      if (!Number.isInteger(bgid) || bgid < 0 || bgid > 65535 || !(size >= 1 && size <= 1 << 20) || !(count >= 1 && count <= 32768)) {
        fail('registerBufferRing accepted an owned group out of range', { bgid, size, count });
      }
      if (n !== count) fail('registerBufferRing returned another count', { n, count });
      if (this.groups.has(bgid)) fail('registerBufferRing accepted a group id already in use', { bgid });
      this.groups.set(bgid, { size, ranges: [], owned: true, handed: [] });
      return;
    }
    const words = [];
    const ranges = [];
    const used = new Set();
    for (let k = 0; k < Math.min(count, 64); k++) {
      if (rng.chance(0.9)) {
        // A slot of a chunk whose slots hold `size`, not used by another buffer of this group.
        const fit = this.chunks.map((c, i) => (c !== undefined && c.slotSize >= size ? i : -1)).filter((i) => i >= 0);
        if (fit.length === 0) { words.push(-1, 0); continue; }
        const ci = rng.pick(fit);
        const c = this.chunks[ci];
        const slot = rng.int(0, c.length / c.slotSize - 1);
        const off = slot * c.slotSize + (rng.chance(0.1) ? rng.int(1, 64) : 0);
        words.push(ci, off);
        used.add(`${ci}:${slot}`);
      } else {
        words.push(rng.pick(EDGE_WORDS), rng.pick(EDGE_WORDS));
      }
    }
    if (rng.chance(0.05)) words.push(1); // an odd word count
    const arg = rng.chance(0.95) ? Int32Array.from(words) : rng.pick([words, new Uint8Array(8), undefined]);
    const [ok, n] = attempt('registerBufferRing', () => ring.registerBufferRing(bgid, size, arg));
    if (!ok) return;
    // Accepted: the oracle checks every buffer, and none overlaps another.
    const seen = [];
    for (let k = 0; k < arg.length / 2; k++) {
      const ci = arg[2 * k], off = arg[2 * k + 1];
      const c = this.chunks[ci];
      if (c === undefined || off < 0 || off + size > c.length || Math.floor(off / c.slotSize) !== Math.floor((off + size - 1) / c.slotSize)) {
        fail('registerBufferRing accepted a buffer outside one slot', { ci, off, size });
      }
      const start = c.base + off;
      for (const [m, s, l] of seen) if (m === c.mem && start < s + l && s < start + size) fail('registerBufferRing accepted overlapping buffers');
      seen.push([c.mem, start, size]);
      ranges.push([c.mem, start, size]);
    }
    if (n !== arg.length / 2) fail('registerBufferRing returned another count', { n });
    if (this.groups.has(bgid)) fail('registerBufferRing accepted a group id already in use', { bgid });
    this.groups.set(bgid, { size, ranges });
  }

  /** The ring torn down properly, or dropped for the garbage collector (its destructor waits for the kernel). */
  async finish() {
    if (this.destroyed) return;
    if (rng.chance(0.8)) {
      const [ok, err] = attempt('destroy', () => this.ring.destroy());
      if (!ok) fail('destroy of an idle ring was refused', { error: String(err) });
      // Every method of a destroyed ring refuses with ERR_RING_CLOSED (inFlight/info answer).
      for (const [name, call] of [['submit', (r) => r.submit(1)], ['addChunk', (r) => r.addChunk(99, new Uint8Array(new SharedArrayBuffer(64)), 64)],
        ['reap', (r) => r.reap()], ['registerFiles', (r) => r.registerFiles(new Int32Array([fds.content]))], ['recycleBuffer', (r) => r.recycleBuffer(0, 0)]]) {
        const [okAfter, e] = attempt(`${name} after destroy`, () => call(this.ring));
        if (okAfter || e.code !== 'ERR_RING_CLOSED') fail(`${name} on a destroyed ring did not refuse with ERR_RING_CLOSED`, { code: e?.code });
      }
      if (this.ring.inFlight() !== 0 || this.ring.info().live !== false) fail('a destroyed ring reports work or life');
      attempt('destroy twice', () => this.ring.destroy());
    }
    this.ring = null;
    if (globalThis.gc !== undefined && rng.chance(0.3)) globalThis.gc();
  }
}

// ---------------------------------------------------------------- the constructor and socket helpers
function fuzzConstructor() {
  const entries = rng.chance(0.85) ? rng.pick([1, 2, 4, 8, 16, 64]) : rng.pick([0, -1, 32769, 2 ** 32, 1.5, NaN, '8', null]);
  let flags = rng.chance(0.85) ? rng.int(0, 31) & ~1 : rng.pick([1 /* SQPOLL */, 0xffffffff, -1, 1.5]);
  const valid = () => new Int32Array(64 * DESC_WORDS);
  const arrays = [valid(), valid(), valid()];
  if (rng.chance(0.15)) arrays[rng.int(0, 2)] = rng.pick([new Uint32Array(16), new Float64Array(8), [1, 2], null, new Int32Array(new SharedArrayBuffer(256))]);
  const cb = rng.chance(0.95) ? () => {} : rng.pick([null, 42]);
  const [ok, ring] = attempt('NativeRing constructor', () => new binding.NativeRing(entries, flags, rng.int(0, 10), arrays[0], arrays[1], arrays[2], cb));
  if (!ok) return;
  if (!(Number.isInteger(entries) && entries >= 1 && entries <= 32768 && arrays.every((a) => a instanceof Int32Array) && typeof cb === 'function')) {
    fail('the NativeRing constructor accepted malformed arguments', { entries, flags });
  }
  const [destroyed] = attempt('destroy', () => ring.destroy());
  if (!destroyed) fail('destroy of a fresh ring was refused');
}

function fuzzSocketHelpers() {
  const pick = rng.int(0, 4);
  if (pick === 0) {
    const [ok, fd] = attempt('socket', () => binding.socket(rng.pick([1, 2, 10, 0, 64, 65, -1, 1.5]), rng.pick([1, 2, 5, 0, 999, -1, 0x800 | 1]), rng.pick([0, 6, 17, 65536, -1])));
    if (ok) fs.closeSync(fd);
  } else if (pick === 1) {
    const fd = binding.socket(rng.pick([1, 2, 10]), 1, 0);
    const addr = rng.pick([
      () => sockaddrIn(LOOPBACK, 0),
      () => sockaddrIn([10, 0, 0, 1], 0), // not an address of this machine: EADDRNOTAVAIL
      () => Uint8Array.of(1, 0, 0, ...Buffer.from(`fuzz${rng.int(0, 1e6)}`)), // an abstract unix name
      () => new Uint8Array(rng.pick([0, 1, 129, 4096])),
      () => Uint8Array.of(0xff, 0xff, 1, 2, 3, 4),
      () => new Uint16Array(8),
      () => 'addr',
    ])();
    attempt('bind', () => binding.bind(rng.chance(0.9) ? fd : rng.pick([-1, 999999, 1.5]), addr));
    if (rng.chance(0.5)) attempt('listen', () => binding.listen(fd, rng.pick([0, 1, 128, 65535, 65536, -1])));
    if (rng.chance(0.5)) {
      const [ok, name] = attempt('getsockname', () => binding.getsockname(fd));
      if (ok && !(name instanceof Uint8Array)) fail('getsockname returned no bytes');
    }
    fs.closeSync(fd);
  } else if (pick === 2) {
    attempt('getsockname', () => binding.getsockname(rng.pick([fds.content, -1, 999999, 'x', 2 ** 31])));
  } else if (pick === 3) {
    attempt('listen', () => binding.listen(rng.pick([fds.content, -1, 999999]), 4));
  } else {
    const [ok, p] = attempt('pipe', () => binding.pipe());
    if (ok) { fs.closeSync(p[0]); fs.closeSync(p[1]); }
  }
}

/**
 * The helpers the net layer calls (getpeername, setSocketOption, socketInfo,
 * shutdown, close) with random arguments. The fds are the fuzzer's own (fresh
 * ones for shutdown and close), the ring's own io_uring fd and eventfd (close
 * must leave them open), or numbers that cannot be open. Each answer must be
 * a coded refusal, or the documented shape: bytes, [domain, type, listening],
 * 0 or a negative errno.
 */
function fuzzNetHelpers(h) {
  const invalid = [-1, 999999, 2 ** 31, -0x80000000, 1.5, NaN, 'x', null, undefined, 2 ** 53, -0];
  const errnoOrZero = (where, v) => {
    if (!Number.isInteger(v) || v > 0 || v < -4095) fail(`${where} returned neither 0 nor a negative errno`, { value: String(v) });
  };
  /** A fresh fd of ours, and everything to close with it. */
  const fresh = () => {
    const kind = rng.int(0, 4);
    if (kind === 0) { const p = binding.pipe(); return { fd: p[0], all: p }; }
    if (kind === 1) { const fd = fs.openSync('content', 'r'); return { fd, all: [fd] }; }
    const fd = binding.socket(rng.pick([1, 2, 10]), rng.pick([1, 1, 2]), 0);
    if (kind === 4) { try { binding.bind(fd, sockaddrIn(LOOPBACK, 0)); binding.listen(fd, 4); } catch { /* a unix or v6 socket: as it is */ } }
    return { fd, all: [fd] };
  };
  const known = () => rng.pick([fds.client, fds.server, fds.listener, fds.content, fds.pipeR, fds.devNull]);
  const which = rng.int(0, 4);
  if (which === 0) {
    const fd = rng.chance(0.8) ? known() : rng.pick(invalid);
    const [ok, name] = attempt('getpeername', () => binding.getpeername(fd));
    if (ok && !(name instanceof Uint8Array && name.length >= 2)) fail('getpeername returned no address bytes');
    if (ok && (fd === fds.content || fd === fds.listener)) fail('getpeername answered for an fd with no peer', { fd });
  } else if (which === 1) {
    const fd = rng.chance(0.8) ? known() : rng.pick(invalid);
    const option = rng.chance(0.8) ? rng.int(1, 8) : rng.pick([0, 9, -1, 1.5, 2 ** 31, 'x', undefined]);
    const value = rng.chance(0.7) ? rng.pick([0, 1, 5, 30]) : rng.pick([-1, -2, 2, 1 << 20, (1 << 20) + 1, 1.5, NaN, true]);
    const [ok, r] = attempt('setSocketOption', () => binding.setSocketOption(fd, option, value));
    if (ok) errnoOrZero('setSocketOption', r);
  } else if (which === 2) {
    const fd = rng.chance(0.8) ? known() : rng.pick(invalid);
    const [ok, r] = attempt('socketInfo', () => binding.socketInfo(fd));
    if (ok && typeof r === 'number') errnoOrZero('socketInfo', r);
    else if (ok && !(Array.isArray(r) && r.length === 3 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && typeof r[2] === 'boolean')) fail('socketInfo returned another shape', { r: String(r) });
    if (ok && fd === fds.listener && !(Array.isArray(r) && r[0] === 2 && r[1] === 1 && r[2] === true)) fail('socketInfo of the listener', { r: String(r) });
    if (ok && fd === fds.content && r !== -88 /* ENOTSOCK */) fail('socketInfo of a file is not ENOTSOCK', { r: String(r) });
  } else if (which === 3) {
    const f = rng.chance(0.7) ? fresh() : null;
    const fd = f === null ? rng.pick(invalid) : f.fd;
    const how = rng.chance(0.8) ? rng.int(0, 2) : rng.pick([-1, 3, 1.5, 'x']);
    const [ok, r] = attempt('shutdown', () => binding.shutdown(fd, how));
    if (ok) errnoOrZero('shutdown', r);
    for (const x of f?.all ?? []) fs.closeSync(x);
  } else {
    const own = h !== null && h.ownFds.length > 0 && rng.chance(0.3);
    const f = own || rng.chance(0.3) ? null : fresh();
    const fd = own ? rng.pick(h.ownFds) : f === null ? rng.pick(invalid) : f.fd;
    const [ok, r] = attempt('close', () => binding.close(fd));
    if (ok) errnoOrZero('close', r);
    if (own) {
      // The ring's own fd: refused (EBADF), and still open.
      if (ok && r !== -9) fail('close() of a ring\'s own fd was not refused', { fd, r });
      let target = '';
      try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { /* closed */ }
      if (!/anon_inode:\[(io_uring|eventfd)\]/.test(target)) fail('close() closed a ring\'s own fd', { fd, target });
    } else if (f !== null) {
      if (!ok || r !== 0) fail('close() of a fresh fd of ours failed', { fd, r: String(r) });
      for (const x of f.all) if (x !== fd) fs.closeSync(x);
      // Closed for real: the number is free (or already someone else's: only check it is not our socket/pipe/file).
    }
  }
}

/**
 * Reads whatever waits in the loopback pair's receive queues (RECV with
 * MSG_DONTWAIT on a ring of its own, into memory the oracle does not watch),
 * so that bytes zero-copy sends left queued can move and their notifications
 * come. Without it a zero-copy send to a full socket never ends, and at exit
 * an SQPOLL ring's thread waits for that notification forever.
 */
let drainer = null;
async function drainSockets() {
  if (drainer === null) {
    const desc = new Int32Array(4 * DESC_WORDS);
    const comps = new Int32Array(16 * COMPLETION_WORDS);
    drainer = { desc, comps, got: [] };
    drainer.callback = (n) => { for (let i = 0; i < n; i++) drainer.got.push(comps[i * COMPLETION_WORDS + 2]); };
    drainer.ring = new binding.NativeRing(4, 0, 0, desc, comps, new Int32Array(IOV_WORDS), drainer.callback);
    drainer.ring.addChunk(0, new Uint8Array(new SharedArrayBuffer(65536)), 32768);
  }
  for (let round = 0; round < 64; round++) {
    const w = drainer.desc;
    w.fill(0);
    [fds.client, fds.server].forEach((fd, i) => {
      const d = i * DESC_WORDS;
      w[d] = OP.RECV; w[d + 1] = fd; w[d + 2] = i + 1; w[d + 5] = 0; w[d + 6] = i * 32768; w[d + 7] = 32768;
      w[d + 10] = 0x40; /* MSG_DONTWAIT */ w[d + 12] = -1;
    });
    drainer.got = [];
    // A slow machine can leave the last round's receives unreaped: their
    // completions come first, and the 4-entry ring may be full meanwhile.
    for (let tries = 0; ; tries++) {
      try {
        drainer.ring.submit(2);
        break;
      } catch (err) {
        if (err?.code !== 'ERR_RING_BUSY' || tries >= 5000) throw err;
        drainer.ring.reap();
        await sleep(1);
      }
    }
    const end = Date.now() + 5000;
    while (drainer.got.length < 2 && Date.now() < end) {
      const n = drainer.ring.reap();
      for (let i = 0; i < n; i++) drainer.got.push(drainer.comps[i * COMPLETION_WORDS + 2]);
      if (drainer.got.length < 2) await sleep(1);
    }
    if (drainer.got.every((res) => res <= 0)) return;
  }
}

// ---------------------------------------------------------------- the loopback connection, set up with a well-behaved ring
async function connectSockets() {
  fds.listener = binding.socket(2, 1, 0);
  binding.bind(fds.listener, sockaddrIn(LOOPBACK, 0));
  binding.listen(fds.listener, 64);
  const name = binding.getsockname(fds.listener);
  fds.listenPort = (name[2] << 8) | name[3];
  fds.client = binding.socket(2, 1, 0);
  const h = new Harness(0, 8);
  h.addChunks();
  const mem = fixedMemories[0];
  mem.view.set(sockaddrIn(LOOPBACK, fds.listenPort), 0);
  const w = h.desc;
  w.fill(0); w[5] = -1; w[12] = -1; w[16 + 5] = -1; w[16 + 12] = -1;
  w[0] = OP.ACCEPT; w[1] = fds.listener; w[2] = 1;
  w[16] = OP.CONNECT; w[17] = fds.client; w[18] = 2; w[21] = 0; w[22] = 0; w[23] = 16;
  h.ops.set(1, { op: -1 }); h.ops.set(2, { op: -1 }); // not OP.ACCEPT: the accepted fd is kept
  let server = -1;
  h.onComplete = (n) => {
    for (let i = 0; i < n; i++) {
      if (h.comps[i * 4] === 1) server = h.comps[i * 4 + 2];
      h.pending--;
    }
  };
  h.ring.submit(2);
  h.pending = 2;
  const end = Date.now() + 5000;
  while (h.pending > 0 && Date.now() < end) await sleep(1);
  if (server < 0) fail('could not set up the loopback connection', { server });
  fds.server = server;
  mem.view.fill(SENTINEL);
  h.ring.destroy();
  fs.writeSync(fds.pipeW, Buffer.alloc(1, 0x50));
}

/**
 * The addon and the descriptor module agree on which opcodes exist: every
 * number from -1 to opCount + 1 is submitted once, as a descriptor that names
 * nothing (fd -1, no buffer, no slot); the native layer must call exactly the
 * numbers the module does not list "unknown opcode".
 */
async function checkOpcodeTable() {
  const h = new Harness(0, 4);
  h.addChunks();
  const unknownToNative = [];
  for (let op = -1; op <= OP_COUNT + 1; op++) {
    const w = h.desc;
    w.fill(0, 0, DESC_WORDS);
    w[0] = op; w[1] = -1; w[2] = h.nextId++; w[5] = -1; w[12] = -1; w[13] = -1;
    try {
      h.ring.submit(1);
      h.ops.set(w[2], { op, id: w[2] });
      h.pending++;
    } catch (err) {
      checkRefusal(err, 'opcode table');
      if (err.message === 'unknown opcode') unknownToNative.push(op);
    }
  }
  await h.settle(1000);
  h.ring.destroy();
  const expected = [-1, ...UNUSED_OPCODES, OP_COUNT, OP_COUNT + 1];
  if (unknownToNative.join() !== expected.join()) fail('the addon and the descriptor module disagree on the opcodes', { native: unknownToNative, module: expected });
}

// ---------------------------------------------------------------- main
await checkOpcodeTable();
await connectSockets();
const started = Date.now();
let harness = null;
let done = 0;
while (timeMs > 0 ? Date.now() - started < timeMs : done < iterations) {
  if (harness === null || rng.chance(0.04)) {
    if (harness !== null) await harness.finish();
    if (rng.chance(0.3)) fuzzConstructor();
    try {
      // Fixed buffers, COOP_TASKRUN, SINGLE_ISSUER, DEFER_TASKRUN in any mix; SQPOLL now and then (it costs a CPU, and found a hang).
      const flags = (rng.int(0, 31) & ~1) | (rng.chance(0.06) ? 1 : 0);
      harness = new Harness(flags, rng.pick([1, 2, 4, 8, 16, 64]));
      stats.rings++;
      harness.addChunks();
      // Half the rings get a file table at once, sparse (-1 entries) so direct opens find empty slots.
      if (rng.chance(0.5)) harness.registerSparseFiles();
    } catch (err) {
      checkRefusal(err, 'NativeRing');
      stats.ringsRefused++;
      harness = null;
      continue;
    }
  }
  if (rng.chance(0.05)) fuzzSocketHelpers();
  if (rng.chance(0.08)) fuzzNetHelpers(harness);
  await harness.round();
  if (harness.destroyed) harness = null;
  done++;
}
// Sometimes leave with a ring alive and a read in flight (on a pipe nobody
// writes to): the environment's cleanup hook must cancel it and wait for the
// kernel, without a crash. A strong read keeps the loop alive (so the process
// is ended by process.exit); a weak one must not: then the process has to
// exit by itself, and a watchdog calls it a violation if it does not.
const ending = harness === null ? 'idle' : rng.pick(['idle', 'strong', 'weak']);
if (ending !== 'idle') {
  const [r] = binding.pipe();
  const w = harness.desc;
  w.fill(0, 0, DESC_WORDS);
  w[0] = OP.READ; w[1] = r; w[2] = 0x7ffffff1; w[5] = 0; w[6] = 0; w[7] = 64; w[12] = -1;
  if (ending === 'weak') w[4] = SQE_WEAK;
  harness.descF64[4] = -1;
  harness.ring.submit(1);
  stats.exitWithOpInFlight = ending;
  const info = harness.ring.info();
  if (info.holdsLoop !== (ending === 'strong')) fail(`a ${ending} read in flight, and the ring ${info.holdsLoop ? 'holds' : 'does not hold'} the loop`);
}
stats.ms = Date.now() - started;
stats.iterations = done;
if (ending === 'weak') {
  setTimeout(() => fail('a weak op in flight kept the process alive'), 10_000).unref();
  process.on('exit', (code) => { if (code === 0) process.stdout.write(`${JSON.stringify({ ok: true, stats })}\n`); });
  // ...and the loop must end by itself here.
} else {
  process.stdout.write(`${JSON.stringify({ ok: true, stats })}\n`);
  process.exit(0); // with a strong read in flight the loop would stay alive
}
