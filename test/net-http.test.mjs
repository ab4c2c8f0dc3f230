// node:http on safer-ring/net sockets: a server answering http.request and
// fetch (keep-alive included), and an http.Agent whose connections come from
// this module's connect().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import net, { createHttpServer, Agent, Socket, usingIoUring } from 'safer-ring/net';
import { listening } from './helpers/net-streams.mjs';

function handler(req, res) {
  if (req.method === 'POST') {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (d) => {
      hash.update(d);
      bytes += d.length;
    });
    req.on('end', () => res.end(JSON.stringify({ bytes, digest: hash.digest('hex'), socket: req.socket instanceof Socket })));
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(`hello ${req.url}`);
}

function request(options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(parts).toString(), socket: req.socket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('an http.Server on these sockets answers http.request, keep-alive included', async () => {
  const server = createHttpServer(handler);
  assert.instance(server, http.Server);
  const { port } = await listening(server, 0, '127.0.0.1');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const serverSockets = new Set();
  server.on('connection', (s) => serverSockets.add(s));
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => request({ port, host: '127.0.0.1', path: `/r${i}`, agent })));
  replies.forEach(({ res, body }, i) => {
    assert.is(res.statusCode, 200);
    assert.is(body, `hello /r${i}`);
  });
  assert.ok(serverSockets.size <= 2, `20 requests over ${serverSockets.size} kept-alive connections`);
  for (const s of serverSockets) assert.instance(s, Socket);
  if (usingIoUring) for (const s of serverSockets) assert.is(s._handle.constructor.name, 'TCPHandle');
  // A 1 MiB upload arrives intact.
  const upload = crypto.randomBytes(1 << 20);
  const { body } = await request({ port, host: '127.0.0.1', method: 'POST', path: '/up', agent }, upload);
  const parsed = JSON.parse(body);
  assert.equal(parsed, { bytes: upload.length, digest: crypto.createHash('sha256').update(upload).digest('hex'), socket: true });
  agent.destroy();
  server.close();
  await once(server, 'close');
});

test('fetch() gets answers from it', async () => {
  const server = createHttpServer(handler);
  const { port } = await listening(server, 0, '127.0.0.1');
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/fetch${i}`);
    assert.is(res.status, 200);
    assert.is(res.headers.get('content-type'), 'text/plain');
    assert.is(await res.text(), `hello /fetch${i}`);
  }
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

test('an http.Agent using this module\'s connect(), against node:http and against itself', async () => {
  const plain = http.createServer(handler); // node:http on node:net
  const ours = createHttpServer(handler);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (const server of [plain, ours]) {
    const { port } = await listening(server, 0, '127.0.0.1');
    let first;
    for (let i = 0; i < 5; i++) {
      const { res, body, socket } = await request({ port, host: '127.0.0.1', path: `/a${i}`, agent });
      assert.is(res.statusCode, 200);
      assert.is(body, `hello /a${i}`);
      assert.instance(socket, net.Socket);
      if (usingIoUring) assert.is(socket._handle.constructor.name, 'TCPHandle');
      first ??= socket;
      assert.is(socket, first, 'the agent keeps reusing one connection');
    }
    // http.request also takes this module's connect directly.
    const direct = await request({ port, host: '127.0.0.1', path: '/direct', createConnection: net.createConnection });
    assert.is(direct.body, 'hello /direct');
    assert.instance(direct.socket, net.Socket);
    server.close();
    agent.destroy();
    server.closeAllConnections();
    await once(server, 'close');
  }
});

test.run();
