// The worker-thread runtime. The suite runs once per worker count
// (SAFER_RING_WORKERS = 1, 2, 4: see test/run.mjs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Runtime, OwnedBuffer, Batch, Operation, createPipe, createTcpListener, createTcpSocket } from 'safer-ring';
import { patternFile, pattern, tmpPath, backend, NOT_OPEN_FD } from './helpers/env.mjs';

const workers = Number(process.env.SAFER_RING_WORKERS ?? 2);
const rt = new Runtime({ entries: 32 });
test.after(() => rt.close());

test(`runs ${workers} worker thread(s), each with its own ring`, () => {
  assert.is(rt.workerCount, workers);
  const ids = rt.workerThreads().map((w) => w.threadId);
  assert.is(new Set(ids).size, workers);
});

test('a runtime that has served nothing does not keep the process alive', async () => {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['-e', "const { Runtime } = require('safer-ring'); new Runtime({ workers: 2 }); console.log('exits')"], {
    encoding: 'utf8', timeout: 10_000,
  });
  assert.is(out.trim(), 'exits');
});

test('file ops through the runtime: openat, write, fsync, statx, read, readv, writev, close', async () => {
  const file = tmpPath('rt');
  const fd = await rt.openat(file, 'w+', 0o600);
  const w = await rt.write(fd, Buffer.from('runtime '), { position: 0 });
  assert.is(w.bytesWritten, 8);
  const wo = await rt.writeOwned(fd, OwnedBuffer.from(Buffer.from('owned ')), { position: 8 });
  assert.is(wo.bytesWritten, 6);
  wo.buffer.release();
  const wv = await rt.writev(fd, [Buffer.from('vec'), Buffer.from('tor')], { position: 14 });
  assert.is(wv.bytesWritten, 6);
  await rt.fsync(fd, { datasync: true });
  assert.is((await rt.statx(fd)).size, 20);
  assert.is((await rt.statx(file)).size, 20);
  const buf = Buffer.alloc(20);
  assert.is((await rt.read(fd, buf, { position: 0 })).bytesRead, 20);
  assert.is(buf.toString(), 'runtime owned vector');
  const a = Buffer.alloc(8);
  const b = Buffer.alloc(12);
  assert.is((await rt.readv(fd, [a, b], { position: 0 })).bytesRead, 20);
  assert.is(a.toString() + b.toString(), 'runtime owned vector');
  await rt.closeFd(fd);
  assert.is(fs.readFileSync(file, 'utf8'), 'runtime owned vector');
});

// The fallback backend cannot accept or connect on raw fds (Node has no API for it).
const socketTest = backend === 'fallback' ? test.skip : test;

socketTest('socket ops through the runtime: accept, connect, send, recv', async () => {
  const listener = createTcpListener();
  const client = createTcpSocket();
  const [server] = await Promise.all([rt.accept(listener.fd), rt.connect(client, { host: '127.0.0.1', port: listener.port })]);
  await rt.send(client, Buffer.from('across threads'));
  const got = Buffer.alloc(32);
  const { bytesRead } = await rt.recv(server, got);
  assert.is(got.subarray(0, bytesRead).toString(), 'across threads');
  for (const fd of [server, client, listener.fd]) fs.closeSync(fd);
});

test('an fd opened through a runtime outlives the runtime, and any worker may close one', async () => {
  const file = patternFile(64);
  const other = new Runtime({ workers: 2 });
  const fds = [];
  for (let i = 0; i < 4; i++) fds.push(await other.openat(file));
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    await other.close(fds.pop()); // likely on another worker than the one that opened it
    await other.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const fd of fds) {
      assert.is(fs.readSync(fd, Buffer.alloc(64), 0, 64, 0), 64, `fd ${fd} still open after the runtime closed`);
      fs.closeSync(fd);
    }
  } finally {
    process.off('warning', onWarning);
  }
  assert.equal(warnings.filter((m) => /unmanaged/.test(m)), [], 'no unmanaged-fd warning');
});

test('nop and timeout', async () => {
  assert.is(await rt.nop(), 0);
  const t0 = performance.now();
  await rt.timeout(20);
  assert.ok(performance.now() - t0 >= 15);
});

