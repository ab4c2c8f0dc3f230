// Which backend serves Rings and Runtimes on this thread: io_uring through the
// addon, or the node:fs fallback. Decided once per thread, on first use.
//
//   SAFER_RING_BACKEND=io_uring   io_uring or an error saying why not
//   SAFER_RING_BACKEND=fallback   the node:fs fallback, no warning
//   unset                         io_uring when it works; otherwise the
//                                 fallback, with one warning saying why
import { binding, loadError, NativeRingConstructor } from '../native';
import { SaferRingError } from '../errors';
import { FallbackRing } from './fallback-ring';

export type BackendName = 'io_uring' | 'fallback';

export interface BackendChoice {
  name: BackendName;
  /** Why io_uring is not used (null when it is). */
  reason: string | null;
  ringClass: NativeRingConstructor;
}

let choice: BackendChoice | undefined;

function whyUnavailable(): string | null {
  if (binding === null) return `the native addon is not available (${loadError?.message ?? 'not built'})`;
  try {
    binding.probe();
    return null;
  } catch (err) {
    const code = (err as SaferRingError).code;
    if (code === 'EPERM') return 'io_uring_setup was refused with EPERM (a seccomp filter, as in default container profiles, or kernel.io_uring_disabled)';
    if (code === 'ENOSYS') return 'this kernel has no io_uring (ENOSYS)';
    return `io_uring_setup failed: ${(err as Error).message}`;
  }
}

/** The backend for this thread. Throws only when io_uring is forced and unavailable. */
export function backend(): BackendChoice {
  if (choice !== undefined) return choice;
  const forced = process.env.SAFER_RING_BACKEND ?? '';
  if (forced !== '' && forced !== 'io_uring' && forced !== 'fallback') {
    throw SaferRingError.for('ERR_INVALID_ARG_VALUE', `SAFER_RING_BACKEND must be 'io_uring' or 'fallback'. Received '${forced}'`);
  }
  if (forced === 'fallback') return (choice = { name: 'fallback', reason: 'SAFER_RING_BACKEND=fallback', ringClass: FallbackRing });
  const why = whyUnavailable();
  if (why === null) return (choice = { name: 'io_uring', reason: null, ringClass: binding!.NativeRing });
  if (forced === 'io_uring') {
    throw new SaferRingError('ERR_IO_URING_UNAVAILABLE', `SAFER_RING_BACKEND=io_uring, but io_uring cannot be used: ${why}`);
  }
  process.emitWarning(`io_uring is unavailable: ${why}. safer-ring is using its node:fs fallback backend.`, {
    code: 'SAFER_RING_FALLBACK',
  });
  return (choice = { name: 'fallback', reason: why, ringClass: FallbackRing });
}

/** The ring class for a backend already chosen elsewhere (a worker follows its dispatcher). */
export function ringClassFor(name: BackendName): NativeRingConstructor {
  if (name === 'fallback') return FallbackRing;
  if (binding === null) throw new SaferRingError('ERR_NATIVE_UNAVAILABLE', `the safer-ring native addon is not available: ${loadError?.message}`);
  return binding.NativeRing;
}
