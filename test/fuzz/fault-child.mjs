#!/usr/bin/env node
// Fault scenarios that need a process of their own (started by
// test/faults.test.mjs under a lowered rlimit). Prints one JSON line with what
// it observed; the test judges it.
//
//   node test/fuzz/fault-child.mjs emfile <dir>    (run under a low RLIMIT_NOFILE)
//   node test/fuzz/fault-child.mjs memlock <file>  (run under a tiny RLIMIT_MEMLOCK, without CAP_IPC_LOCK)
import fs from 'node:fs';
import path from 'node:path';
import { Ring, Runtime, OwnedBuffer } from 'safer-ring';

const [scenario, where] = process.argv.slice(2);
const out = {};
const shape = (err) => ({ code: err?.code, errno: err?.errno, syscall: err?.syscall, path: err?.path, message: err?.message });

if (scenario === 'emfile') {
  const ring = new Ring(8);
  // 1. Open files through the ring until the process has no fd left.
  const opened = [];
  let refusal = null;
  for (let i = 0; i < 10_000 && refusal === null; i++) {
    try {
      opened.push(await ring.openat(path.join(where, `f${i}`), 'w'));
    } catch (err) {
      refusal = err;
    }
  }
  out.opened = opened.length;
  out.openRefusal = shape(refusal);
  // 2. A new Ring and a new Runtime now: clear errors, no crash, no hang.
  try {
    new Ring(8);
    out.ringRefusal = null;
  } catch (err) {
    out.ringRefusal = shape(err);
  }
  const rt = new Runtime({ workers: 1, entries: 8 });
  out.runtimeNop = await Promise.race([
    rt.nop().then(() => 'ok', (err) => shape(err)),
    new Promise((r) => setTimeout(() => r('hung'), 10_000)),
  ]);
  await new Promise((r) => setTimeout(r, 200));
  out.runtimeReplaced = rt.stats().workersReplaced; // a worker that cannot start is not restarted in a loop
  await rt.close().catch(() => {});
  // 3. Recovery: give some fds back (through the ring), and everything works again.
  for (const fd of opened.splice(0, 16)) await ring.closeFd(fd);
  out.reopen = await ring.openat(path.join(where, 'again'), 'w').then(async (fd) => { opened.push(fd); return 'ok'; }, (err) => shape(err));
  const ring2 = new Ring(8);
  out.ring2Nop = await ring2.nop().then(() => 'ok', (err) => shape(err));
  await ring2.close();
  const rt2 = new Runtime({ workers: 1, entries: 8 });
  out.runtime2Nop = await rt2.nop().then(() => 'ok', (err) => shape(err));
  await rt2.close();
  for (const fd of opened) await ring.closeFd(fd);
  await ring.close();
} else if (scenario === 'memlock') {
  const warnings = [];
  process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));
  const want = fs.readFileSync(where);
  const fd = fs.openSync(where, 'r');
  const ring = new Ring({ entries: 8, fixedBuffers: true });
  const rt = new Runtime({ workers: 1, entries: 8, fixedBuffers: true });
  // 24 buffers of 512 KiB: one arena chunk each, 12 MiB in all, far over the limit.
  let wrong = 0;
  let ops = 0;
  for (const x of [ring, rt, ring]) {
    for (let i = 0; i < 8; i++) {
      const pos = i * 4096;
      const { bytesRead, buffer } = await x.readOwned(fd, new OwnedBuffer(300_000), { position: pos });
      if (!Buffer.from(buffer.bytes.subarray(0, bytesRead)).equals(want.subarray(pos, pos + bytesRead))) wrong++;
      ops++;
      // Kept alive, so every read takes a new chunk.
      (globalThis.kept ??= []).push(buffer);
    }
  }
  await new Promise((r) => setTimeout(r, 50)); // a worker's report travels by message
  out.ops = ops;
  out.wrong = wrong;
  out.fixedBufferOps = ring.stats().fixedBufferOps;
  out.warnings = warnings.filter((w) => w.code === 'SAFER_RING_UNREGISTERED_BUFFERS');
  out.backend = ring.backend;
  await ring.close();
  await rt.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
