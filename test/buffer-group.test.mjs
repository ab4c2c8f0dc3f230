// BufferGroup: a provided buffer ring the kernel selects from. Every check
// here runs against the real kernel on loopback; the buffer id a result
// carries comes from the CQE (IORING_CQE_F_BUFFER), and the bytes are in the
// group's arena slot for that id.
import { test as base } from 'uvu';

// These talk over loopback sockets set up with ring.accept/ring.connect, which
// need io_uring; on the fallback backend buffer groups run in 'plain' mode and
// multishot degrades to re-armed single-shot ops (see docs/multishot.md).
const test = ioUringOnly(base);
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, BufferGroup, GroupBuffer, OwnedBuffer, createTcpListener, createTcpSocket } from 'safer-ring';
import { ioUringOnly } from './helpers/env.mjs';
import { code, firstCompletion, nativeRing } from './helpers/native-ring.mjs';
import { loopbackPair, text, sleep } from './helpers/net.mjs';

const ring = new Ring(64);
test.after(() => ring.close());

let nextGroup = 200;
const pair = (r = ring) => loopbackPair(r);

test('ring.recv(fd, group): the kernel picks the buffer and the CQE names it', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 4, size: 128 });
  assert.is(group.mode, 'ring');
  const views = new Map(); // buffer id -> the memory the kernel wrote
  for (let i = 0; i < 4; i++) {
    const p = ring.recv(server, group);
    await ring.send(client, Buffer.from(`hello ${i}`));
    const res = await p;
    assert.instance(res.buffer, GroupBuffer);
    assert.instance(res.buffer, OwnedBuffer);
    assert.is(res.bytesRead, `hello ${i}`.length);
    assert.is(text(res), `hello ${i}`);
    assert.is(res.bufferId, res.buffer.bufferId);
    assert.ok(res.bufferId >= 0 && res.bufferId < 4);
    assert.instance(res.buffer.bytes.buffer, SharedArrayBuffer, 'an arena slot');
    assert.is(res.buffer.bytes.length, 128);
    views.set(res.bufferId, { buffer: res.buffer.bytes.buffer, offset: res.buffer.bytes.byteOffset });
    // Held buffers are not handed out again: the next recv gets another id.
  }
  assert.is(views.size, 4, 'four recvs, four distinct kernel-selected buffers');
  assert.is(group.stats().kernelSelections, 4, 'each CQE carried IORING_CQE_F_BUFFER');
  assert.is(group.stats().held, 4);
  assert.is(group.stats().available, 0);
  fs.closeSync(client);
  fs.closeSync(server);
});

test('buffers recycle: more messages than buffers, each released after use', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 2, size: 32 });
  const seen = new Map();
  for (let i = 0; i < 10; i++) {
    const p = ring.recv(server, group);
    await ring.send(client, Buffer.from(`round ${i}`));
    const res = await p;
    assert.is(text(res), `round ${i}`);
    const where = `${res.buffer.bytes.byteOffset}`;
    // A buffer id always maps to the same arena memory.
    if (seen.has(res.bufferId)) assert.is(seen.get(res.bufferId), where);
    seen.set(res.bufferId, where);
    res.buffer.release();
    res.buffer.release(); // a second release is a no-op: the id reaches the kernel once
  }
  assert.is(seen.size, 2, 'both buffers were used, again and again');
  assert.is(group.stats().available, 2);
  assert.is(group.stats().kernelSelections, 10);
  group.close();
  fs.closeSync(client);
  fs.closeSync(server);
});

test('ENOBUFS: with every buffer held, recv rejects; recvMulti waits and re-arms after a release', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 2, size: 16 });
  const held = [];
  for (let i = 0; i < 2; i++) {
    const p = ring.recv(server, group);
    await ring.send(client, Buffer.from(`hold ${i}`));
    held.push(await p);
  }
  await ring.send(client, Buffer.from('waiting'));
  // Single-shot: the kernel finds the ring empty.
  try {
    await ring.recv(server, group);
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ENOBUFS');
    assert.is(err.syscall, 'recv');
  }
  // Multishot: the kernel ends the op with ENOBUFS; the iterator waits for a release.
  const it = ring.recvMulti(server, group);
  const next = it.next();
  await sleep(20);
  assert.is(it.stats().bufferWaits, 1, 'parked on ENOBUFS');
  assert.is(ring.stats().inFlight, 0, 'nothing armed while every buffer is held');
  held[0].buffer.release();
  const res = (await next).value;
  assert.is(text(res), 'waiting', 'the bytes waited in the socket');
  assert.is(res.bufferId, held[0].bufferId, 'the released buffer came back through the kernel ring');
  res.buffer.release();
  held[1].buffer.release();
  await it.return();
  assert.is(group.stats().available, 2);
  group.close();
  fs.closeSync(client);
  fs.closeSync(server);
});

