// safer-ring/copy: high-throughput, safe file and tree copies on io_uring
// worker threads. See docs/copy.md.
import fsp from 'node:fs/promises';
import { SaferRingError } from '../errors';
import { CopyJob, CopyPair, CopySummary, createCopyJob } from './job';
import type { CopyOptions } from './options';
import { baseName, display, joinBytes, PathInput, toPathBytes } from './paths';

/**
 * Copies `src` to `dst`; `dst` is the copy's own name, as with fs.cp. Given
 * an array of sources, copies each into the existing directory `dst` under
 * its own name, as `cp a b dir/` does. A directory needs `recursive: true`.
 * Resolves with the summary; rejects when the job cannot start (with
 * fs.cp's ERR_FS_CP_* codes), when it is aborted (an AbortError), or on the
 * first failure with `failFast`; `error.summary` then says what was done.
 * Without failFast, files that fail are listed in `summary.failed` and the
 * promise still resolves.
 */
export async function copy(src: PathInput | PathInput[], dst: PathInput, options?: CopyOptions): Promise<CopySummary> {
  return createCopyJob(await pairsFor(src, dst), options).done;
}

/** The pairs `copy()` would copy (the array form resolved into `dst`). */
export async function pairsFor(src: PathInput | PathInput[], dst: PathInput): Promise<CopyPair[]> {
  if (!Array.isArray(src)) return [{ src, dst }];
  if (src.length === 0) throw SaferRingError.for('ERR_INVALID_ARG_VALUE', "The argument 'src' must not be an empty array");
  const dir = toPathBytes(dst, 'dst');
  const st = await fsp.stat(dir).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) {
    throw new SaferRingError('ENOTDIR', `ENOTDIR: target '${display(dir)}' is not a directory`, { errno: -20, syscall: 'copy', path: display(dir) });
  }
  return src.map((s, i) => ({ src: s, dst: joinBytes(dir, baseName(toPathBytes(s, `src[${i}]`))) }));
}

export { CopyJob, createCopyJob };
export type { CopyPair, CopySummary, CopyFileResult } from './job';
export type {
  CopyOptions, CopyProgress, CopyEntryInfo, EntryType, OverwriteMode, PreserveOptions,
} from './options';
export type { PathInput } from './paths';
