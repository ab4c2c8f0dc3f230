// Loads the compiled addon once per thread. A missing or broken addon is not
// fatal here: `binding` is null and `loadError` says why in one line, so the
// backend selection can fall back to node:fs / node:net with one clear warning.
//
// node-gyp-build picks the file: build/Release (a build from source, which
// wins so development always runs its own native code), else the prebuilt
// binary in prebuilds/<platform>-<arch>/ that matches this machine.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SaferRingError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };

export interface NativeRingInfo {
  live: boolean;
  flags: number;
  sqEntries?: number;
  cqEntries?: number;
  features?: number;
  /** Completions the kernel dropped because the CQ was full (the ring's `cq.koverflow`). */
  cqOverflow?: number;
  /** The SQ ring's flags word (`sq.kflags`): NEED_WAKEUP 1, CQ_OVERFLOW 2, TASKRUN 4. */
  sqFlags?: number;
  fixedBufferSlots: number;
  /** errno of the last arena chunk the kernel refused to register as a fixed buffer (0 or absent: none). */
  fixedBufferError?: number;
  registeredFiles: number;
  /** SQEs prepared as READ_FIXED/WRITE_FIXED (registered arena buffers). */
  fixedBufferOps?: number;
  /** SQEs prepared with IOSQE_FIXED_FILE. */
  fixedFileOps?: number;
  /** Ops in flight submitted with SQE_WEAK (they do not keep the event loop alive). */
  weakInFlight?: number;
  /** Whether the ring holds the event loop open now (some op in flight is not weak). */
  holdsLoop?: boolean;
}

export interface NativeRing {
  /**
   * Arena chunk `index` (a view of a whole SharedArrayBuffer) becomes
   * addressable; `slotSize` (a power of two dividing its length) is the size
   * of its slots: every range a descriptor names must lie inside one slot.
   */
  addChunk(index: number, view: Uint8Array, slotSize: number): boolean;
  submit(count: number): number;
  /**
   * Optional: submit(count), then copy the completions already posted into
   * the completion array without a callback (as reap() does), in one call;
   * returns how many. What completes during the submit signals no wake-up.
   */
  submitAndReap?(count: number): number;
  destroy(): void;
  registerFiles(fds: Int32Array): number;
  updateFiles(offset: number, fds: Int32Array): number;
  unregisterFiles(): void;
  inFlight(): number;
  info(): NativeRingInfo;
  /** Buffer rings (absent on a worker-backed ring): see native/buffer-ring.cc. */
  registerBufferRing?(groupId: number, size: number, buffers: Int32Array | number): number;
  recycleBuffer?(groupId: number, bufferId: number): void;
  unregisterBufferRing?(groupId: number): void;
  /** Owned groups (registered with a count): copy a returned buffer out, or hand it over as a Buffer. */
  copyBuffer?(groupId: number, bufferId: number, into: Uint8Array): void;
  takeBuffer?(groupId: number, bufferId: number, length: number): Buffer;
  /** Copies already-posted completions into the completion array without a callback; returns the count. */
  reap?(): number;
  /** Read results (native/read-result.h): memory only the native layer refers to until taken. */
  allocResult?(length: number): number;
  /** The whole result (bytes past `length` zeroed); refused while a read into it is in flight. */
  takeResult?(id: number, length: number): Buffer;
  releaseResult?(id: number): void;
}

export interface NativeRingConstructor {
  new (
    entries: number,
    flags: number,
    sqThreadIdleMs: number,
    descriptors: Int32Array,
    completions: Int32Array,
    iovs: Int32Array,
    onComplete: (count: number) => void,
  ): NativeRing;
}

export interface NativeSockets {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, address: Uint8Array): void;
  listen(fd: number, backlog: number): void;
  getsockname(fd: number): Uint8Array;
  getpeername(fd: number): Uint8Array;
  /** 0, or a negative errno. `option`: native/sockets.cc's SocketOption numbers (src/net/wraps.ts mirrors them). */
  setSocketOption(fd: number, option: number, value: number): number;
  /** [domain, type, listening], or a negative errno (ENOTSOCK, EBADF). */
  socketInfo(fd: number): [number, number, boolean] | number;
  /** shutdown(2): 0, or a negative errno. */
  shutdown(fd: number, how: number): number;
  /** One non-blocking send(2) of bytes[offset..] now: the count taken, or a negative errno (-EAGAIN: full). */
  trySend(fd: number, bytes: Uint8Array, offset: number): number;
  /** close(2): 0, or a negative errno (EBADF, without closing it, for a ring's own io_uring fd or eventfd). */
  close(fd: number): number;
  pipe(): [number, number];
}

