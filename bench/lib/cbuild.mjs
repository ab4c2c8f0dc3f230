// Builds the C reference programs in bench/c/ on demand.
//
// A program is rebuilt only when its binary is missing or older than its
// source, so repeated benchmark runs pay nothing. liburing is linked
// statically when the archive is present (the same lookup the addon build
// uses), otherwise with -luring.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { benchDir, buildDir, repoRoot } from './paths.mjs';

function liburingStaticArchive() {
  try {
    const { findLiburing } = createRequire(import.meta.url)(path.join(repoRoot, 'scripts', 'liburing.js'));
    return findLiburing().static;
  } catch {
    const fallback = '/usr/lib/x86_64-linux-gnu/liburing.a';
    return fs.existsSync(fallback) ? fallback : null;
  }
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Returns the path of the compiled program bench/c/<name>.c, building it first
 * if needed. Throws with the compiler's output when every attempt fails.
 */
export function ensureCProgram(name) {
  const source = path.join(benchDir, 'c', `${name}.c`);
  const binary = path.join(buildDir, name);
  if (mtime(binary) >= mtime(source)) return binary;

  fs.mkdirSync(buildDir, { recursive: true });
  const cc = process.env.CC || 'cc';
  // Link into a temporary name and rename, so an interrupted or concurrent
  // build never leaves a half-written binary behind.
  const tmp = `${binary}.tmp-${process.pid}`;
  const archive = liburingStaticArchive();
  const attempts = archive ? [[archive], ['-luring']] : [['-luring']];
  const errors = [];
  for (const lib of attempts) {
    const args = ['-O2', '-Wall', '-o', tmp, source, ...lib];
    const r = spawnSync(cc, args, { encoding: 'utf8' });
    if (r.status === 0) {
      fs.renameSync(tmp, binary);
      return binary;
    }
    errors.push(`$ ${cc} ${args.join(' ')}\n${r.error ? r.error.message : r.stderr}`);
  }
  fs.rmSync(tmp, { force: true });
  throw new Error(`could not build ${path.relative(repoRoot, source)}:\n${errors.join('\n')}`);
}

/**
 * Runs a built C program as a child process for about `seconds` and returns
 * the { ops, seconds } it printed as JSON on its last line of output.
 */
export function runCProgram(binary, args, seconds) {
  const r = spawnSync(binary, args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error((r.stderr || `exit status ${r.status}`).trim());
  const lines = r.stdout.trim().split('\n');
  const { ops, seconds: elapsed } = JSON.parse(lines[lines.length - 1]);
  return { ops, seconds: elapsed };
}
