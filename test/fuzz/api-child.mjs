#!/usr/bin/env node
// API sequence fuzzer: random interleavings of public API calls, generated
// and shrunk by fast-check (model-based: fc.commands), one run per sequence.
//
//   SAFER_RING_BACKEND=io_uring|fallback node --expose-gc test/fuzz/api-child.mjs --seed N [--runs N] [--steps N] [--time-ms N]
//
// Commands: reads (owned, lent arena views, copied plain memory, views whose
// `length` lies, readv, pooled buffers) from a file and from a pipe, writes
// to a file, through a Ring and through a Runtime; aborts (at once or a turn
// later); releases; pool get/return; transfers to a worker thread that claims
// the buffer, writes it and sends it back (with double and forged claims that
// must be refused); readOwnedMany/writeOwnedMany calls (with the same buffer
// twice or a released one among them, which must refuse the whole call);
// ring close, runtime close/terminate and worker kills.
//
// Checked after every command: each completed read returned exactly the bytes
// on disk (or the next bytes of the pipe's stream), each completed write put
// its bytes on disk; sentinel buffers allocated among the op buffers are
// untouched; no slot has two owners (live handles, sentinels, and memory held
// by ops in flight never share a slot); every refusal has a code. At the end
// of each sequence: every promise settled, every slot is free again (arena
// stats) and no fd leaked (/proc/self/fd).
// Prints one JSON line; exits 1 with the shrunk counterexample on failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { Ring, Runtime, OwnedBuffer, BufferPool, SaferRingError, Batch, Operation, createPipe } from 'safer-ring';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const seed = Number(args.seed ?? 1) | 0;
const runs = Number(args.runs ?? 10);
const steps = Number(args.steps ?? 25);
const timeMs = Number(args['time-ms'] ?? 0);
const backend = process.env.SAFER_RING_BACKEND ?? 'io_uring';

const SENTINEL = 0xa5;
const FILE_SIZE = 256 * 1024;
const REGION = 16 * 1024; // the write file is cut into regions; one write in flight per region
const REGIONS = 16;
const POOL_SIZE = 4096;
const SETTLE_MS = 15_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-apifuzz-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const fileBytes = Buffer.alloc(FILE_SIZE);
for (let i = 0; i < FILE_SIZE; i++) fileBytes[i] = (i * 31 + 7) & 255;
fs.writeFileSync(path.join(dir, 'content'), fileBytes);
const streamByte = (i) => (i * 7 + 3) & 255;

class Liar extends Uint8Array {
  get length() { return 65536; }
  get byteLength() { return 65536; }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const openFds = () => fs.readdirSync('/proc/self/fd').length;

// ------------------------------------------------------------------ the transfer partner: a plain worker thread
const partnerCode = `
const { parentPort } = require('node:worker_threads');
const { OwnedBuffer } = require(${JSON.stringify(path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..'))});
parentPort.on('message', ({ token, fill, forged }) => {
  const refusals = [];
  for (const f of forged) {
    try { OwnedBuffer.claim(f); refusals.push('accepted'); } catch (err) { refusals.push(err.code ?? 'no code'); }
  }
  const buf = OwnedBuffer.claim(token);
  let second;
  try { OwnedBuffer.claim(token); second = 'accepted'; } catch (err) { second = err.code ?? 'no code'; }
  buf.bytes.fill(fill);
  parentPort.postMessage({ token: buf.transfer(), refusals, second, length: buf.length });
});
`;

// ------------------------------------------------------------------ the world: the system under test and what we expect of it
class World {
  constructor() {
    this.violations = [];
    this.pending = new Set(); // every promise an op returned, until it settles
    this.live = []; // live handles we hold: { buf, pooled }
    this.sentinels = [];
    this.inFlight = new Map(); // op -> { slots: [key], owner?: buf }
    this.pipeCursorRead = 0; // stream bytes consumed by completed pipe reads
    this.pipeWritten = 0;
    this.pipeReadPending = false;
    this.pipeCut = null; // fallback: the thread whose pipe read was cut (its bytes are kept there)
    this.runtimeGeneration = 0; // bumped when a runtime ends or loses a worker
    this.regionBusy = new Array(REGIONS).fill(false);
    this.ring = null;
    this.runtime = null;
    this.pool = new BufferPool(4, POOL_SIZE);
    this.contentFd = fs.openSync(path.join(dir, 'content'), 'r');
    this.writeFd = fs.openSync(path.join(dir, `write-${Math.random()}`), 'w+');
    [this.pipeR, this.pipeW] = createPipe();
    this.log = [];
  }

  violation(what, extra) {
    this.violations.push({ what, ...extra, log: this.log.slice(-12) });
  }

  getRing() {
    return (this.ring ??= new Ring(rngEntries()));
  }

  getRuntime() {
    return (this.runtime ??= new Runtime({ workers: 2, entries: 16 }));
  }

  /** A sentinel next to the op buffers: same size class, so it lands among their slots. */
  sentinel(size) {
    const s = new OwnedBuffer(size);
    s.bytes.fill(SENTINEL);
    this.sentinels.push(s);
  }

