// Packing tasks and their results for the trip between the job and a worker
// (the formats are described in protocol.ts).
import { asBuffer, joinBytes } from './paths';
import { CopyTask, ErrorRecord, ItemKind, META_FIELDS, MetaField, SPARSE, Status, TaskItem, TaskResult } from './protocol';

/** Fills a task's arrays, item after item, without an object per item. */
export class TaskWriter {
  readonly task: CopyTask;
  #count = 0;
  #nameEnd = 0;

  /** `count` items whose names take `nameBytes` bytes in all. */
  constructor(srcDir: Buffer, dstDir: Buffer, count: number, nameBytes: number, dstName?: Buffer) {
    this.task = {
      srcDir, dstDir,
      names: new Uint8Array(nameBytes), nameEnds: new Uint32Array(count),
      kinds: new Uint8Array(count), sizes: new Float64Array(count), modes: new Uint32Array(count),
      meta: new Float64Array(count * META_FIELDS),
    };
    if (dstName !== undefined) this.task.dstName = dstName;
  }

  add(name: Uint8Array, kind: ItemKind, sparse: boolean, size: number, mode: number, uid: number, gid: number, atimeMs: number, mtimeMs: number, rdev: number): number {
    const t = this.task;
    const i = this.#count++;
    t.names.set(name, this.#nameEnd);
    this.#nameEnd += name.length;
    t.nameEnds[i] = this.#nameEnd;
    t.kinds[i] = sparse ? kind | SPARSE : kind;
    t.sizes[i] = size;
    t.modes[i] = mode;
    const at = i * META_FIELDS;
    t.meta[at + MetaField.Uid] = uid;
    t.meta[at + MetaField.Gid] = gid;
    t.meta[at + MetaField.AtimeMs] = atimeMs;
    t.meta[at + MetaField.MtimeMs] = mtimeMs;
    t.meta[at + MetaField.Rdev] = rdev;
    return i;
  }

  /** Item `i` is a hard link to the (already copied) file at `target`. */
  target(i: number, target: Uint8Array): void {
    (this.task.targets ??= []).push([i, target]);
  }
}

/** Number of items in a task. */
export function itemCount(task: CopyTask): number {
  return task.nameEnds.length;
}

/** The kind of item `i`, without its SPARSE flag. */
export function kindAt(task: CopyTask, i: number): ItemKind {
  return (task.kinds[i] & ~SPARSE) as ItemKind;
}

/** Item `i` as an object, for the copy paths that take one (everything but the addon's small-file loop). */
export function itemAt(task: CopyTask, i: number): TaskItem {
  const srcDir = asBuffer(task.srcDir);
  const dstDir = asBuffer(task.dstDir);
  const name = asBuffer(task.names).subarray(i === 0 ? 0 : task.nameEnds[i - 1], task.nameEnds[i]);
  const at = i * META_FIELDS;
  const m = task.meta;
  const target = task.targets?.find(([index]) => index === i)?.[1];
  return {
    kind: kindAt(task, i),
    src: joinBytes(srcDir, name),
    dst: joinBytes(dstDir, task.dstName === undefined ? name : asBuffer(task.dstName)),
    dstDir,
    size: task.sizes[i],
    mode: task.modes[i],
    uid: m[at + MetaField.Uid],
    gid: m[at + MetaField.Gid],
    atimeMs: m[at + MetaField.AtimeMs],
    mtimeMs: m[at + MetaField.MtimeMs],
    rdev: m[at + MetaField.Rdev],
    sparse: (task.kinds[i] & SPARSE) !== 0,
    target: target === undefined ? undefined : asBuffer(target),
  };
}

/** Collects a task's outcomes in the packed form. */
export class ResultPacker {
  readonly result: TaskResult;

  constructor(n: number) {
    this.result = { status: new Uint8Array(n), bytes: new Float64Array(n), errors: [], warnings: [] };
  }

  set(i: number, status: Status, bytes: number, error?: ErrorRecord, warnings?: string[]): void {
    this.result.status[i] = status;
    this.result.bytes[i] = bytes;
    if (error !== undefined) this.result.errors.push([i, error]);
    if (warnings !== undefined && warnings.length > 0) this.result.warnings.push([i, warnings]);
  }
}
