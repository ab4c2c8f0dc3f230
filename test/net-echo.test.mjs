// safer-ring/net as an echo server and client: many connections at once,
// random message sizes, every byte checked; IPv6 and unix domain sockets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodeNet from 'node:net';
import net, { createServer, connect, Socket, usingIoUring } from 'safer-ring/net';
import { backend } from './helpers/env.mjs';
import { listening, patterned, prng, readAll } from './helpers/net-streams.mjs';

test('the module runs on io_uring on that backend, and is node:net on the fallback', () => {
  assert.is(usingIoUring, backend === 'io_uring');
  if (!usingIoUring) {
    assert.is(net.Socket, nodeNet.Socket);
    assert.is(net.createServer, nodeNet.createServer);
  } else {
    assert.is.not(net.Socket, nodeNet.Socket);
    assert.ok(new Socket() instanceof nodeNet.Socket, 'a subclass of node:net Socket');
  }
  for (const name of Object.keys(nodeNet)) assert.ok(name in net, `safer-ring/net exports ${name}`);
  assert.is(net.isIP('::1'), 6);
});

/** An echo server whose every connection pipes into itself. */
function echoServer() {
  return createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
}

test('echo: 64 concurrent connections, random message sizes, every byte comes back', async () => {
  const server = echoServer();
  const { port } = await listening(server, 0, '127.0.0.1');
  const rand = prng(7);
  const clients = [];
  for (let c = 0; c < 64; c++) {
    const messages = [];
    const count = 1 + Math.floor(rand() * 6);
    for (let m = 0; m < count; m++) {
      // Mostly small messages, some up to 300 KiB (more than one send, more than one receive buffer).
      const size = rand() < 0.8 ? 1 + Math.floor(rand() * 2048) : 1 + Math.floor(rand() * 300 * 1024);
      messages.push(patterned(size, c * 31 + m));
    }
    clients.push((async () => {
      const socket = connect(port, '127.0.0.1');
      assert.instance(socket, Socket);
      const echoed = readAll(socket);
      await new Promise((res) => socket.once('connect', res));
      for (const m of messages) socket.write(m);
      socket.end();
      const got = await echoed;
      const sent = Buffer.concat(messages);
      assert.is(got.length, sent.length, `client ${c}: length`);
      assert.ok(got.equals(sent), `client ${c}: contents`);
      assert.is(socket.bytesWritten, sent.length);
      assert.is(socket.bytesRead, sent.length);
    })());
  }
  await Promise.all(clients);
  await new Promise((res) => server.close(res));
});

test('echo: node:net clients against this server, and this module as client against a node:net server', async () => {
  const ours = echoServer();
  const { port } = await listening(ours, 0, '127.0.0.1');
  const theirs = nodeNet.createServer((s) => s.pipe(s));
  await listening(theirs, 0, '127.0.0.1');
  const payload = patterned(100_000, 3);
  for (const [client, p] of [[nodeNet.connect(port, '127.0.0.1'), 'node:net → safer-ring'], [connect(theirs.address().port, '127.0.0.1'), 'safer-ring → node:net']]) {
    const got = readAll(client);
    client.end(payload);
    assert.ok((await got).equals(payload), p);
  }
  await new Promise((res) => ours.close(res));
  await new Promise((res) => theirs.close(res));
});

test('strings in every encoding, mixed with buffers and cork()ed batches, arrive as their bytes', async () => {
  const server = echoServer();
  const { port } = await listening(server, 0, '127.0.0.1');
  const client = connect(port, '127.0.0.1');
  const echoed = readAll(client);
  const big = 'ünïcødé ✓ '.repeat(20_000); // ~240 KB of UTF-8: more than one send
  const writes = [
    ['hello ', 'utf8'], ['grüße 🌍 ', 'utf8'], ['latin1 ÿ ', 'latin1'], ['ascii ', 'ascii'], ['ucs2 ✓ ', 'ucs2'],
    ['68657820', 'hex'], ['YmFzZTY0IA==', 'base64'], [big, 'utf8'], [Buffer.from(' buffer '), undefined], ['', 'utf8'], ['end', 'latin1'],
  ];
  // cork()ed batches of strings only: ASCII in encodings that agree on it
  // (joined), one encoding beside an empty string in another (joined, as
  // node:http's response and its end are), one encoding (joined as it is),
  // and a latin1 character beside UTF-8 (not joined).
  const batches = [
    [['HTTP/1.1 200 OK\r\n\r\n', 'latin1'], ['hello world\n', 'utf8']],
    [['HTTP/1.1 200 OK\r\n\r\nhéllo wörld ✓\n', 'utf8'], ['', 'latin1']], // node:http's response and end
    [['grüße ', 'utf8'], ['🌍 ✓ ', 'utf8']],
    [['ÿ latin1 ', 'latin1'], ['✓ utf8 ', 'utf8'], ['ascii', 'ascii']],
  ];
  const expected = Buffer.concat([...writes, ...batches.flat()].map(([w, enc]) => (Buffer.isBuffer(w) ? w : Buffer.from(w, enc))));
  await new Promise((res) => client.once('connect', res));
  client.cork();
  for (const [w, enc] of writes.slice(0, 5)) client.write(w, enc);
  client.uncork(); // one writev of strings
  for (const [w, enc] of writes.slice(5)) client.write(w, enc);
  for (const batch of batches) {
    client.cork();
    for (const [w, enc] of batch) client.write(w, enc);
    client.uncork();
  }
  client.end();
  const got = await echoed;
  assert.is(got.length, expected.length);
  assert.ok(got.equals(expected));
  assert.is(client.bytesWritten, expected.length);
  await new Promise((res) => server.close(res));
});

