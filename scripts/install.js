#!/usr/bin/env node
'use strict';
// npm install hook. What it does depends on where safer-ring is being installed:
//
// * As someone's dependency (the usual case) it never changes the system:
//     1. a prebuilt binary for this platform (prebuilds/, shipped in the npm
//        package) that loads here: done, nothing to build;
//     2. otherwise, with liburing's headers and a C++ toolchain present: build
//        the addon from source with node-gyp;
//     3. otherwise: print ONE line saying what is missing, the command that
//        installs it, and that the node:fs / node:net fallback backend will be
//        used until then; and succeed.
//   `npm install --build-from-source` skips step 1.
//
// * In this repository's own development checkout it always builds from the
//   sources, and when liburing's headers are missing on a Debian/Ubuntu
//   machine it installs liburing-dev with apt-get first (as root, or through
//   password-less sudo), saying so: `npm install && npm test` must work on a
//   fresh machine, and CI relies on it. A development checkout is a directory
//   with a .git entry that is neither inside a node_modules folder nor a Git
//   dependency npm is preparing in its cache; SAFER_RING_DEV_SETUP=1 or =0
//   overrides that guess either way.
//
// The addon is optional at run time, so the hook exits 0 when there is none,
// unless SAFER_RING_REQUIRE_NATIVE=1 (CI sets it: a broken build must not pass
// silently as a fallback-only test run).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findLiburing } = require('./liburing');
const { nodeGypScript, localNodeDir } = require('./node-gyp');

const root = path.resolve(__dirname, '..');

function log(msg) {
  process.stderr.write(`safer-ring: ${msg}\n`);
}

/** Why this is the project's own development checkout, or null when it is an installed dependency. */
function developmentCheckout(dir = root, env = process.env) {
  if (env.SAFER_RING_DEV_SETUP === '1') return 'SAFER_RING_DEV_SETUP=1';
  if (env.SAFER_RING_DEV_SETUP === '0') return null;
  let real = dir;
  try {
    real = fs.realpathSync(dir);
  } catch {}
  const insideNodeModules = [dir, real].some((p) => p.split(path.sep).includes('node_modules'));
  // npm prepares a Git dependency by running `npm install` in a clone under its
  // cache (pacote sets _PACOTE_NO_PREPARE_ for that run): a clone, but someone's dependency.
  const gitDependency = env._PACOTE_NO_PREPARE_ !== undefined || [dir, real].some((p) => p.split(path.sep).includes('_cacache'));
  if (insideNodeModules || gitDependency || !fs.existsSync(path.join(dir, '.git'))) return null;
  return 'a git checkout outside node_modules';
}

function libcName() {
  return fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
}

function platformTag() {
  return `${process.platform}-${process.arch} (${libcName()})`;
}

/** The addon node-gyp-build would load (a prebuild, or an earlier build from source) if it loads here. */
function usableAddon() {
  let file;
  try {
    file = require('node-gyp-build').path(root);
  } catch {
    return { file: null, error: null };
  }
  const isPrebuild = file.split(path.sep).includes('prebuilds');
  try {
    require(file);
    return { file, error: null, isPrebuild };
  } catch (err) {
    return { file: null, error: `${path.relative(root, file)} does not load here (${String(err.message).split('\n')[0]})` };
  }
}

function commandExists(cmd) {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  return !r.error;
}

/** What a build from source needs and this machine lacks: {what, pkg}, pkg a key of PACKAGES' tables. */
function missingBuildTools(lib) {
  const missing = [];
  if (!lib.header) missing.push({ what: 'liburing headers', pkg: 'liburing' });
  const cxx = process.env.CXX || 'g++';
  if (!commandExists(cxx) && !commandExists('c++')) missing.push({ what: 'a C++ compiler', pkg: 'c++' });
  if (!commandExists('make')) missing.push({ what: 'make', pkg: 'make' });
  const python = process.env.npm_config_python || process.env.PYTHON || 'python3';
  if (!commandExists(python)) missing.push({ what: 'python3', pkg: 'python' });
  return missing;
}

