// Creating a job's destination directories, on a copy worker: plain mkdir(2)
// calls, many directories to a task (one level of the tree at a time, so each
// finds its parent there). Cheaper than a ring op per directory from the job's
// thread (an io_uring mkdirat goes to an io-wq kernel thread on ext4), and it
// keeps the job's thread free of both.
//
// A directory is created writable by us (mode | 0o700) so the copy can fill
// it; the job sets its own mode once everything inside is done.
import fs from 'node:fs';
import { asBuffer } from './paths';
import { DirOutcome, errorRecord, MkdirResult, MkdirTask } from './protocol';

/** Packs directories (full paths) and the modes to create them with. */
export function mkdirTask(paths: Buffer[], modes: number[]): MkdirTask {
  const ends = new Uint32Array(paths.length);
  let end = 0;
  paths.forEach((p, i) => {
    end += p.length;
    ends[i] = end;
  });
  return { mkdir: Buffer.concat(paths, end), ends, modes: Uint32Array.from(modes) };
}

/** The directories of a task, one after another; an existing directory (or a link to one) is merged into. */
export function makeDirectories(task: MkdirTask): MkdirResult {
  const all = asBuffer(task.mkdir);
  const result: MkdirResult = { status: new Uint8Array(task.ends.length), errors: [] };
  let start = 0;
  for (let i = 0; i < task.ends.length; i++) {
    const path = all.subarray(start, task.ends[i]);
    start = task.ends[i];
    try {
      fs.mkdirSync(path, task.modes[i]);
      result.status[i] = DirOutcome.Created;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(path, { throwIfNoEntry: false })?.isDirectory() === true) {
        result.status[i] = DirOutcome.Existing;
      } else {
        result.status[i] = DirOutcome.Failed;
        result.errors.push([i, errorRecord(err)]);
      }
    }
  }
  return result;
}
