// One copy task, item after item, on a worker (or, with workers: 0, on the
// job's own thread): runs of small regular files through the addon's loop
// (small-files.ts) where the job's settings allow, every other item (and any
// file the loop could not copy) through FileCopier.
import type { FileCopier } from './file-copy';
import { Control, CopyTask, Status, TaskResult } from './protocol';
import { DirPair, SmallFiles } from './small-files';
import { itemAt, itemCount, ResultPacker } from './task-codec';

/**
 * `copier` is called for the first item the addon's loop does not take (it
 * may load and make a good deal: see worker.ts). `pause` is awaited after
 * each item or batch: a worker steps back to its event loop there now and
 * then, so a large file's ring completions keep flowing beside small files.
 */
export async function runCopyTask(copier: () => FileCopier, small: SmallFiles | null, control: Control, task: CopyTask, pause: () => Promise<void>): Promise<TaskResult> {
  const n = itemCount(task);
  const results = new ResultPacker(n);
  const { status, bytes } = results.result;
  const dirs = new DirPair(task.srcDir, task.dstDir);
  let batch = small;
  try {
    let i = 0;
    while (i < n) {
      if (control.stopped) {
        for (; i < n; i++) status[i] = Status.Aborted;
        break;
      }
      const end = batch === null ? i : batch.runEnd(task, i);
      if (end > i) {
        let ran: { next: number; failed: boolean };
        try {
          ran = batch!.run(task, dirs, i, end, status, bytes);
        } catch {
          batch = null; // a directory that cannot be opened: FileCopier reports it, file by file
          continue;
        }
        i = ran.next;
        if (ran.failed) {
          // FileCopier copies that file again: it fails with node:fs's error,
          // or succeeds where the loop cannot (no O_TMPFILE here, a file to replace).
          i--;
          batch = null;
        } else {
          await pause();
          continue;
        }
      }
      const item = itemAt(task, i);
      const files = copier();
      const o = files.copyNow(item) ?? (await files.copy(item));
      results.set(i, o.status, o.bytes, o.error, o.warnings);
      i++;
      await pause();
    }
  } finally {
    dirs.close();
  }
  return results.result;
}
