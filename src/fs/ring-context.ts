// The ring behind safer-ring/fs/promises on this thread, and what every call
// shares: whether io_uring serves it at all, the pool of direct-descriptor
// slots for linked open → read chains, and how errors from the ring get the
// caller's stack.
//
// One inline Ring per thread (the main thread and each worker thread get
// their own, on first use). Its completions come back on this thread's event
// loop; it is unreferenced while idle, so it never keeps a process alive, and
// referenced while an op is in flight, as a pending node:fs call is.
// docs/fs.md gives the measurements behind inline-over-Runtime.
import os from 'node:os';
import { kLoopDelivery, Ring, RingOptions } from '../ring/ring';
import type { FixedFile } from '../ring/registry';
import { SaferRingError } from '../errors';
import { binding } from '../native';

const RING_ENTRIES = 256;
/** Direct-descriptor slots for readFile/writeFile chains; beyond that many at once, calls use plain fds. */
const DIRECT_SLOTS = 256;

let decided: boolean | undefined;

/**
 * True when this thread's calls go through io_uring. With
 * SAFER_RING_BACKEND=fallback, or where io_uring cannot be used, the module is
 * node:fs/promises itself and this is false. Decided once, without a warning:
 * a drop-in for node:fs/promises must not print anything.
 */
export function ringBackend(): boolean {
  if (decided === undefined) {
    const forced = process.env.SAFER_RING_BACKEND;
    decided = forced !== 'fallback' && ioUringWorks();
  }
  return decided;
}

function ioUringWorks(): boolean {
  if (binding === null) return false;
  try {
    binding.probe();
    return true;
  } catch {
    return false;
  }
}

interface Context {
  ring: Ring;
  slots: FixedFile[];
}

let context: Context | null | undefined;

/**
 * Direct descriptors (an open into a table slot) need Linux 5.15; an older
 * kernel would refuse such an open with EINVAL, which cannot be told from an
 * open's own EINVAL. SAFER_RING_SIMULATE_KERNEL (features.md) applies here too.
 */
function kernelHasDirectDescriptors(): boolean {
  const m = /^(\d+)\.(\d+)/.exec(process.env.SAFER_RING_SIMULATE_KERNEL || os.release());
  return m !== null && (Number(m[1]) > 5 || (Number(m[1]) === 5 && Number(m[2]) >= 15));
}

function setup(): Context | null {
  try {
    // Completions from the event loop only, as node:fs/promises delivers
    // them: each step of a readFile takes a turn of the loop, so an abort
    // from a timer or setImmediate in between is seen (Node's own tests
    // check this), and I/O callbacks interleave as they would with Node.
    const ring = new Ring({ entries: RING_ENTRIES, [kLoopDelivery]: true } as RingOptions);
    let slots: FixedFile[] = [];
    try {
      if (kernelHasDirectDescriptors()) slots = ring.registerFileSlots(DIRECT_SLOTS);
    } catch {
      // No registered-file table: every call uses plain fds.
    }
    return { ring, slots: slots.reverse() };
  } catch {
    // The probe said yes but this ring cannot be set up (memlock, fd limits):
    // calls go to node:fs/promises rather than fail.
    return null;
  }
}

/** This thread's ring, or null if none can be set up (callers then use node:fs/promises). */
export function fsRing(): Ring | null {
  if (context === undefined) context = setup();
  return context === null ? null : context.ring;
}

/** A free direct-descriptor slot, or undefined when all are in use (the caller then opens a plain fd). */
export function takeSlot(): FixedFile | undefined {
  return context?.slots.pop();
}

/** Gives back a slot that holds no file (its open failed). */
export function returnSlot(slot: FixedFile): void {
  context?.slots.push(slot);
}

/**
 * Closes a direct descriptor and returns its slot to the pool once the kernel
 * has emptied it. Closing a direct descriptor cannot fail (the kernel drops
 * its reference; there is no fd whose close(2) could report an error), so
 * callers need not wait for it.
 */
export function closeSlot(ring: Ring, slot: FixedFile): Promise<void> {
  return ring.closeFd(slot).then(
    () => {
      context?.slots.push(slot);
    },
    () => {
      // The ring is closing: the table goes with it.
    },
  );
}

/**
 * Gives a system error (from the ring, or from one of Node's callback calls
 * this layer makes) the stack of the async calls that awaited it, as
 * node:fs/promises does for its own: the completion ran on a fresh stack, so
 * without this the user would see library frames only. Called in the catch
 * block of the async function that awaited the op; the frames above `below`
 * are left out. Other errors (an iterable that throws, an argument error made
 * where the call was) keep their own stack.
 */
export function withCallerStack<E>(err: E, below: Function): E {
  const e = err as { errno?: unknown; syscall?: unknown; code?: unknown } | null;
  const system = e instanceof Error && typeof e.errno === 'number' && typeof e.syscall === 'string';
  const aborted = err instanceof SaferRingError && e!.code === 'ABORT_ERR';
  if (system || aborted) Error.captureStackTrace(err as object, below);
  return err;
}
