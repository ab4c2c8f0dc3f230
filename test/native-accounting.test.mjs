// The native ring's accounting of what is in flight, where the fuzzers found
// it could go wrong: a zero-copy send's notification, weak ops, and the
// socket helpers' close of a ring's own fds. Each test talks to the addon
// directly (the layer whose bookkeeping decides when arena memory is free).
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Ring } from 'safer-ring';
import { ioUringOnly, ringFds } from './helpers/env.mjs';
import { loopbackPair } from './helpers/net.mjs';

const test = ioUringOnly(base);
const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { binding } = require(path.join(root, 'dist', 'src', 'native.js'));
const { Op, DESC_WORDS, COMPLETION_WORDS, SQE_WEAK } = require(path.join(root, 'dist', 'src', 'ring', 'descriptor.js'));

const F_MORE = 2;
const F_NOTIF = 8;
const MSG_WAITALL = 0x100;
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** A NativeRing with one 256 KiB chunk (4 slots of 64 KiB) and a log of every completion it delivers. */
function rawRing() {
  const desc = new Int32Array(8 * DESC_WORDS);
  const comps = new Int32Array(64 * COMPLETION_WORDS);
  const log = [];
  const onComplete = (n) => {
    for (let i = 0; i < n; i++) {
      const b = i * COMPLETION_WORDS;
      log.push({ id: comps[b], res: comps[b + 2], flags: comps[b + 3] });
    }
  };
  const ring = new binding.NativeRing(8, 0, 0, desc, comps, new Int32Array(3), onComplete);
  const memory = new Uint8Array(new SharedArrayBuffer(4 * 65536));
  ring.addChunk(0, memory, 65536);
  let nextId = 1;
  const f64 = new Float64Array(desc.buffer);
  /** Submits descriptors (fields by name) in one submit; returns their ids. */
  const submitAll = (ops) => ops.map(({ op, fd = -1, slot = -1, len = 0, flags = 0, sqe = 0, pos = -1, cancelId = 0 }, i) => {
    const d = i * DESC_WORDS;
    desc.fill(0, d, d + DESC_WORDS);
    const id = nextId++;
    desc[d] = op; desc[d + 1] = fd; desc[d + 2] = id; desc[d + 4] = sqe;
    desc[d + 5] = slot < 0 ? -1 : 0; desc[d + 6] = slot < 0 ? 0 : slot * 65536; desc[d + 7] = len;
    f64[(d >> 1) + 4] = pos;
    desc[d + 10] = flags; desc[d + 12] = -1; desc[d + 13] = cancelId;
    return id;
  }).map((id, _i, ids) => {
    if (id === ids[0]) ring.submit(ids.length);
    return id;
  });
  const submit = (op) => submitAll([op])[0];
  const until = async (what, done, ms = 5000) => {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end) assert.unreachable(`timed out waiting for ${what}: ${JSON.stringify(log)}`);
      await sleep(2);
    }
  };
  return { ring, log, submit, submitAll, until, onComplete };
}

test('a zero-copy send cancelled by its failed link stays in flight until its notification, which is counted once (regression)', async () => {
  if (binding.probe().SEND_ZC !== true) return; // the kernel has no zero-copy send (before 6.0)
  const setup = new Ring(8);
  const [server, client] = await loopbackPair(setup);
  await setup.close();
  const [pipeR, pipeW] = binding.pipe();
  const r = rawRing();
  try {
    // A read nobody answers yet; then a chain whose first op fails, so the kernel cancels the
    // zero-copy send linked to it: its -ECANCELED result comes without F_MORE (Linux 6.x) and its
    // notification after it.
    const readId = r.submit({ op: Op.READ, fd: pipeR, slot: 2, len: 16 });
    const [failing, zcId] = r.submitAll([
      { op: Op.READ, fd: 999_999, slot: 1, len: 16, sqe: 1 /* SQE_LINK */ },
      { op: Op.SEND_ZC, fd: client, slot: 0, len: 4096, flags: MSG_WAITALL },
    ]);
    await r.until('the notification', () => r.log.some((c) => c.id === zcId && (c.flags & F_NOTIF)));
    await sleep(20);
    assert.is(r.log.find((c) => c.id === failing).res, -9); // EBADF
    const cqes = r.log.filter((c) => c.id === zcId);
    // The result is passed on as one more CQE to come: the memory is the kernel's until the notification.
    assert.is(cqes.length, 2, JSON.stringify(cqes));
    assert.ok(cqes[0].flags & F_MORE, `result ${JSON.stringify(cqes[0])} says a notification follows`);
    assert.is(cqes[0].res, -125); // ECANCELED
    assert.ok((cqes[1].flags & F_NOTIF) && !(cqes[1].flags & F_MORE));
    // Only the pipe read is left: before the fix the notification was counted as a second completion.
    assert.is(r.ring.inFlight(), 1);
    assert.throws(() => r.ring.destroy(), (err) => err.code === 'ERR_RING_BUSY');
    fs.writeSync(pipeW, 'x');
    await r.until('the read', () => r.log.some((c) => c.id === readId));
    assert.is(r.ring.inFlight(), 0);
  } finally {
    r.ring.destroy();
    for (const fd of [server, client, pipeR, pipeW]) fs.closeSync(fd);
  }
});