  newOwned(size) {
    const buf = new OwnedBuffer(size);
    this.sentinel(size);
    return buf;
  }

  track(promise, hold) {
    const p = Promise.resolve(promise);
    this.pending.add(p);
    if (hold !== undefined) this.inFlight.set(p, hold);
    const done = () => { this.pending.delete(p); this.inFlight.delete(p); };
    p.then(done, done);
    return p;
  }

  checkRefusal(err, what) {
    if (!(err instanceof Error) || typeof err.code !== 'string') this.violation(`${what}: rejected without a code`, { error: String(err?.stack ?? err) });
    else if (!(err instanceof SaferRingError)) this.violation(`${what}: an error that is not a SaferRingError`, { code: err.code });
  }

  /** After every command. */
  checkInvariants() {
    for (const s of this.sentinels) {
      if (!s.isValid) { this.violation('a sentinel handle died'); continue; }
      const bad = s.bytes.findIndex((b) => b !== SENTINEL);
      if (bad >= 0) this.violation('a sentinel buffer changed', { offset: bad, value: s.bytes[bad] });
    }
    const owners = new Map();
    const claim = (key, who) => {
      const other = owners.get(key);
      if (other !== undefined && other !== who) this.violation('a slot has two owners', { key, a: other.kind, b: who.kind });
      owners.set(key, who);
    };
    for (const s of this.sentinels) claim(slotKey(s.bytes), { kind: 'sentinel' });
    for (const h of this.live) {
      if (!h.buf.isValid) continue; // released or moved by a command: dropped from the list below
      claim(slotKey(h.buf.bytes), { kind: h.pooled ? 'pooled' : 'owned', h });
    }
    for (const hold of this.inFlight.values()) {
      for (const key of hold.slots) {
        const other = owners.get(key);
        // A lent view's own handle stays live while its memory is lent: that is the one allowed sharer.
        const lender = other?.h?.buf;
        if (other !== undefined && lender !== hold.owner && !(hold.owners?.includes(lender) ?? false)) {
          this.violation('memory held by an op in flight is also a live handle\'s', { key, kind: other.kind });
        }
      }
    }
    this.live = this.live.filter((h) => h.buf.isValid);
  }
}

let entriesChoice = 8;
const rngEntries = () => entriesChoice;

/** A slot's identity: its chunk and the offset of its first byte (arena views start at their slot). */
const chunkIds = new WeakMap();
let nextChunkId = 1;
function slotKey(bytes) {
  let id = chunkIds.get(bytes.buffer);
  if (id === undefined) chunkIds.set(bytes.buffer, (id = nextChunkId++));
  return `${id}:${bytes.byteOffset}`;
}

// ------------------------------------------------------------------ commands
const via = fc.constantFrom('ring', 'runtime');
const abortMode = fc.constantFrom('none', 'none', 'now', 'later');

function withAbort(world, mode, start) {
  if (mode === 'none') return start(undefined);
  const ac = new AbortController();
  const p = start(ac.signal);
  if (mode === 'now') ac.abort();
  else setImmediate(() => ac.abort());
  return p;
}

/** How a read's outcome is judged: resolved reads must carry the right bytes; rejections must be coded. */
function judgeRead(world, p, target, expectPos, thread, what, onBytes) {
  return p.then(
    (res) => {
      const got = onBytes(res);
      // A number: that many bytes arrived, in memory its owner already released (not checkable).
      if (typeof got === 'number') {
        if (target === 'pipe') world.pipeCursorRead += got;
        return;
      }
      if (target === 'file') {
        const want = fileBytes.subarray(expectPos, expectPos + got.length);
        if (!Buffer.from(got).equals(want)) world.violation(`${what}: bytes differ from the file`, { pos: expectPos, n: got.length });
      } else {
        // On the fallback, bytes a cut read took on one thread are kept for that thread's next read
        // (docs/fallback.md): read on another thread, the stream may skip them, never reorder them.
        if (world.pipeCut !== null && world.pipeCut !== thread && got.length > 0) {
          let k = world.pipeCursorRead;
          while (streamByte(k) !== got[0]) k++;
          world.pipeCursorRead = k;
        }
        world.pipeCut = null;
        for (let i = 0; i < got.length; i++) {
          if (got[i] !== streamByte(world.pipeCursorRead + i)) { world.violation(`${what}: pipe bytes out of order or lost`, { at: world.pipeCursorRead + i }); break; }
        }
        world.pipeCursorRead += got.length;
      }
    },
    (err) => {
      world.checkRefusal(err, what);
      if (target === 'pipe' && backend === 'fallback') world.pipeCut = world.pipeEverCut = thread;
    },
  );
}

class ReadCommand {
  constructor(p) { this.p = p; }
  toString() { return `read(${JSON.stringify(this.p)})`; }
  check(w) { return this.p.target === 'file' || !w.pipeReadPending; }
  async run(w) {
    const { through, target, kind, size, posFrac, abort } = this.p;
    w.log.push(this.toString());
    const rt = through === 'ring' ? w.getRing() : w.getRuntime();
    const thread = through === 'ring' ? 'main' : `runtime${w.runtimeGeneration}`;
    const fd = target === 'file' ? w.contentFd : w.pipeR;
    const pos = target === 'file' ? Math.floor(posFrac * FILE_SIZE) : undefined;
    const opts = (signal) => ({ ...(pos === undefined ? {} : { position: pos }), signal });
    const want = target === 'file' ? FILE_SIZE - pos : null; // bytes left in the file from pos
    let p;
    let hold;
    let view = null;
    let lenOfView = size;
    const checkLen = (n, max) => {
      if (!(Number.isInteger(n) && n >= 0 && n <= max)) w.violation(`read(${kind}): bytesRead ${n} outside 0..${max}`);
      if (want !== null && n !== Math.min(want, max)) w.violation(`read(${kind}): a file read came back short`, { n, want: Math.min(want, max) });
    };
    if (kind === 'owned' || kind === 'pooled') {
      const buf = kind === 'pooled' ? w.pool.get() : w.newOwned(size);
      if (buf === undefined) return; // pool empty
      const key = slotKey(buf.bytes);
      const max = buf.length;
      p = withAbort(w, abort, (signal) => rt.readOwned(fd, buf, opts(signal)));
      hold = { slots: [key] };
      judgeRead(w, p, target, pos, thread, `readOwned(${kind})`, (res) => {
        checkLen(res.bytesRead, max);
        if (!res.buffer.isValid) w.violation('readOwned returned a dead handle');
        if (slotKey(res.buffer.bytes) !== key) w.violation('readOwned returned a handle on another slot');
        w.live.push({ buf: res.buffer, pooled: kind === 'pooled' });
        return res.buffer.bytes.subarray(0, res.bytesRead);
      });
      // An aborted or failed op gives the buffer up: it goes home (the caller gave it up).
    } else if (kind === 'lent' || kind === 'lying-lent') {
      const owner = w.newOwned(size + 64);
      w.live.push({ buf: owner, pooled: false });
      const start = Math.min(32, size);
      view = kind === 'lent' ? owner.bytes.subarray(start, start + size) : new Liar(owner.bytes.buffer, owner.bytes.byteOffset + start, size);
      lenOfView = size;
      // The bytes outside the view are sentinel too: the op must not touch them.
      owner.bytes.fill(SENTINEL);
      const real = new Uint8Array(owner.bytes.buffer, owner.bytes.byteOffset, owner.length);
      p = withAbort(w, abort, (signal) => rt.read(fd, view, opts(signal)));
      hold = { slots: [slotKey(owner.bytes)], owner };
      judgeRead(w, p, target, pos, thread, `read(${kind})`, (res) => {
        checkLen(res.bytesRead, lenOfView);
        if (!owner.isValid) return res.bytesRead; // released meanwhile by a command
        if (real.subarray(0, start).some((b) => b !== SENTINEL) || real.subarray(start + res.bytesRead).some((b) => b !== SENTINEL)) {
          w.violation(`read(${kind}): bytes outside the view or past bytesRead changed`);
        }
        return real.subarray(start, start + res.bytesRead);
      });
    } else if (kind === 'copy' || kind === 'lying-copy') {
      const plain = Buffer.alloc(size + 64, SENTINEL);
      view = kind === 'copy' ? plain.subarray(32, 32 + size) : new Liar(plain.buffer, plain.byteOffset + 32, size);
      p = withAbort(w, abort, (signal) => rt.read(fd, view, opts(signal)));
      hold = { slots: [] };
      judgeRead(w, p, target, pos, thread, `read(${kind})`, (res) => {
        checkLen(res.bytesRead, size);
        if (plain.subarray(0, 32).some((b) => b !== SENTINEL) || plain.subarray(32 + res.bytesRead).some((b) => b !== SENTINEL)) {
          w.violation(`read(${kind}): bytes outside the view or past bytesRead changed`);
        }
        return plain.subarray(32, 32 + res.bytesRead);
      });
    } else {
      // readv: a plain buffer, an arena view and an empty one.
      const owner = w.newOwned(size);
      w.live.push({ buf: owner, pooled: false });
      const parts = [Buffer.alloc(Math.max(1, size >> 1)), owner.bytes, new Uint8Array(0)];
      const total = parts.reduce((n, b) => n + b.length, 0);
      p = withAbort(w, abort, (signal) => rt.readv(fd, parts, opts(signal)));
      hold = { slots: [slotKey(owner.bytes)], owner };
      const wantV = target === 'file' ? Math.min(total, FILE_SIZE - pos) : null;
      judgeRead(w, p, target, pos, thread, 'readv', (res) => {
        if (!(res.bytesRead >= 0 && res.bytesRead <= total)) w.violation('readv: bytesRead out of range', { n: res.bytesRead });
        if (wantV !== null && res.bytesRead !== wantV) w.violation('readv: a file read came back short', { n: res.bytesRead, want: wantV });
        if (!owner.isValid) return res.bytesRead;
        return Buffer.concat(parts.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))).subarray(0, res.bytesRead);
      });
    }
    if (target === 'pipe') {
      w.pipeReadPending = true;
      const clear = () => { w.pipeReadPending = false; };
      p.then(clear, clear);
    }
    w.track(p, hold);
  }
}