function osRelease() {
  try {
    const text = fs.readFileSync('/etc/os-release', 'utf8');
    const get = (key) => (new RegExp(`^${key}="?([^"\\n]*)`, 'm').exec(text) || [])[1] || '';
    return `${get('ID')} ${get('ID_LIKE')}`.split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

// Package names per distribution for each missing piece.
const PACKAGES = {
  apt: { liburing: 'liburing-dev', 'c++': 'g++', make: 'make', python: 'python3' },
  dnf: { liburing: 'liburing-devel', 'c++': 'gcc-c++', make: 'make', python: 'python3' },
  zypper: { liburing: 'liburing-devel', 'c++': 'gcc-c++', make: 'make', python: 'python3' },
  apk: { liburing: 'liburing-dev', 'c++': 'g++', make: 'make', python: 'python3' },
  pacman: { liburing: 'liburing', 'c++': 'gcc', make: 'make', python: 'python' },
};

/** The shell command that installs what is missing on this distribution, or null when it is not known. */
function installCommand(missing, ids = osRelease()) {
  const is = (...names) => names.some((n) => ids.includes(n));
  const manager = is('debian', 'ubuntu') ? 'apt' : is('fedora', 'rhel', 'centos') ? 'dnf' : is('suse', 'opensuse')
    ? 'zypper' : is('alpine') ? 'apk' : is('arch') ? 'pacman' : null;
  if (manager === null) return null;
  const pkgs = missing.map((m) => PACKAGES[manager][m.pkg]).join(' ');
  const sudo = typeof process.getuid === 'function' && process.getuid() === 0 ? '' : 'sudo ';
  switch (manager) {
    case 'apt': return `${sudo}apt-get update && ${sudo}apt-get install -y ${pkgs}`;
    case 'dnf': return `${sudo}dnf install -y ${pkgs}`;
    case 'zypper': return `${sudo}zypper install -y ${pkgs}`;
    case 'apk': return `${sudo}apk add ${pkgs}`;
    case 'pacman': return `${sudo}pacman -S --needed ${pkgs}`;
  }
  return null;
}

/** The one line printed when a dependency install ends without an addon. */
function fallbackLine(reason, missing) {
  const names = missing.map((m) => m.what);
  const what = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0];
  const cmd = installCommand(missing);
  const fix = cmd === null
    ? `install ${what} (liburing 2.3 or newer, with its development headers)`
    : `run \`${cmd}\``;
  return `${reason}, and building the addon from source needs ${what}, not found here; `
    + `to use io_uring, ${fix}, then \`npm rebuild safer-ring\`. Until then safer-ring uses its node:fs / node:net fallback backend.`;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status === 0;
}

/** Development checkouts only: installs liburing-dev with apt-get, saying what it runs. */
function installHeadersForDevelopment(why) {
  const intro = `development checkout (${why}): liburing headers are missing`;
  if (!fs.existsSync('/usr/bin/apt-get')) {
    log(`${intro}, and this is not a Debian/Ubuntu system. Install your distribution's liburing development`);
    log('package (`dnf install liburing-devel`, `apk add liburing-dev`, `pacman -S liburing`) and run `npm install` again.');
    return false;
  }
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudoWorks = !asRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!asRoot && !sudoWorks) {
    log(`${intro}, and this user cannot install packages without a password.`);
    log('Run `sudo apt-get install -y liburing-dev`, then `npm install` again.');
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => {
    const argv = asRoot ? ['apt-get', ...args] : ['sudo', '-n', 'apt-get', ...args];
    log(`running: ${argv.join(' ')}`);
    return run(argv[0], argv.slice(1), { env });
  };
  log(`${intro}; installing liburing-dev with apt-get${asRoot ? ' (as root)' : ' (through sudo)'}.`);
  log('(This happens only in a development checkout, never when safer-ring is installed as a dependency.)');
  // A fresh machine often has no package lists yet: update first if the plain install fails.
  if (apt(['install', '-y', '-q', 'liburing-dev'])) return true;
  return apt(['update', '-q']) && apt(['install', '-y', '-q', 'liburing-dev']);
}

function buildFromSource() {
  const gyp = nodeGypScript();
  if (gyp === null) {
    log('node-gyp is not available (run the install through npm, which brings its own).');
    return false;
  }
  const args = [gyp, 'rebuild'];
  const nodedir = localNodeDir();
  if (nodedir !== null) args.push(`--nodedir=${nodedir}`);
  return run(process.execPath, args, { cwd: root });
}

function linkage(lib) {
  return lib.static ? 'liburing linked statically' : 'liburing linked dynamically: it must stay installed';
}

function developmentInstall(why) {
  let lib = findLiburing();
  if (!lib.header && installHeadersForDevelopment(why)) lib = findLiburing();
  if (!lib.header) {
    log('building without io_uring: liburing headers not found (the fallback backend will be used).');
    return 1;
  }
  if (buildFromSource()) {
    log(`native addon built from source (${linkage(lib)}).`);
    return 0;
  }
  log('the native addon failed to build (see the compiler output above); the fallback backend will be used.');
  return 1;
}

function dependencyInstall() {
  const fromSource = /^(true|1|safer-ring)$/.test(process.env.npm_config_build_from_source || '');
  // --build-from-source: whatever is there (a prebuild, an earlier build) is not wanted.
  const present = fromSource ? { file: null, error: null } : usableAddon();
  if (present.file !== null) {
    log(present.isPrebuild
      ? `using the prebuilt binary for ${platformTag()}.`
      : `using the addon already built in ${path.relative(root, path.dirname(present.file))}.`);
    return 0;
  }
  const reason = present.error ?? (fromSource ? 'a build from source was asked for' : `no prebuilt binary matches ${platformTag()}`);
  const lib = findLiburing();
  const missing = missingBuildTools(lib);
  if (missing.length > 0) {
    log(fallbackLine(reason, missing));
    return 1;
  }
  log(`${reason}; building the native addon from source (${linkage(lib)}).`);
  if (buildFromSource()) {
    log('native addon built from source.');
    return 0;
  }
  log('building the native addon from source failed (compiler output above; `npm rebuild safer-ring --foreground-scripts` shows it again). '
    + 'safer-ring uses its node:fs / node:net fallback backend.');
  return 1;
}

function main() {
  if (process.platform !== 'linux') {
    log('io_uring is Linux-only: safer-ring uses its node:fs / node:net fallback backend here.');
    return 0;
  }
  const why = developmentCheckout();
  const failed = why !== null ? developmentInstall(why) : dependencyInstall();
  // No addon is not an install failure, unless asked for.
  return failed && process.env.SAFER_RING_REQUIRE_NATIVE === '1' ? 1 : 0;
}

if (require.main === module) process.exitCode = main();

module.exports = { developmentCheckout, installCommand, fallbackLine };
