// safer-ring/fs/promises and safer-ring/fs as modules: every member Node has,
// reachable by require, default import and named import; Node's own members
// on the fallback backend; ring-served members on io_uring; types that match
// @types/node's; and a thread of its own in a worker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';
import nodeFsp from 'node:fs/promises';
import ours, { readFile as namedReadFile, constants as namedConstants } from 'safer-ring/fs/promises';
import oursFs, { promises as namedPromises, readFileSync as namedReadFileSync } from 'safer-ring/fs';
import { backend, tmpPath } from './helpers/env.mjs';

const require = createRequire(import.meta.url);
const RING_SERVED = ['open', 'readFile', 'writeFile', 'appendFile', 'stat', 'lstat', 'unlink', 'rename', 'link', 'symlink', 'rmdir', 'rm', 'mkdir', 'truncate'];

test('safer-ring/fs/promises has exactly the members of node:fs/promises', () => {
  assert.equal(Object.keys(ours).sort(), Object.keys(nodeFsp).sort());
  for (const key of Object.keys(nodeFsp)) assert.is(typeof ours[key], typeof nodeFsp[key], key);
  assert.is(ours.constants, nodeFsp.constants);
});

test('require, default import and named imports give the same functions', () => {
  const cjs = require('safer-ring/fs/promises');
  assert.is(cjs.readFile, ours.readFile);
  assert.is(namedReadFile, ours.readFile);
  assert.is(namedConstants, nodeFsp.constants);
  assert.is(require('safer-ring/fs').promises, cjs);
});

test('on the fallback backend every member is node:fs/promises\' own; on io_uring the ring serves the I/O', () => {
  for (const key of Object.keys(nodeFsp)) {
    const same = ours[key] === nodeFsp[key];
    if (backend === 'fallback' || !RING_SERVED.includes(key)) assert.ok(same, `${key} should be Node's own`);
    else assert.not.ok(same, `${key} should be served by the ring`);
  }
});

test('safer-ring/fs is node:fs with promises replaced', () => {
  assert.equal(Object.keys(oursFs).sort(), Object.keys(fs).sort());
  for (const key of Object.keys(fs)) {
    if (key === 'promises') continue;
    assert.is(oursFs[key], fs[key], key);
  }
  assert.is(oursFs.promises, ours);
  assert.is(namedPromises, ours);
  assert.is(namedReadFileSync, fs.readFileSync);
});

test('a worker thread gets a ring of its own and reads through it', async () => {
  const file = tmpPath('worker');
  fs.writeFileSync(file, 'from the worker');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const fsp = require('safer-ring/fs/promises');
    (async () => {
      const text = await fsp.readFile(workerData, 'utf8');
      const h = await fsp.open(workerData, 'r');
      const { bytesRead } = await h.read(Buffer.alloc(4), 0, 4, 5);
      await h.close();
      parentPort.postMessage({ text, bytesRead, served: fsp.readFile !== require('node:fs/promises').readFile });
    })().catch((err) => parentPort.postMessage({ error: err.stack }));`;
  const worker = new Worker(code, { eval: true, workerData: file });
  const msg = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.is(msg.error, undefined);
  assert.is(msg.text, 'from the worker');
  assert.is(msg.bytesRead, 4);
  assert.is(msg.served, backend !== 'fallback');
});

test('nothing is printed when the module loads and works (a drop-in must stay quiet)', () => {
  const file = tmpPath('quiet');
  fs.writeFileSync(file, 'x');
  const run = spawnSync(process.execPath, ['-e', `require('safer-ring/fs/promises').readFile(${JSON.stringify(file)}).then(() => {})`], {
    cwd: path.dirname(require.resolve('safer-ring/package.json')), encoding: 'utf8', env: process.env,
  });
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stderr, '');
  assert.is(run.stdout, '');
});

test('on a kernel without direct descriptors (before 5.15) every call uses plain fds', () => {
  if (backend === 'fallback') return;
  const file = tmpPath('old-kernel');
  const script = `
    const fsp = require('safer-ring/fs/promises');
    const { fsRing } = require('./dist/src/fs/ring-context.js');
    (async () => {
      await fsp.writeFile(${JSON.stringify(file)}, 'y'.repeat(200000));
      const n = (await fsp.readFile(${JSON.stringify(file)})).length;
      await fsp.truncate(${JSON.stringify(file)}, 7);
      console.log(JSON.stringify({ n, size: require('node:fs').statSync(${JSON.stringify(file)}).size, table: fsRing().stats().registeredFiles }));
    })();`;
  const root = path.dirname(require.resolve('safer-ring/package.json'));
  const run = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, SAFER_RING_SIMULATE_KERNEL: '5.10' } });
  assert.is(run.status, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout), { n: 200000, size: 7, table: 0 });
});

// Type-checking takes seconds: once, in the first configuration of npm test.
const typecheck = (process.env.SAFER_RING_WORKERS ?? '1') === '1' && backend !== 'fallback' ? test : test.skip;
typecheck('a program that type-checks against node:fs/promises type-checks against safer-ring/fs/promises', () => {
  const root = path.dirname(require.resolve('safer-ring/package.json'));
  const dir = tmpPath('types');
  fs.mkdirSync(dir);
  const program = (from, fsFrom) => `
    import fsp, { readFile, open, stat, writeFile, constants } from '${from}';
    import { promises, readFileSync } from '${fsFrom}';
    import type { FileHandle } from '${from}';
    export async function main(): Promise<number> {
      const text: string = await readFile('x', 'utf8');
      const bytes: Buffer = await fsp.readFile('x');
      const h: FileHandle = await open('x', 'r');
      const { bytesRead, buffer } = await h.read(Buffer.alloc(4), 0, 4, null);
      const big = await stat('x', { bigint: true });
      const n: bigint = big.size;
      await writeFile('y', bytes, { flush: true, signal: AbortSignal.timeout(1000) });
      await promises.appendFile('y', text);
      const sync: Buffer = readFileSync('x');
      await h.close();
      return bytesRead + buffer.length + constants.O_RDONLY + Number(n) + sync.length;
    }`;
  fs.writeFileSync(path.join(dir, 'node.ts'), program('node:fs/promises', 'node:fs'));
  fs.writeFileSync(path.join(dir, 'ours.ts'), program('safer-ring/fs/promises', 'safer-ring/fs'));
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'safer-ring'));
  fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, esModuleInterop: true, types: ['node'] },
    files: ['node.ts', 'ours.ts'],
  }));
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  assert.is(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test.run();