test('an owned buffer moves main -> worker ring -> main by slot, bytes intact', async () => {
  const file = patternFile(8192);
  const fd = fs.openSync(file, 'r');
  const buf = new OwnedBuffer(4096);
  const before = buf.bytes;
  const { buffer } = await rt.readOwned(fd, buf, { position: 4096 });
  assert.is(buf.isValid, false);
  assert.ok(Buffer.from(buffer.bytes).equals(pattern(8192).subarray(4096)));
  // Same memory, not a copy: the returned handle views the very bytes the original did.
  assert.is(buffer.bytes.buffer, before.buffer);
  assert.is(buffer.bytes.byteOffset, before.byteOffset);
  // And back out through a worker's ring to another file.
  const out = tmpPath('moved');
  const ofd = fs.openSync(out, 'w');
  const w = await rt.writeOwned(ofd, buffer, { position: 0 });
  fs.closeSync(ofd);
  assert.ok(fs.readFileSync(out).equals(pattern(8192).subarray(4096)));
  w.buffer.release();
  fs.closeSync(fd);
});

test('10,000 random reads, content checked', async () => {
  const size = 1 << 20;
  const data = pattern(size, 11);
  const file = tmpPath('random');
  fs.writeFileSync(file, data);
  const fd = fs.openSync(file, 'r');
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  let done = 0;
  const lane = async () => {
    let buf = new OwnedBuffer(512);
    while (done < 10_000) {
      done++;
      const pos = next() % (size - 512);
      const r = await rt.readOwned(fd, buf, { position: pos });
      assert.is(r.bytesRead, 512);
      if (!Buffer.from(r.buffer.bytes).equals(data.subarray(pos, pos + 512))) assert.unreachable(`mismatch at ${pos}`);
      buf = r.buffer;
    }
    buf.release();
  };
  await Promise.all(Array.from({ length: 48 }, lane));
  fs.closeSync(fd);
});

test('ordered writes to one file stay in order (one home ring per fd)', async () => {
  const file = tmpPath('ordered');
  const fd = fs.openSync(file, 'w');
  const writes = [];
  for (let i = 0; i < 500; i++) writes.push(rt.write(fd, Buffer.from(`${i}\n`)));
  await Promise.all(writes);
  fs.closeSync(fd);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map(Number);
  assert.equal(lines, Array.from({ length: 500 }, (_, i) => i));
});

test('more queued ops than all rings hold together complete', async () => {
  const fd = fs.openSync(patternFile(4096), 'r');
  const n = 32 * 2 * workers * 10;
  const ops = [];
  for (let i = 0; i < n; i++) ops.push(rt.read(fd, Buffer.alloc(16), { position: i % 4000 }));
  const results = await Promise.all(ops);
  assert.ok(results.every((r) => r.bytesRead === 16));
  fs.closeSync(fd);
});

