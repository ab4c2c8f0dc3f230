'use strict';
// Locates liburing for the build. Prefer the static archive so the built addon
// runs on machines where liburing itself is not installed.
//
// SAFER_RING_LIBURING_DIR=<prefix> searches only <prefix>/include and
// <prefix>/lib (a liburing built from source into its own prefix); the
// system directories are then ignored, so an empty prefix means "no liburing".
const fs = require('node:fs');
const path = require('node:path');

// Debian/Ubuntu multiarch directories per Node `arch` name, so a cross build
// (prebuildify --arch arm64) links the target's archive, not the host's.
const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ia32: 'i386-linux-gnu' };

function searchDirs(arch = process.arch) {
  const prefix = process.env.SAFER_RING_LIBURING_DIR;
  if (prefix) {
    return { includeDirs: [path.join(prefix, 'include')], libDirs: [path.join(prefix, 'lib'), path.join(prefix, 'lib64')] };
  }
  const multiarch = MULTIARCH[arch];
  const native = arch === process.arch;
  return {
    includeDirs: ['/usr/include', '/usr/local/include'],
    // Without a multiarch directory for the target, only the plain directories
    // of a native build can hold the right archive.
    libDirs: [
      ...(multiarch ? [`/usr/lib/${multiarch}`] : []),
      ...(native ? ['/usr/lib64', '/usr/lib', '/usr/local/lib', '/usr/local/lib64'] : []),
    ],
  };
}

/** Where liburing's header and static archive are for `arch` (null where absent). */
function findLiburing(arch = process.arch) {
  const { includeDirs, libDirs } = searchDirs(arch);
  const header = includeDirs.map((d) => path.join(d, 'liburing.h')).find((f) => fs.existsSync(f)) || null;
  const staticLib = libDirs.map((d) => path.join(d, 'liburing.a')).find((f) => fs.existsSync(f)) || null;
  const sharedDir = libDirs.find((d) => fs.existsSync(path.join(d, 'liburing.so'))) || null;
  return { header, static: staticLib, sharedDir };
}

// binding.gyp runs these:
//   node scripts/liburing.js libs <arch>      the linker arguments
//   node scripts/liburing.js include <arch>   extra include directories (a custom prefix only)
if (require.main === module) {
  const [what, arch = process.arch] = process.argv.slice(2);
  const lib = findLiburing(arch);
  if (what === 'libs') {
    const args = lib.static ? [lib.static] : [...(lib.sharedDir ? [`-L${lib.sharedDir}`] : []), '-luring'];
    process.stdout.write(args.join(' '));
  } else if (what === 'include') {
    if (process.env.SAFER_RING_LIBURING_DIR && lib.header) process.stdout.write(path.dirname(lib.header));
  }
}

module.exports = { findLiburing };
