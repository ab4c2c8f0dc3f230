'use strict';
// How to run node-gyp on this machine, for the install hook and the prebuild
// script: which node-gyp, and the Node headers to build against.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/**
 * The node-gyp entry script: this checkout's own (a devDependency) when it is
 * installed, else the one npm bundles and names in `npm_config_node_gyp` for
 * install scripts. Null when neither exists.
 */
function nodeGypScript() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    const bundled = process.env.npm_config_node_gyp;
    return bundled && fs.existsSync(bundled) ? bundled : null;
  }
}

/**
 * The directory holding the running Node's own headers (include/node), when
 * they were installed beside it (official tarballs and distribution packages
 * do), so a build needs no header download. Null otherwise, or when the user
 * chose one with npm_config_nodedir.
 */
function localNodeDir() {
  if (process.env.npm_config_nodedir) return null;
  const dir = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h')) ? dir : null;
}

module.exports = { nodeGypScript, localNodeDir };
