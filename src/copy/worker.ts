// A copy worker: a piscina worker thread that owns one Ring (its own io_uring,
// or the node:fs fallback, chosen on this thread like anywhere else) and its
// own arena, and copies the items of each task it is given. Several tasks run
// at once on one worker (piscina's concurrentTasksPerWorker), sharing its ring:
// their ops go to the kernel together, in one submit per turn of the loop.
import Piscina from 'piscina';
import { Ring } from '../ring/ring';
import { FileCopier } from './file-copy';
import { RingFileIo, SyncFileIo } from './file-io';
import { scanDirectory, ScanResult, ScanTask } from './scan';
import { Control, CopyTask, CopyWorkerData, TaskResult } from './protocol';
import { SmallFiles } from './small-files';
import { runCopyTask } from './task-run';

let copier: { files: FileCopier; small: SmallFiles | null } | null = null;

function copierOfThisThread(): { files: FileCopier; small: SmallFiles | null } {
  if (copier === null) {
    const settings = Piscina.workerData as CopyWorkerData;
    const ring = new Ring({ entries: 256 });
    const io = settings.smallFileIo === 'ring' ? new RingFileIo(ring) : new SyncFileIo(ring);
    const control = new Control(settings.control);
    copier = { files: new FileCopier(ring, io, settings, control), small: SmallFiles.for(settings, control) };
  }
  return copier;
}

/**
 * A scan task lists a directory (scan.ts). A copy task's items are copied one
 * after another: they share a directory, and one create at a time keeps its
 * lock uncontended.
 */
export default async function copyTask(task: CopyTask | ScanTask): Promise<TaskResult | ScanResult> {
  if ('scan' in task) return scanDirectory(task);
  const c = copierOfThisThread();
  return runCopyTask(c.files, c.small, task, yieldNowAndThen);
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