class WriteCommand {
  constructor(p) { this.p = p; }
  toString() { return `write(${JSON.stringify(this.p)})`; }
  check(w) { return !w.regionBusy[this.p.region]; }
  async run(w) {
    const { through, kind, size, region, fill, abort } = this.p;
    w.log.push(this.toString());
    const rt = through === 'ring' ? w.getRing() : w.getRuntime();
    const pos = region * REGION;
    const data = Buffer.alloc(size, fill);
    let p;
    let hold = { slots: [] };
    if (kind === 'owned') {
      const buf = w.newOwned(size);
      buf.bytes.set(data);
      hold = { slots: [slotKey(buf.bytes)] };
      p = withAbort(w, abort, (signal) => rt.writeOwned(w.writeFd, buf, { position: pos, signal }));
      // The hold ends when the op settles, before anything else sees the returned handle.
      w.track(p, hold);
      p = p.then((res) => {
        w.live.push({ buf: res.buffer, pooled: false });
        return res;
      });
    } else if (kind === 'lent') {
      const owner = w.newOwned(size);
      owner.bytes.set(data);
      w.live.push({ buf: owner, pooled: false });
      hold = { slots: [slotKey(owner.bytes)], owner };
      p = withAbort(w, abort, (signal) => rt.write(w.writeFd, owner.bytes, { position: pos, signal }));
    } else {
      p = withAbort(w, abort, (signal) => rt.write(w.writeFd, Buffer.from(data), { position: pos, signal }));
    }
    w.regionBusy[region] = true;
    const judged = p.then(
      (res) => {
        if (res.bytesWritten !== size) w.violation('write: short write to a file', { n: res.bytesWritten, size });
        const back = Buffer.alloc(size);
        fs.readSync(w.writeFd, back, 0, size, pos);
        if (!back.equals(data)) w.violation('write: the bytes on disk differ from the bytes written', { pos, size });
      },
      (err) => w.checkRefusal(err, 'write'),
    ).finally(() => { w.regionBusy[region] = false; });
    if (kind !== 'owned') w.track(p, hold);
    w.track(judged);
  }
}

