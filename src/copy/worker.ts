// A copy worker: a piscina worker thread that lists directories, creates
// them, and copies the items of the tasks it is given.
//
// What a task of small files needs is loaded at start (scan, mkdir, the
// addon's small-file loop): a worker is started for every job, and each
// module it loads is compiled again in its own isolate. Everything else (the
// worker's own Ring, its io_uring or the node:fs fallback, chosen on this
// thread like anywhere else; its arena; FileCopier with the paths for large
// files, symlinks, special files, preserve and verify) is made the first
// time an item needs it. Several tasks run at once on one worker (piscina's
// concurrentTasksPerWorker), sharing that ring: their ops go to the kernel
// together, in one submit per turn of the loop.
import Piscina from 'piscina';
import type { FileCopier } from './file-copy';
import { makeDirectories } from './dirs';
import { scanDirectory, ScanResult, ScanTask } from './scan';
import { Control, CopyTask, CopyWorkerData, MkdirResult, MkdirTask, TaskResult } from './protocol';
import { SmallFiles } from './small-files';
import { runCopyTask } from './task-run';

const settings = Piscina.workerData as CopyWorkerData;
const control = new Control(settings.control);
const small = SmallFiles.for(settings, control);
let copier: FileCopier | null = null;

function copierOfThisThread(): FileCopier {
  if (copier === null) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { Ring } = require('../ring/ring') as typeof import('../ring/ring');
    const { FileCopier } = require('./file-copy') as typeof import('./file-copy');
    const { RingFileIo, SyncFileIo } = require('./file-io') as typeof import('./file-io');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const ring = new Ring({ entries: 256 });
    const io = settings.smallFileIo === 'ring' ? new RingFileIo(ring) : new SyncFileIo(ring);
    copier = new FileCopier(ring, io, settings, control);
  }
  return copier;
}

/**
 * A scan task lists a directory (scan.ts); a mkdir task creates directories
 * (dirs.ts). A copy task's items are copied one after another: they share a
 * directory, and one create at a time keeps its lock uncontended.
 */
export default async function copyTask(task: CopyTask | ScanTask | MkdirTask): Promise<TaskResult | ScanResult | MkdirResult> {
  if ('scan' in task) return scanDirectory(task);
  if ('mkdir' in task) return makeDirectories(task);
  return runCopyTask(copierOfThisThread, small, control, task, yieldNowAndThen);
}

/**
 * Small files are copied with synchronous calls, which hold this thread: a
 * large file copying on the same worker gets its ring completions only when
 * the thread returns to its event loop. So a task steps back to the loop
 * every YIELD_MS of work; a large file's lanes then refill several times a
 * millisecond while small files keep going.
 */
const YIELD_MS = 0.5;
let lastYield = performance.now();

async function yieldNowAndThen(): Promise<void> {
  const now = performance.now();
  if (now - lastYield < YIELD_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastYield = performance.now();
}
