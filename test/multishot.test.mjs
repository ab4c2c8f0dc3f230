// Multishot accept and recv as async iterators, against the real kernel on
// loopback: one SQE, many CQEs (IORING_CQE_F_MORE), ended by break, abort,
// close, a limit or end of stream; re-armed when the kernel ends one early.
import { test as base } from 'uvu';

// These talk over loopback sockets set up with ring.accept/ring.connect, which
// need io_uring; on the fallback backend buffer groups run in 'plain' mode and
// multishot degrades to re-armed single-shot ops (see docs/multishot.md).
const test = ioUringOnly(base);
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, BufferGroup, createTcpListener, createTcpSocket } from 'safer-ring';
import { ioUringOnly } from './helpers/env.mjs';
import { loopbackPair, text, closeAll, sleep } from './helpers/net.mjs';

const ring = new Ring(64);
test.after(() => ring.close());

let nextGroup = 100;
const pair = (r = ring) => loopbackPair(r);

async function connectMany(port, n) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    const c = createTcpSocket();
    await ring.connect(c, { host: '127.0.0.1', port });
    clients.push(c);
  }
  return clients;
}


test('acceptMulti: one multishot SQE yields N connections, then break cancels it and waits for the final CQE', async () => {
  const listener = createTcpListener();
  const it = ring.acceptMulti(listener.fd);
  const submittedBefore = ring.stats().submitted;
  const accepted = [];
  const loop = (async () => {
    for await (const fd of it) {
      accepted.push(fd);
      if (accepted.length === 5) break;
    }
  })();
  const clients = await connectMany(listener.port, 5);
  await loop;
  assert.is(accepted.length, 5);
  for (const fd of accepted) assert.ok(fs.fstatSync(fd).isSocket(), 'a real connected socket');
  const s = it.stats();
  assert.is(s.mode, 'multishot');
  assert.is(s.arms, 1, 'one SQE served every connection');
  assert.ok(s.moreCqes >= 5, 'the kernel posted a CQE with IORING_CQE_F_MORE per connection');
  // The accepts themselves and the connects: only one accept SQE among them (+1 cancel).
  assert.is(ring.stats().submitted - submittedBefore, 5 + 1 + 1);
  assert.is(ring.stats().inFlight, 0, 'break returned only after the final CQE');
  assert.is((await it.next()).done, true);
  // The kernel op is gone: a new connection waits in the backlog for a plain accept.
  const late = await connectMany(listener.port, 1);
  const fd = await ring.accept(listener.fd);
  closeAll([...accepted, ...clients, ...late, fd, listener.fd]);
});

test('acceptMulti: maxItems ends cleanly after that many connections', async () => {
  const listener = createTcpListener();
  const it = ring.acceptMulti(listener.fd, { maxItems: 3 });
  const clients = await connectMany(listener.port, 3);
  const accepted = [];
  for await (const fd of it) accepted.push(fd);
  assert.is(accepted.length, 3);
  assert.is(ring.stats().inFlight, 0);
  closeAll([...accepted, ...clients, listener.fd]);
});

test('acceptMulti: abort rejects the pending next() with ABORT_ERR and ends', async () => {
  const listener = createTcpListener();
  const ac = new AbortController();
  const it = ring.acceptMulti(listener.fd, { signal: ac.signal });
  const pending = it.next();
  await sleep(10);
  assert.is(ring.stats().inFlight, 1, 'the multishot accept is armed in the kernel');
  ac.abort(new Error('shutting down'));
  try {
    await pending;
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ABORT_ERR');
    assert.is(err.cause.message, 'shutting down');
  }
  assert.is(ring.stats().inFlight, 0);
  assert.is((await it.next()).done, true);
  fs.closeSync(listener.fd);
});

test('acceptMulti: forced single-shot path (re-armed accepts) yields the same connections', async () => {
  const listener = createTcpListener();
  const it = ring.acceptMulti(listener.fd, { singleShot: true });
  const clients = await connectMany(listener.port, 4);
  const accepted = [];
  for await (const fd of it) {
    accepted.push(fd);
    if (accepted.length === 4) break;
  }
  const s = it.stats();
  assert.is(s.mode, 'single-shot');
  assert.is(s.moreCqes, 0, 'no multishot CQEs');
  assert.ok(s.arms >= 4, 'one accept SQE per connection');
  assert.is(ring.stats().inFlight, 0);
  closeAll([...accepted, ...clients, listener.fd]);
});

