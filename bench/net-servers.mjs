#!/usr/bin/env node
// The server (and bulk sender) side of bench/net.mjs, one kind per process:
//
//   node bench/net-servers.mjs KIND
//
// It listens on 127.0.0.1, port 0, prints the port on its first line and runs
// until its stdin closes (the benchmark keeps it open), so it can never
// outlive the benchmark. KINDs:
//   echo-node / echo-ring          node:net / safer-ring/net: every connection pipes into itself
//   echo-ring-raw                  Ring recv/send loops on the calling thread (no streams)
//   echo-runtime-raw               the same through a Runtime with one worker thread
//   http-node / http-ring          node:http hello world on node:net / on safer-ring/net
//   sink-node / sink-ring          counts the bytes it receives; prints them and the seconds from first byte to end
//   send-node PORT MiB / send-ring PORT MiB   connects and sends MiB mebibytes in 1 MiB writes, then exits
//   send-ring-owned PORT MiB       the same from an OwnedBuffer's bytes (sent in place, without a copy)
import http from 'node:http';
import nodeNet from 'node:net';
import * as saferRing from 'safer-ring';
import * as ringNet from 'safer-ring/net';

const [kind, ...args] = process.argv.slice(2);
const HELLO = 'hello world\n';

function ready(server) {
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
}

function echo(net) {
  ready(net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  }));
}

function httpServer(create) {
  ready(create((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(HELLO);
  }));
}

function sink(net) {
  ready(net.createServer((socket) => {
    let bytes = 0;
    let t0 = 0n;
    socket.on('data', (d) => {
      if (bytes === 0) t0 = process.hrtime.bigint();
      bytes += d.length;
    });
    // Timed from the first byte to the end: the sender's start-up is not in it.
    socket.on('end', () => console.log(`bytes=${bytes} seconds=${Number(process.hrtime.bigint() - t0) / 1e9}`));
    socket.on('error', () => {});
  }));
}

async function send(net, port, mib, owned = false) {
  // `owned`: the bytes live in an OwnedBuffer (arena memory), which safer-ring/net sends in place.
  const chunk = owned ? saferRing.OwnedBuffer.from(Buffer.alloc(1 << 20, 7)).bytes : Buffer.alloc(1 << 20, 7);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((res) => socket.once('connect', res));
  for (let i = 0; i < Number(mib); i++) {
    if (!socket.write(chunk)) await new Promise((res) => socket.once('drain', res));
  }
  socket.end();
  await new Promise((res) => socket.once('close', res));
  process.exit(0);
}

/** Echo with the raw API: one recv/send loop per connection, on `io` (a Ring or a Runtime). */
async function rawEcho(io) {
  const { createTcpListener } = saferRing;
  const listener = createTcpListener({ host: '127.0.0.1', port: 0 });
  console.log(listener.port);
  for (;;) {
    const fd = await io.accept(listener.fd);
    (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const { bytesRead } = await io.recv(fd, buf);
        if (bytesRead <= 0) break;
        await io.send(fd, buf, { length: bytesRead });
      }
      await io.closeFd(fd);
    })().catch(() => {});
  }
}

if (!kind?.startsWith('send-')) {
  // A server lives until the benchmark closes its stdin.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

switch (kind) {
  case 'echo-node': echo(nodeNet); break;
  case 'echo-ring': echo(ringNet); break;
  case 'echo-ring-raw': rawEcho(new saferRing.Ring({ entries: 1024 })); break;
  case 'echo-runtime-raw': rawEcho(new saferRing.Runtime({ workers: 1 })); break;
  case 'http-node': httpServer(http.createServer); break;
  case 'http-ring': httpServer(ringNet.createHttpServer); break;
  case 'sink-node': sink(nodeNet); break;
  case 'sink-ring': sink(ringNet); break;
  case 'send-node': await send(nodeNet, ...args); break;
  case 'send-ring': await send(ringNet, ...args); break;
  case 'send-ring-owned': await send(ringNet, ...args, true); break;
  default:
    console.error(`unknown kind: ${kind}`);
    process.exit(2);
}
