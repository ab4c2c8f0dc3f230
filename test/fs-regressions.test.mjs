// What the fs/promises fuzzer (test/fuzz/fs-child.mjs) found, one test each,
// side by side with node:fs/promises (on the fallback backend the module is
// node:fs/promises itself, so these hold trivially there): detached memory,
// the syscall names of vectored I/O, the order of readFile's checks, the
// 'buffer' encoding with iterables, an empty new path, and a vectored read
// into memory shrunk while it is in flight.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import nodeFsp from 'node:fs/promises';
import ours from 'safer-ring/fs/promises';
import { Ring, createPipe } from 'safer-ring';
import { pattern, tmpPath, quiesce } from './helpers/env.mjs';
import { outcome, sameError } from './helpers/fs-compare.mjs';

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** A view whose memory was transferred away (0 bytes long now). */
function detached(kind) {
  const ab = new ArrayBuffer(64);
  const view = kind === 'DataView' ? new DataView(ab) : kind === 'Uint16Array' ? new Uint16Array(ab) : new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return view;
}

/** `call(module, dir)` with both modules on twin directories; outcomes must match (errors with the twin's path). */
async function alike(what, call, setup = () => {}) {
  const dirs = [tmpPath('fsreg'), tmpPath('fsreg')];
  for (const dir of dirs) { fs.mkdirSync(dir); setup(dir); }
  const a = await outcome(() => call(ours, dirs[0]));
  const b = await outcome(() => call(nodeFsp, dirs[1]));
  if (b.error) {
    assert.ok(a.error, `${what}: node failed (${b.error.message}), ours gave ${JSON.stringify(a.value)}`);
    for (const key of ['path', 'dest', 'message']) if (typeof a.error[key] === 'string') a.error[key] = a.error[key].split(dirs[0]).join(dirs[1]);
    sameError(a.error, b.error, what);
  } else {
    assert.ok(!a.error, `${what}: ${a.error?.stack}`);
    assert.equal(a.value, b.value, what);
  }
}

test('a FileHandle reads 0 bytes into a detached view and writes 0 from one, as node:fs does (was a TypeError without a code)', async () => {
  for (const kind of ['Uint8Array', 'Uint16Array', 'DataView']) {
    const setup = (dir) => fs.writeFileSync(path.join(dir, 'f'), pattern(1000));
    const onHandle = (step) => async (m, dir) => {
      const h = await m.open(path.join(dir, 'f'), 'r+');
      try {
        const r = await step(h);
        return [r.bytesRead ?? r.bytesWritten, Object.keys(r)];
      } finally {
        await h.close();
      }
    };
    await alike(`${kind}: read(view)`, onHandle((h) => h.read(detached(kind))), setup);
    await alike(`${kind}: read(view, 0, 0, 0)`, onHandle((h) => h.read(detached(kind), 0, 0, 0)), setup);
    await alike(`${kind}: read(view, 0, 5, 0)`, onHandle((h) => h.read(detached(kind), 0, 5, 0)), setup);
    await alike(`${kind}: read({ buffer })`, onHandle((h) => h.read({ buffer: detached(kind) })), setup);
    await alike(`${kind}: readv`, onHandle((h) => h.readv([detached(kind), Buffer.alloc(4)], 0)), setup);
    await alike(`${kind}: write(view)`, onHandle((h) => h.write(detached(kind))), setup);
    await alike(`${kind}: writev`, onHandle((h) => h.writev([detached(kind)], 0)), setup);
    await alike(`${kind}: writeFile(path, view)`, (m, dir) => m.writeFile(path.join(dir, 'g'), detached(kind)), setup);
    await alike(`${kind}: writeFile(path, [view, 'x'])`, async (m, dir) => {
      await m.writeFile(path.join(dir, 'g'), [detached(kind), 'x']);
      return fs.readFileSync(path.join(dir, 'g'), 'utf8');
    }, setup);
  }
});