/** File helpers with no io_uring opcode and no node:fs call (native/fileops.cc). */
export interface NativeFileOps {
  /** lseek(2); returns -1 for ENXIO (no data or hole past `offset`). */
  lseek(fd: number, offset: number, whence: number): number;
  mknod(path: Uint8Array, mode: number, major: number, minor: number): void;
  /** linkat(2) of the open file `fd` (an O_TMPFILE file) to `path`; EEXIST if `path` exists. */
  linkAt(fd: number, path: Uint8Array): void;
  /** copy_file_range(2) with explicit offsets; returns the bytes copied (0 at the end of the input). */
  copyFileRange(fdIn: number, offIn: number, fdOut: number, offOut: number, length: number): number;
  /**
   * The copy job's small-file loop (native/fileops.cc): copies items
   * `from`..`to` (names relative to the two directory descriptors) each into
   * an O_TMPFILE file linked to its name once complete. Stops after the
   * first failure, when `stop[0]` is set, or once `budgetNs` is spent;
   * returns the index of the first item not done. Per item: `bytesOut[i]`,
   * and `errorsOut[2i]` (errno) and `errorsOut[2i + 1]` (the step that
   * failed, 0 when none: see SmallFileStep in src/copy/small-files.ts).
   */
  copySmallFiles?(
    srcDirFd: number, dstDirFd: number, names: Uint8Array, nameEnds: Uint32Array, sizes: Float64Array, modes: Uint32Array,
    from: number, to: number, flags: number, stop: Int32Array, budgetNs: number, bytesOut: Float64Array, errorsOut: Int32Array,
  ): number;
  /**
   * A directory's entries (no '.' and '..'), sorted bytewise: their names
   * back to back, the end of each, STAT_FIELDS numbers per entry laid out as
   * src/copy/scan.ts's Field, and the errno of each entry's stat (0: none).
   * Throws with the errno when the directory cannot be listed.
   */
  listDirectory?(path: Uint8Array, follow: boolean): [Buffer, Uint32Array, Float64Array, Int32Array];
}

export interface NativeBinding extends NativeSockets, NativeFileOps {
  NativeRing: NativeRingConstructor;
  probe(): Record<string, boolean>;
  setErrorClass(cls: typeof SaferRingError): void;
  descriptorWords: number;
  opCount: number;
}

/** The package root: dist/src/native.js is two levels below it. */
const packageRoot = path.join(__dirname, '..', '..');

function load(): { binding: NativeBinding | null; error: Error | null } {
  // SAFER_RING_NATIVE_ADDON names another build of the addon (the sanitizer
  // build of `npm run test:asan`); by default, the one node-gyp-build finds.
  let file: string;
  try {
    file = process.env.SAFER_RING_NATIVE_ADDON || nodeGypBuild.path(packageRoot);
  } catch {
    // node-gyp-build's own test for the C library a prebuild must match.
    const libc = existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
    return {
      binding: null,
      error: new Error(
        `no prebuilt binary matches ${process.platform}-${process.arch} (${libc}) and none was built from source; `
          + 'run `npm rebuild safer-ring --foreground-scripts` to see what the build needs',
      ),
    };
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(file) as NativeBinding;
    // The addon builds its errors with `new` on this: a function that returns
    // the error of Node's class for the code (TypeError for argument errors, ...).
    binding.setErrorClass(function nativeError(code: string, message: string) {
      return SaferRingError.for(code, message);
    } as unknown as typeof SaferRingError);
    return { binding, error: null };
  } catch (error) {
    // dlopen errors carry the file name; a require stack would only add lines.
    const firstLine = String((error as Error).message).split('\n')[0];
    return { binding: null, error: new Error(`${path.relative(packageRoot, file)} could not be loaded: ${firstLine}`) };
  }
}

const loaded = load();

/** The addon for this thread, or null when it is not available. */
export const binding: NativeBinding | null = loaded.binding;
/** Why the addon could not be loaded, when it could not. */
export const loadError: Error | null = loaded.error;

export function requireBinding(): NativeBinding {
  if (binding === null) {
    throw new SaferRingError('ERR_NATIVE_UNAVAILABLE', `the safer-ring native addon is not available: ${loadError?.message}`);
  }
  return binding;
}