/**
 * readOwnedMany / writeOwnedMany: N file reads or writes in one call, with
 * owned buffers (a fresh one, a pooled one, sometimes the same one twice or
 * one already moved, which must refuse the whole call and move nothing).
 * Resolved: every buffer is back, live, on its own slot, in order, holding
 * the file's bytes (reads) or having put them on disk (writes). Rejected: a
 * coded error, and every buffer the call took is given up.
 */
class ManyCommand {
  constructor(p) { this.p = p; }
  toString() { return `many(${JSON.stringify(this.p)})`; }
  check(w) { return !this.p.write || this.p.ops.every((o) => !w.regionBusy[o.region]); }
  async run(w) {
    const { through, write, ops, misuse, abort } = this.p;
    w.log.push(this.toString());
    const rt = through === 'ring' ? w.getRing() : w.getRuntime();
    const bufs = [];
    for (const o of ops) {
      const b = o.pooled ? w.pool.get() : w.newOwned(o.size);
      if (b === undefined) { for (const x of bufs) x.release(); return; } // pool empty
      bufs.push(b);
    }
    const positions = ops.map((o) => (write ? o.region * REGION : Math.floor(o.posFrac * FILE_SIZE)));
    const datas = ops.map((o, i) => Buffer.alloc(Math.min(bufs[i].length, REGION), o.fill));
    if (write) bufs.forEach((b, i) => b.bytes.set(datas[i].subarray(0, b.length)));
    let given = bufs;
    if (misuse === 'twice' && bufs.length > 1) given = [...bufs.slice(0, -1), bufs[0]];
    else if (misuse === 'moved') {
      const dead = w.newOwned(16);
      dead.release(); // a handle that no longer owns anything
      given = [...bufs, dead];
      positions.push(0);
    }
    const keys = given.map((b) => (b.isValid ? slotKey(b.bytes) : null));
    const lengths = given.map((b) => (b.isValid ? b.length : 0));
    const refused = given !== bufs;
    let p;
    try {
      p = withAbort(w, abort, (signal) => (write ? rt.writeOwnedMany(w.writeFd, given, positions, { signal }) : rt.readOwnedMany(w.contentFd, given, positions, { signal })));
    } catch (err) {
      w.violation('readOwnedMany/writeOwnedMany threw instead of rejecting', { error: String(err?.stack ?? err) });
      return;
    }
    if (write) for (const o of ops) w.regionBusy[o.region] = true;
    const hold = { slots: keys.filter((k) => k !== null) };
    w.track(p, hold);
    const judged = p.then(
      (res) => {
        if (refused) { w.violation('a call with a buffer twice or a moved buffer was accepted'); return; }
        const counts = write ? res.bytesWritten : res.bytesRead;
        res.buffers.forEach((b, i) => {
          if (!b.isValid) { w.violation('many: a dead handle came back'); return; }
          if (slotKey(b.bytes) !== keys[i]) w.violation('many: a handle came back on another slot', { i });
          w.live.push({ buf: b, pooled: ops[i]?.pooled ?? false });
          if (write) {
            if (counts[i] !== lengths[i]) w.violation('writeOwnedMany: a short write to a file', { i, n: counts[i] });
            const back = Buffer.alloc(lengths[i]);
            fs.readSync(w.writeFd, back, 0, lengths[i], positions[i]);
            if (!back.equals(datas[i].subarray(0, lengths[i]))) w.violation('writeOwnedMany: the bytes on disk differ', { i });
          } else {
            const want = fileBytes.subarray(positions[i], positions[i] + lengths[i]);
            if (counts[i] !== want.length) w.violation('readOwnedMany: a file read came back short', { i, n: counts[i], want: want.length });
            if (!Buffer.from(b.bytes.subarray(0, counts[i])).equals(want.subarray(0, counts[i]))) w.violation('readOwnedMany: bytes differ from the file', { i });
          }
        });
      },
      (err) => {
        w.checkRefusal(err, write ? 'writeOwnedMany' : 'readOwnedMany');
        if (refused) {
          // Refused before anything moved: the caller still owns every valid buffer.
          bufs.forEach((b, i) => { if (b.isValid) w.live.push({ buf: b, pooled: ops[i].pooled }); });
          if (bufs.some((b) => !b.isValid)) w.violation('many: a refused call moved a buffer');
        } else if (bufs.some((b) => b.isValid)) {
          w.violation('many: a failed call left a buffer it took alive in the caller\'s hands');
        }
      },
    ).finally(() => { if (write) for (const o of ops) w.regionBusy[o.region] = false; });
    w.track(judged);
  }
}

