#!/usr/bin/env node
'use strict';
// Builds the prebuilt binaries the npm package ships, with prebuildify:
//   prebuilds/linux-<arch>/safer-ring.glibc.node (Node-API: any Node version; glibc only)
// One Node-API build per architecture serves every Node version >= 20, and
// liburing is linked statically, so a prebuild needs nothing installed at run
// time. node-gyp-build (src/native.ts) picks the one matching the machine.
//
//   node scripts/prebuild.js                    this machine's arch, plus each other arch whose
//                                               cross toolchain and liburing archive are installed
//   node scripts/prebuild.js --arch x64,arm64   exactly these; a missing toolchain is an error
//                                               (what a release runs: npm run build:prebuilds -- --arch x64,arm64)
//   node scripts/prebuild.js --if-stale         only prebuilds missing or older than the native
//                                               sources (`npm pack` runs this as its prepack step)
//
// The build runs in a temporary copy of the native sources, so it leaves this
// checkout's own build/ (what development and the tests load) alone.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { findLiburing } = require('./liburing');
const { nodeGypScript, localNodeDir } = require('./node-gyp');

const root = path.resolve(__dirname, '..');
const name = require('../package.json').name;
// GNU toolchain triples for cross builds from a Debian/Ubuntu host.
const TRIPLES = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
// What a prebuild is built from: a newer one of these makes it stale.
const INPUTS = ['binding.gyp', 'scripts/liburing.js', 'native'];

function log(msg) {
  process.stderr.write(`prebuild: ${msg}\n`);
}

function fail(msg) {
  log(msg);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { arches: null, ifStale: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--if-stale') opts.ifStale = true;
    else if (argv[i] === '--arch') opts.arches = String(argv[++i] ?? '').split(',').filter(Boolean);
    else if (argv[i].startsWith('--arch=')) opts.arches = argv[i].slice(7).split(',').filter(Boolean);
    else fail(`unknown argument ${argv[i]}`);
  }
  return opts;
}

function prebuildFile(arch) {
  return path.join(root, 'prebuilds', `linux-${arch}`, `${name}.glibc.node`);
}

function newestInput() {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of INPUTS) visit(path.join(root, p));
  return newest;
}

function isStale(arch) {
  const file = prebuildFile(arch);
  return !fs.existsSync(file) || fs.statSync(file).mtimeMs < newestInput();
}

function which(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** The compiler environment for `arch`, or a reason it cannot be built here. */
function toolchain(arch) {
  const lib = findLiburing(arch);
  if (!lib.header) return { error: 'liburing headers not found' };
  if (!lib.static) return { error: `no static liburing archive (liburing.a) for ${arch}: a prebuild must not need liburing at run time` };
  if (arch === process.arch) return { env: {} };
  const triple = TRIPLES[arch];
  if (!triple) return { error: `no known cross toolchain for ${arch}` };
  if (!which(`${triple}-g++`)) return { error: `${triple}-g++ not installed (Debian: apt-get install g++-${triple.replace(/_/g, '-')})` };
  return {
    env: {
      CC: `${triple}-gcc`, CXX: `${triple}-g++`, LINK: `${triple}-g++`, AR: `${triple}-ar`,
      PREBUILD_STRIP_BIN: `${triple}-strip`,
    },
  };
}

/** A scratch copy of what binding.gyp needs, so node-gyp's rebuild never touches ./build. */
function stage() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safer-ring-prebuild-'));
  for (const p of ['package.json', 'binding.gyp', 'native', 'scripts/liburing.js']) {
    fs.cpSync(path.join(root, p), path.join(dir, p), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function build(arch, env) {
  const gyp = nodeGypScript();
  if (gyp === null) fail('node-gyp not found: run `npm install` first');
  const dir = stage();
  try {
    const nodedir = localNodeDir();
    const r = spawnSync(process.execPath, [
      require.resolve('prebuildify/bin.js', { paths: [root] }),
      '--napi', '--strip', '--tag-libc', `--arch=${arch}`, `--cwd=${dir}`, `--out=${root}`,
    ], {
      stdio: 'inherit',
      env: {
        ...process.env,
        ...env,
        // node-gyp's bin script, run through this Node (prebuildify spawns it as a command).
        PREBUILD_NODE_GYP: gyp,
        ...(nodedir !== null ? { npm_config_nodedir: nodedir } : {}),
      },
    });
    if (r.status !== 0) fail(`the ${arch} build failed`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A prebuild must not depend on liburing.so; when readelf is here, check its NEEDED entries. */
function checkLinkage(arch) {
  const file = prebuildFile(arch);
  const r = spawnSync('readelf', ['-d', file], { encoding: 'utf8' });
  if (r.error) return;
  const needed = [...r.stdout.matchAll(/\(NEEDED\).*\[(.+)\]/g)].map((m) => m[1]);
  if (needed.some((lib) => lib.startsWith('liburing'))) fail(`${file} links liburing dynamically (${needed.join(', ')})`);
}

/** The host's own prebuild must load in this Node. */
function checkLoads(arch) {
  if (arch !== process.arch) return;
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(prebuildFile(arch))}).probe`], { encoding: 'utf8' });
  if (r.status !== 0) fail(`the ${arch} prebuild does not load: ${r.stderr.trim()}`);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const explicit = opts.arches !== null;
  const arches = explicit ? opts.arches : [process.arch, ...Object.keys(TRIPLES).filter((a) => a !== process.arch)];
  for (const arch of arches) {
    if (opts.ifStale && !isStale(arch)) {
      log(`${path.relative(root, prebuildFile(arch))} is up to date`);
      continue;
    }
    const tc = toolchain(arch);
    if (tc.error) {
      // This machine's own arch is always required; other arches only when asked for by name.
      if (explicit || arch === process.arch) fail(`cannot build for ${arch}: ${tc.error}`);
      // Never ship a prebuild older than the sources it claims to be built from.
      if (fs.existsSync(prebuildFile(arch))) {
        fs.rmSync(path.dirname(prebuildFile(arch)), { recursive: true, force: true });
        log(`removed the stale ${arch} prebuild`);
      }
      log(`skipping ${arch}: ${tc.error}`);
      continue;
    }
    log(`building for linux-${arch}`);
    build(arch, tc.env);
    checkLinkage(arch);
    checkLoads(arch);
    log(`${path.relative(root, prebuildFile(arch))} built`);
  }
}

main();
