// One warning per process when the kernel refuses to register arena memory as
// fixed buffers (typically ENOMEM: RLIMIT_MEMLOCK is too small to pin it).
// Nothing else changes: operations on unregistered chunks use plain
// READ/WRITE, which is slower but just as safe, so this is worth saying once,
// not failing for.
import { getSystemErrorMap } from 'node:util';

let warned = false;

/** Warns (once) that arena memory is used unregistered; `errno` is the kernel's positive errno. */
export function warnUnregisteredBuffers(errno: number): void {
  if (warned || !(errno > 0)) return;
  warned = true;
  const code = getSystemErrorMap().get(-errno)?.[0] ?? `E${errno}`;
  const why = code === 'ENOMEM' ? ' (RLIMIT_MEMLOCK is too small to pin it: raise `ulimit -l`)' : '';
  process.emitWarning(
    `io_uring refused to register arena memory as fixed buffers with ${code}${why}; ` +
      'operations on that memory use plain reads and writes, which are slower but as safe.',
    { code: 'SAFER_RING_UNREGISTERED_BUFFERS' },
  );
}
