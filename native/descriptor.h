// Layout of the operation descriptors JavaScript writes into a shared Int32Array.
// Mirrored by src/ring/descriptor.ts: change both together.
//
// One descriptor is 16 int32 words (64 bytes). The file position is a float64
// stored in words 8..9 so JavaScript can write any safe integer without BigInt.
#pragma once
#include <cstdint>

namespace sr {

constexpr int kDescWords = 16;

enum DescField : int {
  D_OP = 0,         // Op (below)
  D_FD = 1,         // fd, dirfd, or fixed-file index with SQE_FIXED_FILE
  D_ID = 2,         // low 32 bits of user_data: the op's table index
  D_GEN = 3,        // high 32 bits of user_data: generation of that index
  D_SQE_FLAGS = 4,  // SqeFlag bits (below)
  D_CHUNK = 5,      // arena chunk of the main buffer, -1 for none
  D_OFF = 6,        // byte offset of the buffer in that chunk
  D_LEN = 7,        // byte length of the buffer
  D_POS = 8,        // float64 (words 8..9): file position, -1 = current; timeout ns
  D_FLAGS = 10,     // op flags: rw/msg/open/statx/fsync/accept/timeout/cancel flags
  D_ARG = 11,       // mode (openat), mask (statx), buffer group id (recv select/multishot)
  D_CHUNK2 = 12,    // second buffer: statx output, accept address; iov start (readv);
  D_OFF2 = 13,      //   cancel target id
  D_LEN2 = 14,      //   iov count (readv); cancel target generation
  D_RESERVED = 15,
  D_POS2 = 12,      // float64 (words 12..13): a second position (fallocate length, splice output offset)
};

enum Op : int32_t {
  OP_NOP = 0,
  OP_READ = 1,
  OP_WRITE = 2,
  OP_READV = 3,
  OP_WRITEV = 4,
  OP_OPENAT = 5,
  OP_CLOSE = 6,
  OP_STATX = 7,
  OP_FSYNC = 8,
  OP_ACCEPT = 9,
  OP_CONNECT = 10,
  OP_RECV = 11,
  OP_SEND = 12,
  OP_TIMEOUT = 13,
  OP_CANCEL = 14,
  OP_RECV_SELECT = 15,     // recv into a buffer the kernel picks from group D_ARG
  OP_RECV_MULTISHOT = 16,  // multishot recv, buffers from group D_ARG (6.0+)
  OP_ACCEPT_MULTISHOT = 17,  // multishot accept (5.19+)
  // Filesystem ops (5.11+ unless noted). Paths are NUL-terminated arena slots.
  OP_UNLINKAT = 18,   // D_FD dirfd, path; D_FLAGS AT_REMOVEDIR
  OP_RENAMEAT = 19,   // D_FD old dirfd, old path; D_ARG new dirfd, new path in (CHUNK2, OFF2, LEN2); D_FLAGS RENAME_*
  OP_MKDIRAT = 20,    // D_FD dirfd, path; D_ARG mode
  OP_SYMLINKAT = 21,  // target in (CHUNK, OFF, LEN); D_FD dirfd of the link, link path in (CHUNK2, OFF2, LEN2)
  OP_LINKAT = 22,     // as RENAMEAT; D_FLAGS AT_SYMLINK_FOLLOW
  OP_FTRUNCATE = 23,  // D_FD fd; D_POS length (6.9+)
  OP_FALLOCATE = 24,  // D_FD fd; D_POS offset; D_POS2 length; D_FLAGS FALLOC_FL_*
  OP_SPLICE = 25,     // D_FD fd in, D_POS its offset (-1: none); D_ARG fd out, D_POS2 its offset; D_LEN bytes; D_FLAGS SPLICE_F_*
  // Direct descriptors (5.15+): a file opened straight into a slot of the
  // ring's registered-file table, so later ops of the same submit (linked)
  // can name it with SQE_FIXED_FILE before its open has completed.
  OP_OPENAT_DIRECT = 26,  // as OP_OPENAT; D_OFF2 the table slot to open into
  OP_CLOSE_DIRECT = 27,   // D_FD the table slot to empty (never with SQE_FIXED_FILE)
  OP_FIXED_FD_INSTALL = 28,  // D_FD a table slot: a new ordinary fd for its file (6.8+); D_FLAGS 0 or NO_CLOEXEC
  // A read into a read result (native/read-result.h), not arena memory:
  // D_FD fd; D_ARG the result's id; D_OFF byte offset in it; D_LEN bytes; D_POS position; D_FLAGS rw flags.
  OP_READ_RESULT = 29,
  // 30..39 are free for filesystem ops; 40 and up belong to the network ops.
  OP_SEND_ZC = 40,  // zero-copy send (6.0+): a result CQE, then a notification once the buffer is free
  OP_POLL_ADD = 41,  // D_FD fd; D_FLAGS the events to wait for (POLLIN, POLLOUT, ...): one-shot, res = the events seen
  OP_COUNT = 42,
};

// Our own stable bit numbers, translated to IOSQE_* by the native layer.
enum SqeFlag : int32_t {
  SQE_LINK = 1 << 0,
  SQE_HARDLINK = 1 << 1,
  SQE_FIXED_FILE = 1 << 2,
  SQE_ASYNC = 1 << 3,
  // Not an IOSQE_* flag: the op does not keep the event loop alive (an
  // unreferenced socket's recv or accept). The ring counts such ops apart.
  SQE_WEAK = 1 << 4,
  SQE_ALL = (1 << 5) - 1,
};

// Each iovec of readv/writev is three int32 words in the iov array: chunk, offset, length.
constexpr int kIovWords = 3;

}  // namespace sr