test('weak ops are counted apart: only ops that are not weak hold the event loop', async () => {
  const r = rawRing();
  const [pipeR, pipeW] = binding.pipe();
  try {
    const weak = r.submit({ op: Op.READ, fd: pipeR, slot: 0, len: 16, sqe: SQE_WEAK });
    assert.equal([r.ring.info().weakInFlight, r.ring.info().holdsLoop], [1, false]);
    const strong = r.submit({ op: Op.READ, fd: pipeR, slot: 1, len: 16 });
    assert.equal([r.ring.info().weakInFlight, r.ring.info().holdsLoop], [1, true]);
    fs.writeSync(pipeW, 'a');
    await r.until('one read', () => r.log.length === 1);
    fs.writeSync(pipeW, 'b');
    await r.until('both reads', () => r.log.length === 2);
    assert.equal(r.log.map((c) => c.id).sort(), [weak, strong].sort());
    assert.equal([r.ring.inFlight(), r.ring.info().weakInFlight, r.ring.info().holdsLoop], [0, 0, false]);
  } finally {
    r.ring.destroy();
    fs.closeSync(pipeR);
    fs.closeSync(pipeW);
  }
});

test('a process whose only op in flight is weak exits by itself; with a strong one it waits', () => {
  const script = (sqe) => `
    const { binding } = require(${JSON.stringify(path.join(root, 'dist', 'src', 'native.js'))});
    const desc = new Int32Array(16), comps = new Int32Array(16);
    const cb = () => {};
    const ring = new binding.NativeRing(4, 0, 0, desc, comps, new Int32Array(3), cb);
    ring.addChunk(0, new Uint8Array(new SharedArrayBuffer(4096)), 4096);
    const [r] = binding.pipe();
    desc.fill(0); desc[0] = 1; desc[1] = r; desc[2] = 1; desc[4] = ${sqe}; desc[5] = 0; desc[7] = 16; desc[12] = -1;
    new Float64Array(desc.buffer)[4] = -1;
    ring.submit(1);
    globalThis.keep = [ring, cb];
    process.on('exit', () => console.log('exited'));`;
  const weak = spawnSync(process.execPath, ['-e', script(SQE_WEAK)], { encoding: 'utf8', timeout: 20_000 });
  assert.is(weak.status, 0, weak.stderr);
  assert.match(weak.stdout, /exited/);
  const strong = spawnSync(process.execPath, ['-e', script(0)], { encoding: 'utf8', timeout: 2_000 });
  assert.is(strong.signal, 'SIGTERM', 'a strong read kept the process alive until the timeout');
});

test('the socket helpers\' close() leaves a ring\'s own io_uring fd and eventfd open (regression)', async () => {
  // The ring's fds: io_uring and eventfd fds that were not there before (the listing's own fd may be reused).
  const ringKinds = () => new Map(fs.readdirSync('/proc/self/fd').map((f) => {
    try { return [f, fs.readlinkSync(`/proc/self/fd/${f}`)]; } catch { return [f, '']; }
  }).filter(([, target]) => /anon_inode:\[(io_uring|eventfd)\]/.test(target)));
  const before = ringKinds();
  const r = rawRing();
  const own = [...ringKinds()].filter(([f, target]) => before.get(f) !== target).map(([f]) => Number(f));
  assert.is(own.length, 2);
  assert.ok(own.some((fd) => ringFds().includes(fd)));
  try {
    for (const fd of own) {
      assert.is(binding.close(fd), -9); // EBADF: not the caller's to close
      assert.match(fs.readlinkSync(`/proc/self/fd/${fd}`), /anon_inode/);
    }
    // The ring still works: a nop completes.
    const id = r.submit({ op: Op.NOP });
    await r.until('the nop', () => r.log.some((c) => c.id === id));
  } finally {
    r.ring.destroy();
  }
});

test.run();
