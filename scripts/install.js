#!/usr/bin/env node
'use strict';
// npm install hook: make sure liburing's headers exist, then build the addon.
//
// The addon is optional at run time (safer-ring falls back to node:fs / node:net
// when it is missing), so a failed build prints what to do and exits 0 rather
// than failing the whole install. Set SAFER_RING_REQUIRE_NATIVE=1 to make a
// missing addon fatal (CI uses this so a broken build cannot pass silently).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findLiburing } = require('./liburing');

const root = path.resolve(__dirname, '..');
const requireNative = process.env.SAFER_RING_REQUIRE_NATIVE === '1';

function log(msg) {
  process.stderr.write(`safer-ring: ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status === 0;
}

function canSudo() {
  const r = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

function installHeaders() {
  if (process.platform !== 'linux') return false;
  if (!fs.existsSync('/usr/bin/apt-get')) {
    log('liburing headers are missing and this is not a Debian/Ubuntu system.');
    log('Install your distribution\'s liburing development package (e.g. `dnf install liburing-devel`,');
    log('`apk add liburing-dev`, `pacman -S liburing`) and run `npm rebuild safer-ring`.');
    return false;
  }
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const prefix = asRoot ? [] : canSudo() ? ['sudo', '-n'] : null;
  if (!prefix) {
    log('liburing headers are missing and this user cannot install packages.');
    log('Run:  sudo apt-get install -y liburing-dev   then  npm rebuild safer-ring');
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => (prefix.length ? run(prefix[0], [...prefix.slice(1), 'apt-get', ...args], { env })
                                       : run('apt-get', args, { env }));
  log('liburing headers are missing; installing liburing-dev with apt-get.');
  // A fresh machine often has no package lists yet: update first if the plain install fails.
  if (apt(['install', '-y', '-q', 'liburing-dev'])) return true;
  return apt(['update', '-q']) && apt(['install', '-y', '-q', 'liburing-dev']);
}

function buildAddon() {
  let gyp;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    log('node-gyp is not installed; cannot build the native addon.');
    return false;
  }
  const args = [gyp, 'rebuild'];
  // Build against the headers of the Node that runs us when they are installed
  // beside it (distribution packages), so no header download is needed.
  const localHeaders = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(localHeaders, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${localHeaders}`);
  }
  return run(process.execPath, args, { cwd: root });
}

function main() {
  if (process.platform !== 'linux') {
    log('io_uring is Linux-only: using the node:fs / node:net fallback backend.');
    return 0;
  }
  let lib = findLiburing();
  if (!lib.header) {
    installHeaders();
    lib = findLiburing();
  }
  if (!lib.header) {
    log('building without io_uring: liburing headers not found (fallback backend will be used).');
    return requireNative ? 1 : 0;
  }
  if (buildAddon()) {
    log(`native addon built (liburing ${lib.static ? 'linked statically' : 'linked dynamically'}).`);
    return 0;
  }
  log('the native addon failed to build (see the compiler output above);');
  log('safer-ring will use the node:fs / node:net fallback backend.');
  return requireNative ? 1 : 0;
}

process.exitCode = main();