test('addresses: local and remote ports agree on both ends; IPv6 loopback', async () => {
  const server = createServer();
  const { port } = await listening(server, 0, '127.0.0.1');
  const accepted = new Promise((res) => server.once('connection', res));
  const client = connect(port, '127.0.0.1');
  await new Promise((res) => client.once('connect', res));
  const peer = await accepted;
  assert.equal(client.address(), { address: '127.0.0.1', family: 'IPv4', port: client.localPort });
  assert.is(client.remotePort, port);
  assert.is(client.remoteFamily, 'IPv4');
  assert.is(peer.remotePort, client.localPort);
  assert.is(peer.localPort, port);
  client.destroy();
  peer.destroy();
  await new Promise((res) => server.close(res));

  const has6 = Object.values(os.networkInterfaces()).flat().some((i) => i.family === 'IPv6' && i.internal);
  if (!has6) return;
  const s6 = echoServer();
  const a6 = await listening(s6, 0, '::1');
  assert.is(a6.family, 'IPv6');
  assert.is(a6.address, '::1');
  const c6 = connect(a6.port, '::1');
  const got = readAll(c6);
  await new Promise((res) => c6.once('connect', res));
  assert.is(c6.remoteAddress, '::1');
  assert.is(c6.remoteFamily, 'IPv6');
  c6.end('over IPv6');
  assert.is((await got).toString(), 'over IPv6');
  await new Promise((res) => s6.close(res));
});

test('unix domain sockets: echo through a path; the path goes when the server closes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-net-'));
  const sock = path.join(dir, 'echo.sock');
  const server = echoServer();
  await listening(server, sock);
  assert.is(server.address(), sock);
  assert.ok(fs.statSync(sock).isSocket());
  const payload = patterned(200_000, 9);
  const client = connect(sock);
  const got = readAll(client);
  client.end(payload);
  assert.ok((await got).equals(payload));
  await new Promise((res) => server.close(res));
  assert.not.ok(fs.existsSync(sock), 'socket file removed on close');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a worker thread serves its own sockets on its own ring', async () => {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(`
    const { parentPort, threadId } = require('node:worker_threads');
    import('safer-ring/net').then(({ createServer, usingIoUring }) => {
      const server = createServer((s) => s.end('worker ' + threadId + ' ' + usingIoUring));
      server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
      parentPort.once('message', () => server.close());
    });
  `, { eval: true });
  const port = await new Promise((res) => worker.once('message', res));
  const client = connect(port, '127.0.0.1');
  assert.is((await readAll(client)).toString(), `worker ${worker.threadId} ${usingIoUring}`);
  worker.postMessage('close');
  assert.is((await new Promise((res) => worker.once('exit', res))), 0, 'the worker exits once its server is closed');
});

test('AsyncLocalStorage: each callback sees the store node:net would give it', async () => {
  const { AsyncLocalStorage } = await import('node:async_hooks');
  async function storesSeen(mod) {
    const als = new AsyncLocalStorage();
    const seen = [];
    const see = (what) => seen.push(`${what}: ${als.getStore()}`);
    const server = als.run('server', () => mod.createServer((s) => {
      see('connection');
      s.on('data', (d) => {
        see('server data');
        s.end(d);
      });
    }).listen(0, '127.0.0.1'));
    await new Promise((res) => server.once('listening', res));
    await new Promise((res) => als.run('client', () => {
      const c = mod.connect(server.address().port, '127.0.0.1', () => {
        see('connect');
        c.write('x');
      });
      c.on('data', () => see('client data'));
      c.on('close', () => {
        see('client close');
        res();
      });
    }));
    await new Promise((res) => server.close(res));
    return seen;
  }
  assert.equal(await storesSeen(net), await storesSeen(nodeNet));
});

test('errors: ECONNREFUSED and EADDRINUSE look exactly like node:net\'s', async () => {
  const probe = nodeNet.createServer();
  const { port } = await listening(probe, 0, '127.0.0.1');
  await new Promise((res) => probe.close(res)); // a port nobody listens on now
  const errorOf = (mod) => new Promise((res) => mod.connect(port, '127.0.0.1').on('error', res));
  const ours = await errorOf(net);
  const theirs = await errorOf(nodeNet);
  for (const key of ['message', 'code', 'errno', 'syscall', 'address', 'port']) assert.is(ours[key], theirs[key], key);
  assert.is(ours.constructor, Error);

  const holder = nodeNet.createServer();
  const taken = await listening(holder, 0, '127.0.0.1');
  const inUse = (mod) => new Promise((res) => mod.createServer().listen(taken.port, '127.0.0.1').on('error', res));
  const e1 = await inUse(net);
  const e2 = await inUse(nodeNet);
  for (const key of ['message', 'code', 'errno', 'syscall', 'address', 'port']) assert.is(e1[key], e2[key], key);
  await new Promise((res) => holder.close(res));
});

test.run();