/**
 * A Batch of file reads (owned, lent, copied, lying buffers), some linked to
 * the one before, sometimes with a read of a closed fd among them. A linked
 * read whose predecessor failed or came back short completes with ECANCELED;
 * every other read returns the file's bytes.
 */
class BatchCommand {
  constructor(p) { this.p = p; }
  toString() { return `batch(${JSON.stringify(this.p)})`; }
  check() { return true; }
  async run(w) {
    w.log.push(this.toString());
    const rt = this.p.through === 'ring' ? w.getRing() : w.getRuntime();
    const batch = new Batch();
    const plan = [];
    const hold = { slots: [], owners: [] };
    for (const [i, o] of this.p.ops.entries()) {
      const pos = Math.floor(o.posFrac * FILE_SIZE);
      let buffer;
      let bytesOf;
      let len = o.size;
      if (o.kind === 'owned') {
        buffer = w.newOwned(o.size);
        hold.slots.push(slotKey(buffer.bytes));
        bytesOf = (v) => { w.live.push({ buf: v.buffer, pooled: false }); return v.buffer.bytes; };
      } else if (o.kind === 'lent') {
        const owner = w.newOwned(o.size);
        w.live.push({ buf: owner, pooled: false });
        hold.slots.push(slotKey(owner.bytes));
        hold.owners.push(owner);
        buffer = owner.bytes;
        const real = new Uint8Array(owner.bytes.buffer, owner.bytes.byteOffset, owner.length);
        bytesOf = () => (owner.isValid ? real : null);
      } else {
        const plain = Buffer.alloc(o.size);
        buffer = o.kind === 'lying' ? new Liar(plain.buffer, plain.byteOffset, o.size) : plain;
        bytesOf = () => plain;
      }
      const fd = o.badFd ? 999_999 : w.contentFd;
      const link = i > 0 && o.link;
      batch.add(Operation.read().fd(fd).buffer(buffer).offset(pos), link ? { dependsOnPrevious: true } : undefined);
      plan.push({ pos, len, link, badFd: o.badFd, bytesOf });
    }
    const p = rt.submitBatch(batch);
    w.track(p, hold);
    const tooBig = plan.length > (this.p.through === 'ring' ? entriesChoice : 16); // refused whole, documented
    const judged = p.then(({ results }) => {
      let previousFailed = false;
      if (tooBig) {
        if (!results.every((r) => r.status === 'rejected' && r.reason?.code === 'ERR_OUT_OF_RANGE')) w.violation('batch: a batch larger than the ring was not refused whole');
        return;
      }
      results.forEach((r, i) => {
        const step = plan[i];
        if (r.status === 'rejected') {
          w.checkRefusal(r.reason, `batch op ${i}`);
          const code = r.reason?.code;
          if (step.badFd && code !== 'EBADF' && code !== 'ECANCELED' && code !== 'ERR_RING_CLOSED' && code !== 'ERR_WORKER_DIED') w.violation('batch: a read of a closed fd did not fail with EBADF', { code });
          if (!step.badFd && !['ECANCELED', 'ERR_RING_CLOSED', 'ERR_WORKER_DIED', 'ABORT_ERR'].includes(code)) w.violation('batch: a good read failed', { i, code });
          if (code === 'ECANCELED' && !(step.link && previousFailed)) w.violation('batch: ECANCELED without a failed predecessor in its chain', { i });
          previousFailed = true;
          return;
        }
        if (step.badFd) w.violation('batch: a read of a closed fd succeeded', { i });
        if (step.link && previousFailed) w.violation('batch: a linked read ran after its predecessor failed', { i });
        const want = Math.min(step.len, FILE_SIZE - step.pos);
        if (r.value.bytesRead !== want) w.violation('batch: a file read came back short', { i, n: r.value.bytesRead, want });
        const bytes = step.bytesOf(r.value);
        if (bytes !== null && !Buffer.from(bytes.buffer, bytes.byteOffset, r.value.bytesRead).equals(fileBytes.subarray(step.pos, step.pos + r.value.bytesRead))) {
          w.violation('batch: bytes differ from the file', { i });
        }
        previousFailed = r.value.bytesRead < step.len; // a short read breaks a chain
      });
    }, (err) => w.checkRefusal(err, 'submitBatch'));
    w.track(judged);
  }
}