test('a batch with a failing middle link: later linked ops complete with ECANCELED', async () => {
  const file = tmpPath('batch');
  const fd = fs.openSync(file, 'w+');
  const ok = new Batch()
    .add(Operation.write().fd(fd).buffer(Buffer.from('first ')).offset(0))
    .add(Operation.write().fd(fd).buffer(Buffer.from('second')).offset(6), { dependsOnPrevious: true })
    .add(Operation.fsync().fd(fd), { dependsOnPrevious: true });
  const r1 = await rt.submitBatch(ok);
  assert.equal(r1.results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled']);
  assert.is(fs.readFileSync(file, 'utf8'), 'first second');
  const closed = NOT_OPEN_FD;
  const failing = new Batch()
    .add(Operation.write().fd(fd).buffer(Buffer.from('A')).offset(0))
    .add(Operation.read().fd(closed).buffer(Buffer.alloc(4)).offset(0), { dependsOnPrevious: true })
    .add(Operation.write().fd(fd).buffer(Buffer.from('C')).offset(2), { dependsOnPrevious: true })
    .add(Operation.nop());
  const r2 = await rt.submitBatch(failing);
  assert.is(r2.results.length, 4);
  assert.is(r2.results[0].status, 'fulfilled');
  assert.is(r2.results[1].reason.code, 'EBADF');
  assert.is(r2.results[2].reason.code, 'ECANCELED');
  assert.is(r2.results[3].status, 'fulfilled');
  assert.is(fs.readFileSync(file, 'utf8'), 'Airst second', 'the cancelled write never ran');
  fs.closeSync(fd);
});

test('a linked chain longer than the worker submits at once still reaches the kernel in one piece', async () => {
  // The worker submits in chunks of 16 ops, but never inside a chain: if it
  // cut this one, the ops after the cut would run instead of being cancelled.
  const batch = new Batch();
  for (let i = 0; i < 8; i++) batch.add(Operation.nop());
  batch.add(Operation.read().fd(NOT_OPEN_FD).buffer(Buffer.alloc(4)).offset(0));
  for (let i = 0; i < 23; i++) batch.add(Operation.nop(), { dependsOnPrevious: true });
  const { results } = await rt.submitBatch(batch);
  assert.is(results.length, 32);
  assert.ok(results.slice(0, 8).every((r) => r.status === 'fulfilled'));
  assert.is(results[8].reason.code, 'EBADF');
  assert.equal([...new Set(results.slice(9).map((r) => r.reason?.code))], ['ECANCELED']);
});

test('a batch with an invalid operation submits nothing', async () => {
  const before = rt.stats().perWorker.reduce((n, w) => n + w.submitted, 0);
  try {
    await rt.submitBatch(new Batch().add(Operation.nop()).add(Operation.read().fd(-1).buffer(Buffer.alloc(1))));
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ERR_OUT_OF_RANGE');
  }
  assert.is(rt.stats().perWorker.reduce((n, w) => n + w.submitted, 0), before);
});

test('stats say where ops in flight stand: in the kernel ring of the worker, or posted back and not yet delivered', async () => {
  const local = new Runtime({ workers: 1, entries: 8 });
  const [r, w] = createPipe();
  try {
    const read = local.read(r, Buffer.alloc(1)); // waits for data, in the worker's ring
    await local.nop();
    let st = local.stats().perWorker[0];
    assert.equal({ inFlight: st.inFlight, toWorker: st.toWorker, fromWorker: st.fromWorker }, { inFlight: 1, toWorker: 0, fromWorker: 0 });
    // Three nops go out at the microtask flush; hold this thread while the worker answers them.
    const nops = [local.nop(), local.nop(), local.nop()];
    await Promise.resolve();
    const until = Date.now() + 5000;
    do st = local.stats().perWorker[0]; while (st.fromWorker < 3 && Date.now() < until);
    assert.is(st.fromWorker, 3, 'three completions posted by the worker, not yet delivered here');
    assert.is(st.toWorker, 0);
    await Promise.all(nops);
    assert.is(local.stats().perWorker[0].fromWorker, 0);
    fs.writeSync(w, Buffer.from('x'));
    assert.is((await read).bytesRead, 1);
  } finally {
    fs.closeSync(r);
    fs.closeSync(w);
    await local.close();
  }
});

test('a worker killed mid-flight: its ops reject with ERR_WORKER_DIED, slots come back, a new worker serves', async () => {
  const local = new Runtime({ workers, entries: 8 });
  const [r, w] = createPipe();
  const used = local.stats().arena.slotsInUse;
  // Settled handlers attached at once: the rejection may come before the test awaits it.
  const pending = local.readOwned(r, new OwnedBuffer(64)).then(() => 'resolved', (err) => err.code); // never completes by itself
  await new Promise((res) => setTimeout(res, 30));
  const victim = local.workerThreads()[r % workers];
  const dying = victim.terminate();
  // On the fallback backend the read sits in libuv's thread pool, which the
  // dying thread waits for: EOF on the pipe lets it go.
  if (backend === 'fallback') fs.closeSync(w);
  await dying;
  assert.is(await pending, 'ERR_WORKER_DIED');
  assert.is(local.stats().arena.slotsInUse, used, 'the moved buffer went back to the arena');
  assert.is(local.stats().workersReplaced, 1);
  if (backend === 'fallback') {
    assert.is(await local.nop(), 0, 'the replacement worker serves');
  } else {
    fs.writeSync(w, 'still works');
    const buf = Buffer.alloc(32);
    const { bytesRead } = await local.read(r, buf);
    assert.is(buf.subarray(0, bytesRead).toString(), 'still works');
    fs.closeSync(w);
  }
  fs.closeSync(r);
  await local.close();
});

test('close() drains accepted work; terminate() cancels what is in flight; neither leaves a promise hanging', async () => {
  const a = new Runtime({ workers, entries: 8 });
  const fd = fs.openSync(patternFile(4096), 'r');
  const reads = Array.from({ length: 50 }, (_, i) => a.read(fd, Buffer.alloc(64), { position: i * 64 }));
  const closing = a.close();
  const after = a.nop().then(() => 'resolved', (err) => err.code);
  const results = await Promise.all(reads);
  assert.ok(results.every((x) => x.bytesRead === 64), 'accepted work ran to completion');
  await closing;
  assert.is(await after, 'ERR_RING_CLOSED');
  fs.closeSync(fd);

  const b = new Runtime({ workers, entries: 8 });
  const [r, w] = createPipe();
  const stuck = Promise.allSettled([b.read(r, Buffer.alloc(8)), b.timeout(60_000)]);
  await new Promise((res) => setTimeout(res, 20));
  const stopping = b.terminate();
  const settled = await stuck;
  assert.ok(settled.every((s) => s.status === 'rejected' && s.reason.code === 'ERR_RING_CLOSED'));
  fs.closeSync(w); // on the fallback backend the cancelled read still holds a pool thread until EOF
  await stopping;
  fs.closeSync(r);
});

test.run();
