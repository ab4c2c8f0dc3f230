// The io_uring side of safer-ring/net: the native socket helpers check their
// arguments, receive buffers go back to the kernel once their bytes are
// copied out, and a paused socket has no receive in flight.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { once } from 'node:events';
import { createServer, connect } from 'safer-ring/net';
import { ioUringOnly, nativeBinding, NOT_OPEN_FD, patternFile } from './helpers/env.mjs';
import { listening, patterned } from './helpers/net-streams.mjs';

// On the fallback backend the module is node:net: nothing of this exists there.
const test = ioUringOnly(base);

function throwsCode(fn, code) {
  try {
    fn();
  } catch (err) {
    assert.is(err.code, code, err.message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('socket helpers refuse bad arguments and report syscall failures as negative errnos', () => {
  const native = nativeBinding();
  throwsCode(() => native.setSocketOption(-1, 1, 1), 'ERR_INVALID_ARG_VALUE');
  throwsCode(() => native.setSocketOption(3, 0, 1), 'ERR_INVALID_ARG_VALUE'); // no option 0
  throwsCode(() => native.setSocketOption(3, 9, 1), 'ERR_INVALID_ARG_VALUE'); // nor 9
  throwsCode(() => native.setSocketOption(3, 1, 2), 'ERR_OUT_OF_RANGE'); // TCP_NODELAY is 0 or 1
  throwsCode(() => native.setSocketOption(3, 3, 0), 'ERR_OUT_OF_RANGE'); // TCP_KEEPIDLE >= 1
  throwsCode(() => native.setSocketOption(3, 1, 1.5), 'ERR_INVALID_ARG_VALUE');
  throwsCode(() => native.socketInfo('3'), 'ERR_INVALID_ARG_VALUE');
  throwsCode(() => native.shutdown(3, 7), 'ERR_INVALID_ARG_VALUE');
  throwsCode(() => native.getpeername(-2), 'ERR_INVALID_ARG_VALUE');
  throwsCode(() => native.close(-1), 'ERR_INVALID_ARG_VALUE');
  throwsCode(() => native.close(2 ** 31), 'ERR_INVALID_ARG_VALUE');
  assert.is(native.close(NOT_OPEN_FD), -9);
  assert.is(native.socketInfo(NOT_OPEN_FD), -9); // EBADF
  const file = fs.openSync(patternFile(16), 'r');
  assert.is(native.socketInfo(file), -88); // ENOTSOCK
  assert.is(native.setSocketOption(file, 1, 1), -88);
  fs.closeSync(file);
  const sock = native.socket(2, 1, 0);
  assert.equal(native.socketInfo(sock), [2, 1, false]);
  assert.is(native.shutdown(sock, 1), -107); // ENOTCONN
  throwsCode(() => native.getpeername(sock), 'ENOTCONN');
  assert.is(native.setSocketOption(sock, 1, 1), 0);
  fs.closeSync(sock);
});

test('large receives become the Buffer handed to the stream without a copy, small ones are copied; the kernel never writes a Buffer it has handed over', async () => {
  const { netIo } = await import('../dist/src/net/io.js');
  const group = netIo().group;
  const before = group.stats();
  const server = createServer((s) => s.pipe(s));
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const kept = [];
  client.on('data', (d) => kept.push(d));
  const first = patterned(3 * 1024 * 1024, 5);
  client.write(first);
  const arrived = (n) => new Promise((res) => {
    const check = () => (kept.reduce((a, d) => a + d.length, 0) >= n ? res() : setTimeout(check, 2));
    check();
  });
  await arrived(first.length);
  const mid = group.stats();
  assert.ok(mid.handedOver > before.handedOver, 'some receives were handed over');
  for (const d of kept) {
    // A handed-over Buffer's memory shows nothing but its own bytes.
    const whole = new Uint8Array(d.buffer, d.byteOffset + d.length, d.buffer.byteLength - d.byteOffset - d.length);
    if (d.buffer.byteLength === group.size) assert.ok(whole.every((b) => b === 0), 'zeroed past the receive');
  }
  // Small messages are copied out of their blocks, which go straight back.
  for (let i = 0; i < 20; i++) {
    client.write(Buffer.from(`small ${i};`));
    await arrived(first.length + [...Array(i + 1).keys()].reduce((a, k) => a + `small ${k};`.length, 0));
  }
  const small = group.stats();
  assert.ok(small.kernelSelections - mid.kernelSelections >= 20, 'the echoes came through the group');
  // A second, different payload through the same blocks: the first one's Buffers stay as they were.
  const second = patterned(3 * 1024 * 1024, 11);
  const total = kept.reduce((a, d) => a + d.length, 0);
  client.write(second);
  await arrived(total + second.length);
  const all = Buffer.concat(kept);
  assert.ok(all.subarray(0, first.length).equals(first), 'the first payload, intact after the second');
  assert.ok(all.subarray(all.length - second.length).equals(second), 'the second payload');
  client.end();
  await once(client, 'close');
  await new Promise((res) => server.close(res));
});

test('a full readable buffer stops the receive; reading again arms it and nothing is lost', async () => {
  let peer;
  const server = createServer((s) => (peer = s));
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  while (peer === undefined) await new Promise((res) => setTimeout(res, 2));
  peer.pause(); // as in node:net, a paused socket reads on until its buffer reaches the high-water mark
  peer.read(0);
  await new Promise((res) => setTimeout(res, 20));
  assert.ok(peer._handle.receiving, 'receiving while below the high-water mark');
  const payload = patterned(4 * 1024 * 1024, 11);
  client.write(payload);
  await new Promise((res) => setTimeout(res, 100));
  assert.not.ok(peer._handle.receiving, 'the full socket\'s receive was cancelled');
  const buffered = peer.readableLength;
  // What the kernel's multishot receive took before the cancel: the pushes up to the high-water
  // mark (the last one a buffer of up to 64 KiB), then at most 32 more buffers per wake-up (docs/net.md). The sender's one send(2) puts all 2 MiB in the socket at once, so send
  // 4 MiB and hold the receiver to that bound, not to the whole burst.
  assert.ok(buffered >= peer.readableHighWaterMark && buffered <= peer.readableHighWaterMark + 33 * 64 * 1024, `buffered ${buffered} bytes, not the 4 MiB sent`);
  const parts = [];
  peer.on('data', (d) => parts.push(d));
  peer.resume();
  let got = 0;
  while ((got = parts.reduce((n, p) => n + p.length, 0)) < payload.length) await new Promise((res) => setTimeout(res, 5));
  assert.is(got, payload.length);
  assert.ok(Buffer.concat(parts).equals(payload), 'every byte, in order');
  assert.ok(peer._handle.receiving, 'receiving again');
  client.destroy();
  peer.destroy();
  await new Promise((res) => server.close(res));
});

test('an OwnedBuffer written to a socket goes out in place, and its memory is not reused before the send is done', async () => {
  const { netIo } = await import('../dist/src/net/io.js');
  const { OwnedBuffer } = await import('safer-ring');
  const server = createServer((s) => s.pipe(s));
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const parts = [];
  client.on('data', (d) => parts.push(d));
  const size = 1 << 20;
  const expected = patterned(size, 21);
  const before = netIo().directSends;
  const owned = OwnedBuffer.from(expected);
  client.write(owned.bytes);
  owned.release(); // the socket still holds the memory: the release waits for the send
  const others = Array.from({ length: 4 }, () => new OwnedBuffer(size));
  for (const o of others) o.bytes.fill(0xee); // none of these may be the slot in flight
  client.end();
  await once(client, 'end');
  const got = Buffer.concat(parts);
  assert.is(got.length, size);
  assert.ok(got.equals(expected), 'the bytes sent are the ones written');
  assert.ok(netIo().directSends > before, 'sent from the arena in place, not copied');
  for (const o of others) o.release();
  await new Promise((res) => server.close(res));
});

test('a large plain Buffer the socket cannot take at once waits for room and goes out from the Buffer itself; a close while it waits ends the wait', async () => {
  const { netIo } = await import('../dist/src/net/io.js');
  const io = netIo();
  const until = async (cond, what) => {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) assert.unreachable(`timed out waiting: ${what}`);
      await new Promise((res) => setTimeout(res, 2));
    }
  };
  let peer;
  const accepted = [];
  const server = createServer((s) => {
    peer ??= s;
    accepted.push(s);
    s.pause(); // nothing read: the sender's socket fills up
  });
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  await until(() => peer !== undefined, 'the connection');
  const polls = io.writablePolls;
  const copies = io.copiedSends;
  const data = patterned(32 * 1024 * 1024, 3);
  let written = false;
  client.write(data, () => (written = true));
  await until(() => io.writablePolls > polls, 'a wait for room to send');
  assert.not.ok(written, 'not all sent while the peer reads nothing');
  const parts = [];
  peer.on('data', (d) => parts.push(d));
  peer.resume();
  await until(() => written, 'the write callback');
  client.end();
  await once(peer, 'end');
  assert.ok(Buffer.concat(parts).equals(data), 'every byte, in order');
  assert.is(io.copiedSends, copies, 'no send went through an arena copy');
  // A close while the rest waits for room: the wait is cancelled and the socket closes (as node:net's does, without the write's callback).
  const c2 = connect(port, '127.0.0.1');
  await once(c2, 'connect');
  const before = io.writablePolls;
  c2.write(patterned(32 * 1024 * 1024, 4));
  await until(() => io.writablePolls > before, 'a wait for room to send');
  const handle = c2._handle;
  assert.ok(handle.writeQueueSize > 0, 'bytes still queued');
  c2.destroy();
  await once(c2, 'close');
  assert.is(handle.fd, -1, 'the fd is closed: the wait answered its cancel');
  for (const s of accepted) s.destroy(); // the paused one never reads the end
  await new Promise((res) => server.close(res));
});

test('a worker terminated while its sockets receive large messages exits; its handed-over Buffers and its ring\'s blocks go in order', async () => {
  const { Worker } = await import('node:worker_threads');
  // The worker keeps every chunk (handed-over blocks) and reports how much arrived.
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    import('safer-ring/net').then(({ createServer }) => {
      const kept = [];
      let got = 0;
      const server = createServer((s) => s.on('data', (d) => {
        kept.push(d);
        got += d.length;
        parentPort.postMessage(got);
      }));
      server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
    });
  `, { eval: true });
  const { port } = await new Promise((res) => worker.once('message', res));
  let received = 0;
  worker.on('message', (n) => (received = n));
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {}); // the reset when the worker goes
  await once(client, 'connect');
  const chunk = patterned(1024 * 1024, 9);
  let writing = true;
  const drainOrClose = () => new Promise((res) => {
    const done = () => {
      client.off('drain', done);
      client.off('close', done);
      res();
    };
    client.on('drain', done);
    client.on('close', done);
  });
  (async () => {
    while (writing && !client.destroyed) {
      if (!client.write(chunk)) await drainOrClose();
    }
  })();
  const deadline = Date.now() + 10_000;
  while (received < 8 * 1024 * 1024 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  assert.ok(received >= 8 * 1024 * 1024, 'the worker received while running');
  const code = await worker.terminate(); // receives armed, blocks in the kernel's ring and in the worker's hands
  writing = false;
  assert.is(code, 1, 'terminated');
  client.destroy();
  await once(client, 'close');
});

test('zero-copy sends (SAFER_RING_NET_ZEROCOPY=1) deliver every byte', async () => {
  // Zero-copy applies to ring sends of arena memory: an OwnedBuffer's bytes go
  // out in place (a plain Buffer this large goes out through send(2) instead).
  const { runChild } = await import('./helpers/net-streams.mjs');
  const r = await runChild(`
    import { createServer, connect } from 'safer-ring/net';
    import { OwnedBuffer } from 'safer-ring';
    import { netIo } from ${JSON.stringify(new URL('../dist/src/net/io.js', import.meta.url).href)};
    import crypto from 'node:crypto';
    const data = OwnedBuffer.from(crypto.randomBytes(16 << 20)).bytes;
    const server = createServer((s) => s.pipe(s)).listen(0, '127.0.0.1', () => {
      const c = connect(server.address().port, '127.0.0.1');
      const parts = [];
      c.on('data', (d) => parts.push(d));
      c.on('end', () => {
        console.log(JSON.stringify({ same: Buffer.concat(parts).equals(data), zc: netIo().zeroCopySends }));
        server.close();
      });
      c.end(data);
    });`, { env: { SAFER_RING_NET_ZEROCOPY: '1' }, killAfterMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.same, 'echoed bytes equal');
  assert.ok(out.zc > 0, 'zero-copy sends were used');
});

test.run();
