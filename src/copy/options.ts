// The options of a copy job, their defaults, and their checks (Node's error
// codes, as everywhere in safer-ring).
import os from 'node:os';
import { checkInteger, checkOptions, checkSignal, invalidType, invalidValue } from '../validate';

/** What to do when a destination file already exists. */
export type OverwriteMode = 'error' | 'replace' | 'skip-identical';

/** What `preserve: true` keeps; each may be set on its own. */
export interface PreserveOptions {
  /** Permission bits, including setuid/setgid/sticky. */
  mode?: boolean;
  /** Owner and group (where permitted: as root, or the group when you are a member). */
  ownership?: boolean;
  /** atime and mtime (to the microsecond: node:fs takes times as a double). */
  timestamps?: boolean;
  /** Hard links inside the tree stay hard links (cp -a); otherwise each name gets its own copy (cp -r). */
  links?: boolean;
}

/** What a filter callback is told about an entry. */
export interface CopyEntryInfo {
  /** 'file', 'directory', 'symlink', 'fifo', 'socket', 'char-device' or 'block-device'. */
  type: EntryType;
  size: number;
  /** The source path as bytes (exact even when the name is not UTF-8). */
  srcBytes: Buffer;
  dstBytes: Buffer;
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export interface CopyProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Entries skipped or failed so far (counted in filesDone too). */
  filesSkipped: number;
  filesFailed: number;
  elapsedMs: number;
  /** Bytes per second over the last few seconds. */
  bytesPerSecond: number;
  filesPerSecond: number;
  /** Seconds left at the current rate; null until there is a rate to go by. */
  etaSeconds: number | null;
  /** false while the source tree is still being listed (totals may still grow). */
  planned: boolean;
}

export interface CopyOptions {
  /** Copy directories and everything in them. Without it a directory source is an error (EISDIR). */
  recursive?: boolean;
  /** Default 'error': an existing destination file fails that file (EEXIST) and nothing is replaced. */
  overwrite?: OverwriteMode;
  /** `true`: mode, ownership, timestamps and hard links. Default: none (like cp without -p). */
  preserve?: boolean | PreserveOptions;
  /** Copy what symlinks point to instead of the links themselves. Default false: links stay links. */
  dereference?: boolean;
  /** Re-read source and copy and compare checksums before the copy gets its final name. */
  verify?: boolean;
  /** FIFOs and device nodes: recreated when true; skipped with a warning by default. Sockets are always skipped. */
  special?: boolean;
  /**
   * Worker threads, each with its own ring. Default: SAFER_RING_WORKERS, else
   * one less than the CPUs (1 to 8); when no source is a directory, 0. 0: no
   * worker threads, everything on this thread's own ring, without blocking it
   * (for a handful of files, where starting a worker costs more than the copy).
   */
  workers?: number;
  /** Tasks (a directory's small files, or one large file) in flight per worker. Default 4. */
  concurrency?: number;
  /** Stops the job: nothing more starts, temporaries are removed, the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Called for every entry below the source; return false to leave it (and, for a directory, its contents) out. */
  filter?: (src: string, dst: string, info: CopyEntryInfo) => boolean | Promise<boolean>;
  /** Called about 10 times a second while the job runs, and once at the end. */
  onProgress?: (progress: CopyProgress) => void;
  /** Stop at the first failure instead of reporting it and going on. */
  failFast?: boolean;
  /**
   * How small files are copied: 'sync' (default: synchronous node:fs calls in
   * the workers, which measured fastest for small files on ext4, see
   * docs/copy.md) or 'ring' (every step through the worker's ring).
   */
  smallFileIo?: 'sync' | 'ring';
  /**
   * How large files (over 1 MiB) are copied: 'copy-file-range' (default:
   * copy_file_range(2), chunk by chunk, in the kernel; the ring path where it
   * cannot be used) or 'ring' (lanes of reads and writes on the
   * worker's ring, registered buffers). docs/copy.md has the measurements.
   */
  largeFileIo?: 'copy-file-range' | 'ring';
}

