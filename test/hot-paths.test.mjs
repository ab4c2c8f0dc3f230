// Guards for the per-operation path's speed that a functional test cannot see.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

test.run();
