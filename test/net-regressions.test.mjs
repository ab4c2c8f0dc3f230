// What the net fuzzer (test/fuzz/net-child.mjs) found, one test each: an
// OwnedBuffer's bytes written to a socket and released at once must still be
// the bytes that go out, whether node:net holds the chunk in its own buffer
// (the socket is connecting, or another write is in flight) or the handle
// queues it. Before the fix the slot went back to the arena at once, a new
// buffer took it, and the kernel sent the new owner's bytes.
//
// On the fallback backend the module is node:net itself, whose contract is
// that a written buffer stays untouched until its write callback: these run
// on io_uring only.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { OwnedBuffer } from 'safer-ring';
import { createServer, connect } from 'safer-ring/net';
import { ioUringOnly, quiesce } from './helpers/env.mjs';
import { listening, patterned } from './helpers/net-streams.mjs';

const test = ioUringOnly(base);

/** A server that collects what each connection sends until its end. */
async function collector() {
  const got = [];
  const server = createServer((s) => {
    const parts = [];
    s.on('data', (d) => parts.push(d));
    s.on('end', () => {
      got.push(Buffer.concat(parts));
      s.end();
    });
  });
  const { port } = await listening(server, 0, '127.0.0.1');
  return { server, port, got };
}

/** Writes `bytes` from a new OwnedBuffer, releases it at once, and fills two new buffers of the same size with junk. */
function writeOwnedAndRelease(socket, bytes, how = 'write') {
  const o = new OwnedBuffer(bytes.length);
  o.bytes.set(bytes);
  if (how === 'end') socket.end(o.bytes);
  else socket.write(o.bytes);
  o.release();
  const junk = [new OwnedBuffer(bytes.length), new OwnedBuffer(bytes.length)];
  for (const j of junk) j.bytes.fill(0xee);
  return junk;
}

test('OwnedBuffer bytes written while the socket connects, released at once: the peer gets them, not the slot\'s next owner\'s (regression)', async () => {
  const { server, port, got } = await collector();
  await quiesce();
  for (const size of [100, 4000, 20_000, 300_000]) {
    const client = connect(port, '127.0.0.1');
    const bytes = patterned(size, size & 255);
    const junk = writeOwnedAndRelease(client, bytes); // node:net holds it until the connect completes
    client.end();
    await once(client, 'close');
    for (const j of junk) j.release();
    assert.ok(got.at(-1).equals(bytes), `${size} bytes: ${got.at(-1).subarray(0, 8).toString('hex')}`);
  }
  server.close();
});

test('OwnedBuffer bytes written behind a large write in flight, and by end(), released at once: sent as written (regression)', async () => {
  const { server, port, got } = await collector();
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const first = patterned(4 << 20, 1); // keeps a send in flight for a while
  client.write(first);
  const expected = [first];
  const junk = [];
  for (const size of [64, 5000, 40_000]) {
    const bytes = patterned(size, size & 255);
    expected.push(bytes);
    junk.push(...writeOwnedAndRelease(client, bytes));
  }
  const last = patterned(30_000, 9);
  expected.push(last);
  junk.push(...writeOwnedAndRelease(client, last, 'end'));
  await once(client, 'close');
  for (const j of junk) j.release();
  assert.ok(got[0].equals(Buffer.concat(expected)), 'the bytes as written, in order');
  server.close();
});

test('after connect(), a socket\'s write is still the one that borrows arena memory (node:net resets it on connect)', async () => {
  const { server, port } = await collector();
  const client = connect(port, '127.0.0.1');
  assert.not.ok(Object.prototype.hasOwnProperty.call(client, 'write'));
  assert.is(client.write, Object.getPrototypeOf(client).write);
  client.end();
  await once(client, 'close');
  server.close();
});

test.run();
