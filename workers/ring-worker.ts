// A ring worker: owns one native io_uring on its own thread and serves the
// submission queue the dispatcher fills. It never sees promises or buffers as
// objects: descriptors name memory by (chunk, offset, length) in the
// dispatcher's arena, whose chunks (SharedArrayBuffers) it receives once each.
import { parentPort, workerData } from 'node:worker_threads';
import type { NativeRing } from '../src/native';
import { ringClassFor } from '../src/backend/select';
import { SharedQueue, USER_WORD } from '../src/runtime/shared-queue';
import { SpinPolicy } from '../src/runtime/spin';
import {
  CQ_OVERFLOW_WORD, CQ_RECORD_WORDS, IOVS_INLINE, RingWorkerData, SQ_FLAGS_WORD, SQ_RECORD_WORDS, ToWorker,
} from '../src/runtime/protocol';
import {
  COMPLETION_WORDS, DESC_WORDS, D_CHUNK, D_CHUNK2, D_ID, D_GEN, D_LEN2, D_OP, D_SQE_FLAGS, IOV_WORDS, Op, SQE_HARDLINK, SQE_LINK,
} from '../src/ring/descriptor';

const data = workerData as RingWorkerData;
const port = parentPort!;
const sq = new SharedQueue(SQ_RECORD_WORDS, data.sqCapacity, data.sq);
const cq = new SharedQueue(CQ_RECORD_WORDS, data.cqCapacity, data.cq);

// Over SharedArrayBuffers (private to this thread all the same), so that the
// native ring takes their addresses once instead of on every call.
const desc = new Int32Array(new SharedArrayBuffer(data.entries * DESC_WORDS * 4));
const comps = new Int32Array(new SharedArrayBuffer(data.entries * 2 * COMPLETION_WORDS * 4));
const IOV_CAPACITY_WORDS = 4096 * IOV_WORDS;
const iovs = new Int32Array(new SharedArrayBuffer(IOV_CAPACITY_WORDS * 4));
let knownChunks = 0;
let closing = false;
let ring: NativeRing;

try {
  const RingClass = ringClassFor(data.backend);
  ring = new RingClass(data.entries, data.setupFlags, data.sqThreadIdleMs, desc, comps, iovs, onComplete);
  const info = ring.info();
  port.postMessage({ type: 'ready', flags: info.flags, sqEntries: info.sqEntries, cqEntries: info.cqEntries, fixedBufferSlots: info.fixedBufferSlots });
} catch (err) {
  const e = err as { code?: string; message: string };
  port.postMessage({ type: 'failed', code: e.code ?? 'ERR_NATIVE_UNAVAILABLE', message: e.message });
  process.exit(1);
}

// Completions go straight back to the dispatcher. The completion queue is
// sized for every op the dispatcher may have in flight, so it cannot fill.
const backlog: number[] = [];
function onComplete(n: number): void {
  let tail = cq.tail;
  for (let i = 0; i < n; i++) {
    const b = i * COMPLETION_WORDS;
    if (cq.freeSlots(tail) === 0) {
      backlog.push(comps[b], comps[b + 1], comps[b + 2], comps[b + 3]);
      continue;
    }
    const at = cq.offsetOf(tail);
    const out = cq.data;
    out[at] = comps[b];
    out[at + 1] = comps[b + 1];
    out[at + 2] = comps[b + 2];
    out[at + 3] = comps[b + 3];
    tail++;
  }
  if (data.kernelCounters) publishKernelCounters();
  cq.publish(tail);
  if (backlog.length > 0) setTimeout(flushBacklog, 1);
}

/** Copies the kernel's CQ overflow counter and SQ flags where the dispatcher's metrics read them. */
function publishKernelCounters(): void {
  const info = ring.info();
  Atomics.store(cq.header, CQ_OVERFLOW_WORD, (info.cqOverflow ?? 0) | 0);
  Atomics.store(cq.header, SQ_FLAGS_WORD, info.sqFlags ?? 0);
}

function flushBacklog(): void {
  let tail = cq.tail;
  while (backlog.length > 0 && cq.freeSlots(tail) > 0) {
    cq.data.set(backlog.splice(0, CQ_RECORD_WORDS), cq.offsetOf(tail));
    tail++;
  }
  cq.publish(tail);
  if (backlog.length > 0) setTimeout(flushBacklog, 1);
}