test('degraded path (plainBuffers): same API, same content, the group picks the buffer', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 2, size: 32, plainBuffers: true });
  assert.is(group.mode, 'plain');
  const held = [];
  for (let i = 0; i < 2; i++) {
    const p = ring.recv(server, group);
    await ring.send(client, Buffer.from(`plain ${i}`));
    const res = await p;
    assert.is(text(res), `plain ${i}`);
    assert.instance(res.buffer, GroupBuffer);
    held.push(res);
  }
  assert.not.equal(held[0].bufferId, held[1].bufferId);
  try {
    await ring.recv(server, group);
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ENOBUFS', 'the same answer as the kernel gives');
  }
  for (const r of held) r.buffer.release();
  assert.is(group.stats().kernelSelections, 0);
  assert.is(group.stats().available, 2);
  group.close();
  fs.closeSync(client);
  fs.closeSync(server);
});

test('a cancelled recv on a group holds no buffer; end of stream gives none', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 2, size: 16 });
  const ac = new AbortController();
  const p = ring.recv(server, group, { signal: ac.signal });
  await sleep(5);
  ac.abort();
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ABORT_ERR');
  }
  assert.is(group.stats().available, 2);
  fs.closeSync(client);
  const eof = await ring.recv(server, group);
  assert.equal(eof, { bytesRead: 0, buffer: null, bufferId: -1 });
  assert.is(group.stats().available, 2);
  group.close();
  fs.closeSync(server);
});

test('a group buffer can be sent on and released afterwards', async () => {
  const [server, client] = await pair();
  const group = new BufferGroup(ring, { id: nextGroup++, count: 2, size: 64 });
  const p = ring.recv(server, group);
  await ring.send(client, Buffer.from('echo me'));
  const res = await p;
  const sent = await ring.send(server, res.buffer, { length: res.bytesRead }); // moves it into the send
  assert.is(res.buffer.isValid, false);
  assert.instance(sent.buffer, GroupBuffer);
  assert.is(sent.buffer.bufferId, res.bufferId);
  const back = Buffer.alloc(16);
  const got = await ring.recv(client, back);
  assert.is(back.subarray(0, got.bytesRead).toString(), 'echo me');
  sent.buffer.release();
  assert.is(group.stats().available, 2);
  group.close();
  fs.closeSync(client);
  fs.closeSync(server);
});

test('group lifetime: closing the ring returns its buffers to the arena, held ones on release', async () => {
  const r = new Ring(8);
  const [server, client] = await pair(r);
  const before = r.stats().arena.slotsInUse;
  const group = new BufferGroup(r, { id: 7, count: 4, size: 256 });
  assert.is(r.stats().arena.slotsInUse, before + 4);
  const p = r.recv(server, group);
  await r.send(client, Buffer.from('kept'));
  const res = await p;
  await r.close();
  assert.is(group.closed, true);
  assert.is(r.stats().arena.slotsInUse, before + 1, 'the three in the kernel ring went back');
  assert.is(text(res), 'kept', 'a held buffer stays valid after close');
  res.buffer.release();
  assert.is(r.stats().arena.slotsInUse, before);
  fs.closeSync(client);
  fs.closeSync(server);
});

test('arguments: ids, counts and sizes are checked before anything is registered', () => {
  code(() => new BufferGroup(ring, { id: -1, count: 1, size: 1 }), 'ERR_OUT_OF_RANGE');
  code(() => new BufferGroup(ring, { id: 65536, count: 1, size: 1 }), 'ERR_OUT_OF_RANGE');
  code(() => new BufferGroup(ring, { id: 1, count: 0, size: 1 }), 'ERR_OUT_OF_RANGE');
  code(() => new BufferGroup(ring, { id: 1, count: 32769, size: 1 }), 'ERR_OUT_OF_RANGE');
  code(() => new BufferGroup(ring, { id: 1, count: 1, size: 0 }), 'ERR_OUT_OF_RANGE');
  code(() => new BufferGroup(ring, { id: 1, count: 1, size: 2 ** 30 + 1 }), 'ERR_OUT_OF_RANGE');
  code(() => new BufferGroup({}, { id: 1, count: 1, size: 1 }), 'ERR_INVALID_ARG_TYPE');
  const g = new BufferGroup(ring, { id: nextGroup++, count: 1, size: 8 });
  code(() => new BufferGroup(ring, { id: g.id, count: 1, size: 8 }), 'ERR_INVALID_ARG_VALUE');
  const other = new Ring(4);
  assert.throws(() => other.recvMulti(3, g), (e) => e.code === 'ERR_INVALID_ARG_VALUE', 'a group belongs to one ring');
  other.close();
  g.close();
});

// ---- the native layer checks every value itself ----