test('acceptMulti: closing the ring ends the iterator cleanly (done, no error)', async () => {
  const r = new Ring(8);
  const listener = createTcpListener();
  const it = r.acceptMulti(listener.fd);
  const pending = it.next();
  await sleep(10);
  await r.close();
  assert.equal(await pending, { value: undefined, done: true });
  assert.is((await it.next()).done, true);
  // An iterator made after close ends at once as well.
  assert.is((await r.acceptMulti(listener.fd).next()).done, true);
  fs.closeSync(listener.fd);
});

test('acceptMulti: connections accepted while breaking are closed, not leaked', async () => {
  const listener = createTcpListener();
  const it = ring.acceptMulti(listener.fd, { highWaterMark: 1000 });
  const clients = await connectMany(listener.port, 3);
  const first = await it.next();
  await sleep(20); // the other two are queued in the iterator by now
  await it.return();
  assert.ok(fs.fstatSync(first.value).isSocket());
  // The queued fds were closed: each client sees EOF.
  for (const c of clients.slice(1)) {
    const buf = Buffer.alloc(4);
    assert.is((await ring.recv(c, buf)).bytesRead, 0);
  }
  closeAll([first.value, ...clients, listener.fd]);
});

test('recvMulti: several sends arrive, each in a kernel-selected buffer, with exact content', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 8, size: 64 });
  assert.is(group.mode, 'ring');
  const it = ring.recvMulti(server, group);
  const expected = [0, 1, 2, 3, 4, 5].map((i) => `message ${i} of six`).join('');
  let stream = '';
  let items = 0;
  const ids = new Set();
  const loop = (async () => {
    for await (const res of it) {
      stream += text(res);
      items++;
      ids.add(res.bufferId);
      assert.instance(res.buffer.bytes.buffer, SharedArrayBuffer, 'arena memory');
      res.buffer.release();
      if (stream.length >= expected.length) break;
    }
  })();
  for (let i = 0; i < 6; i++) {
    await ring.send(client, Buffer.from(`message ${i} of six`));
    await sleep(2); // one message per CQE
  }
  await loop;
  assert.is(stream, expected, 'every byte, in order');
  assert.ok(items >= 2 && ids.size >= 2, 'the kernel moved through the group');
  const s = it.stats();
  assert.is(s.mode, 'multishot');
  assert.is(s.arms, 1);
  assert.is(s.moreCqes, items);
  assert.is(group.stats().kernelSelections, items, 'every CQE carried IORING_CQE_F_BUFFER');
  assert.is(group.stats().available, 8, 'every buffer back in the kernel ring');
  assert.is(ring.stats().inFlight, 0);
  group.close();
  closeAll([server, client]);
});

test('recvMulti: ends cleanly at end of stream', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 4, size: 32 });
  await ring.send(client, Buffer.from('last words'));
  await sleep(5);
  fs.closeSync(client);
  const got = [];
  for await (const res of ring.recvMulti(server, group)) {
    got.push(text(res));
    res.buffer.release();
  }
  assert.equal(got, ['last words']);
  assert.is(group.stats().held, 0);
  group.close();
  fs.closeSync(server);
});

test('recvMulti: abort ends cleanly, and no buffer is lost', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 4, size: 32 });
  const ac = new AbortController();
  const it = ring.recvMulti(server, group, { signal: ac.signal });
  await ring.send(client, Buffer.from('before abort'));
  const first = await it.next();
  assert.is(text(first.value), 'before abort');
  first.value.buffer.release();
  const pending = it.next();
  setTimeout(() => ac.abort(), 5);
  try {
    await pending;
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ABORT_ERR');
  }
  assert.is(ring.stats().inFlight, 0);
  assert.is(group.stats().available, 4);
  group.close();
  closeAll([server, client]);
});