/** Reports a descriptor the native layer refused as a failed completion (EINVAL). */
function reject(record: Int32Array): void {
  comps[0] = record[D_ID];
  comps[1] = record[D_GEN];
  comps[2] = -22;
  comps[3] = 0;
  onComplete(1);
}

/** Ops whose words 12..14 name a second buffer (chunk, offset, length). */
const USES_CHUNK2 = new Set<number>([Op.STATX, Op.ACCEPT, Op.RENAMEAT, Op.LINKAT, Op.SYMLINKAT]);
/** The same as a table by opcode: looked up once per descriptor. */
const usesChunk2 = new Uint8Array(256);
for (const op of USES_CHUNK2) usesChunk2[op] = 1;

/** Chunks a descriptor points into (to wait for chunks announced but not yet received). */
function maxChunk(d: Int32Array, base: number, iovBase: number, iovCount: number): number {
  let max = d[base + D_CHUNK];
  if (usesChunk2[d[base + D_OP] & 255] === 1) max = Math.max(max, d[base + D_CHUNK2]);
  for (let i = 0; i < iovCount; i++) max = Math.max(max, iovs[iovBase + i * IOV_WORDS]);
  return max;
}

/**
 * Ops per native submit, where a chain allows: completions go back to the
 * dispatcher after each submit, so it can work on the first ones while this
 * thread submits the rest, instead of the two threads taking turns.
 */
const SUBMIT_CHUNK = 16;

/**
 * Moves everything in the submission queue into the ring: one native submit
 * per SUBMIT_CHUNK ops (at a chain boundary) or ring-full. A linked chain (a batch's IOSQE_IO_LINK ops) is never cut
 * between two submits: where a ring-full or a wait would fall inside one, the
 * chain is left in the queue and read again from its first op. Returns false
 * when it stopped at a chunk still in transit.
 */
let lastBatch = 0; // ops the last drain() submitted

function drain(): boolean {
  lastBatch = 0;
  let head = sq.head;
  let n = 0;
  let iovWords = 0;
  let blocked = false;
  // Where the chain being read began (queue position, descriptor count, iovec words).
  let chainHead = head, chainN = 0, chainIov = 0;
  const backToChainStart = (): void => {
    head = chainHead;
    n = chainN;
    iovWords = chainIov;
  };
  // Records published and not yet read: the tail is loaded again only once these are used up.
  let ready = sq.available(head);
  while (ready > 0 || (ready = sq.available(head)) > 0) {
    const at = sq.offsetOf(head);
    const base = n * DESC_WORDS;
    const queued = sq.data;
    for (let w = 0; w < SQ_RECORD_WORDS; w++) desc[base + w] = queued[at + w];
    let records = 1;
    let iovCount = 0;
    if (desc[base + D_CHUNK2] === IOVS_INLINE && (desc[base + D_OP] === Op.READV || desc[base + D_OP] === Op.WRITEV)) {
      iovCount = desc[base + D_LEN2];
      const words = iovCount * IOV_WORDS;
      if (iovWords + words > IOV_CAPACITY_WORDS) {
        backToChainStart(); // next round
        break;
      }
      for (let w = 0; w < words; w++) {
        const c = head + 1 + Math.floor(w / SQ_RECORD_WORDS);
        iovs[iovWords + w] = sq.data[sq.offsetOf(c) + (w % SQ_RECORD_WORDS)];
      }
      desc[base + D_CHUNK2] = iovWords / IOV_WORDS;
      records += Math.ceil(words / SQ_RECORD_WORDS);
    }
    // A chunk announced by the dispatcher but whose message has not arrived yet: wait for it.
    const needed = maxChunk(desc, base, iovWords, iovCount);
    if (needed >= knownChunks && needed < Atomics.load(sq.header, USER_WORD)) {
      backToChainStart();
      blocked = true;
      break;
    }
    iovWords += iovCount * IOV_WORDS;
    head += records;
    ready -= records;
    n++;
    const linksOn = (desc[base + D_SQE_FLAGS] & (SQE_LINK | SQE_HARDLINK)) !== 0;
    if (!linksOn) {
      chainHead = head;
      chainN = n;
      chainIov = iovWords;
    }
    if (n >= SUBMIT_CHUNK && !linksOn && n < data.entries) {
      // A chunk's worth, at a chain boundary: submit it, and its completions go back now.
      sq.release(head);
      submit(n);
      n = 0;
      iovWords = 0;
      chainHead = head;
      chainN = 0;
      chainIov = 0;
    } else if (n === data.entries) {
      // Ring-full inside a chain: submit up to the chain, read the chain again
      // next (a chain never exceeds the ring's entries). A chain as long as the
      // ring itself has nothing before it and goes as it is.
      if (linksOn && chainN > 0) backToChainStart();
      // Free the records first: completions go out during submit, and the
      // dispatcher must see the room they took as soon as it reacts to them.
      sq.release(head);
      submit(n);
      n = 0;
      iovWords = 0;
      chainHead = head;
      chainN = 0;
      chainIov = 0;
    }
  }
  sq.release(head);
  if (n > 0) submit(n);
  return !blocked;
}

