// Faults the environment injects: no fds left (EMFILE), a full filesystem
// (ENOSPC), too little locked memory for registered buffers (RLIMIT_MEMLOCK),
// and a burst far larger than the completion queue. Each must give a clear,
// coded error or degrade as documented, lose nothing, and recover.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Ring, Runtime, OwnedBuffer, SaferRingConfig, createPipe } from 'safer-ring';
import { backend, tmpPath, pattern, patternFile, oncePerBackend, withinDeadline } from './helpers/env.mjs';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz', 'fault-child.mjs');
const isRoot = process.getuid?.() === 0;
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Registers `name` as skipped, the reason in its name, when `why` is a string. */
function testUnless(why, name, fn) {
  if (typeof why === 'string') test.skip(`${name} [skipped: ${why}]`, fn);
  else once(name, fn);
}
// The environment's faults do not depend on the worker count: once per backend.
const once = oncePerBackend(test);

/** Why a small tmpfs cannot be mounted here, or null when it can (tried once, at load). */
function tmpfsRefusal() {
  if (!isRoot) return 'mounting a small tmpfs needs root';
  const probe = tmpPath('mount-probe');
  fs.mkdirSync(probe);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `mount -t tmpfs was refused here (${(r.stderr || r.error?.message || '').trim()})`;
  spawnSync('umount', [probe]);
  return null;
}

