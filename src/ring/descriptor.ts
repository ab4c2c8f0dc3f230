// Layout of the operation descriptors shared with the native layer.
// Mirrors native/descriptor.h: change both together.

export const DESC_WORDS = 16;
export const IOV_WORDS = 3;
export const COMPLETION_WORDS = 4; // id, generation, result, flags

export const D_OP = 0;
export const D_FD = 1;
export const D_ID = 2;
export const D_GEN = 3;
export const D_SQE_FLAGS = 4;
export const D_CHUNK = 5;
export const D_OFF = 6;
export const D_LEN = 7;
export const D_POS_F64 = 4; // float64 index of words 8..9
export const D_FLAGS = 10;
export const D_ARG = 11;
export const D_CHUNK2 = 12;
export const D_OFF2 = 13;
export const D_LEN2 = 14;
export const D_POS2_F64 = 6; // float64 index of words 12..13: a second position (fallocate length, splice output offset)

export const enum Op {
  NOP = 0,
  READ = 1,
  WRITE = 2,
  READV = 3,
  WRITEV = 4,
  OPENAT = 5,
  CLOSE = 6,
  STATX = 7,
  FSYNC = 8,
  ACCEPT = 9,
  CONNECT = 10,
  RECV = 11,
  SEND = 12,
  TIMEOUT = 13,
  CANCEL = 14,
  /** recv into a buffer the kernel selects from a provided buffer ring (group id in D_ARG). */
  RECV_SELECT = 15,
  /** Multishot recv (6.0+): one SQE, a CQE per message, buffers from the group in D_ARG. */
  RECV_MULTISHOT = 16,
  /** Multishot accept (5.19+): one SQE, a CQE per connection. */
  ACCEPT_MULTISHOT = 17,
  // Filesystem ops; see native/descriptor.h for where each puts its arguments.
  UNLINKAT = 18,
  RENAMEAT = 19,
  MKDIRAT = 20,
  SYMLINKAT = 21,
  LINKAT = 22,
  FTRUNCATE = 23,
  FALLOCATE = 24,
  SPLICE = 25,
  /** openat into a slot of the registered-file table (a direct descriptor); the slot in D_OFF2. */
  OPENAT_DIRECT = 26,
  /** Empties a slot of the registered-file table (close of a direct descriptor); the slot in D_FD. */
  CLOSE_DIRECT = 27,
  /** A new ordinary fd for the file in a registered-file slot (IORING_OP_FIXED_FD_INSTALL, 6.8+); the slot in D_FD. */
  FIXED_FD_INSTALL = 28,
  /** read(2) into a read result the native layer holds (native/read-result.h): its id in D_ARG, the offset in it in D_OFF. */
  READ_RESULT = 29,
  // 30..39 are free for filesystem ops; 40 and up belong to the network ops.
  /** Zero-copy send (6.0+): a result CQE (with F_MORE), then a notification (F_NOTIF) once the buffer is free. */
  SEND_ZC = 40,
  /** One-shot poll: D_FLAGS the events to wait for; the result is the events seen. */
  POLL_ADD = 41,
}

/** The syscall name errors report for each op (node:fs's names where it has one: 'open', 'unlink', 'rmdir'...). */
export const OP_SYSCALL: readonly string[] = [
  'nop', 'read', 'write', 'readv', 'writev', 'open', 'close', 'statx', 'fsync',
  'accept', 'connect', 'recv', 'send', 'timeout', 'cancel', 'recv', 'recv', 'accept',
  'unlink', 'rename', 'mkdir', 'symlink', 'link', 'ftruncate', 'fallocate', 'splice', 'open', 'close', 'fixed_fd_install',
  'read',
];
(OP_SYSCALL as string[])[Op.SEND_ZC] = 'send';
(OP_SYSCALL as string[])[Op.POLL_ADD] = 'poll';

export const SQE_LINK = 1 << 0;
export const SQE_HARDLINK = 1 << 1;
export const SQE_FIXED_FILE = 1 << 2;
export const SQE_ASYNC = 1 << 3;
/**
 * Not an IOSQE_* flag: the op does not keep the event loop alive (the recv or
 * accept of an unreferenced socket). The native ring counts such ops apart.
 */
export const SQE_WEAK = 1 << 4;

export const SETUP_SQPOLL = 1 << 0;
export const SETUP_COOP_TASKRUN = 1 << 1;
export const SETUP_SINGLE_ISSUER = 1 << 2;
export const SETUP_DEFER_TASKRUN = 1 << 3;
export const SETUP_FIXED_BUFFERS = 1 << 4;

export const IORING_CQE_F_BUFFER = 1 << 0;
export const IORING_CQE_F_MORE = 1 << 1;
/** On a zero-copy send's last CQE: the kernel no longer uses the buffer. */
export const IORING_CQE_F_NOTIF = 1 << 3;
/** With IORING_CQE_F_BUFFER, the kernel's buffer id is in the upper 16 bits of the CQE flags. */
export const IORING_CQE_BUFFER_SHIFT = 16;
export const IORING_FSYNC_DATASYNC = 1;
export const IORING_ASYNC_CANCEL_ANY = 1 << 2;
/** Offset of the sockaddr inside an accept address slot (after the socklen_t). */
export const ACCEPT_ADDR_OFFSET = 8;
