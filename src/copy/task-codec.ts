// Packing tasks and their results for the trip between the job and a worker
// (the formats are described in protocol.ts).
import { asBuffer, joinBytes } from './paths';
import {
  CopyTask, ErrorRecord, ITEM_FIELDS, ItemField, ItemKind, ItemOutcome, Status, TaskItem, TaskResult,
} from './protocol';

/** What the job knows of an entry when it packs it. */
export interface ItemSource {
  id: number;
  kind: ItemKind;
  name: Buffer;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  rdev: number;
  sparse: boolean;
  target?: Buffer;
}

export function encodeTask(srcDir: Buffer, dstDir: Buffer, items: ItemSource[], dstName?: Buffer): CopyTask {
  const nameEnds = new Uint32Array(items.length);
  const fields = new Float64Array(items.length * ITEM_FIELDS);
  let end = 0;
  let targets: [number, Uint8Array][] | undefined;
  items.forEach((it, i) => {
    end += it.name.length;
    nameEnds[i] = end;
    const at = i * ITEM_FIELDS;
    fields[at + ItemField.Id] = it.id;
    fields[at + ItemField.Kind] = it.kind;
    fields[at + ItemField.Size] = it.size;
    fields[at + ItemField.Mode] = it.mode;
    fields[at + ItemField.Uid] = it.uid;
    fields[at + ItemField.Gid] = it.gid;
    fields[at + ItemField.AtimeMs] = it.atimeMs;
    fields[at + ItemField.MtimeMs] = it.mtimeMs;
    fields[at + ItemField.Rdev] = it.rdev;
    fields[at + ItemField.Sparse] = it.sparse ? 1 : 0;
    if (it.target !== undefined) (targets ??= []).push([i, it.target]);
  });
  const names = items.length === 1 ? items[0].name : Buffer.concat(items.map((it) => it.name), end);
  const task: CopyTask = { srcDir, dstDir, names, nameEnds, fields };
  if (dstName !== undefined) task.dstName = dstName;
  if (targets !== undefined) task.targets = targets;
  return task;
}

export function decodeTask(task: CopyTask): TaskItem[] {
  const srcDir = asBuffer(task.srcDir);
  const dstDir = asBuffer(task.dstDir);
  const names = asBuffer(task.names);
  const targets = new Map(task.targets ?? []);
  const items: TaskItem[] = new Array(task.nameEnds.length);
  let start = 0;
  for (let i = 0; i < items.length; i++) {
    const name = names.subarray(start, task.nameEnds[i]);
    start = task.nameEnds[i];
    const at = i * ITEM_FIELDS;
    const f = task.fields;
    const target = targets.get(i);
    items[i] = {
      id: f[at + ItemField.Id],
      kind: f[at + ItemField.Kind] as ItemKind,
      src: joinBytes(srcDir, name),
      dst: joinBytes(dstDir, task.dstName === undefined ? name : asBuffer(task.dstName)),
      dstDir,
      size: f[at + ItemField.Size],
      mode: f[at + ItemField.Mode],
      uid: f[at + ItemField.Uid],
      gid: f[at + ItemField.Gid],
      atimeMs: f[at + ItemField.AtimeMs],
      mtimeMs: f[at + ItemField.MtimeMs],
      rdev: f[at + ItemField.Rdev],
      sparse: f[at + ItemField.Sparse] === 1,
      target: target === undefined ? undefined : asBuffer(target),
    };
  }
  return items;
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

/** The outcomes of a packed result, given the ids of the task's items in order. */
export function unpackResult(result: TaskResult, ids: number[]): ItemOutcome[] {
  const errors = new Map(result.errors);
  const warnings = new Map(result.warnings);
  return ids.map((id, i) => ({ id, status: result.status[i] as Status, bytes: result.bytes[i], error: errors.get(i), warnings: warnings.get(i) }));
}