/** Runs the fault child under `wrapper` (argv prefix) and returns its JSON line. */
function runFaultChild(wrapper, args) {
  const r = spawnSync(wrapper[0], [...wrapper.slice(1), process.execPath, child, ...args], {
    encoding: 'utf8', env: process.env, timeout: 60_000,
  });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  assert.ok(r.status === 0 && line !== undefined, `the child ended badly (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line);
}

testUnless(has('prlimit') || 'prlimit (util-linux) is not installed', 'EMFILE (RLIMIT_NOFILE 64 in a child): opens fail with EMFILE, a new Ring and Runtime fail clearly without a restart loop, and all recover once fds are free', () => {
  const dir = tmpPath('emfile');
  fs.mkdirSync(dir);
  const out = runFaultChild(['prlimit', '--nofile=64:64'], ['emfile', dir]);
  assert.ok(out.opened > 10, `${out.opened} files opened before the limit`);
  assert.equal({ code: out.openRefusal.code, errno: out.openRefusal.errno, syscall: out.openRefusal.syscall }, { code: 'EMFILE', errno: -24, syscall: 'open' });
  assert.ok(out.openRefusal.path.startsWith(dir), 'the error names the path');
  if (backend === 'io_uring') {
    assert.equal({ code: out.ringRefusal.code, errno: out.ringRefusal.errno, syscall: out.ringRefusal.syscall }, { code: 'EMFILE', errno: -24, syscall: 'io_uring_setup' });
  } else {
    assert.is(out.ringRefusal, null, 'a fallback ring needs no fd');
  }
  // The runtime's worker thread cannot even start: its op fails (no hang) with a message saying so.
  assert.type(out.runtimeNop, 'object', `runtime nop: ${JSON.stringify(out.runtimeNop)}`);
  assert.match(out.runtimeNop.message, /could not start/);
  assert.is(out.runtimeReplaced, 0, 'no restart loop for a worker that cannot start (was hundreds per second)');
  assert.is(out.reopen, 'ok');
  assert.is(out.ring2Nop, 'ok');
  assert.is(out.runtime2Nop, 'ok');
});

testUnless(tmpfsRefusal() ?? true, 'ENOSPC on a 256 KiB tmpfs: writes fail with ENOSPC through Ring and Runtime, nothing else breaks, and they work again once space is freed', async () => {
  const dir = tmpPath('enospc');
  fs.mkdirSync(dir);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { encoding: 'utf8' });
  assert.is(mount.status, 0, mount.stderr);
  const ring = new Ring(8);
  const rt = new Runtime({ entries: 8 });
  try {
    for (const x of [ring, rt]) {
      const filler = path.join(dir, 'filler');
      const fd = fs.openSync(filler, 'w');
      let written = 0;
      let refusal = null;
      const chunk = pattern(32 * 1024);
      while (refusal === null && written < 1 << 20) {
        try {
          const { bytesWritten } = await x.write(fd, chunk, { position: written });
          written += bytesWritten;
        } catch (err) {
          refusal = err;
        }
      }
      assert.ok(refusal !== null, 'a 256 KiB filesystem fills up');
      assert.equal({ code: refusal.code, errno: refusal.errno, syscall: refusal.syscall }, { code: 'ENOSPC', errno: -28, syscall: 'write' });
      assert.ok(written > 128 * 1024 && written <= 256 * 1024, `${written} bytes written before ENOSPC`);
      // What was written is intact.
      const back = fs.readFileSync(filler);
      for (let off = 0; off < written; off += chunk.length) {
        assert.ok(back.subarray(off, off + Math.min(chunk.length, written - off)).equals(chunk.subarray(0, Math.min(chunk.length, written - off))), `bytes at ${off}`);
      }
      // Recovery: free the space, write again.
      fs.closeSync(fd);
      fs.unlinkSync(filler);
      const fd2 = fs.openSync(path.join(dir, 'after'), 'w');
      const { bytesWritten } = await x.writeOwned(fd2, OwnedBuffer.from(chunk), { position: 0 });
      assert.is(bytesWritten, chunk.length);
      fs.closeSync(fd2);
      fs.unlinkSync(path.join(dir, 'after'));
    }
  } finally {
    await ring.close();
    await rt.close();
    spawnSync('umount', [dir]);
  }
});

const memlockRefusal = backend !== 'io_uring' ? 'the fallback registers no buffers'
  : !has('prlimit') || (isRoot && !has('setpriv')) ? 'needs prlimit, and setpriv to drop CAP_IPC_LOCK as root (util-linux)' : true;
testUnless(memlockRefusal, 'RLIMIT_MEMLOCK too small (1 MiB, no CAP_IPC_LOCK): buffers stay unregistered, every read is right, one warning for the process', () => {
  const file = patternFile(64 * 1024);
  const wrapper = [...(isRoot ? ['setpriv', '--inh-caps=-ipc_lock', '--bounding-set=-ipc_lock'] : []), 'prlimit', '--memlock=1048576'];
  const out = runFaultChild(wrapper, ['memlock', file]);
  assert.is(out.backend, 'io_uring');
  assert.is(out.wrong, 0, 'every read returned the file\'s bytes');
  assert.ok(out.fixedBufferOps < out.ops / 2, `${out.fixedBufferOps} of ${out.ops} ops used a registered buffer`);
  assert.is(out.warnings.length, 1, `one warning: ${JSON.stringify(out.warnings)}`);
  assert.match(out.warnings[0].message, /RLIMIT_MEMLOCK/);
});

test('an op the kernel fails while setting it up (a path past PATH_MAX) does not hold up the ops submitted with it', async () => {
  // Without IORING_SETUP_SUBMIT_ALL the kernel stops a submit at such an
  // SQE and leaves the ones after it in the SQ ring; nothing resubmitted
  // them, so they never settled (and on a worker, held its budget).
  const tooLong = path.join(tmpPath('long'), 'x'.repeat(5000));
  const fsp = (await import('safer-ring/fs/promises')).default;
  const file = patternFile(4096);
  const ring = new Ring(8);
  const rt = new Runtime({ workers: 1, entries: 8 });
  try {
    for (const x of [ring, rt]) {
      const ops = [x.openat(tooLong, 'r'), x.nop(), x.statx(tooLong), x.nop(), x.mkdirat(tooLong), x.nop()];
      const settled = await withinDeadline(Promise.allSettled(ops), 10_000, () => ({ ring: x.stats() }));
      assert.equal(settled.map((r) => r.status), ['rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      for (const r of settled) if (r.status === 'rejected') assert.is(r.reason.code, 'ENAMETOOLONG');
    }
    // The drop-in, with its linked open → read chains: the same errors as node:fs, and the good read beside them.
    const got = await withinDeadline(Promise.allSettled([fsp.readFile(tooLong), fsp.readFile(file), fsp.stat(tooLong), fsp.open(tooLong)]), 10_000, () => ({}));
    assert.equal(got.map((r) => r.status), ['rejected', 'fulfilled', 'rejected', 'rejected']);
    assert.ok(got[1].value.equals(fs.readFileSync(file)));
    for (const i of [0, 2, 3]) {
      const nodeErr = await [fs.promises.readFile, null, fs.promises.stat, fs.promises.open][i](tooLong).catch((e) => e);
      assert.is(got[i].reason.code, nodeErr.code);
      assert.is(got[i].reason.syscall, nodeErr.syscall);
    }
  } finally {
    await ring.close();
    await rt.close();
  }
});

test('a burst of 20,000 ops on rings of 2 entries (CQ of 4): backpressure, nothing dropped, no CQ overflow', async () => {
  const size = 64 * 1024;
  const data = pattern(size);
  const fd = fs.openSync(patternFile(size), 'r');
  const [r, w] = createPipe();
  const ring = new Ring(2);
  const rt = new Runtime({ entries: 2, config: SaferRingConfig.builder().metrics(true).entries(2).build() });
  const n = 20_000;
  let wrong = 0;
  let pipeBytes = 0;
  const settledKinds = { nop: 0, pipe: 0, file: 0 };
  const ops = [];
  for (let i = 0; i < n; i++) {
    const x = i % 2 === 0 ? ring : rt;
    const kind = i % 5;
    if (kind === 4) {
      ops.push(x.nop().then(() => { settledKinds.nop++; }));
    } else if (kind === 3 && i % 10 === 3) {
      // A pipe read whose data arrives later: it waits in the queue or in flight without blocking the rest.
      ops.push(x.read(r, Buffer.alloc(8)).then(({ bytesRead }) => { pipeBytes += bytesRead; settledKinds.pipe++; }));
    } else {
      const pos = (i * 977) % (size - 256);
      ops.push(x.readOwned(fd, new OwnedBuffer(256), { position: pos }).then(({ bytesRead, buffer }) => {
        if (bytesRead !== 256 || !Buffer.from(buffer.bytes).equals(data.subarray(pos, pos + 256))) wrong++;
        buffer.release();
        settledKinds.file++;
      }));
    }
  }
  assert.ok(ring.stats().queued > 1000, 'most of the burst waits in JavaScript, not in the kernel');
  // Feed the pipe reads: 8 bytes each.
  const pipeReads = Math.ceil(n / 10);
  fs.writeSync(w, Buffer.alloc(pipeReads * 8, 1));
  // Seconds normally; a stall fails here with where each side stood.
  const settled = await withinDeadline(Promise.allSettled(ops), 60_000, () => ({
    settledKinds, pipeBytes, ring: ring.stats(), runtime: rt.stats(),
  }));
  const failed = settled.filter((s) => s.status === 'rejected');
  assert.is(failed.length, 0, `${failed.length} ops failed: ${failed[0]?.reason?.stack}`);
  assert.is(wrong, 0, 'every read got its bytes');
  assert.is(pipeBytes, pipeReads * 8, 'every pipe byte arrived');
  assert.is(ring.stats().completed, n / 2 + 0, 'the ring completed its half');
  assert.is(ring.metrics().cqOverflow, 0, 'the kernel never overflowed the ring\'s CQ');
  assert.ok(ring.metrics().sqFull > 0, 'backpressure: flushes left ops waiting for room');
  assert.is(rt.metrics().cqOverflow, 0, 'nor a worker ring\'s');
  fs.closeSync(fd);
  fs.closeSync(r);
  fs.closeSync(w);
  await ring.close();
  await rt.close();
});

test.run();