class PipeFeedCommand {
  constructor(n) { this.n = n; }
  toString() { return `pipeFeed(${this.n})`; }
  check(w) { return w.pipeWritten - w.pipeCursorRead + this.n <= 48 * 1024; }
  async run(w) {
    w.log.push(this.toString());
    feedPipe(w, this.n);
  }
}

function feedPipe(w, n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = streamByte(w.pipeWritten + i);
  fs.writeSync(w.pipeW, b);
  w.pipeWritten += n;
}

class ReleaseCommand {
  constructor(i) { this.i = i; }
  toString() { return `release(${this.i})`; }
  check(w) { return w.live.length > 0; }
  async run(w) {
    w.log.push(this.toString());
    const h = w.live[this.i % w.live.length];
    h.buf.release();
    h.buf.release(); // twice: a no-op
    if (h.buf.isValid) w.violation('a released handle is still valid');
  }
}

class PoolCommand {
  constructor(get) { this.get = get; }
  toString() { return `pool.${this.get ? 'get' : 'return'}()`; }
  check() { return true; }
  async run(w) {
    w.log.push(this.toString());
    if (this.get) {
      const b = w.pool.get();
      if (b !== undefined) w.live.push({ buf: b, pooled: true });
      const st = w.pool.stats();
      if (st.available + st.inUse !== st.total) w.violation('pool counts do not add up', st);
    } else {
      const h = w.live.find((x) => x.pooled && x.buf.isValid);
      if (h !== undefined) h.buf.release();
    }
  }
}

let partner = null;
function getPartner() {
  if (partner === null) {
    partner = new Worker(partnerCode, { eval: true });
    partner.unref();
  }
  return partner;
}

class TransferCommand {
  constructor(p) { this.p = p; }
  toString() { return `transfer(${JSON.stringify(this.p)})`; }
  check(w) { return w.live.some((h) => !h.pooled && h.buf.isValid); }
  async run(w) {
    w.log.push(this.toString());
    const candidates = w.live.filter((h) => !h.pooled && h.buf.isValid);
    const h = candidates[this.p.i % candidates.length];
    let token;
    try {
      token = h.buf.transfer();
    } catch (err) {
      // Refused while its memory is lent to an op in flight: fine, if coded.
      w.checkRefusal(err, 'transfer');
      if (err.code !== 'ERR_BUFFER_BUSY') w.violation('transfer refused with an unexpected code', { code: err.code });
      return;
    }
    if (h.buf.isValid) w.violation('a transferred handle is still valid');
    // Forged tokens, each refused on the worker: a longer length, a foreign slot, garbage.
    const forged = [
      { ...token, length: token.length * 4 + 4096 },
      { ...token, slotIndex: 1e9 },
      { ...token, nonce: 'x' },
      { ...token, origin: null },
    ];
    const port = getPartner();
    port.ref(); // an unreferenced worker would let the process exit while we wait for it
    const reply = await new Promise((resolve) => {
      port.once('message', resolve);
      port.postMessage({ token, fill: this.p.fill, forged });
    });
    port.unref();
    for (const r of reply.refusals) if (!/^ERR_/.test(r)) w.violation('a forged token was not refused with a code', { got: r });
    if (reply.second !== 'ERR_BUFFER_MOVED') w.violation('a second claim of one token was not refused', { got: reply.second });
    // A claim here of the token that already went there must be refused too.
    try { OwnedBuffer.claim(token); w.violation('a token claimed twice across threads'); } catch (err) { w.checkRefusal(err, 'claim twice'); }
    const back = OwnedBuffer.claim(reply.token);
    if (back.length !== token.length || back.bytes.some((b) => b !== this.p.fill)) w.violation('a buffer came back from the worker with other bytes or length');
    w.live.push({ buf: back, pooled: false });
  }
}

