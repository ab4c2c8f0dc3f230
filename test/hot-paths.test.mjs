// Guards for the per-operation path's speed that a functional test cannot see.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Ring, createPipe } from 'safer-ring';

/** Full collections, a turn of the loop after each (WeakRefs clear between jobs); works without --expose-gc too. */
async function collectGarbage() {
  if (typeof globalThis.gc !== 'function') v8.setFlagsFromString('--expose-gc');
  const gc = globalThis.gc ?? vm.runInNewContext('gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((res) => setImmediate(res));
  }
}

const dist = fileURLToPath(new URL('../dist/src/', import.meta.url));

// Every op calls functions of these modules through their CommonJS exports
// (takeSlot, peekSlot, restore, ...). An accessor on an exports object (what
// TypeScript emits for `export { x } from '...'`) turns it into a dictionary,
// and each such call into a slow lookup: about 15% of a 4 KiB read's
// JavaScript time once, in owned-buffer.js.
const HOT = [
  'buffers/owned-buffer.js', 'buffers/arena.js', 'buffers/geometry.js', 'ring/engine.js', 'ring/ring.js', 'ring/settle.js',
  'ring/op-record.js', 'ring/many.js', 'ring/descriptor.js', 'validate.js', 'errors.js', 'runtime/remote-ring.js',
  'runtime/shared-queue.js',
];

test('the modules on the per-op path keep fast (non-dictionary) exports objects', () => {
  const script = `
    const slow = ${JSON.stringify(HOT)}.filter((m) => !%HasFastProperties(require(${JSON.stringify(dist)} + m)));
    console.log(JSON.stringify(slow));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(JSON.parse(out.trim()), []);
});

// A ring that kept finished ops reachable (its queue array did, up to a
// thousand of them) kept each op's promise, closures and the awaiting async
// frame alive through every minor collection. V8 then promoted whatever lived
// through a scavenge wholesale, and readFile of 1 MiB files ran into a full
// collection every ~40 calls, with twice the CPU of node:fs/promises.
test('a finished op is not kept reachable by its ring: its promise can be collected', async () => {
  const ring = new Ring(8);
  const refs = [];
  for (let i = 0; i < 64; i++) {
    const op = ring.nop();
    refs.push(new WeakRef(op));
    await op;
  }
  await collectGarbage();
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  await ring.close();
  assert.ok(alive <= 1, `${alive} of 64 finished ops' promises still reachable`);
});

test('finished ops are collectable while later ones still wait in the queue', async () => {
  const ring = new Ring(2);
  const [r, w] = createPipe();
  const refs = [];
  const done = [];
  for (let i = 0; i < 64; i++) {
    const op = ring.nop();
    refs.push(new WeakRef(op));
    done.push(op);
  }
  // Pipe reads that wait for data take every slot in flight; the nops behind them stay queued.
  const later = [];
  for (let i = 0; i < 8; i++) later.push(ring.read(r, Buffer.alloc(1)));
  for (let i = 0; i < 8; i++) later.push(ring.nop());
  await Promise.all(done);
  done.length = 0;
  await collectGarbage();
  const queued = ring.stats().queued;
  const alive = refs.filter((x) => x.deref() !== undefined).length;
  fs.writeSync(w, Buffer.alloc(8, 1));
  await Promise.all(later);
  fs.closeSync(r);
  fs.closeSync(w);
  await ring.close();
  assert.ok(queued > 0, 'ops were still queued when the finished ones were counted');
  assert.ok(alive <= 1, `${alive} of 64 finished ops' promises still reachable`);
});

test.run();