test('native: hostile buffer-ring registrations and recycles never reach the kernel', () => {
  const { r } = nativeRing();
  const list = (...pairs) => Int32Array.from(pairs.flat());
  code(() => r.registerBufferRing(65536, 64, list([0, 0])), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(-1, 64, list([0, 0])), 'ERR_INVALID_ARG_TYPE');
  code(() => r.registerBufferRing(1, 0, list([0, 0])), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(1, 2 ** 30 + 1, list([0, 0])), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(1, 64, new Int32Array(0)), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(1, 64, new Int32Array(3)), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(1, 64, new Int32Array(2 * 32769)), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(1, 64, list([1, 0])), 'ERR_INVALID_ARG_VALUE'); // unknown chunk
  code(() => r.registerBufferRing(1, 64, list([0, 4064])), 'ERR_INVALID_ARG_VALUE'); // past the chunk
  code(() => r.registerBufferRing(1, 64, list([0, -64])), 'ERR_INVALID_ARG_VALUE');
  code(() => r.registerBufferRing(1, 64, list([0, 0], [0, 32])), 'ERR_INVALID_ARG_VALUE'); // overlap
  code(() => r.registerBufferRing(1, 64, new Float64Array(2)), 'ERR_INVALID_ARG_TYPE');
  assert.is(r.registerBufferRing(1, 64, list([0, 0], [0, 64], [0, 128])), 3);
  code(() => r.registerBufferRing(1, 64, list([0, 256])), 'ERR_INVALID_ARG_VALUE'); // id taken
  code(() => r.recycleBuffer(1, 0), 'ERR_INVALID_ARG_VALUE'); // still in the kernel's ring
  code(() => r.recycleBuffer(1, 3), 'ERR_OUT_OF_RANGE');
  code(() => r.recycleBuffer(2, 0), 'ERR_INVALID_ARG_VALUE'); // no such group
  r.unregisterBufferRing(1);
  code(() => r.unregisterBufferRing(1), 'ERR_INVALID_ARG_VALUE');
  r.destroy();
  code(() => r.registerBufferRing(1, 64, list([0, 0])), 'ERR_RING_CLOSED');
});

test('native: buffer-select descriptors name a registered group and stay within its size', async () => {
  const { r, desc, completions } = nativeRing();
  const [server, client] = await pair();
  r.registerBufferRing(3, 64, Int32Array.from([0, 0, 0, 64]));
  const D = { OP: 0, FD: 1, CHUNK: 5, LEN: 7, FLAGS: 10, ARG: 11, CHUNK2: 12 };
  const recvSelect = (op = 15) => {
    desc.fill(0);
    desc[D.OP] = op;
    desc[D.FD] = server;
    desc[D.CHUNK] = -1;
    desc[D.CHUNK2] = -1;
    desc[D.ARG] = 3;
    desc[D.LEN] = op === 16 ? 0 : 64;
  };
  const cases = [
    ['unknown group', () => (desc[D.ARG] = 4)],
    ['negative group', () => (desc[D.ARG] = -1)],
    ['group id past 16 bits', () => (desc[D.ARG] = 65536 + 3)],
    ['length past the buffer size', () => (desc[D.LEN] = 65)],
    ['a buffer of its own', () => (desc[D.CHUNK] = 0)],
    ['multishot with a length', () => ((desc[D.OP] = 16), (desc[D.LEN] = 8))],
    ['multishot with MSG_WAITALL', () => ((desc[D.OP] = 16), (desc[D.LEN] = 0), (desc[D.FLAGS] = 0x100))],
    ['multishot accept with an address', () => ((desc[D.OP] = 17), (desc[D.CHUNK2] = 0))],
  ];
  for (const [name, corrupt] of cases) {
    recvSelect();
    corrupt();
    code(() => r.submit(1), 'ERR_INVALID_ARG_VALUE');
    assert.is(r.inFlight(), 0, `${name}: nothing reached the kernel`);
  }
  // A valid one: the kernel fills buffer 0 and says so in the CQE flags.
  recvSelect();
  assert.is(r.submit(1), 1);
  code(() => r.unregisterBufferRing(3), 'ERR_RING_BUSY'); // a recv selecting from it is in flight
  fs.writeSync(client, Buffer.from('native'));
  await firstCompletion(completions);
  assert.is(completions[0].res, 6);
  assert.ok(completions[0].flags & 1, 'IORING_CQE_F_BUFFER');
  const bid = completions[0].flags >>> 16;
  assert.ok(bid === 0 || bid === 1);
  r.recycleBuffer(3, bid); // back from the caller: allowed once
  code(() => r.recycleBuffer(3, bid), 'ERR_INVALID_ARG_VALUE');
  r.destroy(); // unregisters the ring before the io_uring goes
  fs.closeSync(client);
  fs.closeSync(server);
});

