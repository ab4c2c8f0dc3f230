'use strict';
// Locates liburing for the build. Prefer the static archive so the built addon
// runs on machines where liburing itself is not installed.
const fs = require('node:fs');
const path = require('node:path');

const includeDirs = ['/usr/include', '/usr/local/include'];
const libDirs = [
  '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib',
  '/usr/local/lib', '/usr/local/lib64',
];

function findLiburing() {
  const header = includeDirs.map((d) => path.join(d, 'liburing.h')).find((f) => fs.existsSync(f)) || null;
  const staticLib = libDirs.map((d) => path.join(d, 'liburing.a')).find((f) => fs.existsSync(f)) || null;
  return { header, static: staticLib };
}

// `node scripts/liburing.js libs` prints the linker argument binding.gyp uses.
if (require.main === module) {
  const lib = findLiburing();
  if (process.argv[2] === 'libs') process.stdout.write(lib.static || '-luring');
}

module.exports = { findLiburing };
