// Keep-alive as in node:net: a referenced server or socket keeps the process
// running, an unreferenced one does not, even though its accept or receive
// is in flight in the kernel all along.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChild } from './helpers/net-streams.mjs';

const prelude = `import net from 'safer-ring/net';\n`;
// Children that should stay alive are killed this long after they are ready; exiting before is the failure.
const STAY_MS = 1000;

async function exits(body, what) {
  const r = await runChild(prelude + body, { killAfterMs: 30_000 });
  assert.is(r.code, 0, `${what}: exited by itself (stderr: ${r.stderr})`);
  assert.ok(r.stdout.includes('ready'), `${what}: got as far as its last step`);
}

async function staysAlive(body, what) {
  const r = await runChild(prelude + body, { killAfterMs: STAY_MS, readyMarker: 'ready' });
  assert.ok(r.stdout.includes('ready'), `${what}: got as far as its last step (stderr: ${r.stderr})`);
  assert.is(r.code, null, `${what}: was still running when killed (exit code ${r.code})`);
}

// The children of a test run side by side.
test('a listening server keeps the process alive; unref() lets it exit; ref() again holds it', async () => {
  await Promise.all([
    staysAlive(`net.createServer().listen(0, '127.0.0.1', () => console.log('ready'));`, 'listening server'),
    exits(`net.createServer().listen(0, '127.0.0.1', () => console.log('ready')).unref();`, 'unref\'d server'),
    staysAlive(`const s = net.createServer().listen(0, '127.0.0.1', () => { s.unref(); s.ref(); console.log('ready'); });`, 'unref then ref'),
  ]);
});

// Both ends of a connection reading; the listener closed; the server's end
// unreferenced. setup(client) decides about the client's end.
const pair = `
let client;
const server = net.createServer((peer) => {
  server.close();
  peer.on('data', () => {});
  peer.unref();
  setup(client);
  console.log('ready');
});
server.listen(0, '127.0.0.1', () => {
  client = net.connect(server.address().port, '127.0.0.1');
  client.on('data', () => {});
});
`;

test('a connected socket waiting for data keeps the process alive unless unref()\'d', async () => {
  await Promise.all([
    staysAlive(`${pair}\nfunction setup(c) {}`, 'both ends reading, client referenced'),
    exits(`${pair}\nfunction setup(c) { c.unref(); }`, 'both ends reading, both unreferenced'),
    staysAlive(`${pair}\nfunction setup(c) { c.unref(); c.ref(); }`, 'client unref\'d then ref\'d'),
  ]);
});

test('an unreferenced socket still receives while something else keeps the process up', async () => {
  await exits(`
const server = net.createServer((peer) => { peer.end('through an unref\\'d socket'); server.close(); });
server.listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1');
  c.unref();
  const hold = setTimeout(() => { console.error('no data'); process.exit(1); }, 10000);
  let got = '';
  c.on('data', (d) => (got += d));
  c.on('end', () => { clearTimeout(hold); if (got === "through an unref'd socket") console.log('ready'); });
});`, 'data on an unreferenced socket');
});

test.run();