class CloseRingCommand {
  constructor(drain) { this.drain = drain; }
  toString() { return `ring.close(${this.drain ? 'after feeding the pipe' : ''})`; }
  check(w) { return w.ring !== null; }
  async run(w) {
    w.log.push(this.toString());
    const ring = w.ring;
    w.ring = null;
    await unblockPipe(w, this.drain);
    const closing = ring.close();
    let extra;
    try { extra = ring.nop(); } catch (err) { w.violation('an op on a closing ring threw synchronously', { error: String(err) }); }
    if (extra !== undefined) await extra.then(() => w.violation('an op on a closing ring resolved'), (err) => { if (err.code !== 'ERR_RING_CLOSED') w.violation('an op on a closing ring: wrong code', { code: err.code }); });
    await settleWithin(w, closing, 'ring.close()');
  }
}

class RuntimeEndCommand {
  constructor(how) { this.how = how; }
  toString() { return `runtime.${this.how}()`; }
  check(w) { return w.runtime !== null; }
  async run(w) {
    w.log.push(this.toString());
    await unblockPipe(w, this.how === 'close');
    w.runtimeGeneration++;
    if (this.how === 'kill') {
      const workers = w.runtime.workerThreads();
      await settleWithin(w, workers[0].terminate(), 'worker.terminate()');
      return;
    }
    const rt = w.runtime;
    w.runtime = null;
    await settleWithin(w, this.how === 'close' ? rt.close() : rt.terminate(), `runtime.${this.how}()`);
  }
}

/**
 * A draining close waits for every accepted op (documented: no timeout), so a
 * pipe read must get data first. On the fallback, a pipe read also holds one
 * of libuv's pool threads until data comes, which a closing ring or dying
 * worker waits for (docs/safety.md): feed the pipe there too.
 */
async function unblockPipe(w, draining) {
  if ((draining || backend === 'fallback') && w.pipeReadPending && w.pipeWritten - w.pipeCursorRead < 32 * 1024) feedPipe(w, 32 * 1024);
}

async function settleWithin(w, promise, what) {
  let timer;
  const outcome = await Promise.race([
    Promise.resolve(promise).then(() => 'settled', (err) => { w.checkRefusal(err, what); return 'settled'; }),
    new Promise((r) => { timer = setTimeout(() => r('hung'), SETTLE_MS); }),
  ]);
  clearTimeout(timer);
  if (outcome === 'hung') w.violation(`${what} did not settle within ${SETTLE_MS} ms`);
}

// ------------------------------------------------------------------ the property
const readArb = fc.record({
  through: via,
  target: fc.constantFrom('file', 'file', 'pipe'),
  kind: fc.constantFrom('owned', 'pooled', 'lent', 'lying-lent', 'copy', 'lying-copy', 'readv'),
  size: fc.oneof(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 16384 })),
  posFrac: fc.double({ min: 0, max: 0.9999, noNaN: true }),
  abort: abortMode,
}).map((p) => new ReadCommand(p));
const writeArb = fc.record({
  through: via,
  kind: fc.constantFrom('owned', 'lent', 'copy'),
  size: fc.integer({ min: 1, max: REGION }),
  region: fc.integer({ min: 0, max: REGIONS - 1 }),
  fill: fc.integer({ min: 0, max: 255 }),
  abort: abortMode,
}).map((p) => new WriteCommand(p));

const commands = [
  readArb, readArb, readArb, writeArb,
  fc.record({
    through: via,
    ops: fc.array(fc.record({
      kind: fc.constantFrom('owned', 'lent', 'copy', 'lying'),
      size: fc.integer({ min: 1, max: 8192 }),
      posFrac: fc.double({ min: 0, max: 0.9999, noNaN: true }),
      link: fc.boolean(),
      badFd: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
    }), { minLength: 1, maxLength: 5 }),
  }).map((p) => new BatchCommand(p)),
  fc.record({
    through: via,
    write: fc.boolean(),
    ops: fc.uniqueArray(fc.record({
      size: fc.oneof(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 8192 })),
      pooled: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      posFrac: fc.double({ min: 0, max: 0.9999, noNaN: true }),
      region: fc.integer({ min: 0, max: REGIONS - 1 }),
      fill: fc.integer({ min: 0, max: 255 }),
    }), { minLength: 1, maxLength: 6, selector: (o) => o.region }),
    misuse: fc.constantFrom('none', 'none', 'none', 'twice', 'moved'),
    abort: abortMode,
  }).map((p) => new ManyCommand(p)),
  fc.integer({ min: 1, max: 8192 }).map((n) => new PipeFeedCommand(n)),
  fc.nat().map((i) => new ReleaseCommand(i)),
  fc.boolean().map((g) => new PoolCommand(g)),
  fc.record({ i: fc.nat(), fill: fc.integer({ min: 0, max: 255 }) }).map((p) => new TransferCommand(p)),
  fc.boolean().map((d) => new CloseRingCommand(d)),
  fc.constantFrom('close', 'terminate', 'kill').map((h) => new RuntimeEndCommand(h)),
];

