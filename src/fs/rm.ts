// rm through the ring: Node's rm, step for step (its option checks, its
// lstat, its rimraf with retries), with the lstat, unlink and rmdir calls on
// the ring. Directory listings have no io_uring op: Node's readdir, on the
// thread pool, as Node's rimraf does it.
import fs, { promises as nodeFsp } from 'node:fs';
import path from 'node:path';
import { kStatxParse, Ring } from '../ring/ring';
import { errnoError, SaferRingError } from '../errors';
import { validateBoolean, validateInteger, validateObject } from './errors';
import type { ValidPath } from './args';

interface RmOptions {
  recursive: boolean;
  force: boolean;
  retryDelay: number;
  maxRetries: number;
}

const NOT_EMPTY = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM']);
const RETRY = new Set(['EBUSY', 'EMFILE', 'ENFILE', 'ENOTEMPTY', 'EPERM']);
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** Node's rm options, checked as Node checks them (validateRmOptions); throws Node's errors. */
export function rmOptions(options: unknown): RmOptions {
  const defaults: RmOptions = { recursive: false, force: false, retryDelay: 100, maxRetries: 0 };
  if (options === undefined) return defaults;
  validateObject(options, 'options');
  const opts = { ...defaults, ...(options as object) } as RmOptions;
  validateBoolean(opts.recursive, 'options.recursive');
  validateInteger(opts.retryDelay, 'options.retryDelay', 0, 2 ** 31 - 1);
  validateInteger(opts.maxRetries, 'options.maxRetries', 0, 2 ** 32 - 1);
  validateBoolean(opts.force, 'options.force');
  return opts;
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/** lstat's file type through the ring, failing as Node's lstat fails. */
async function isDirectory(ring: Ring, p: ValidPath): Promise<boolean> {
  try {
    const mode = await ring.statx(p, { noFollow: true, [kStatxParse]: (b: Uint8Array) => b[28] | (b[29] << 8) }) as unknown as number;
    return (mode & S_IFMT) === S_IFDIR;
  } catch (err) {
    const e = err as SaferRingError;
    throw typeof e.errno === 'number' ? errnoError(e.errno, 'lstat', e.path) : err;
  }
}

/**
 * rm(path, options) after the path check: Node's lstat (a missing path is
 * fine with `force`), its refusal of a directory without `recursive` (left to
 * node:fs/promises, which raises its ERR_FS_EISDIR), then the removal.
 */
export async function rmAt(ring: Ring, p: ValidPath, opts: RmOptions, original: [unknown, unknown]): Promise<void> {
  let dir: boolean;
  try {
    dir = await isDirectory(ring, p);
  } catch (err) {
    if (opts.force && codeOf(err) === 'ENOENT') return;
    throw err;
  }
  if (dir && !opts.recursive) return nodeFsp.rm(original[0] as string, original[1] as fs.RmOptions);
  return rimraf(ring, p, opts);
}

async function rimraf(ring: Ring, p: ValidPath, opts: RmOptions): Promise<void> {
  for (let retries = 0; ; retries++) {
    try {
      return await removeEntry(ring, p, opts);
    } catch (err) {
      if (RETRY.has(codeOf(err)!) && retries < opts.maxRetries) {
        await new Promise((resolve) => setTimeout(resolve, (retries + 1) * opts.retryDelay));
        continue;
      }
      if (codeOf(err) === 'ENOENT') return; // already gone
      throw err;
    }
  }
}

/** One entry: a directory is emptied and removed, anything else unlinked. */
async function removeEntry(ring: Ring, p: ValidPath, opts: RmOptions): Promise<void> {
  let dir = false;
  try {
    dir = await isDirectory(ring, p);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    // any other lstat failure: try the unlink, which reports its own error
  }
  if (dir) return removeDir(ring, p, opts, null);
  try {
    await ring.unlinkat(p);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT') return;
    if (code === 'EISDIR' || code === 'EPERM') return removeDir(ring, p, opts, err);
    throw err;
  }
}

async function removeDir(ring: Ring, p: ValidPath, opts: RmOptions, originalErr: unknown): Promise<void> {
  try {
    await ring.unlinkat(p, { removeDir: true });
  } catch (err) {
    const code = codeOf(err);
    if (NOT_EMPTY.has(code!)) return removeChildren(ring, p, opts);
    if (code === 'ENOTDIR') {
      if (originalErr !== null) throw originalErr;
      return;
    }
    throw err;
  }
}

async function removeChildren(ring: Ring, p: ValidPath, opts: RmOptions): Promise<void> {
  const dir = typeof p === 'string' ? Buffer.from(p) : p;
  const names = await new Promise<Buffer[]>((resolve, reject) => {
    fs.readdir(dir, 'buffer', (err, files) => (err ? reject(err) : resolve(files)));
  });
  const prefix = Buffer.concat([dir, Buffer.from(path.sep)]);
  // All children at once, as Node does; the first failure is the result.
  const results = await Promise.allSettled(names.map((name) => rimraf(ring, Buffer.concat([prefix, name]), opts)));
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed !== undefined) throw failed.reason;
  await ring.unlinkat(p, { removeDir: true });
}
