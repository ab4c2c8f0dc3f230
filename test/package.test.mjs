// The npm package as a user meets it: `npm pack`, then `npm install` of the
// tarball into a fresh app, with no network (npm's cache holds the run-time
// dependencies since this checkout's own install).
//
// 1. With the prebuilt binary: the install builds nothing, and the app uses
//    io_uring from ESM, CommonJS (a Runtime too: its worker file must resolve
//    inside node_modules) and TypeScript (tsc --strict, module nodenext, the
//    package's .d.ts checked too).
//    With install scripts blocked, the prebuild serves all the same.
// 2. With the prebuild removed and liburing's headers hidden: the install
//    prints one line (what is missing, the command, the fallback), succeeds,
//    runs no package manager and builds nothing; the app runs on the fallback
//    backend with one one-line warning.
//
// test/run.mjs runs this file once, not once per backend and worker count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-package-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

// Commands that would change the system: each one, if run, only leaves a note.
const shims = path.join(work, 'shims');
const shimLog = path.join(work, 'system-changes.log');
fs.mkdirSync(shims);
for (const cmd of ['apt-get', 'apt', 'dpkg', 'sudo', 'dnf', 'yum', 'apk', 'pacman', 'zypper']) {
  fs.writeFileSync(path.join(shims, cmd), `#!/bin/sh\necho "${cmd} $*" >> '${shimLog}'\nexit 1\n`, { mode: 0o755 });
}

/** The environment of a user's shell: nothing from the `npm test` around us, the shims first on PATH. */
function userEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && !k.startsWith('SAFER_RING_') && k !== 'INIT_CWD') env[k] = v;
  }
  return { ...env, PATH: `${shims}${path.delimiter}${process.env.PATH}`, ...extra };
}