export interface ResolvedPreserve {
  mode: boolean;
  ownership: boolean;
  timestamps: boolean;
  links: boolean;
}

export interface ResolvedOptions {
  recursive: boolean;
  overwrite: OverwriteMode;
  preserve: ResolvedPreserve;
  dereference: boolean;
  verify: boolean;
  special: boolean;
  workers: number;
  concurrency: number;
  signal: AbortSignal | undefined;
  filter: CopyOptions['filter'];
  onProgress: CopyOptions['onProgress'];
  failFast: boolean;
  smallFileIo: 'sync' | 'ring';
  largeFileIo: 'copy-file-range' | 'ring';
}

const OVERWRITE_MODES: readonly OverwriteMode[] = ['error', 'replace', 'skip-identical'];

/**
 * SAFER_RING_WORKERS, else one less than the CPUs (at least 1, at most 8),
 * as for the Runtime: the job's own thread plans and dispatches, and on two
 * CPUs one worker measured faster than two (docs/copy.md).
 */
export function defaultWorkers(): number {
  const env = process.env.SAFER_RING_WORKERS;
  if (env !== undefined && env !== '') return checkInteger('SAFER_RING_WORKERS', Number(env), 1, 256);
  return Math.min(8, Math.max(1, os.availableParallelism() - 1));
}

function flag(options: Record<string, unknown>, name: string, fallback = false): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidType(`options.${name}`, 'of type boolean', value);
  return value;
}

function resolvePreserve(value: unknown): ResolvedPreserve {
  if (value === undefined || value === false) return { mode: false, ownership: false, timestamps: false, links: false };
  if (value === true) return { mode: true, ownership: true, timestamps: true, links: true };
  if (typeof value !== 'object' || value === null) throw invalidType('options.preserve', 'of type boolean or an object', value);
  const p = value as Record<string, unknown>;
  return {
    mode: flag(p, 'mode'),
    ownership: flag(p, 'ownership'),
    timestamps: flag(p, 'timestamps'),
    links: flag(p, 'links'),
  };
}

export function resolveOptions(options: CopyOptions | undefined): ResolvedOptions {
  const o = checkOptions<CopyOptions>(options) as Record<string, unknown>;
  const overwrite = o.overwrite === undefined ? 'error' : o.overwrite;
  if (!OVERWRITE_MODES.includes(overwrite as OverwriteMode)) {
    throw invalidValue('options.overwrite', `must be one of ${OVERWRITE_MODES.map((m) => `'${m}'`).join(', ')}`, overwrite);
  }
  const smallFileIo = o.smallFileIo === undefined ? 'sync' : o.smallFileIo;
  if (smallFileIo !== 'sync' && smallFileIo !== 'ring') throw invalidValue('options.smallFileIo', "must be 'sync' or 'ring'", smallFileIo);
  const largeFileIo = o.largeFileIo === undefined ? 'copy-file-range' : o.largeFileIo;
  if (largeFileIo !== 'copy-file-range' && largeFileIo !== 'ring') throw invalidValue('options.largeFileIo', "must be 'copy-file-range' or 'ring'", largeFileIo);
  for (const fn of ['filter', 'onProgress'] as const) {
    if (o[fn] !== undefined && typeof o[fn] !== 'function') throw invalidType(`options.${fn}`, 'of type function', o[fn]);
  }
  return {
    recursive: flag(o, 'recursive'),
    overwrite: overwrite as OverwriteMode,
    preserve: resolvePreserve(o.preserve),
    dereference: flag(o, 'dereference'),
    verify: flag(o, 'verify'),
    special: flag(o, 'special'),
    workers: o.workers === undefined ? defaultWorkers() : checkInteger('options.workers', o.workers, 0, 256),
    concurrency: o.concurrency === undefined ? 4 : checkInteger('options.concurrency', o.concurrency, 1, 1024),
    signal: o.signal === undefined ? undefined : checkSignal(o.signal),
    filter: o.filter as CopyOptions['filter'],
    onProgress: o.onProgress as CopyOptions['onProgress'],
    failFast: flag(o, 'failFast'),
    smallFileIo,
    largeFileIo,
  };
}
