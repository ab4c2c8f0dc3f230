// safer-ring/net sockets as streams: a 100 MiB transfer under backpressure,
// half-close, a peer reset in the middle of a transfer, and a server closed
// while connections are still open.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import { once } from 'node:events';
import nodeNet from 'node:net';
import { createServer, connect } from 'safer-ring/net';
import { listening, nextError, patterned, readAll } from './helpers/net-streams.mjs';

const open = new Set();
function track(x) {
  open.add(x);
  return x;
}
test.after.each(() => {
  for (const x of open) (x.destroy ?? x.close).call(x);
  open.clear();
});

test('100 MiB through one connection: bytes intact, and backpressure holds both sides to a bound', async () => {
  const TOTAL = 100 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  const block = crypto.randomBytes(CHUNK);
  let maxReadable = 0;
  let pauses = 0;
  const received = new Promise((resolve, reject) => {
    const server = track(createServer((socket) => {
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      let nextPause = 8 * 1024 * 1024;
      socket.on('data', (d) => {
        hash.update(d);
        bytes += d.length;
        if (bytes >= nextPause) {
          // A slow reader: stop for a while; the kernel socket buffers and the
          // sender's write() returning false must absorb the rest.
          nextPause += 8 * 1024 * 1024;
          pauses++;
          socket.pause();
          setTimeout(() => {
            maxReadable = Math.max(maxReadable, socket.readableLength);
            socket.resume();
          }, 40);
        }
      });
      socket.on('end', () => resolve({ bytes, digest: hash.digest('hex') }));
      socket.on('error', reject);
    }));
    server.on('error', reject);
    listening(server, 0, '127.0.0.1').then(({ port }) => sendTo(port).catch(reject));
  });
  let drains = 0;
  let maxWritable = 0;
  const sent = crypto.createHash('sha256');
  async function sendTo(port) {
    const client = track(connect(port, '127.0.0.1'));
    await once(client, 'connect');
    for (let at = 0, n = 0; at < TOTAL; at += CHUNK, n++) {
      block.writeUInt32LE(n, 0); // every chunk differs, so a lost or repeated chunk changes the digest
      sent.update(block);
      maxWritable = Math.max(maxWritable, client.writableLength);
      if (!client.write(Buffer.from(block))) {
        drains++;
        await once(client, 'drain');
      }
    }
    client.end();
  }
  const { bytes, digest } = await received;
  assert.is(bytes, TOTAL);
  assert.is(digest, sent.digest('hex'));
  assert.ok(pauses >= 10, 'the reader paused');
  assert.ok(drains > 0, 'write() returned false and the writer waited for drain');
  // The writer never got further ahead than its high-water mark plus one chunk.
  assert.ok(maxWritable <= 16 * 1024 + CHUNK, `writableLength stayed bounded (${maxWritable})`);
  // A paused reader's buffer holds what landed before its receive stopped: its high-water mark and
  // the buffer that crossed it, then at most one multishot wake-up's 32 buffers of 64 KiB
  // (docs/net.md), not the transfer.
  assert.ok(maxReadable <= 16 * 1024 + 33 * 64 * 1024, `readableLength stayed bounded (${maxReadable})`);
});

test('half-close: each side ends its half and still reads the other\'s (allowHalfOpen)', async () => {
  const server = track(createServer({ allowHalfOpen: true }, async (socket) => {
    const request = await readAll(socket); // the client's half is closed now
    assert.ok(socket.writable, 'server can still write after the client ended');
    socket.end(Buffer.concat([Buffer.from('reply to '), request]));
  }));
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = track(connect({ port, host: '127.0.0.1', allowHalfOpen: true }));
  const reply = readAll(client);
  client.end('question');
  await once(client, 'finish');
  assert.ok(client.readable, 'client still readable after its own end');
  assert.is((await reply).toString(), 'reply to question');
  await once(client, 'close');

  // Without allowHalfOpen the server's socket ends itself once the client's FIN arrives.
  const plain = track(createServer((socket) => socket.on('data', () => {})));
  const p2 = await listening(plain, 0, '127.0.0.1');
  const c2 = track(connect(p2.port, '127.0.0.1'));
  const peerEnded = readAll(c2);
  c2.end('bye');
  assert.is((await peerEnded).length, 0);
});

test('peer reset in the middle of a transfer: the reader and the writer get node:net\'s errors', async () => {
  for (const mod of [{ createServer, connect }, nodeNet]) {
    // The server resets once it has seen some bytes; the client keeps writing and reading.
    const server = track(mod.createServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    }));
    const { port } = await listening(server, 0, '127.0.0.1');
    const client = track(mod.connect(port, '127.0.0.1'));
    const failed = nextError(client);
    await once(client, 'connect');
    const pump = setInterval(() => client.write(patterned(32 * 1024, 1)), 1);
    const err = await failed;
    clearInterval(pump);
    assert.ok(['ECONNRESET', 'EPIPE'].includes(err.code), err.message);
    assert.is(err.syscall === 'read' || err.syscall === 'write', true);
    assert.is(err.errno, -(err.code === 'EPIPE' ? 32 : 104));
    assert.is(err.message, `${err.syscall} ${err.code}`);
    await once(client, 'close');
    assert.ok(client.destroyed);
    await new Promise((res) => server.close(res));
  }
  // A reader waiting for data sees 'read ECONNRESET'.
  const server = track(createServer((socket) => setTimeout(() => socket.resetAndDestroy(), 20)));
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = track(connect(port, '127.0.0.1'));
  const err = await nextError(client);
  assert.is(err.code, 'ECONNRESET');
  assert.is(err.message, 'read ECONNRESET');
});

test('server close with connections open: no new connections, close waits for the open ones', async () => {
  const sockets = [];
  const server = track(createServer((s) => {
    sockets.push(s);
    s.pipe(s);
  }));
  const { port } = await listening(server, 0, '127.0.0.1');
  const a = track(connect(port, '127.0.0.1'));
  const b = track(connect(port, '127.0.0.1'));
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  while (sockets.length < 2) await new Promise((res) => setTimeout(res, 5));
  let closed = false;
  server.close(() => (closed = true));
  assert.not.ok(server.listening);
  // The port is free at once (as with node:net): a new connection is refused.
  const refused = await nextError(track(connect(port, '127.0.0.1')));
  assert.is(refused.code, 'ECONNREFUSED');
  // The open connections still work.
  const echoed = once(a, 'data');
  a.write('still here');
  assert.is((await echoed)[0].toString(), 'still here');
  assert.is(await new Promise((res) => server.getConnections((e, n) => res(n))), 2);
  assert.not.ok(closed, "'close' waits for the open connections");
  a.end();
  b.end();
  await once(server, 'close');
  assert.ok(closed);
  // And the port can be listened on again.
  const again = track(createServer());
  await listening(again, port, '127.0.0.1');
  await new Promise((res) => again.close(res));
});

test.run();
