// A copy job: the plan, the directories, the dispatch of file tasks to the
// copy workers, directory metadata, progress, abort and the summary.
//
// Threads: everything here runs on the caller's thread and never blocks it
// (the walk's statx calls go through a Ring, the rest through
// fs.promises). The bytes move on the workers (worker.ts, one ring each),
// reached through a piscina pool. A task is either one large file or up to
// TASK_ITEMS small entries of one directory, so a worker creates names in one
// directory at a time and the per-task cost of the pool is spread over many
// files; the main thread keeps only a few tasks queued ahead, so an abort has
// little to drain.
import { EventEmitter } from 'node:events';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type Piscina from 'piscina';
import { SaferRingError } from '../errors';
import { CopyOptions, CopyProgress, EntryType, ResolvedOptions, resolveOptions } from './options';
import { makePlan, Plan, Root } from './plan';
import { Field } from './scan';
import { resolveRoot } from './roots';
import { baseName, dirName, display, toPathBytes, PathInput } from './paths';
import { Control, CopyTask, CopyWorkerData, DirOutcome, errorRecord, fromRecord, ItemKind, MkdirResult, SMALL_FILE_MAX, Status, TaskResult } from './protocol';
import { mkdirTask } from './dirs';
import { TaskWriter } from './task-codec';
import { Counts, progressOf, RateMeter } from './progress';
import type { ScanResult, ScanTask } from './scan';
import type { LocalRunner, TaskRunner } from './local';

/** Per-entry result, as the 'file' event and the async iterator give it. */
export interface CopyFileResult {
  /** Source and destination paths as text (bytes that are not UTF-8 show as U+FFFD; see srcBytes). */
  src: string;
  dst: string;
  srcBytes: Buffer;
  dstBytes: Buffer;
  type: EntryType;
  status: 'copied' | 'skipped' | 'failed' | 'aborted';
  /** Bytes of file data copied. */
  bytes: number;
  error?: Error;
  /** Why it was skipped. */
  reason?: string;
}

export interface CopySummary {
  /** Entries other than directories now in place: files, symlinks, hard links, special files. */
  files: number;
  /** Directories created (or already there and merged into). */
  directories: number;
  bytes: number;
  skipped: { path: string; reason: string }[];
  failed: { path: string; error: Error }[];
  warnings: string[];
  elapsedMs: number;
  bytesPerSecond: number;
  filesPerSecond: number;
  /** The job was stopped (abort, signal or failFast) before it finished. */
  aborted: boolean;
  /** Where the time went, in ms: listing the source, creating directories, copying (to the last file), and all. */
  phases: { planMs: number; directoriesMs: number; copyMs: number };
}

/** A source and where it goes. */
export interface CopyPair {
  src: PathInput;
  dst: PathInput;
}

/**
 * @internal Set by the CLI, whose thread does nothing but this job: with
 * `workers: 0` it may then block (synchronous small-file copies,
 * copy_file_range), which is faster than the non-blocking paths.
 */
export const kBlockingAllowed = Symbol('safer-ring.copy.blockingAllowed');
interface InternalOptions extends CopyOptions {
  [kBlockingAllowed]?: boolean;
}

const TASK_ITEMS = 64;
const TASK_BYTES = 8 * 1024 * 1024;
const PROGRESS_MS = 100;
/** Directories per mkdir task. */
const MKDIR_PER_TASK = 128;
const workerFile = path.join(__dirname, 'worker.js');

type DirState = 'pending' | 'created' | 'existing' | 'failed';

/**
 * A running copy job. Emits 'file' (a CopyFileResult per entry), 'progress'
 * (CopyProgress, about 10 times a second), 'warning' (a message) and 'end'
 * (the CopySummary); iterate it for the per-entry results. `done` settles
 * with the summary, or rejects (an AbortError, or the first failure with
 * failFast) with the summary attached as `error.summary`.
 */
