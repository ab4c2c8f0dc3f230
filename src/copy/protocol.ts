// What the job (main thread) and its copy workers exchange.
//
// A task is a list of items to copy, all going into one directory (a
// directory's small files) or a single large file. Items carry everything the
// worker needs (paths as bytes, size, mode, owner, times), so a worker never
// waits on the main thread in the middle of a file. Progress and the stop
// request travel through a small SharedArrayBuffer, not through messages: a
// worker adds the bytes it copies as it copies them, and the job reads the
// counters when it draws its progress.
import util from 'node:util';
import type { ResolvedPreserve, OverwriteMode } from './options';

/** Files up to this size are small: copied with one buffer (or by the addon's loop), several to a task. */
export const SMALL_FILE_MAX = 1024 * 1024;

export const enum ItemKind {
  File = 0,
  Symlink = 1,
  /** A hard link to a file this job copied already (its `target`). */
  HardLink = 2,
  /** A FIFO or device node, recreated with mknod. */
  Special = 3,
}

/** One entry to copy, as a worker sees it. */
export interface TaskItem {
  kind: ItemKind;
  src: Buffer;
  dst: Buffer;
  /** The directory `dst` is in (shared by the items of a task). */
  dstDir: Buffer;
  /** For a HardLink: the destination path of the first name, already in place. */
  target?: Buffer;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  rdev: number;
  /** Fewer blocks allocated than the size needs: copy data ranges only (SEEK_DATA/SEEK_HOLE). */
  sparse: boolean;
}

/** The numbers of an item that only some copies need, META_FIELDS per item in CopyTask.meta. */
export const META_FIELDS = 5;
export const enum MetaField { Uid = 0, Gid, AtimeMs, MtimeMs, Rdev }

/** Set in CopyTask.kinds beside the ItemKind: a file with holes. */
export const SPARSE = 0x80;

/**
 * A task, packed for the trip to a worker: structured clone copies a few
 * typed arrays instead of building an object (and two path Buffers) per
 * entry, and the worker hands names, sizes and modes to the addon's
 * small-file loop as they are. Paths are `srcDir/name` and `dstDir/name`; a
 * root, whose copy may have another name, carries `dstName`.
 */
export interface CopyTask {
  srcDir: Uint8Array;
  dstDir: Uint8Array;
  names: Uint8Array;
  /** End offset of each name in `names`. */
  nameEnds: Uint32Array;
  /** ItemKind, with SPARSE set for a file with holes. */
  kinds: Uint8Array;
  sizes: Float64Array;
  /** st_mode (type and permission bits). */
  modes: Uint32Array;
  /** Owner, times and device number: META_FIELDS per item. */
  meta: Float64Array;
  dstName?: Uint8Array;
  /** Hard links: [item index, destination path of the first name]. */
  targets?: [number, Uint8Array][];
}

/** A failure, flattened for structured clone (which would drop code, errno, syscall and path). */
export interface ErrorRecord {
  name: string;
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
}

export const enum Status {
  Copied = 1,
  /** The destination was already identical (overwrite 'skip-identical'). */
  Skipped = 2,
  Failed = 3,
  /** Not started, or stopped half-way (its temporary removed). */
  Aborted = 4,
}

export interface ItemOutcome {
  status: Status;
  bytes: number;
  error?: ErrorRecord;
  /** Non-fatal problems (ownership not preserved, ...). */
  warnings?: string[];
}

/** A task's outcomes, packed like the task: one status and byte count per item, errors and warnings apart. */
export interface TaskResult {
  status: Uint8Array;
  bytes: Float64Array;
  errors: [number, ErrorRecord][];
  warnings: [number, string[]][];
}

/** Directories to create (full paths, packed like a task's names) and their modes. */
export interface MkdirTask {
  mkdir: Uint8Array;
  /** End offset of each path in `mkdir`. */
  ends: Uint32Array;
  modes: Uint32Array;
}

export const enum DirOutcome { Created = 1, Existing = 2, Failed = 3 }

