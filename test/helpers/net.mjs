// Loopback helpers for tests that talk over TCP through a ring.
import fs from 'node:fs';
import { createTcpListener, createTcpSocket } from 'safer-ring';

/** A connected loopback pair made through `ring`: [serverFd, clientFd]. */
export async function loopbackPair(ring) {
  const listener = createTcpListener();
  const client = createTcpSocket();
  const [server] = await Promise.all([ring.accept(listener.fd), ring.connect(client, { host: '127.0.0.1', port: listener.port })]);
  fs.closeSync(listener.fd);
  return [server, client];
}

/** The received bytes of a recv result, as text. */
export function text(result) {
  return Buffer.from(result.buffer.bytes.subarray(0, result.bytesRead)).toString();
}

export function closeAll(fds) {
  for (const fd of fds) fs.closeSync(fd);
}

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