test('readv and writev failures name Node\'s syscalls: read and write (were readv and writev)', async () => {
  const setup = (dir) => fs.writeFileSync(path.join(dir, 'f'), pattern(100));
  await alike('readv on a write-only handle', async (m, dir) => {
    const h = await m.open(path.join(dir, 'f'), 'w');
    try { return await h.readv([Buffer.alloc(8)], 0); } finally { await h.close(); }
  }, setup);
  await alike('writev on a read-only handle', async (m, dir) => {
    const h = await m.open(path.join(dir, 'f'), 'r');
    try { return await h.writev([Buffer.alloc(8)], 0); } finally { await h.close(); }
  }, setup);
});

test('readFile(handle) checks the encoding before the signal, as Node does', async () => {
  const setup = (dir) => fs.writeFileSync(path.join(dir, 'f'), pattern(100));
  await alike('readFile(handle, { encoding: "buffer", signal: aborted })', async (m, dir) => {
    const h = await m.open(path.join(dir, 'f'), 'r');
    try { return await m.readFile(h, { encoding: 'buffer', signal: AbortSignal.abort() }); } finally { await h.close(); }
  }, setup);
});

test('writeFile and appendFile encode an iterable\'s strings with the encoding given, "buffer" too (it was ignored)', async () => {
  for (const fn of ['writeFile', 'appendFile']) {
    await alike(`${fn}(path, iterable, { encoding: 'buffer' })`, (m, dir) => m[fn](path.join(dir, 'f'), ['a', Buffer.from('b')], { encoding: 'buffer' }));
    await alike(`${fn}(path, async iterable, 'buffer')`, (m, dir) => m[fn](path.join(dir, 'f'), (async function* gen() { yield 'x'; })(), 'buffer'));
    await alike(`${fn}(path, iterable, { encoding: 'hex' })`, async (m, dir) => {
      await m[fn](path.join(dir, 'f'), ['6869', Buffer.from('!')], { encoding: 'hex' });
      return fs.readFileSync(path.join(dir, 'f'), 'utf8');
    });
  }
});

test('rename and link to an empty path report the existing path\'s error first, as rename(2) does (was ENOENT)', async () => {
  const setup = (dir) => fs.writeFileSync(path.join(dir, 'a'), 'x');
  for (const fn of ['rename', 'link']) {
    await alike(`${fn}('a/x', '')`, (m, dir) => m[fn](path.join(dir, 'a', 'x'), ''), setup);
    await alike(`${fn}('missing', '')`, (m, dir) => m[fn](path.join(dir, 'missing'), ''), setup);
    await alike(`${fn}('a', '')`, (m, dir) => m[fn](path.join(dir, 'a'), ''), setup);
    await alike(`${fn}('', 'b')`, (m, dir) => m[fn]('', path.join(dir, 'b')), setup);
  }
});

test('Ring.readv into a part shrunk or detached while in flight: a coded rejection, no lost slot (was a TypeError without a code)', async () => {
  const ring = new Ring(8);
  try {
    for (const how of ['shrink', 'transfer']) {
      const [r, w] = createPipe();
      await quiesce();
      const before = ring.stats().arena.slotsInUse;
      const ab = how === 'shrink' ? new ArrayBuffer(32, { maxByteLength: 64 }) : new ArrayBuffer(32);
      const intact = new Uint8Array(16);
      const pending = ring.readv(r, [new Uint8Array(ab), intact]);
      await sleep(10);
      if (how === 'shrink') ab.resize(1);
      else structuredClone(ab, { transfer: [ab] });
      fs.writeSync(w, Buffer.alloc(48, 7));
      const err = await pending.catch((e) => e);
      assert.is(err.code, 'ERR_INVALID_STATE', `${how}: ${err.stack}`);
      await quiesce();
      assert.is(ring.stats().arena.slotsInUse, before, how);
      fs.closeSync(r);
      fs.closeSync(w);
    }
  } finally {
    await ring.close();
  }
});

test.run();