export interface MkdirResult {
  /** A DirOutcome per directory. */
  status: Uint8Array;
  errors: [number, ErrorRecord][];
}

/** Settings every worker of a job gets once, with its start. */
export interface CopyWorkerData {
  control: SharedArrayBuffer;
  /** A random tag in every temporary name of this job: `.<tag>.<worker>.<n>.tmp`. */
  tag: string;
  overwrite: OverwriteMode;
  preserve: ResolvedPreserve;
  dereference: boolean;
  verify: boolean;
  smallFileIo: 'sync' | 'ring';
  largeFileIo: 'copy-file-range' | 'ring';
  /**
   * Use unnamed (O_TMPFILE) temporaries where the filesystem has them. Off
   * with SAFER_RING_COPY_TEMPORARIES=named: always named ones (the path for
   * filesystems without O_TMPFILE, which the tests exercise this way too).
   */
  unnamedTemporaries: boolean;
}

// The control block: int32 word 0 is the stop flag; int64 words 1 and 2 count
// bytes and files done. Workers add, the job reads; Atomics on both sides.
export const CONTROL_BYTES = 32;
const STOP = 0;
const BYTES = 1;
const FILES = 2;

export class Control {
  readonly #i32: Int32Array;
  readonly #i64: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(CONTROL_BYTES)) {
    this.#i32 = new Int32Array(buffer);
    this.#i64 = new BigInt64Array(buffer);
  }

  get stopped(): boolean {
    return Atomics.load(this.#i32, STOP) !== 0;
  }

  stop(): void {
    Atomics.store(this.#i32, STOP, 1);
  }

  addBytes(n: number): void {
    if (n > 0) Atomics.add(this.#i64, BYTES, BigInt(n));
  }

  addFile(): void {
    Atomics.add(this.#i64, FILES, 1n);
  }

  addFiles(n: number): void {
    if (n > 0) Atomics.add(this.#i64, FILES, BigInt(n));
  }

  /** The stop word, for the addon's loops to read between files. */
  get stopWord(): Int32Array {
    return this.#i32;
  }

  get bytes(): number {
    return Number(Atomics.load(this.#i64, BYTES));
  }

  get files(): number {
    return Number(Atomics.load(this.#i64, FILES));
  }
}

export function errorRecord(err: unknown): ErrorRecord {
  const e = (err ?? {}) as Partial<ErrorRecord> & { path?: unknown; dest?: unknown };
  const record: ErrorRecord = { name: typeof e.name === 'string' ? e.name : 'Error', message: String(e.message ?? err) };
  if (typeof e.code === 'string') record.code = e.code;
  if (typeof e.errno === 'number') record.errno = e.errno;
  if (typeof e.syscall === 'string') record.syscall = e.syscall;
  if (e.path !== undefined) record.path = String(e.path);
  if (e.dest !== undefined) record.dest = String(e.dest);
  return record;
}

/**
 * The record of a failed syscall, as node:fs would report it: `code`,
 * negative `errno`, `syscall`, `path`, and a message of the same form
 * ("ENOENT: no such file or directory, lstat '/a/b'").
 */
export function errnoRecord(errno: number, syscall: string, path: string): ErrorRecord {
  const [code, description] = systemErrors().get(-errno) ?? ['EIO', 'i/o error'];
  return { name: 'Error', message: `${code}: ${description}, ${syscall} '${path}'`, code, errno: -errno, syscall, path };
}

let errorMap: Map<number, [string, string]> | null = null;
function systemErrors(): Map<number, [string, string]> {
  return (errorMap ??= util.getSystemErrorMap());
}

/** The Error again, with the fields node:fs errors have. */
export function fromRecord(record: ErrorRecord): Error {
  const err = new Error(record.message) as Error & Omit<ErrorRecord, 'name' | 'message'>;
  err.name = record.name;
  for (const key of ['code', 'errno', 'syscall', 'path', 'dest'] as const) {
    if (record[key] !== undefined) (err as unknown as Record<string, unknown>)[key] = record[key];
  }
  return err;
}