test('native: an owned group refuses hostile arguments; a returned block is copied or handed over once, and the kernel never gets a handed-over block again', async () => {
  const { r, desc, completions } = nativeRing();
  const [server, client] = await pair();
  code(() => r.registerBufferRing(5, 64, 0), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(5, 64, 32769), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(5, 2 ** 20 + 1, 2), 'ERR_OUT_OF_RANGE');
  code(() => r.registerBufferRing(5, 64, 1.5), 'ERR_INVALID_ARG_TYPE');
  assert.is(r.registerBufferRing(5, 64, 2), 2);
  r.registerBufferRing(6, 64, Int32Array.from([0, 0])); // an arena group beside it
  // Nothing has come back from the kernel yet: no id can be copied, taken or recycled.
  code(() => r.takeBuffer(5, 0, 8), 'ERR_INVALID_ARG_VALUE');
  code(() => r.copyBuffer(5, 1, Buffer.alloc(8)), 'ERR_INVALID_ARG_VALUE');
  code(() => r.takeBuffer(5, 2, 8), 'ERR_OUT_OF_RANGE');
  code(() => r.takeBuffer(7, 0, 8), 'ERR_INVALID_ARG_VALUE');
  code(() => r.takeBuffer(5, 0), 'ERR_INVALID_ARG_TYPE');
  code(() => r.copyBuffer(5, 0, new Uint16Array(4)), 'ERR_INVALID_ARG_TYPE');
  const recvFrom = async (group, text) => {
    desc.fill(0);
    desc[0] = 15; // RECV with buffer select
    desc[1] = server;
    desc[5] = -1;
    desc[7] = 64;
    desc[11] = group;
    desc[12] = -1;
    completions.length = 0;
    assert.is(r.submit(1), 1);
    fs.writeSync(client, Buffer.from(text));
    await firstCompletion(completions);
    assert.is(completions[0].res, text.length);
    assert.ok(completions[0].flags & 1, 'IORING_CQE_F_BUFFER');
    return completions[0].flags >>> 16;
  };
  // Copied out: the bytes the kernel wrote, the length the typed array's own; the block goes back.
  let bid = await recvFrom(5, 'copied bytes');
  code(() => r.copyBuffer(5, bid, Buffer.alloc(13)), 'ERR_OUT_OF_RANGE'); // more than the kernel wrote: earlier bytes would show
  const into = Buffer.alloc(12);
  r.copyBuffer(5, bid, into);
  assert.is(into.toString(), 'copied bytes');
  code(() => r.copyBuffer(5, bid, into), 'ERR_INVALID_ARG_VALUE'); // in the kernel's ring again
  // Handed over: the whole block, the bytes past the receive zeroed; a new block takes its id.
  const handed = [];
  for (let i = 0; i < 4; i++) {
    const text = `handed over ${i}`; // 13 bytes
    bid = await recvFrom(5, text);
    code(() => r.takeBuffer(5, bid, 0), 'ERR_OUT_OF_RANGE');
    code(() => r.takeBuffer(5, bid, text.length + 1), 'ERR_OUT_OF_RANGE'); // more than the kernel wrote
    const block = r.takeBuffer(5, bid, text.length);
    assert.ok(Buffer.isBuffer(block));
    assert.is(block.length, 64);
    assert.is(block.subarray(0, 13).toString(), text);
    assert.ok(block.subarray(13).every((b) => b === 0), 'nothing past the receive shows');
    code(() => r.takeBuffer(5, bid, 8), 'ERR_INVALID_ARG_VALUE'); // once
    handed.push(block);
  }
  // Later receives never land in a handed-over block.
  for (let i = 0; i < 4; i++) r.copyBuffer(5, await recvFrom(5, 'x'.repeat(40)), Buffer.alloc(40));
  handed.forEach((block, i) => assert.is(block.subarray(0, 13).toString(), `handed over ${i}`));
  // An arena group is not an owned one.
  bid = await recvFrom(6, 'arena');
  code(() => r.takeBuffer(6, bid, 5), 'ERR_OUT_OF_RANGE');
  code(() => r.copyBuffer(6, bid, Buffer.alloc(5)), 'ERR_OUT_OF_RANGE');
  r.recycleBuffer(6, bid);
  r.unregisterBufferRing(5);
  code(() => r.takeBuffer(5, 0, 8), 'ERR_INVALID_ARG_VALUE');
  assert.is(r.registerBufferRing(5, 128, 1), 1); // the id is free again
  r.destroy(); // lets the remaining blocks go after the kernel unregisters them
  code(() => r.takeBuffer(5, 0, 8), 'ERR_RING_CLOSED');
  handed.forEach((block, i) => assert.is(block.subarray(0, 13).toString(), `handed over ${i}`));
  fs.closeSync(client);
  fs.closeSync(server);
});

test.run();
