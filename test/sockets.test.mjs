import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import { Ring, OwnedBuffer, createTcpListener, createTcpSocket } from 'safer-ring';
import { backend, ioUringOnly } from './helpers/env.mjs';

// accept and connect on raw fds need io_uring: the fallback backend answers
// EOPNOTSUPP (tested below), so the loopback conversations run on io_uring only.
const test = ioUringOnly(base);

const ring = new Ring(64);
base.after(() => ring.close());

test('accept, connect, send and recv over loopback move the bytes', async () => {
  const listener = createTcpListener({ host: '127.0.0.1', port: 0 });
  assert.ok(listener.port > 0);
  const client = createTcpSocket(4);
  const [serverFd] = await Promise.all([
    ring.accept(listener.fd),
    ring.connect(client, { host: '127.0.0.1', port: listener.port }),
  ]);
  const sent = await ring.send(client, Buffer.from('ping over io_uring'));
  assert.is(sent.bytesWritten, 18);
  const got = Buffer.alloc(64);
  const r = await ring.recv(serverFd, got);
  assert.is(got.subarray(0, r.bytesRead).toString(), 'ping over io_uring');
  // And back, with owned buffers this time.
  const reply = OwnedBuffer.from(Buffer.from('pong'));
  const s2 = await ring.send(serverFd, reply);
  assert.is(s2.bytesWritten, 4);
  const r2 = await ring.recv(client, new OwnedBuffer(16));
  assert.is(Buffer.from(r2.buffer.bytes.subarray(0, r2.bytesRead)).toString(), 'pong');
  r2.buffer.release();
  s2.buffer.release();
  for (const fd of [serverFd, client, listener.fd]) fs.closeSync(fd);
});

test('acceptWithAddress reports the peer; a node:net client can talk to a ring server', async () => {
  const listener = createTcpListener();
  const socket = net.connect(listener.port, '127.0.0.1');
  const { fd, address } = await ring.acceptWithAddress(listener.fd);
  assert.is(address.family, 'IPv4');
  assert.is(address.host, '127.0.0.1');
  assert.is(address.port, await new Promise((res) => socket.on('connect', () => res(socket.localPort))));
  socket.write('from node:net');
  const buf = Buffer.alloc(32);
  const { bytesRead } = await ring.recv(fd, buf);
  assert.is(buf.subarray(0, bytesRead).toString(), 'from node:net');
  const closed = new Promise((res) => socket.on('close', res));
  socket.end();
  const eof = await ring.recv(fd, buf);
  assert.is(eof.bytesRead, 0, 'orderly shutdown reads 0');
  await ring.closeFd(fd);
  socket.destroy();
  await closed;
  fs.closeSync(listener.fd);
});

test('connect to a closed port rejects with ECONNREFUSED', async () => {
  const listener = createTcpListener();
  fs.closeSync(listener.fd);
  const client = createTcpSocket();
  try {
    await ring.connect(client, { host: '127.0.0.1', port: listener.port });
    assert.unreachable();
  } catch (err) {
    assert.is(err.code, 'ECONNREFUSED');
    assert.is(err.syscall, 'connect');
  }
  fs.closeSync(client);
});

test('IPv6 loopback works too', async () => {
  const listener = createTcpListener({ host: '::1' });
  const client = createTcpSocket(6);
  const [fd] = await Promise.all([ring.accept(listener.fd), ring.connect(client, { host: '::1', port: listener.port })]);
  await ring.send(client, Buffer.from('v6'));
  const buf = Buffer.alloc(4);
  const { bytesRead } = await ring.recv(fd, buf);
  assert.is(buf.subarray(0, bytesRead).toString(), 'v6');
  for (const x of [fd, client, listener.fd]) fs.closeSync(x);
});

base('the fallback backend answers accept and connect with EOPNOTSUPP instead of pretending', async () => {
  if (backend !== 'fallback') return;
  const listener = createTcpListener();
  try {
    await ring.accept(listener.fd);
    assert.unreachable();
  } catch (err) {
    assert.is(err.errno, -95, err.message); // EOPNOTSUPP (Node names it ENOTSUP)
  }
  fs.closeSync(listener.fd);
});

base.run();