export class CopyJob extends EventEmitter implements AsyncIterable<CopyFileResult> {
  readonly #options: ResolvedOptions;
  readonly #pairs: { src: Buffer; dst: Buffer }[];
  readonly #control = new Control();
  readonly #tag = randomBytes(4).toString('hex');
  readonly #meter = new RateMeter();
  readonly #done: Promise<CopySummary>;
  readonly #summary: CopySummary = {
    files: 0, directories: 0, bytes: 0, skipped: [], failed: [], warnings: [], elapsedMs: 0, bytesPerSecond: 0, filesPerSecond: 0, aborted: false,
    phases: { planMs: 0, directoriesMs: 0, copyMs: 0 },
  };
  readonly #counts: Counts = { bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0, filesSkipped: 0, filesFailed: 0, planned: false };
  #plan: Plan | null = null;
  #dirState: DirState[] = [];
  #dirWork: Promise<void>[] = [];
  /** Hard links waiting for their first name to be copied: first's entry index → link entry indexes. */
  #waitingLinks = new Map<number, number[]>();
  #stopReason: Error | null = null;
  readonly #workersGiven: boolean;
  #filesCompleted = 0;

  constructor(pairs: CopyPair[], options?: CopyOptions) {
    super();
    this.#options = resolveOptions(options);
    this.#workersGiven = options?.workers !== undefined;
    (this.#options as InternalOptions)[kBlockingAllowed] = (options as InternalOptions | undefined)?.[kBlockingAllowed] === true;
    this.#pairs = pairs.map((p, i) => ({ src: toPathBytes(p.src, pairs.length > 1 ? `src[${i}]` : 'src'), dst: toPathBytes(p.dst, 'dst') }));
    const signal = this.#options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.abort(signal.reason);
      else signal.addEventListener('abort', () => this.abort(signal.reason), { once: true });
    }
    this.#done = this.#start();
    this.#done.catch(() => {}); // callers who only listen to events get 'error' instead of an unhandled rejection
  }

  /** Settles when the job is over: the summary, or the reason it stopped. */
  get done(): Promise<CopySummary> {
    return this.#done;
  }

  /** Stops the job: nothing more starts, files being copied stop and their temporaries are removed. */
  abort(reason?: unknown): void {
    if (this.#stopReason !== null) return;
    const err = new SaferRingError('ABORT_ERR', 'The copy was aborted', reason === undefined ? {} : { cause: reason });
    this.#stop(err);
  }

  /** Progress now. */
  progress(): CopyProgress {
    this.#counts.bytesDone = this.#control.bytes;
    this.#counts.filesDone = this.#filesCompleted;
    return progressOf(this.#counts, this.#meter);
  }

  [Symbol.asyncIterator](): AsyncIterator<CopyFileResult> {
    const queue: CopyFileResult[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: unknown = null;
    const onFile = (r: CopyFileResult): void => {
      queue.push(r);
      wake?.();
    };
    this.on('file', onFile);
    this.#done.then(
      () => { finished = true; wake?.(); },
      (err) => { finished = true; failure = err; wake?.(); },
    );
    return {
      next: async (): Promise<IteratorResult<CopyFileResult>> => {
        for (;;) {
          if (queue.length > 0) return { value: queue.shift()!, done: false };
          if (finished) {
            this.off('file', onFile);
            if (failure !== null) throw failure;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => { wake = resolve; });
          wake = null;
        }
      },
      return: async (): Promise<IteratorResult<CopyFileResult>> => {
        this.off('file', onFile);
        return { value: undefined, done: true };
      },
    };
  }

  #stop(reason: Error): void {
    if (this.#stopReason !== null) return;
    this.#stopReason = reason;
    this.#control.stop();
  }

  async #start(): Promise<CopySummary> {
    await Promise.resolve(); // let the caller attach listeners first
    const timer = setInterval(() => this.#report(), PROGRESS_MS);
    timer.unref();
    let pool: TaskRunner | null = null;
    try {
      if (this.#stopReason !== null) throw this.#stopReason;
      const roots: Root[] = [];
      for (const pair of this.#pairs) roots.push(await resolveRoot(pair.src, pair.dst, this.#options));
      pool = this.#startPool(roots);
      const scanner = pool;
      const follow = this.#options.dereference;
      const plan = await makePlan((dir) => scanner.run({ scan: dir, follow } satisfies ScanTask) as Promise<ScanResult>, roots, this.#options, () => this.#control.stopped,
        Math.max(1, this.#options.workers) * this.#options.concurrency);
      this.#plan = plan;
      this.#takePlan(plan);
      this.#report(); // the totals are known: say so at once
      const phases = this.#summary.phases;
      phases.planMs = this.#meter.elapsedMs;
      await this.#createDirectories(pool, plan);
      phases.directoriesMs = this.#meter.elapsedMs - phases.planMs;
      await this.#dispatch(pool, plan);
      // Finishing a directory can finish its parent: wait until no more come.
      while (this.#dirWork.length > 0) await Promise.all(this.#dirWork.splice(0));
      phases.copyMs = this.#meter.elapsedMs - phases.planMs - phases.directoriesMs;
    } catch (err) {
      if (this.#stopReason === null) this.#stopReason = err as Error;
    } finally {
      clearInterval(timer);
      if (pool !== null) await pool.destroy();
    }
    return this.#finish();
  }

  /**
   * The workers, or this thread (`workers: 0`, and by default when no source
   * is a directory: a worker costs more to start than copying a few files).
   * A caller that lets the job block its thread (the command line) gets both:
   * this thread takes tasks beside the workers (shared-runner.ts).
   */
  #startPool(roots: Root[]): TaskRunner {
    const settings: CopyWorkerData = {
      control: this.#control.buffer,
      tag: this.#tag,
      overwrite: this.#options.overwrite,
      preserve: this.#options.preserve,
      dereference: this.#options.dereference,
      verify: this.#options.verify,
      smallFileIo: this.#options.smallFileIo,
      largeFileIo: this.#options.largeFileIo,
      unnamedTemporaries: process.env.SAFER_RING_COPY_TEMPORARIES !== 'named',
    };
    const blocking = (this.#options as InternalOptions)[kBlockingAllowed] === true;
    // Loaded only when used: a job copying through workers alone never needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const thisThread = (): LocalRunner => new (require('./local') as typeof import('./local')).LocalRunner(settings, blocking);
    const onlyFiles = roots.every((r) => r.meta.type !== 'directory');
    if (this.#options.workers === 0 || (onlyFiles && !this.#workersGiven)) return thisThread();
    // Loaded only here: a job on its own thread (workers: 0) needs no pool.
    const PiscinaPool = require('piscina') as typeof Piscina;
    const pool = new PiscinaPool({
      filename: workerFile,
      minThreads: this.#options.workers,
      maxThreads: this.#options.workers,
      concurrentTasksPerWorker: this.#options.concurrency,
      idleTimeout: 60_000,
      workerData: settings,
    });
    if (!blocking) return pool;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SharedRunner } = require('./shared-runner') as typeof import('./shared-runner');
    return new SharedRunner(thisThread(), pool, this.#options.workers * this.#options.concurrency);
  }

  /** Totals from the plan; what the walk left out or could not read goes into the summary now. */
  #takePlan(plan: Plan): void {
    this.#counts.bytesTotal = plan.bytesTotal;
    this.#counts.filesTotal = plan.count;
    this.#counts.planned = true;
    this.#dirState = plan.dirs.map(() => 'pending');
    for (const s of plan.skipped) {
      const text = `skipped '${display(s.path)}': ${s.reason}`;
      this.#summary.skipped.push({ path: display(s.path), reason: s.reason });
      this.#warn(text);
    }
    for (const f of plan.failed) this.#summary.failed.push({ path: display(f.path), error: f.error });
    if (plan.failed.length > 0 && this.#options.failFast) this.#stop(plan.failed[0].error);
  }

  /**
   * Creates the destination directories on the workers, a level of the tree
   * at a time (so each finds its parent there), many to a task. They are
   * created writable by us (mode | 0o700) so the copy can fill them; their
   * own mode (and, with preserve, owner and times) is set once everything
   * inside them is done. Below a directory that could not be created
   * nothing is tried.
   */
  async #createDirectories(pool: TaskRunner, plan: Plan): Promise<void> {
    const levels: number[][] = [];
    const depth: number[] = new Array(plan.dirs.length);
    plan.dirs.forEach((dir, i) => {
      depth[i] = dir.parent < 0 ? 0 : depth[dir.parent] + 1;
      (levels[depth[i]] ??= []).push(i);
    });
    for (const level of levels) {
      const todo = level.filter((i) => {
        const parent = plan.dirs[i].parent;
        if (parent >= 0 && this.#dirState[parent] === 'failed') this.#dirState[i] = 'failed';
        return this.#dirState[i] === 'pending';
      });
      const chunks: Promise<void>[] = [];
      for (let at = 0; at < todo.length && !this.#control.stopped; at += MKDIR_PER_TASK) {
        const ids = todo.slice(at, at + MKDIR_PER_TASK);
        const task = mkdirTask(ids.map((i) => plan.dirs[i].dst), ids.map((i) => (plan.dirs[i].meta.mode & 0o7777) | 0o700));
        chunks.push((pool.run(task) as Promise<MkdirResult>).then((result) => {
          const errors = new Map(result.errors);
          ids.forEach((d, k) => {
            const outcome = result.status[k] as DirOutcome;
            if (outcome === DirOutcome.Created || outcome === DirOutcome.Existing) {
              this.#dirState[d] = outcome === DirOutcome.Created ? 'created' : 'existing';
              this.#summary.directories++;
              return;
            }
            this.#dirState[d] = 'failed';
            const error = fromRecord(errors.get(k) ?? { name: 'Error', message: 'mkdir failed' });
            this.#summary.failed.push({ path: display(plan.dirs[d].src), error });
            if (this.#options.failFast) this.#stop(error);
          });
        }));
      }
      await Promise.all(chunks);
      if (this.#control.stopped) return;
    }
  }

  async #dispatch(pool: TaskRunner, plan: Plan): Promise<void> {
    const large: number[] = [];
    const roots: number[] = [];
    const byDir = new Map<number, number[]>();
    for (let id = 0; id < plan.count; id++) {
      const d = plan.dirOf(id);
      if (d >= 0 && this.#dirState[d] !== 'created' && this.#dirState[d] !== 'existing') {
        this.#record(id, this.#control.stopped ? Status.Aborted : Status.Failed, 0, undefined, 'its directory could not be created');
        continue;
      }
      const first = plan.linkOf(id);
      if (first >= 0) {
        const list = this.#waitingLinks.get(first) ?? [];
        list.push(id);
        this.#waitingLinks.set(first, list);
        continue;
      }
      if (plan.type(id) === 'file' && plan.stat(id, Field.Size) > SMALL_FILE_MAX) large.push(id);
      else if (d < 0) roots.push(id); // a root names its copy itself: a task of its own
      else {
        let list = byDir.get(d);
        if (list === undefined) byDir.set(d, (list = []));
        list.push(id);
      }
    }
    // Directories with nothing (left) to copy inside are finished now.
    plan.dirs.forEach((dir, d) => {
      if (dir.pending === 0) this.#dirWork.push(this.#finishDirectory(d));
    });
    large.sort((a, b) => plan.stat(b, Field.Size) - plan.stat(a, Field.Size));
    const tasks: number[][] = [...large.map((id) => [id]), ...roots.map((id) => [id])];
    // A directory with more entries than a task holds becomes several tasks.
    // They go out a round apart (every directory's first task, then every
    // second one...), so tasks running at once on different threads are
    // seldom in one directory: creating and naming files there takes the
    // directory's lock, and two threads in one directory wait on each other.
    const perDir: number[][][] = [];
    for (const ids of byDir.values()) {
      const parts: number[][] = [];
      let current: number[] = [];
      let bytes = 0;
      for (const id of ids) {
        const size = plan.stat(id, Field.Size);
        if (current.length > 0 && (current.length >= TASK_ITEMS || bytes + size > TASK_BYTES)) {
          parts.push(current);
          current = [];
          bytes = 0;
        }
        current.push(id);
        bytes += size;
      }
      if (current.length > 0) parts.push(current);
      perDir.push(parts);
    }
    for (let round = 0, more = true; more; round++) {
      more = false;
      for (const parts of perDir) {
        if (round < parts.length) tasks.push(parts[round]);
        if (round + 1 < parts.length) more = true;
      }
    }

    // Keep a few tasks queued per worker slot, no more: what is not queued
    // yet is simply never started after an abort.
    const ahead = Math.max(1, this.#options.workers) * this.#options.concurrency * 2;
    let next = 0;
    let running = 0;
    await new Promise<void>((resolveAll) => {
      const pump = (): void => {
        while (running < ahead && !this.#control.stopped) {
          let ids: number[] | undefined;
          if (next < tasks.length) ids = tasks[next++];
          else break;
          running++;
          const task = this.#encode(ids);
          const taskIds = ids;
          (pool.run(task) as Promise<TaskResult>).then(
            (result) => this.#taskDone(result, taskIds, tasks),
            (err: unknown) => this.#taskFailed(ids!, err),
          ).finally(() => {
            running--;
            pump();
          });
        }
        if (running === 0) {
          // What was never started is reported as aborted.
          if (this.#control.stopped) {
            for (; next < tasks.length; next++) for (const id of tasks[next]) this.#record(id, Status.Aborted, 0);
            for (const [first, links] of this.#waitingLinks) {
              for (const id of links) this.#record(id, Status.Aborted, 0);
              this.#waitingLinks.delete(first);
            }
          }
          resolveAll();
        }
      };
      pump();
    });
  }

  /** A task for entries that share a directory (or one root), packed for the worker. */
  #encode(ids: number[]): CopyTask {
    const plan = this.#plan!;
    let nameBytes = 0;
    for (const id of ids) nameBytes += plan.nameLength(id);
    const root = plan.rootOf(ids[0]);
    const writer = root !== undefined
      ? new TaskWriter(dirName(root.src), dirName(root.dst), ids.length, nameBytes, baseName(root.dst))
      : new TaskWriter(plan.dirs[plan.dirOf(ids[0])].src, plan.dirs[plan.dirOf(ids[0])].dst, ids.length, nameBytes);
    for (const id of ids) {
      const first = plan.linkOf(id);
      const type = plan.type(id);
      let kind: ItemKind;
      if (first >= 0) kind = ItemKind.HardLink;
      else if (type === 'file') kind = ItemKind.File;
      else if (type === 'symlink') kind = ItemKind.Symlink;
      else kind = ItemKind.Special;
      const size = plan.stat(id, Field.Size);
      const sparse = type === 'file' && size > 0 && plan.stat(id, Field.Blocks) * 512 < size;
      const i = writer.add(plan.name(id), kind, sparse, size, plan.stat(id, Field.Mode), plan.stat(id, Field.Uid), plan.stat(id, Field.Gid),
        plan.stat(id, Field.AtimeMs), plan.stat(id, Field.MtimeMs), plan.stat(id, Field.Rdev));
      if (kind === ItemKind.HardLink) writer.target(i, plan.pathsOf(first).dst);
    }
    return writer.task;
  }

  #taskDone(result: TaskResult, ids: number[], tasks: number[][]): void {
    const links: number[] = [];
    const errors = result.errors.length > 0 ? new Map(result.errors) : null;
    const warnings = result.warnings.length > 0 ? new Map(result.warnings) : null;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const status = result.status[i] as Status;
      const error = errors?.get(i);
      this.#record(id, status, result.bytes[i], error === undefined ? undefined : fromRecord(error), undefined, warnings?.get(i));
      if (this.#waitingLinks.size === 0) continue;
      const waiting = this.#waitingLinks.get(id);
      if (waiting === undefined) continue;
      this.#waitingLinks.delete(id);
      if (status === Status.Copied || status === Status.Skipped) links.push(...waiting);
      else for (const l of waiting) this.#record(l, status === Status.Aborted ? Status.Aborted : Status.Failed, 0, undefined, 'its first name was not copied');
    }
    // Second names of files now in place go out as tasks of their own (one per directory).
    const plan = this.#plan!;
    const byDir = new Map<number, number[]>();
    for (const id of links) {
      const d = plan.dirOf(id);
      const list = byDir.get(d) ?? [];
      list.push(id);
      byDir.set(d, list);
    }
    for (const [d, list] of byDir) {
      if (d < 0) for (const id of list) tasks.push([id]);
      else for (let i = 0; i < list.length; i += TASK_ITEMS) tasks.push(list.slice(i, i + TASK_ITEMS));
    }
  }

  #taskFailed(ids: number[], err: unknown): void {
    for (const id of ids) this.#record(id, Status.Failed, 0, fromRecord(errorRecord(err)));
  }

  /** One entry is finished: counters, events, failures, and its directory's count. */
  #record(id: number, status: Status, bytes: number, error?: Error, reason?: string, warnings?: string[]): void {
    const plan = this.#plan!;
    switch (status) {
      case Status.Copied:
        this.#summary.files++;
        this.#summary.bytes += bytes;
        this.#filesCompleted++;
        break;
      case Status.Skipped:
        reason ??= 'identical destination';
        this.#summary.skipped.push({ path: display(plan.pathsOf(id).src), reason });
        this.#counts.filesSkipped++;
        this.#filesCompleted++;
        break;
      case Status.Failed: {
        const src = display(plan.pathsOf(id).src);
        error ??= new SaferRingError('ERR_COPY_NOT_COPIED', `'${src}' was not copied: ${reason}`, { path: src });
        this.#summary.failed.push({ path: src, error });
        this.#counts.filesFailed++;
        this.#filesCompleted++;
        if (this.#options.failFast) this.#stop(error);
        break;
      }
      default:
        break;
    }
    if (warnings !== undefined) for (const w of warnings) this.#warn(w);
    // The result object is made only for someone who listens.
    if (this.listenerCount('file') > 0) this.emit('file', new FileResult(plan, id, STATUS_NAMES[status], bytes, error, reason));
    const d = plan.dirOf(id);
    if (d >= 0 && status !== Status.Aborted) this.#entryFinished(d);
  }

  /** An entry of directory `d` is done; at the last one, the directory gets its metadata, and its parent hears of it. */
  #entryFinished(d: number): void {
    const dir = this.#plan!.dirs[d];
    if (--dir.pending > 0) return;
    this.#dirWork.push(this.#finishDirectory(d));
  }

  async #finishDirectory(d: number): Promise<void> {
    const dir = this.#plan!.dirs[d];
    const state = this.#dirState[d];
    try {
      const p = this.#options.preserve;
      if (state === 'created' || (state === 'existing' && (p.mode || p.ownership || p.timestamps))) {
        if (p.ownership) {
          await fsp.chown(dir.dst, dir.meta.uid, dir.meta.gid).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'EPERM') throw err;
            this.#warn(`ownership of '${display(dir.dst)}' not preserved (EPERM)`);
          });
        }
        if (p.mode) await fsp.chmod(dir.dst, dir.meta.mode & 0o7777);
        else if (state === 'created' && (dir.meta.mode & 0o700) !== 0o700) await fsp.chmod(dir.dst, dir.meta.mode & 0o777 & ~process.umask());
        if (p.timestamps) await fsp.utimes(dir.dst, dir.meta.atimeMs / 1000, dir.meta.mtimeMs / 1000);
      }
    } catch (err) {
      this.#summary.failed.push({ path: display(dir.src), error: err as Error });
    }
    if (dir.parent >= 0) this.#entryFinished(dir.parent);
  }

  #warn(text: string): void {
    this.#summary.warnings.push(text);
    this.emit('warning', text);
  }

  #report(): void {
    const p = this.progress();
    this.#options.onProgress?.(p);
    this.emit('progress', p);
  }

  #finish(): CopySummary {
    const s = this.#summary;
    s.elapsedMs = this.#meter.elapsedMs;
    s.bytesPerSecond = s.elapsedMs > 0 ? s.bytes / (s.elapsedMs / 1000) : 0;
    s.filesPerSecond = s.elapsedMs > 0 ? (s.files + s.directories) / (s.elapsedMs / 1000) : 0;
    s.aborted = this.#stopReason !== null;
    this.#report();
    if (this.#stopReason !== null) {
      const err = this.#stopReason as Error & { summary?: CopySummary };
      err.summary = s;
      if (this.listenerCount('error') > 0) this.emit('error', err);
      this.emit('end', s);
      throw err;
    }
    this.emit('end', s);
    return s;
  }
}