function submit(n: number): void {
  lastBatch += n;
  try {
    // Cached reads usually complete during the submit: send them back now
    // rather than on the next turn of this thread's loop (one native call
    // for both where the ring has it).
    const done = ring.submitAndReap !== undefined ? ring.submitAndReap(n) : (ring.submit(n), ring.reap!());
    if (done > 0) onComplete(done);
  } catch (err) {
    // The native layer refused one descriptor: fail it, submit the others one by one.
    for (let i = 0; i < n; i++) {
      const record = desc.slice(i * DESC_WORDS, (i + 1) * DESC_WORDS);
      desc.set(record, 0);
      try {
        ring.submit(1);
      } catch {
        reject(record);
      }
    }
  }
}

let chunkArrived: (() => void) | null = null;

// After serving a batch, watch the queue for a short while before sleeping:
// a dispatcher running one op at a time submits its next op within tens of
// microseconds, and catching it here saves a cross-thread wake (which costs
// about as much). How long is the runtime's `spinMicros` (the longest watch)
// and `adaptiveSpin` (watch only about as long as work has recently taken to
// come): see src/runtime/spin.ts. Bounded, so the event loop (and the ring's
// eventfd) waits at most that long.
const spin = new SpinPolicy(data.spinMicros, data.adaptiveSpin);

function spinForWork(budgetMs: number, from: number): boolean {
  const head = sq.head;
  const until = from + budgetMs;
  do {
    if (sq.available(head) > 0) return true;
  } while (performance.now() < until);
  return false;
}

async function serve(): Promise<void> {
  let servedAt = -1; // when the last batch with work was served (-1: none yet)
  let arrivedAt = 0; // when the worker last stopped waiting
  let watched = false; // whether it watched for that work (or slept, and the gap includes its wake-up)
  while (!closing) {
    if (!drain()) {
      await new Promise<void>((resolve) => (chunkArrived = resolve));
      continue;
    }
    if (lastBatch === 0) {
      // Woken with nothing to do (a publish it had already drained): wait again.
      await sq.waitForData(sq.head);
      arrivedAt = performance.now();
      continue;
    }
    if (servedAt >= 0) spin.observe(arrivedAt - servedAt, watched);
    servedAt = performance.now();
    const budget = spin.budgetMs();
    watched = budget > 0;
    if (watched && spinForWork(budget, servedAt)) {
      arrivedAt = performance.now();
      continue;
    }
    await sq.waitForData(sq.head);
    arrivedAt = performance.now();
  }
}

let reportedUnregistered = false;
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'chunk') {
    if (!ring.addChunk(msg.index, msg.view, msg.slotSize)) {
      const errno = ring.info().fixedBufferError ?? 0;
      if (errno > 0 && !reportedUnregistered) {
        reportedUnregistered = true;
        port.postMessage({ type: 'unregistered', errno });
      }
    }
    knownChunks = Math.max(knownChunks, msg.index + 1);
    const wake = chunkArrived;
    chunkArrived = null;
    wake?.();
  } else if (msg.type === 'wake') {
    // The dispatcher saw records stay untaken at two of its looks, 50 ms
    // apart. Looked at after this turn's poll phase (a thread that was not
    // scheduled for a while may find this message and the notify's wake-up
    // ready together, this one first): if this thread still waits on them
    // although the dispatcher's notify has returned, that wake-up was lost.
    const overdue = sq.overdueWait();
    if (overdue === 0) return;
    setImmediate(() => {
      if (sq.overdueWait() !== overdue) return;
      const lost = sq.notifiedDuringWait();
      if (sq.rescue(overdue) && lost) port.postMessage({ type: 'rescued' });
    });
  } else if (msg.type === 'close') {
    closing = true;
    ring.destroy(); // the dispatcher closes only once nothing is in flight
    port.close();
  }
});

void serve();