let baselineSlots = null;
let baselineFds = null;
let sequences = 0;
let totalSteps = 0;

async function runSequence(cmds, entries) {
  entriesChoice = entries;
  const w = new World();
  const started = Date.now();
  await fc.asyncModelRun(() => ({ model: w, real: w }), {
    [Symbol.iterator]: function* () {
      for (const c of cmds) {
        yield {
          check: (m) => c.check(m),
          run: async (m) => {
            await c.run(m);
            totalSteps++;
            if ((c.cmd ?? c).p?.abort === 'later' || Math.random() < 0.3) await new Promise((r) => setImmediate(r));
            m.checkInvariants();
            if (m.violations.length > 0) throw new Error(JSON.stringify(m.violations[0]));
          },
          toString: () => c.toString(),
        };
      }
    },
  });
  // Shutdown: feed the pipe so a pending read can finish, settle everything, free everything.
  if (w.pipeReadPending) feedPipe(w, 16 * 1024);
  await settleWithin(w, Promise.allSettled([...w.pending]), 'every op promise');
  if (w.pending.size > 0) w.violation('promises still pending at shutdown', { n: w.pending.size });
  w.checkInvariants();
  for (const h of w.live) h.buf.release();
  for (const s of w.sentinels) s.release();
  w.live = [];
  w.sentinels = [];
  if (w.ring !== null) await settleWithin(w, w.ring.close(), 'ring.close()');
  if (w.runtime !== null) await settleWithin(w, w.runtime.close(), 'runtime.close()');
  w.pool.close();
  const slots = probeSlotsInUse();
  fs.closeSync(w.contentFd); fs.closeSync(w.writeFd);
  if (w.pipeEverCut === undefined) {
    fs.closeSync(w.pipeR); fs.closeSync(w.pipeW);
  } else {
    // On the fallback a cancelled read may still be queued in libuv's pool: it runs on the fd
    // *number*, so closing the pipe could let it read from whatever gets that number next
    // (docs/safety.md, "What is not guaranteed"). This pipe stays open for the rest of the run.
    // Such a read also holds one of libuv's four pool threads until it gets
    // bytes or EOF (docs/fallback.md): closing the write end now gives it EOF,
    // or after four such sequences every later fallback op of the run would
    // wait for a thread that never comes. The read end (the number it reads)
    // stays open.
    baselineFds += 1;
    fs.closeSync(w.pipeW);
  }
  if (slots !== baselineSlots) w.violation('slots still in use after shutdown', { slots, baseline: baselineSlots });
  let fds = openFds();
  for (let i = 0; i < 50 && fds > baselineFds; i++) { await sleep(20); fds = openFds(); } // worker rings close as their threads exit
  if (fds > baselineFds) w.violation('fds leaked', { fds, baseline: baselineFds, list: fs.readdirSync('/proc/self/fd').map((f) => { try { return `${f}->${fs.readlinkSync(`/proc/self/fd/${f}`)}`; } catch { return f; } }) });
  sequences++;
  if (w.violations.length > 0) throw new Error(JSON.stringify(w.violations[0]));
  void started;
}

/** Arena slots in use on this thread, as a fresh Ring reports them (then closed: it holds none itself). */
function probeSlotsInUse() {
  const probe = new Ring(1);
  const n = probe.stats().arena.slotsInUse;
  probe.close();
  return n;
}

// Warm up once (a Ring, a Runtime, the pool, the partner) so lazily opened fds are in the baseline.
{
  const w = new World();
  await (await w.getRuntime()).nop();
  await w.getRing().nop();
  getPartner();
  await w.ring.close(); await w.runtime.close(); w.pool.close();
  for (const s of w.sentinels) s.release();
  fs.closeSync(w.contentFd); fs.closeSync(w.writeFd); fs.closeSync(w.pipeR); fs.closeSync(w.pipeW);
  await sleep(100);
  baselineSlots = probeSlotsInUse();
  baselineFds = openFds();
}

const started = Date.now();
const property = fc.asyncProperty(fc.commands(commands, { maxCommands: steps }), fc.constantFrom(1, 2, 4, 8, 64), runSequence);
let result;
if (timeMs > 0) {
  // Time-bounded: one seed after another until the time is spent.
  let s = seed;
  do {
    result = await fc.check(property, { seed: s, numRuns: runs, endOnFailure: true });
    s++;
  } while (!result.failed && Date.now() - started < timeMs);
} else {
  result = await fc.check(property, { seed, numRuns: runs, endOnFailure: true });
}
const stats = { seed, backend, sequences, steps: totalSteps, ms: Date.now() - started };
if (result.failed) {
  process.stdout.write(`${JSON.stringify({ violation: String(result.errorInstance?.stack ?? result.error).slice(0, 4000), counterexample: fc.stringify(result.counterexample).slice(0, 4000), seed: result.seed, path: result.counterexamplePath, stats })}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ ok: true, stats })}\n`);
process.exit(0);
