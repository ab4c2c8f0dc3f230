// The job's own thread as one more copier beside the workers, for a caller
// that owns its thread outright (the CLI). There the thread mostly waits:
// once it has dispatched, it only counts results. So it takes a task itself
// whenever it has none, with the same blocking code a worker runs
// (LocalRunner), and the workers take the rest.
//
// It also covers the workers' start: a worker boots a whole Node environment
// (tens of milliseconds on a small machine) before it runs anything, and
// meanwhile this thread lists the first directories and copies the first
// files instead of waiting.
import type { CopyTask, MkdirResult, MkdirTask, TaskResult } from './protocol';
import { SMALL_FILE_MAX } from './protocol';
import type { ScanResult, ScanTask } from './scan';
import type { LocalRunner, TaskRunner } from './local';

type AnyTask = CopyTask | ScanTask | MkdirTask;
type AnyResult = TaskResult | ScanResult | MkdirResult;
interface Waiting { task: AnyTask; resolve: (r: AnyResult) => void; reject: (e: unknown) => void }

export class SharedRunner implements TaskRunner {
  readonly #local: LocalRunner;
  readonly #pool: TaskRunner;
  readonly #poolSlots: number;
  /** Tasks not started yet: a few per worker slot (the job keeps no more in flight). */
  readonly #queue: Waiting[] = [];
  #localBusy = false;
  #poolBusy = 0;

  /** `poolSlots`: tasks the workers run at once (workers × tasks per worker). */
  constructor(local: LocalRunner, pool: TaskRunner, poolSlots: number) {
    this.#local = local;
    this.#pool = pool;
    this.#poolSlots = Math.max(1, poolSlots);
  }

  run(task: AnyTask): Promise<AnyResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ task, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    // This thread first: the first waiting task it can take (a large file
    // waiting for a worker does not keep it idle).
    if (!this.#localBusy) {
      const i = this.#queue.findIndex((w) => suitsThisThread(w.task));
      if (i >= 0) this.#runHere(this.#queue.splice(i, 1)[0]);
    }
    while (this.#queue.length > 0 && this.#poolBusy < this.#poolSlots) {
      const next = this.#queue.shift()!;
      this.#poolBusy++;
      this.#pool.run(next.task).then(next.resolve, next.reject).finally(() => {
        this.#poolBusy--;
        this.#pump();
      });
    }
  }

  /**
   * One task at a time here, each after a turn of the event loop, so the
   * workers' results, progress and an abort are seen between tasks (a task
   * holds the thread for a millisecond or two: up to 64 small files).
   */
  #runHere(w: Waiting): void {
    this.#localBusy = true;
    setImmediate(() => {
      this.#local.run(w.task).then(w.resolve, w.reject).finally(() => {
        this.#localBusy = false;
        this.#pump();
      });
    });
  }

  async destroy(): Promise<void> {
    await Promise.all([this.#local.destroy(), this.#pool.destroy()]);
  }
}

/** Listing, mkdir and small files: large files stay on the workers, whose ring lanes and copy_file_range calls can run long. */
function suitsThisThread(task: AnyTask): boolean {
  if (!('sizes' in task)) return true;
  for (let i = 0; i < task.sizes.length; i++) if (task.sizes[i] > SMALL_FILE_MAX) return false;
  return true;
}
