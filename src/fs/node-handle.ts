// What safer-ring's FileHandle borrows from Node's own FileHandle class.
//
// Node's streams and workers recognise a FileHandle by `instanceof` its own
// internal class: fs.createReadStream/createWriteStream({ fd: handle }) use
// the handle's read/write/close (and its reference count, through two
// symbols), and postMessage transfers a handle only if it is one of Node's
// transferable objects. Node does not export the class, so it is taken from a
// FileHandle Node opens once, on the first open() of the process (or worker);
// the symbols are found on its prototype by their descriptions. See
// file-handle.ts for how they are used.
import { promises as nodeFsp } from 'node:fs';

export interface NodeHandleInternals {
  /** Node's FileHandle class (its constructor accepts no native handle: `new NodeFileHandle()`). */
  FileHandle: new () => object;
  /** kRef / kUnref: the reference count Node's streams hold on a handle while they use it. */
  kRef: symbol;
  kUnref: symbol;
  /** The transfer protocol of Node's transferable objects (worker_threads). */
  kTransfer: symbol;
  kTransferList: symbol;
  kDeserialize: symbol;
}

let internals: NodeHandleInternals | undefined;
let pending: Promise<NodeHandleInternals> | undefined;

function symbolNamed(proto: object, description: string): symbol {
  const found = Object.getOwnPropertySymbols(proto).find((s) => s.description === description);
  if (found === undefined) throw new Error(`internal: Node's FileHandle has no ${description} symbol in this version`);
  return found;
}

async function discover(): Promise<NodeHandleInternals> {
  const handle = await nodeFsp.open(__filename, 'r');
  try {
    const FileHandle = handle.constructor as new () => object;
    const proto = FileHandle.prototype;
    return (internals = {
      FileHandle,
      kRef: symbolNamed(proto, 'kRef'),
      kUnref: symbolNamed(proto, 'kUnref'),
      kTransfer: symbolNamed(proto, 'messaging_transfer_symbol'),
      kTransferList: symbolNamed(proto, 'messaging_transfer_list_symbol'),
      kDeserialize: symbolNamed(proto, 'messaging_deserialize_symbol'),
    });
  } finally {
    await handle.close();
  }
}

/** Node's FileHandle internals, found once per thread. */
export function nodeHandleInternals(): NodeHandleInternals | Promise<NodeHandleInternals> {
  return internals ?? (pending ??= discover());
}

/** Only after nodeHandleInternals() has resolved. */
export function knownInternals(): NodeHandleInternals | undefined {
  return internals;
}

/** True for a FileHandle made by node:fs/promises itself (not by safer-ring). */
export function isNodeFileHandle(value: unknown): boolean {
  return internals !== undefined && value instanceof internals.FileHandle;
}
