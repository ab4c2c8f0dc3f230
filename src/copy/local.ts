// `workers: 0`: the job's tasks run on its own thread, with the same code a
// worker runs, through a ring of its own. Starting a worker thread costs more
// than copying a handful of files (Node boots a whole new environment for
// it), so single files are copied this way by default, and callers can ask
// for it.
//
// Here nothing may hold the thread for long: directories are listed with
// fs.promises and statx on the ring, created with the ring's mkdirat, small
// files go through the ring (RingFileIo), large ones through the ring's
// lanes. Only a caller that owns its thread outright (the CLI) asks for the
// blocking paths instead (`blocking`): the workers' own synchronous listing,
// mkdir, small-file loop and copy_file_range.
import fsp from 'node:fs/promises';
import { Ring } from '../ring/ring';
import { FileCopier } from './file-copy';
import { RingFileIo, SyncFileIo } from './file-io';
import { makeDirectories } from './dirs';
import { joinBytes, asBuffer } from './paths';
import { Control, CopyTask, CopyWorkerData, DirOutcome, errorRecord, ErrorRecord, MkdirResult, MkdirTask, TaskResult } from './protocol';
import { packStat, scanDirectory, ScanResult, ScanTask, STAT_FIELDS } from './scan';
import { SmallFiles } from './small-files';
import { runCopyTask } from './task-run';

/** The part of a piscina pool the job uses. */
export interface TaskRunner {
  run(task: CopyTask | ScanTask | MkdirTask): Promise<TaskResult | ScanResult | MkdirResult>;
  destroy(): Promise<void>;
}

export class LocalRunner implements TaskRunner {
  readonly #ring = new Ring({ entries: 256 });
  readonly #blocking: boolean;
  readonly #control: Control;
  readonly #copier: FileCopier;
  readonly #small: SmallFiles | null;

  constructor(settings: CopyWorkerData, blocking: boolean) {
    this.#blocking = blocking;
    const local: CopyWorkerData = blocking ? settings : { ...settings, smallFileIo: 'ring', largeFileIo: 'ring' };
    const io = local.smallFileIo === 'ring' ? new RingFileIo(this.#ring) : new SyncFileIo(this.#ring);
    this.#control = new Control(settings.control);
    this.#copier = new FileCopier(this.#ring, io, local, this.#control);
    this.#small = SmallFiles.for(local, this.#control);
  }

  async run(task: CopyTask | ScanTask | MkdirTask): Promise<TaskResult | ScanResult | MkdirResult> {
    if ('scan' in task) return this.#blocking ? scanDirectory(task) : this.#scan(task);
    if ('mkdir' in task) return this.#blocking ? makeDirectories(task) : this.#mkdir(task);
    return runCopyTask(() => this.#copier, this.#small, this.#control, task, async () => {});
  }

  /** scanDirectory() without blocking: readdir through the thread pool, statx through the ring. */
  async #scan(task: ScanTask): Promise<ScanResult> {
    const dir = asBuffer(task.scan);
    let names: Buffer[];
    try {
      names = (await fsp.readdir(dir, { encoding: 'buffer' })) as Buffer[];
    } catch (err) {
      return { error: errorRecord(err), names: new Uint8Array(0), nameEnds: new Uint32Array(0), stats: new Float64Array(0), errors: [] };
    }
    names.sort(Buffer.compare);
    const stats = new Float64Array(names.length * STAT_FIELDS);
    const nameEnds = new Uint32Array(names.length);
    const errors: [number, ErrorRecord][] = [];
    let end = 0;
    names.forEach((n, i) => {
      end += n.length;
      nameEnds[i] = end;
    });
    const settled = await Promise.allSettled(names.map((n) => this.#ring.statx(joinBytes(dir, n), { noFollow: !task.follow })));
    settled.forEach((r, i) => {
      if (r.status === 'rejected') {
        errors.push([i, errorRecord(r.reason)]);
        return;
      }
      packStat(stats, i, r.value);
    });
    return { names: Buffer.concat(names), nameEnds, stats, errors };
  }

  /** makeDirectories() without blocking: the ring's mkdirat, several at once. */
  async #mkdir(task: MkdirTask): Promise<MkdirResult> {
    const all = asBuffer(task.mkdir);
    const result: MkdirResult = { status: new Uint8Array(task.ends.length), errors: [] };
    await Promise.all(Array.from(task.ends, async (end, i) => {
      const path = all.subarray(i === 0 ? 0 : task.ends[i - 1], end);
      try {
        await this.#ring.mkdirat(path, task.modes[i]);
        result.status[i] = DirOutcome.Created;
      } catch (err) {
        if ((err as { code?: string }).code === 'EEXIST' && (await fsp.stat(path).then((s) => s.isDirectory(), () => false))) {
          result.status[i] = DirOutcome.Existing;
        } else {
          result.status[i] = DirOutcome.Failed;
          result.errors.push([i, errorRecord(err)]);
        }
      }
    }));
    return result;
  }

  async destroy(): Promise<void> {
    this.#copier.close();
    await this.#ring.closeRing();
  }
}
