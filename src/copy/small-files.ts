// Small regular files in batches, through the addon's loop (copySmallFiles in
// native/fileops.cc): for each file open, create an unnamed temporary, read,
// write, link it to its name, close, as plain syscalls with no JavaScript in
// between. Measured on a 20,000-file tree, the same steps made one by one
// from JavaScript cost more CPU than the kernel work itself (docs/copy.md).
//
// The policy stays here: which files the loop may take (regular, not sparse,
// up to SMALL_FILE_MAX, and only when nothing else has to happen to them:
// no preserve, no verify, no skip-identical, unnamed temporaries), and what a
// failure means. The loop stops at the first file that fails; that file is
// then copied again by FileCopier, whose paths give every failure its
// node:fs error (or succeed where the loop cannot: a filesystem without
// O_TMPFILE, a destination to replace), and the rest of the task goes that
// way too. Failures are rare; the common case pays nothing for them.
import fs from 'node:fs';
import { binding } from '../native';
import { asBuffer } from './paths';
import { Control, CopyTask, CopyWorkerData, ItemKind, SMALL_FILE_MAX, Status } from './protocol';

/** Where the loop's copy of a file failed (errorsOut[2i + 1]); mirrors native/fileops.cc. */
export const enum SmallFileStep { None = 0, Open, Create, Read, Write, Link, Close, Stopped }

const FOLLOW_SYMLINKS = 1;
const O_DIRECTORY_READ = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | 0o2000000; // O_CLOEXEC

/** The loop runs at most this long per call, so the worker steps back to its event loop as often as before. */
export const BATCH_BUDGET_NS = 500_000;

export class SmallFiles {
  readonly #control: Control;
  readonly #flags: number;
  #errors = new Int32Array(2 * 64);

  /** The batch path for these settings, or null when they need FileCopier for every file. */
  static for(settings: CopyWorkerData, control: Control): SmallFiles | null {
    if (typeof binding?.copySmallFiles !== 'function') return null;
    if (settings.smallFileIo !== 'sync' || !settings.unnamedTemporaries) return null;
    const p = settings.preserve;
    if (p.mode || p.ownership || p.timestamps || settings.verify || settings.overwrite === 'skip-identical') return null;
    return new SmallFiles(control, settings.dereference ? FOLLOW_SYMLINKS : 0);
  }

  private constructor(control: Control, flags: number) {
    this.#control = control;
    this.#flags = flags;
  }

  /** Whether item `i` is a file the loop may take. A root (copied to a name of its own) never is. */
  takes(task: CopyTask, i: number): boolean {
    return task.kinds[i] === ItemKind.File && task.sizes[i] <= SMALL_FILE_MAX && task.dstName === undefined;
  }

  /** The end of the run of items from `i` the loop may take. */
  runEnd(task: CopyTask, i: number): number {
    let j = i;
    while (j < task.kinds.length && this.takes(task, j)) j++;
    return j;
  }

  /**
   * Copies items `from`..`to` (all taken by takes()) for up to BATCH_BUDGET_NS.
   * Statuses and bytes go into `status` and `bytes`. Returns the index of the
   * first item not done, and whether the item before it failed (its status
   * is then left unset, for FileCopier to copy it again).
   */
  run(task: CopyTask, dirs: DirPair, from: number, to: number, status: Uint8Array, bytes: Float64Array): { next: number; failed: boolean } {
    const n = task.nameEnds.length;
    if (this.#errors.length < 2 * n) this.#errors = new Int32Array(2 * n);
    const errors = this.#errors;
    const next = binding!.copySmallFiles!(dirs.srcFd(), dirs.dstFd(), task.names, task.nameEnds, task.sizes, task.modes,
      from, to, this.#flags, this.#control.stopWord, BATCH_BUDGET_NS, bytes, errors);
    let done = next;
    let failed = false;
    if (next > from && errors[2 * (next - 1) + 1] !== SmallFileStep.None) {
      done = next - 1;
      if (errors[2 * done + 1] === SmallFileStep.Stopped) status[done] = Status.Aborted;
      else failed = true;
    }
    let sum = 0;
    for (let k = from; k < done; k++) {
      status[k] = Status.Copied;
      sum += bytes[k];
    }
    this.#control.addBytes(sum);
    this.#control.addFiles(done - from);
    return { next, failed };
  }
}

/** A task's two directories, opened when the loop first needs them (the loop works relative to them). */
export class DirPair {
  #src = -1;
  #dst = -1;

  constructor(private readonly srcDir: Uint8Array, private readonly dstDir: Uint8Array) {}

  srcFd(): number {
    if (this.#src < 0) this.#src = fs.openSync(asBuffer(this.srcDir), O_DIRECTORY_READ);
    return this.#src;
  }

  dstFd(): number {
    if (this.#dst < 0) this.#dst = fs.openSync(asBuffer(this.dstDir), O_DIRECTORY_READ);
    return this.#dst;
  }

  close(): void {
    if (this.#src >= 0) fs.closeSync(this.#src);
    if (this.#dst >= 0) fs.closeSync(this.#dst);
    this.#src = this.#dst = -1;
  }
}
