// The checks made before anything is written: what each source is, whether
// its destination can take it, and that no destination lies inside its own
// source (copying a directory into itself would never end). A failure here
// fails the whole job with node:fs's codes for the same mistakes (fs.cp's
// ERR_FS_CP_*), and the destination is left untouched.
import fsp from 'node:fs/promises';
import { SaferRingError } from '../errors';
import { absoluteBytes, display, isSameOrInside, dirName, baseName, joinBytes } from './paths';
import { metaOf, Root } from './plan';
import type { ResolvedOptions } from './options';

function cpError(code: string, message: string, src: Buffer, dst?: Buffer): SaferRingError {
  const props: { path: string; dest?: string } = { path: display(src) };
  if (dst !== undefined) props.dest = display(dst);
  return SaferRingError.for(code, message, props);
}

/**
 * The real location of `p` (symlinks resolved) when it exists; when it does
 * not, the real location of its nearest existing ancestor with the rest
 * appended. Used to compare where a destination would really be written.
 */
export async function realLocation(p: Buffer): Promise<Buffer> {
  const abs = absoluteBytes(p);
  const rest: Buffer[] = [];
  let cur = abs;
  for (;;) {
    try {
      let real = (await fsp.realpath(cur, { encoding: 'buffer' })) as Buffer;
      for (let i = rest.length - 1; i >= 0; i--) real = joinBytes(real, rest[i]);
      return real;
    } catch {
      if (cur.length <= 1) return abs;
      rest.push(baseName(cur));
      cur = dirName(cur);
    }
  }
}

/** Stat of a source root (following a symlink only with dereference), checked against its destination. */
export async function resolveRoot(src: Buffer, dst: Buffer, options: ResolvedOptions): Promise<Root> {
  const meta = metaOf(await (options.dereference ? fsp.stat(src) : fsp.lstat(src)));
  if (meta.type === 'directory' && !options.recursive) {
    throw cpError('ERR_FS_EISDIR', `Recursive option is required to copy a directory: ${display(src)}`, src);
  }
  const dstStat = await fsp.lstat(dst).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (dstStat !== undefined) {
    const dstIsDir = dstStat.isDirectory();
    if (meta.type === 'directory' && !dstIsDir) {
      throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', `Cannot overwrite non-directory ${display(dst)} with directory ${display(src)}`, src, dst);
    }
    if (meta.type !== 'directory' && dstIsDir) {
      throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', `Cannot overwrite directory ${display(dst)} with non-directory ${display(src)}`, src, dst);
    }
    if (dstStat.ino === meta.ino && dstStat.dev === meta.dev) {
      throw cpError('ERR_FS_CP_EINVAL', `src and dest cannot be the same ${display(src)}`, src, dst);
    }
  }
  if (meta.type === 'directory') {
    const realSrc = (await fsp.realpath(src, { encoding: 'buffer' })) as Buffer;
    if (isSameOrInside(await realLocation(dst), realSrc)) {
      throw cpError('ERR_FS_CP_EINVAL', `cannot copy ${display(src)} to a subdirectory of self ${display(dst)}`, src, dst);
    }
  }
  return { src, dst, meta };
}