function sh(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) assert.unreachable(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? r.status}):\n${out}`);
  return { stdout: r.stdout, stderr: r.stderr, out };
}

let tarball;
let packedFiles;

function pack() {
  // Runs the prepack (prebuilds, rebuilt only when older than native/) and
  // prepare (tsc) steps, as a release would.
  const { stdout } = sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, env: userEnv() });
  const info = JSON.parse(stdout.slice(stdout.search(/^\[/m)))[0];
  tarball = path.join(work, info.filename);
  packedFiles = info.files.map((f) => f.path);
}

function newApp(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  return dir;
}

/** `npm install <tarball>` with no network; returns the lines the install hook printed. */
function install(dir, file, env = {}, flags = []) {
  const { out } = sh('npm', ['install', file, '--offline', '--no-audit', '--no-fund', '--foreground-scripts', ...flags], {
    cwd: dir, env: userEnv(env),
  });
  return out.split('\n').filter((line) => line.startsWith('safer-ring:'));
}

const dpkgStatus = () => {
  try {
    const st = fs.statSync('/var/lib/dpkg/status');
    return `${st.size} ${st.mtimeMs}`;
  } catch {
    return 'none';
  }
};

// Writes a file through a Ring, reads it back with node:fs, reports the backend.
const ESM_APP = `
import { Ring } from 'safer-ring';
import { readFileSync } from 'node:fs';
const [file] = process.argv.slice(2);
const ring = new Ring(8);
const fd = await ring.openat(file, 'w');
const { bytesWritten } = await ring.write(fd, Buffer.from('written from ESM'), { position: 0 });
await ring.close(fd);
await ring.close();
console.log(JSON.stringify({ backend: ring.backend, bytesWritten, text: readFileSync(file, 'utf8') }));
`;

// The same through a Runtime's worker thread, plus the exports map's limits.
const CJS_APP = `
const { Runtime } = require('safer-ring');
const { readFileSync } = require('node:fs');
const [file] = process.argv.slice(2);
let internalsHidden = false;
try { require('safer-ring/dist/src/ring/ring.js'); } catch (err) { internalsHidden = err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'; }
(async () => {
  const rt = new Runtime({ workers: 1 });
  const fd = await rt.openat(file, 'w');
  const { bytesWritten } = await rt.write(fd, Buffer.from('written from CommonJS'), { position: 0 });
  await rt.closeFd(fd);
  await rt.close();
  const version = require('safer-ring/package.json').version;
  console.log(JSON.stringify({ backend: rt.backend, bytesWritten, text: readFileSync(file, 'utf8'), internalsHidden, version }));
})();
`;

// Every entry point in the exports map, from ESM and from CommonJS: the same names.
const EXPORTS_APP = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { exports } = require('safer-ring/package.json');
const names = {};
for (const key of Object.keys(exports).filter((k) => k !== './package.json')) {
  const spec = 'safer-ring' + key.slice(1);
  // The namespace adds 'default' (module.exports) and tsc's '__esModule' marker.
  const esm = Object.keys(await import(spec)).filter((k) => k !== 'default' && k !== '__esModule').sort();
  const cjs = Object.keys(require(spec)).sort();
  names[spec] = { esm, cjs };
}
console.log(JSON.stringify(names));
`;

// Type checks only (tsc --noEmit): typed batch results, Fd, and no @internal members.
const TS_ESM = `
import { Ring, Batch, Operation, OwnedBuffer, type Fd, type BatchResult, type AnyOperationResult } from 'safer-ring';

const ring = new Ring();
const fd: number = await ring.openat('/tmp/x', 'w+');
const target: Fd = fd;
await ring.fsync(target);

const batch = new Batch()
  .add(Operation.write().fd(fd).buffer(Buffer.from('abc')).offset(0))
  .add(Operation.fsync().fd(fd).datasync(), { dependsOnPrevious: true })
  .add(Operation.read().fd(fd).buffer(new OwnedBuffer(3)).offset(0))
  .add(Operation.nop());
const { results } = await ring.submitBatch(batch);
const [written, synced, read, nop] = results;
if (written.status === 'fulfilled') {
  const n: number = written.value.bytesWritten;
  const b: Buffer = written.value.buffer;
  console.log(n, b);
}
if (synced.status === 'fulfilled') {
  const v: undefined = synced.value;
  console.log(v);
}
if (read.status === 'fulfilled') {
  const owned: OwnedBuffer = read.value.buffer;
  owned.release();
}
if (nop.status === 'fulfilled') {
  const v: number = nop.value;
  console.log(v);
}

// A batch filled in a loop: results are typed as any operation's.
const loop = new Batch();
for (let i = 0; i < 3; i++) loop.add(Operation.nop());
const looped: BatchResult = await ring.submitBatch(loop);
const first: PromiseSettledResult<AnyOperationResult> = looped.results[0];
console.log(first);

// @ts-expect-error failAll is internal
ring.failAll(() => new Error('x'));
// @ts-expect-error drainAndClose is internal
await ring.drainAndClose();
await ring.close();
`;

const TS_CJS = `
import { Runtime, Batch, Operation } from 'safer-ring';
import type { Fd } from 'safer-ring';
export async function main(fd: number): Promise<number> {
  const rt = new Runtime({ workers: 1 });
  const f: Fd = fd;
  await rt.fsync(fd);
  const { results } = await rt.submitBatch(new Batch().add(Operation.write().fd(fd).buffer(new Uint8Array(4))));
  const [w] = results;
  await rt.close();
  return w.status === 'fulfilled' ? w.value.bytesWritten + (typeof f === 'number' ? 0 : 1) : -1;
}
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    lib: ['es2022', 'esnext.disposable'],
    skipLibCheck: false, // check safer-ring's own .d.ts files too
    types: ['node'],
    typeRoots: [path.join(root, 'node_modules', '@types')],
  },
  files: ['main.mts', 'main.cts'],
};

function runApp(dir, script, env = {}) {
  const file = path.join(dir, `out-${script}.txt`);
  const r = spawnSync(process.execPath, [script, file], { cwd: dir, env: userEnv(env), encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `${script} failed:\n${r.stdout}${r.stderr}`);
  return { result: JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr };
}

test.before(() => {
  pack();
});

test('the tarball holds what runs and builds, and no tests, benchmarks or build output', () => {
  const has = (f) => packedFiles.includes(f);
  for (const f of [
    'package.json', 'README.md', 'LICENSE', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/workers/ring-worker.js',
    `prebuilds/linux-${process.arch}/safer-ring.glibc.node`, 'binding.gyp', 'native/addon.cc', 'scripts/install.js',
    'scripts/liburing.js', 'scripts/node-gyp.js', 'docs/architecture.md',
  ]) assert.ok(has(f), `${f} is missing from the tarball`);
  // Each entry point of the exports map (types and code) is in the tarball.
  for (const [key, target] of Object.entries(pkg.exports)) {
    for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
      assert.ok(has(path.posix.normalize(file)), `exports["${key}"] names ${file}, which is not in the tarball`);
    }
  }
  const unwanted = packedFiles.filter((f) => /^(test|bench|build|\.ci)\//.test(f) || f === 'scripts/prebuild.js' || f === 'scripts/demo.mjs');
  assert.equal(unwanted, []);
  // Only what runs at run time (and the header library a build from source
  // needs); the copy job's pool (piscina) and its command line's progress bar (cli-progress).
  assert.equal(Object.keys(pkg.dependencies).sort(), ['cli-progress', 'node-addon-api', 'node-gyp-build', 'piscina']);
  assert.ok(pkg.repository?.url && pkg.homepage && pkg.bugs?.url, 'repository, homepage and bugs resolve the README links on npm');
});

test('every relative link in the README points at a file in the tarball', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)\s]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(links.length > 0);
  const missing = links.filter((l) => !packedFiles.includes(path.posix.normalize(l)));
  assert.equal(missing, [], 'README links to files the package does not ship');
});

test('installed with its prebuild and no network: ESM, CommonJS and TypeScript use io_uring', () => {
  const app = newApp('app-prebuilt');
  const before = dpkgStatus();
  const lines = install(app, tarball);
  assert.equal(lines, [`safer-ring: using the prebuilt binary for linux-${process.arch} (glibc).`]);
  const installed = path.join(app, 'node_modules', 'safer-ring');
  assert.not.ok(fs.existsSync(path.join(installed, 'build')), 'nothing was compiled');

  fs.writeFileSync(path.join(app, 'esm.mjs'), ESM_APP);
  fs.writeFileSync(path.join(app, 'cjs.cjs'), CJS_APP);
  const esm = runApp(app, 'esm.mjs');
  assert.equal(esm.result, { backend: 'io_uring', bytesWritten: 16, text: 'written from ESM' });
  assert.is(esm.stderr, '');
  const cjs = runApp(app, 'cjs.cjs');
  assert.equal(cjs.result, {
    backend: 'io_uring', bytesWritten: 21, text: 'written from CommonJS', internalsHidden: true, version: pkg.version,
  });

  fs.writeFileSync(path.join(app, 'exports.mjs'), EXPORTS_APP);
  const entries = runApp(app, 'exports.mjs').result;
  assert.ok(entries['safer-ring'].esm.includes('Ring'));
  for (const [spec, { esm, cjs }] of Object.entries(entries)) {
    assert.ok(cjs.length > 0, `${spec} exports nothing`);
    assert.equal(esm, cjs, `${spec}: ESM import sees other names than require()`);
  }

  fs.writeFileSync(path.join(app, 'main.mts'), TS_ESM);
  fs.writeFileSync(path.join(app, 'main.cts'), TS_CJS);
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  sh(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app, env: userEnv() });

  assert.not.ok(fs.existsSync(shimLog), 'no package manager ran');
  assert.is(dpkgStatus(), before);
});

test('the install hook tells a development checkout from an installed dependency', () => {
  const { developmentCheckout } = createRequire(import.meta.url)('../scripts/install.js');
  const clone = path.join(work, 'clone');
  fs.mkdirSync(path.join(clone, '.git'), { recursive: true });
  const dependency = path.join(work, 'app', 'node_modules', 'safer-ring');
  fs.mkdirSync(path.join(dependency, '.git'), { recursive: true }); // a package that shipped its .git
  assert.ok(developmentCheckout(clone, {}));
  assert.is(developmentCheckout(dependency, {}), null);
  assert.is(developmentCheckout(path.join(work, 'unpacked-nowhere'), {}), null, 'no .git: not a checkout');
  assert.is(developmentCheckout(clone, { _PACOTE_NO_PREPARE_: 'git+ssh://x' }), null, 'npm preparing a Git dependency');
  assert.is(developmentCheckout(clone, { SAFER_RING_DEV_SETUP: '0' }), null);
  assert.ok(developmentCheckout(dependency, { SAFER_RING_DEV_SETUP: '1' }));
});

test('the one-line message names the command for the distribution', () => {
  const { installCommand, fallbackLine } = createRequire(import.meta.url)('../scripts/install.js');
  const headers = { what: 'liburing headers', pkg: 'liburing' };
  const make = { what: 'make', pkg: 'make' };
  const sudo = process.getuid() === 0 ? '' : 'sudo ';
  assert.is(installCommand([headers], ['ubuntu', 'debian']), `${sudo}apt-get update && ${sudo}apt-get install -y liburing-dev`);
  assert.is(installCommand([headers, make], ['fedora']), `${sudo}dnf install -y liburing-devel make`);
  assert.is(installCommand([headers], ['alpine']), `${sudo}apk add liburing-dev`);
  assert.is(installCommand([headers], ['gentoo']), null);
  const line = fallbackLine('no prebuilt binary matches linux-riscv64 (glibc)', [headers, make]);
  assert.not.match(line, '\n');
  assert.match(line, 'needs liburing headers and make');
  assert.match(line, 'fallback backend');
});

test('installed with install scripts blocked (pnpm\'s default, --ignore-scripts): the prebuild still serves', () => {
  const app = newApp('app-no-scripts');
  assert.equal(install(app, tarball, {}, ['--ignore-scripts']), []);
  fs.writeFileSync(path.join(app, 'esm.mjs'), ESM_APP);
  const esm = runApp(app, 'esm.mjs');
  assert.equal(esm.result, { backend: 'io_uring', bytesWritten: 16, text: 'written from ESM' });
  assert.is(esm.stderr, '');
});

test('installed with no prebuild and no liburing headers: one line, a clean fallback, no system change', () => {
  // The same tarball without its prebuilds.
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  sh('tar', ['-xzf', tarball, '-C', unpacked]);
  fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
  const bare = path.join(work, 'safer-ring-no-prebuilds.tgz');
  sh('tar', ['-czf', bare, '-C', unpacked, 'package']);

  const app = newApp('app-fallback');
  const noHeaders = path.join(work, 'empty-prefix'); // liburing searched only here: nothing found
  fs.mkdirSync(noHeaders);
  const before = dpkgStatus();
  const lines = install(app, bare, { SAFER_RING_LIBURING_DIR: noHeaders });
  assert.is(lines.length, 1, `one line from the install hook, got:\n${lines.join('\n')}`);
  const [line] = lines;
  assert.match(line, `no prebuilt binary matches linux-${process.arch} (glibc)`);
  assert.match(line, 'liburing headers');
  assert.match(line, /run `.*liburing.*`, then `npm rebuild safer-ring`/);
  assert.match(line, 'fallback backend');
  assert.not.ok(fs.existsSync(shimLog), `a package manager ran: ${fs.existsSync(shimLog) && fs.readFileSync(shimLog, 'utf8')}`);
  assert.is(dpkgStatus(), before);
  assert.not.ok(fs.existsSync(path.join(app, 'node_modules', 'safer-ring', 'build')), 'nothing was compiled');

  fs.writeFileSync(path.join(app, 'esm.mjs'), ESM_APP);
  const esm = runApp(app, 'esm.mjs');
  assert.equal(esm.result, { backend: 'fallback', bytesWritten: 16, text: 'written from ESM' });
  const warnings = esm.stderr.split('\n').filter((l) => l.includes('SAFER_RING_FALLBACK'));
  assert.is(warnings.length, 1, esm.stderr);
  assert.match(warnings[0], 'no prebuilt binary matches');
  assert.not.match(esm.stderr, 'Require stack');
});

test.run();
