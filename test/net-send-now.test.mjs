// Large plain Buffers written to a safer-ring/net socket are first offered to
// the kernel at once (a non-blocking send(2) that copies from the Buffer during
// the call), and only what the socket does not take goes through a ring send
// of an arena copy. These tests hold that path to node:net's contract: every
// byte, in order, each write's callback after write() returned and in order,
// and a socket whose peer does not read takes part now and the rest later.
// On the fallback backend the module is node:net itself: io_uring only.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createServer, connect } from 'safer-ring/net';
import { ioUringOnly } from './helpers/env.mjs';
import { listening, patterned, readAll } from './helpers/net-streams.mjs';

const test = ioUringOnly(base);
const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { binding } = require(path.join(root, 'dist', 'src', 'native.js'));

/** A connected pair: the client socket and the server's side of it. */
async function pair() {
  let accept;
  const accepted = new Promise((r) => { accept = r; });
  const server = createServer((s) => accept(s));
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const peer = await accepted;
  return { server, client, peer };
}

test('mixed small, large and string writes arrive whole and in order; callbacks run after write() returns, in order', async () => {
  const { server, client, peer } = await pair();
  const received = readAll(peer);
  const chunks = [
    patterned(10, 1), patterned(20_000, 2), 'a string between them', patterned(300_000, 3), patterned(5, 4),
    patterned(70_000, 5), patterned(16 * 1024, 6), patterned(2 << 20, 7), 'the end',
  ];
  const calls = []; // [index, error, whether write() had returned]
  for (let i = 0; i < chunks.length; i++) {
    let returned = false;
    client.write(chunks[i], (err) => calls.push([i, err ?? null, returned]));
    returned = true;
  }
  client.end();
  const got = await received;
  const want = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  assert.is(got.length, want.length);
  assert.ok(got.equals(want), 'the bytes differ');
  assert.equal(calls, chunks.map((_, i) => [i, null, true]), 'each callback once, without error, after write() returned, in order');
  assert.is(client.bytesWritten, want.length);
  await once(client, 'close');
  server.close();
});

test('a peer that does not read: the socket takes what fits now, the rest waits in a ring send, nothing lost', async () => {
  const { server, client, peer } = await pair();
  peer.pause();
  const big = patterned(64 << 20, 9); // more than loopback's socket buffers hold
  let done = false;
  const accepted = client.write(big, () => { done = true; });
  assert.is(accepted, false, 'a 64 MiB write is over the high-water mark');
  await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(done, 'the write cannot have finished: the peer reads nothing');
  // node:net counts the whole write until its callback; the handle counts what the kernel has not taken.
  const left = client._handle.writeQueueSize;
  assert.ok(left > 0 && left < big.length, `part was taken at once: ${left} bytes left`);
  const received = readAll(peer);
  peer.resume();
  await once(client, 'drain');
  assert.ok(done);
  client.end();
  const got = await received;
  assert.ok(got.equals(big), 'the bytes differ');
  await once(client, 'close');
  server.close();
});

test('trySend: the view\'s own extent, checked arguments, errors as negative errno', async () => {
  const { server, client, peer } = await pair();
  const received = readAll(peer);
  const fd = client._handle.fd;
  class Liar extends Uint8Array { get length() { return 1 << 20; } }
  const real = patterned(64, 10);
  const liar = new Liar(real.buffer, real.byteOffset, 64);
  assert.is(binding.trySend(fd, liar, 0), 64, 'only the 64 bytes the view really has');
  assert.is(binding.trySend(fd, real, 64), 0, 'nothing past the end');
  assert.throws(() => binding.trySend(fd, real, 65), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => binding.trySend(fd, 'text', 0), (e) => e.code === 'ERR_INVALID_ARG_VALUE');
  assert.throws(() => binding.trySend(fd, new Uint16Array(4), 0), (e) => e.code === 'ERR_INVALID_ARG_VALUE');
  assert.throws(() => binding.trySend(-1, real, 0), (e) => e.code === 'ERR_INVALID_ARG_VALUE');
  const [pipeR, pipeW] = binding.pipe();
  assert.ok(binding.trySend(pipeW, real, 0) < 0, 'a pipe is not a socket: a negative errno');
  binding.close(pipeR);
  binding.close(pipeW);
  client.end();
  const got = await received;
  assert.ok(got.equals(real));
  await once(client, 'close');
  server.close();
});

test.run();