const STATUS_NAMES: Record<Status, CopyFileResult['status']> = {
  [Status.Copied]: 'copied', [Status.Skipped]: 'skipped', [Status.Failed]: 'failed', [Status.Aborted]: 'aborted',
};

/** A CopyFileResult whose paths are made only when asked for (a tree of 20,000 files makes 20,000 of these). */
class FileResult implements CopyFileResult {
  readonly #plan: Plan;
  readonly #id: number;
  #paths: { src: Buffer; dst: Buffer } | null = null;
  readonly type: EntryType;

  constructor(plan: Plan, id: number, readonly status: CopyFileResult['status'], readonly bytes: number, readonly error?: Error, readonly reason?: string) {
    this.#plan = plan;
    this.#id = id;
    this.type = plan.type(id);
  }

  get srcBytes(): Buffer {
    return (this.#paths ??= this.#plan.pathsOf(this.#id)).src;
  }

  get dstBytes(): Buffer {
    return (this.#paths ??= this.#plan.pathsOf(this.#id)).dst;
  }

  get src(): string {
    return display(this.srcBytes);
  }

  get dst(): string {
    return display(this.dstBytes);
  }

  toJSON(): object {
    return { src: this.src, dst: this.dst, type: this.type, status: this.status, bytes: this.bytes, error: this.error?.message, reason: this.reason };
  }
}

/** Starts a job copying each pair (cp semantics are the caller's: `dst` is the exact target). */
export function createCopyJob(pairs: CopyPair[], options?: CopyOptions): CopyJob {
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw SaferRingError.for('ERR_INVALID_ARG_TYPE', 'The "pairs" argument must be a non-empty Array of { src, dst }');
  }
  return new CopyJob(pairs, options);
}