test('recvMulti: re-armed when the kernel ends the multishot early (CQ overflow on a tiny ring)', async () => {
  // A 2-entry ring has a 4-entry CQ. A burst of small-buffer receives fills
  // it, and the kernel ends the multishot with a final CQE that is a result,
  // not an error: the iterator must re-arm and lose nothing.
  const r = new Ring(2);
  const [server, client] = await pair(r);
  const group = new BufferGroup(r, { id: 1, count: 512, size: 16 });
  const it = r.recvMulti(server, group, { highWaterMark: 100_000 });
  const payload = Buffer.alloc(4096);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 255;
  const parts = [];
  let total = 0;
  const loop = (async () => {
    for await (const res of it) {
      parts.push(Buffer.from(res.buffer.bytes.subarray(0, res.bytesRead)));
      res.buffer.release();
      total += res.bytesRead;
      if (total >= payload.length * 4) break;
    }
  })();
  await sleep(10);
  for (let k = 0; k < 4; k++) fs.writeSync(client, payload);
  await loop;
  assert.ok(Buffer.concat(parts).equals(Buffer.concat([payload, payload, payload, payload])), 'every byte, in order');
  const s = it.stats();
  assert.is(s.mode, 'multishot');
  assert.ok(s.rearms >= 1, `re-armed after an early end (rearms: ${s.rearms})`);
  assert.is(s.arms, s.rearms + 1);
  closeAll([server, client]);
  await r.close();
});

test('recvMulti: the high-water mark pauses the kernel op and resumes it as the consumer drains', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 16, size: 8 });
  const it = ring.recvMulti(server, group, { highWaterMark: 2 });
  const first = it.next(); // arms it
  for (let i = 0; i < 6; i++) {
    await ring.send(client, Buffer.from(`m${i}`));
    await sleep(3);
  }
  // Sends made while paused wait in the socket and may arrive together: check the byte stream.
  let stream = '';
  let res = await first;
  for (;;) {
    stream += text(res.value);
    res.value.buffer.release();
    if (stream.length === 12) break;
    res = await it.next();
  }
  await it.return();
  assert.is(stream, 'm0m1m2m3m4m5');
  assert.ok(it.stats().pauses >= 1);
  assert.is(ring.stats().inFlight, 0);
  group.close();
  closeAll([server, client]);
});

test('recvMulti: forced degraded path (single-shot recv, plain buffers) passes the same content checks', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 2, size: 64, plainBuffers: true });
  assert.is(group.mode, 'plain');
  const it = ring.recvMulti(server, group, { singleShot: true });
  const expected = [0, 1, 2, 3, 4, 5].map((i) => `message ${i} of six`).join('');
  let stream = '';
  const loop = (async () => {
    for await (const res of it) {
      stream += text(res);
      assert.ok(res.bufferId === 0 || res.bufferId === 1);
      res.buffer.release();
      if (stream.length >= expected.length) break;
    }
  })();
  for (let i = 0; i < 6; i++) {
    await ring.send(client, Buffer.from(`message ${i} of six`));
    await sleep(2);
  }
  await loop;
  assert.is(stream, expected);
  const s = it.stats();
  assert.is(s.mode, 'single-shot');
  assert.is(s.moreCqes, 0);
  assert.is(group.stats().kernelSelections, 0, 'the group picked the buffers, not the kernel');
  assert.is(group.stats().available, 2);
  assert.is(ring.stats().inFlight, 0);
  group.close();
  closeAll([server, client]);
});

test('recvMulti: forced single-shot with a kernel buffer ring (re-armed buffer-select recv)', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 2, size: 64 });
  const it = ring.recvMulti(server, group, { singleShot: true });
  const got = [];
  for (let i = 0; i < 4; i++) {
    const p = it.next();
    await ring.send(client, Buffer.from(`single ${i}`));
    const res = (await p).value;
    got.push(text(res));
    res.buffer.release();
  }
  await it.return();
  assert.equal(got, ['single 0', 'single 1', 'single 2', 'single 3']);
  assert.is(it.stats().mode, 'single-shot');
  assert.is(group.stats().kernelSelections, 4);
  group.close();
  closeAll([server, client]);
});

test('config and arguments are checked', () => {
  assert.throws(() => ring.acceptMulti(-1), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => ring.acceptMulti(3, { maxItems: 0 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => ring.acceptMulti(3, { highWaterMark: 1.5 }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => ring.acceptMulti(3, { signal: {} }), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => ring.recvMulti(3, {}), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
});

test.run();
