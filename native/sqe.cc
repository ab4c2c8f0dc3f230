// Every value here came from JavaScript and is untrusted: each index, length,
// offset, fd and flag word is checked before anything is handed to the kernel.
#include "sqe.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cmath>
#include <cstring>

#include "buffer-ring.h"
#include "descriptor.h"
#include "internal-fds.h"
#include "read-result.h"

namespace sr {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1
constexpr int32_t kRwFlags = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;
constexpr int32_t kMsgFlags = MSG_OOB | MSG_PEEK | MSG_DONTROUTE | MSG_CTRUNC | MSG_TRUNC |
                              MSG_DONTWAIT | MSG_EOR | MSG_WAITALL | MSG_CONFIRM | MSG_NOSIGNAL |
                              MSG_MORE | MSG_CMSG_CLOEXEC;
constexpr int32_t kStatxFlags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT |
                                AT_STATX_SYNC_TYPE;
constexpr int32_t kAcceptFlags = SOCK_NONBLOCK | SOCK_CLOEXEC;
constexpr int32_t kPollEvents = POLLIN | POLLPRI | POLLOUT | POLLRDHUP;
constexpr int32_t kTimeoutFlags = IORING_TIMEOUT_ABS | IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME;
constexpr int32_t kCancelFlags = IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY;
// Address slot of accept: [socklen_t capacity/result][4 bytes pad][sockaddr ...]
constexpr int32_t kAcceptAddrOffset = 8;

constexpr int32_t kUnlinkFlags = AT_REMOVEDIR;
constexpr int32_t kRenameFlags = RENAME_NOREPLACE | RENAME_EXCHANGE;
constexpr int32_t kLinkFlags = AT_SYMLINK_FOLLOW;
constexpr int32_t kFallocateFlags = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
constexpr int32_t kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE;  // never SPLICE_F_FD_IN_FIXED
// Opcodes newer than liburing 2.3's header.
constexpr int kOpFtruncate = 55;  // IORING_OP_FTRUNCATE, Linux 6.9
constexpr int kOpFixedFdInstall = 54;  // IORING_OP_FIXED_FD_INSTALL, Linux 6.8
constexpr int32_t kFixedFdInstallFlags = 1;  // IORING_FIXED_FD_NO_CLOEXEC

Invalid Bad(const char* what) { return Invalid{"ERR_INVALID_ARG_VALUE", what}; }

double PositionAt(const int32_t* d, int word) {
  double v;
  std::memcpy(&v, d + word, sizeof v);
  return v;
}

double Position(const int32_t* d) { return PositionAt(d, D_POS); }

bool IsIntegral(double v) { return std::isfinite(v) && std::trunc(v) == v; }

// A (chunk, offset, length) triple must lie wholly inside one slot of a chunk the ring knows.
Invalid CheckRange(const SqeContext& ctx, int32_t chunk, int32_t off, int32_t len, const char* what) {
  if (chunk < 0 || static_cast<size_t>(chunk) >= ctx.chunks->size() ||
      (*ctx.chunks)[chunk].base == nullptr)
    return Bad(what);
  if (off < 0 || len < 0) return Bad(what);
  const Chunk& c = (*ctx.chunks)[chunk];
  if (static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > c.length) return Bad(what);
  // Inside one slot: the first and the last byte share a slot index.
  if (len > 0 && static_cast<size_t>(off) / c.slotSize != (static_cast<size_t>(off) + len - 1) / c.slotSize)
    return Invalid{"ERR_INVALID_ARG_VALUE", std::string(what) + " (crosses an arena slot boundary)"};
  return {};
}

Invalid CheckFd(const SqeContext& ctx, const int32_t* d, bool allowCwd) {
  int32_t fd = d[D_FD];
  if (d[D_SQE_FLAGS] & SQE_FIXED_FILE) {
    if (allowCwd) return Bad("a fixed file cannot be used as a directory fd");
    if (fd < 0 || static_cast<unsigned>(fd) >= ctx.registeredFiles)
      return Bad("fixed file index out of range");
    return {};
  }
  if (fd >= 0 || (allowCwd && fd == AT_FDCWD)) return {};
  return Bad("fd must be a non-negative integer");
}

Invalid CheckPosition(const int32_t* d) {
  double pos = Position(d);
  if (!IsIntegral(pos) || pos < -1 || pos > kMaxSafeInteger)
    return Bad("position must be an integer >= -1");
  return {};
}

// A path names (chunk, offset, length) words of the descriptor: D_CHUNK.. or D_CHUNK2..
Invalid CheckPathAt(const SqeContext& ctx, const int32_t* d, int chunkWord) {
  int32_t chunk = d[chunkWord], off = d[chunkWord + 1], len = d[chunkWord + 2];
  if (Invalid bad = CheckRange(ctx, chunk, off, len, "path buffer out of range")) return bad;
  if (len < 1) return Bad("path buffer is empty");
  const Chunk& c = (*ctx.chunks)[chunk];
  // The kernel reads the path up to its NUL: it must end inside the slot.
  if (std::memchr(c.base + off, 0, len) == nullptr) return Bad("path is not NUL-terminated");
  return {};
}

Invalid CheckPath(const SqeContext& ctx, const int32_t* d) { return CheckPathAt(ctx, d, D_CHUNK); }

// A directory fd carried outside D_FD (the second dirfd of rename/link): AT_FDCWD or an fd.
Invalid CheckDirFd(int32_t fd) {
  if (fd >= 0 || fd == AT_FDCWD) return {};
  return Bad("directory fd must be a non-negative integer or AT_FDCWD");
}

Invalid CheckNoFixedFile(const int32_t* d) {
  if (d[D_SQE_FLAGS] & SQE_FIXED_FILE) return Bad("this operation takes no fixed file");
  return {};
}

// A slot of the registered-file table (a direct descriptor's home).
Invalid CheckFileSlot(const SqeContext& ctx, int32_t slot) {
  if (slot < 0 || static_cast<unsigned>(slot) >= ctx.registeredFiles) return Bad("registered file slot out of range");
  return {};
}

Invalid CheckOffset(double v, bool allowNone, const char* what) {
  if (!IsIntegral(v) || v < (allowNone ? -1 : 0) || v > kMaxSafeInteger) return Bad(what);
  return {};
}

Invalid CheckIovs(const SqeContext& ctx, const int32_t* d) {
  int32_t start = d[D_CHUNK2], count = d[D_LEN2];
  if (count < 1 || count > IOV_MAX) return Bad("iovec count out of range");
  if (start < 0 || (static_cast<uint64_t>(start) + count) * kIovWords > ctx.iovWordCount)
    return Bad("iovec list out of range");
  for (int32_t i = 0; i < count; i++) {
    const int32_t* t = ctx.iovWords + (static_cast<size_t>(start) + i) * kIovWords;
    if (Invalid bad = CheckRange(ctx, t[0], t[1], t[2], "iovec buffer out of range")) return bad;
  }
  return {};
}

// A buffer-select op names a group registered on this ring; its length is 0
// (the group's buffer size) or at most that size.
Invalid CheckGroup(const SqeContext& ctx, const int32_t* d) {
  int32_t bgid = d[D_ARG];
  if (bgid < 0 || static_cast<uint32_t>(bgid) > kMaxGroupId) return Bad("buffer group id out of range");
  auto it = ctx.bufferRings->find(static_cast<uint32_t>(bgid));
  if (it == ctx.bufferRings->end()) return Bad("no buffer group with this id on this ring");
  if (d[D_LEN] < 0 || static_cast<uint32_t>(d[D_LEN]) > it->second.size) return Bad("length exceeds the group's buffer size");
  if (d[D_CHUNK] != -1) return Bad("a buffer-select op takes no buffer of its own");
  return {};
}

// A read into a result names one this ring allocated and still holds (not
// taken, not released), and a range wholly inside it.
Invalid CheckReadResult(const SqeContext& ctx, const int32_t* d) {
  if (d[D_ARG] < 0) return Bad("read result id out of range");
  auto it = ctx.readResults->find(static_cast<uint32_t>(d[D_ARG]));
  if (it == ctx.readResults->end() || it->second.released) return Bad("no read result with this id on this ring");
  if (d[D_CHUNK] != -1) return Bad("a read into a result takes no arena buffer");
  int32_t off = d[D_OFF], len = d[D_LEN];
  if (off < 0 || len < 1 || static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > it->second.length)
    return Bad("range outside the read result");
  return {};
}

uint8_t* Address(const SqeContext& ctx, int32_t chunk, int32_t off) {
  return (*ctx.chunks)[chunk].base + off;
}

uint64_t FileOffset(const int32_t* d) {
  double pos = Position(d);
  return pos < 0 ? static_cast<uint64_t>(-1) : static_cast<uint64_t>(pos);
}

}  // namespace

uint64_t UserData(const int32_t* d) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(d[D_GEN])) << 32) | static_cast<uint32_t>(d[D_ID]);
}

Invalid ValidateDescriptor(const SqeContext& ctx, const int32_t* d) {
  int32_t op = d[D_OP];
  if (op < 0 || op >= OP_COUNT) return Bad("unknown opcode");
  if (d[D_ID] < 0) return Bad("operation id out of range");
  if (d[D_SQE_FLAGS] & ~SQE_ALL) return Bad("unknown SQE flags");
  int32_t flags = d[D_FLAGS];

  switch (op) {
    case OP_NOP:
      return {};
    case OP_READ:
    case OP_WRITE:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (Invalid bad = CheckRange(ctx, d[D_CHUNK], d[D_OFF], d[D_LEN], "buffer range out of bounds")) return bad;
      if (flags & ~kRwFlags) return Bad("unknown read/write flags");
      return CheckPosition(d);
    case OP_READ_RESULT:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (Invalid bad = CheckReadResult(ctx, d)) return bad;
      if (flags & ~kRwFlags) return Bad("unknown read/write flags");
      return CheckPosition(d);
    case OP_READV:
    case OP_WRITEV:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (Invalid bad = CheckIovs(ctx, d)) return bad;
      if (flags & ~kRwFlags) return Bad("unknown read/write flags");
      return CheckPosition(d);
    case OP_OPENAT:
      if (Invalid bad = CheckFd(ctx, d, true)) return bad;
      if (d[D_ARG] & ~07777) return Bad("mode out of range");
      return CheckPath(ctx, d);
    case OP_OPENAT_DIRECT:
      if (Invalid bad = CheckNoFixedFile(d)) return bad;
      if (Invalid bad = CheckFd(ctx, d, true)) return bad;
      if (d[D_ARG] & ~07777) return Bad("mode out of range");
      if (Invalid bad = CheckFileSlot(ctx, d[D_OFF2])) return bad;
      return CheckPath(ctx, d);
    case OP_CLOSE_DIRECT:
      if (Invalid bad = CheckNoFixedFile(d)) return bad;
      return CheckFileSlot(ctx, d[D_FD]);
    case OP_FIXED_FD_INSTALL:
      // The slot travels in D_FD without SQE_FIXED_FILE; the SQE gets IOSQE_FIXED_FILE below, as the kernel requires.
      if (Invalid bad = CheckNoFixedFile(d)) return bad;
      if (flags & ~kFixedFdInstallFlags) return Bad("unknown fixed_fd_install flags");
      return CheckFileSlot(ctx, d[D_FD]);
    case OP_CLOSE:
      if (d[D_SQE_FLAGS] & SQE_FIXED_FILE) return Bad("close of a fixed file goes through unregister");
      if (InternalFds::Contains(d[D_FD])) return Bad("this fd belongs to a safer-ring ring (its io_uring or eventfd)");
      return CheckFd(ctx, d, false);
    case OP_STATX:
      if (Invalid bad = CheckFd(ctx, d, true)) return bad;
      if (flags & ~kStatxFlags) return Bad("unknown statx flags");
      if (Invalid bad = CheckPath(ctx, d)) return bad;
      if (Invalid bad = CheckRange(ctx, d[D_CHUNK2], d[D_OFF2], d[D_LEN2], "statx buffer out of range")) return bad;
      if (static_cast<size_t>(d[D_LEN2]) < sizeof(struct statx)) return Bad("statx buffer too small");
      return {};
    case OP_FSYNC:
      if (flags & ~IORING_FSYNC_DATASYNC) return Bad("unknown fsync flags");
      return CheckFd(ctx, d, false);
    case OP_ACCEPT:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (flags & ~kAcceptFlags) return Bad("unknown accept flags");
      if (d[D_CHUNK2] == -1) return {};
      if (Invalid bad = CheckRange(ctx, d[D_CHUNK2], d[D_OFF2], d[D_LEN2], "address buffer out of range")) return bad;
      if (d[D_LEN2] < kAcceptAddrOffset + static_cast<int32_t>(sizeof(sa_family_t)) || (d[D_OFF2] & 3))
        return Bad("address buffer too small or misaligned");
      return {};
    case OP_CONNECT:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (Invalid bad = CheckRange(ctx, d[D_CHUNK], d[D_OFF], d[D_LEN], "address out of range")) return bad;
      if (d[D_LEN] < static_cast<int32_t>(sizeof(sa_family_t)) ||
          d[D_LEN] > static_cast<int32_t>(sizeof(struct sockaddr_storage)))
        return Bad("address length out of range");
      return {};
    case OP_RECV:
    case OP_SEND:
    case OP_SEND_ZC:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (flags & ~kMsgFlags) return Bad("unknown message flags");
      return CheckRange(ctx, d[D_CHUNK], d[D_OFF], d[D_LEN], "buffer range out of bounds");
    case OP_RECV_SELECT:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (flags & ~kMsgFlags) return Bad("unknown message flags");
      return CheckGroup(ctx, d);
    case OP_RECV_MULTISHOT:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (flags & ~kMsgFlags) return Bad("unknown message flags");
      // The kernel refuses these for multishot recv (6.0): say so before it does.
      if (flags & MSG_WAITALL) return Bad("MSG_WAITALL cannot be used with multishot recv");
      if (d[D_LEN] != 0) return Bad("multishot recv takes its length from the group");
      return CheckGroup(ctx, d);
    case OP_POLL_ADD:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (flags == 0 || (flags & ~kPollEvents)) return Bad("poll events must be some of POLLIN, POLLPRI, POLLOUT, POLLRDHUP");
      return {};
    case OP_ACCEPT_MULTISHOT:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (flags & ~kAcceptFlags) return Bad("unknown accept flags");
      if (d[D_CHUNK2] != -1) return Bad("multishot accept reports no address");
      return {};
    case OP_TIMEOUT: {
      double ns = Position(d);
      if (!IsIntegral(ns) || ns < 0 || ns > kMaxSafeInteger) return Bad("timeout out of range");
      if (flags & ~kTimeoutFlags) return Bad("unknown timeout flags");
      return {};
    }
    case OP_CANCEL:
      if (flags & ~kCancelFlags) return Bad("unknown cancel flags");
      if (!(flags & IORING_ASYNC_CANCEL_ANY) && d[D_OFF2] < 0) return Bad("cancel target out of range");
      return {};
    case OP_UNLINKAT:
      if (Invalid bad = CheckFd(ctx, d, true)) return bad;
      if (flags & ~kUnlinkFlags) return Bad("unknown unlink flags");
      return CheckPath(ctx, d);
    case OP_MKDIRAT:
      if (Invalid bad = CheckFd(ctx, d, true)) return bad;
      if (d[D_ARG] & ~07777) return Bad("mode out of range");
      return CheckPath(ctx, d);
    case OP_RENAMEAT:
    case OP_LINKAT:
      if (Invalid bad = CheckFd(ctx, d, true)) return bad;
      if (Invalid bad = CheckDirFd(d[D_ARG])) return bad;
      if (flags & ~(op == OP_RENAMEAT ? kRenameFlags : kLinkFlags)) return Bad("unknown rename/link flags");
      if (Invalid bad = CheckPath(ctx, d)) return bad;
      return CheckPathAt(ctx, d, D_CHUNK2);
    case OP_SYMLINKAT:
      if (Invalid bad = CheckFd(ctx, d, true)) return bad;
      if (Invalid bad = CheckPath(ctx, d)) return bad;  // the target: any string, read up to its NUL
      return CheckPathAt(ctx, d, D_CHUNK2);
    case OP_FTRUNCATE:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      return CheckOffset(Position(d), false, "length must be an integer >= 0");
    case OP_FALLOCATE:
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (flags & ~kFallocateFlags) return Bad("unknown fallocate mode");
      if ((flags & FALLOC_FL_PUNCH_HOLE) && !(flags & FALLOC_FL_KEEP_SIZE)) return Bad("punching a hole needs FALLOC_FL_KEEP_SIZE");
      if (Invalid bad = CheckOffset(Position(d), false, "offset must be an integer >= 0")) return bad;
      if (Invalid bad = CheckOffset(PositionAt(d, D_POS2), false, "length must be an integer >= 0")) return bad;
      if (PositionAt(d, D_POS2) < 1) return Bad("length must be at least 1");
      return {};
    case OP_SPLICE:
      if (Invalid bad = CheckNoFixedFile(d)) return bad;
      if (Invalid bad = CheckFd(ctx, d, false)) return bad;
      if (d[D_ARG] < 0) return Bad("output fd must be a non-negative integer");
      if (d[D_LEN] < 0) return Bad("splice length out of range");
      if (flags & ~kSpliceFlags) return Bad("unknown splice flags");
      if (Invalid bad = CheckOffset(Position(d), true, "input offset must be an integer >= -1")) return bad;
      return CheckOffset(PositionAt(d, D_POS2), true, "output offset must be an integer >= -1");
  }
  return Bad("unknown opcode");
}

std::unique_ptr<Aux> PrepareSqe(const SqeContext& ctx, const int32_t* d, struct io_uring_sqe* sqe) {
  std::unique_ptr<Aux> aux;
  int32_t fd = d[D_FD];
  int32_t flags = d[D_FLAGS];
  switch (d[D_OP]) {
    case OP_NOP:
      io_uring_prep_nop(sqe);
      break;
    case OP_READ:
    case OP_WRITE: {
      const Chunk& c = (*ctx.chunks)[d[D_CHUNK]];
      uint8_t* addr = c.base + d[D_OFF];
      bool read = d[D_OP] == OP_READ;
      if (c.fixedIndex >= 0) {
        if (read) io_uring_prep_read_fixed(sqe, fd, addr, d[D_LEN], FileOffset(d), c.fixedIndex);
        else io_uring_prep_write_fixed(sqe, fd, addr, d[D_LEN], FileOffset(d), c.fixedIndex);
      } else {
        if (read) io_uring_prep_read(sqe, fd, addr, d[D_LEN], FileOffset(d));
        else io_uring_prep_write(sqe, fd, addr, d[D_LEN], FileOffset(d));
      }
      sqe->rw_flags = flags;
      break;
    }
    case OP_READ_RESULT: {
      const ReadResult& r = ctx.readResults->at(static_cast<uint32_t>(d[D_ARG]));
      io_uring_prep_read(sqe, fd, r.base + d[D_OFF], static_cast<unsigned>(d[D_LEN]), FileOffset(d));
      sqe->rw_flags = flags;
      aux = std::make_unique<Aux>();
      aux->readResult = d[D_ARG];
      break;
    }
    case OP_READV:
    case OP_WRITEV: {
      aux = std::make_unique<Aux>();
      int32_t start = d[D_CHUNK2], count = d[D_LEN2];
      aux->iovs.resize(count);
      for (int32_t i = 0; i < count; i++) {
        const int32_t* t = ctx.iovWords + (static_cast<size_t>(start) + i) * kIovWords;
        aux->iovs[i].iov_base = Address(ctx, t[0], t[1]);
        aux->iovs[i].iov_len = static_cast<size_t>(t[2]);
      }
      if (d[D_OP] == OP_READV) io_uring_prep_readv(sqe, fd, aux->iovs.data(), count, FileOffset(d));
      else io_uring_prep_writev(sqe, fd, aux->iovs.data(), count, FileOffset(d));
      sqe->rw_flags = flags;
      break;
    }
    case OP_OPENAT:
      io_uring_prep_openat(sqe, fd, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])),
                           flags, static_cast<mode_t>(d[D_ARG]));
      break;
    case OP_CLOSE:
      io_uring_prep_close(sqe, fd);
      break;
    case OP_OPENAT_DIRECT:
      io_uring_prep_openat_direct(sqe, fd, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])),
                                  flags, static_cast<mode_t>(d[D_ARG]), static_cast<unsigned>(d[D_OFF2]));
      break;
    case OP_CLOSE_DIRECT:
      io_uring_prep_close_direct(sqe, static_cast<unsigned>(fd));
      break;
    case OP_FIXED_FD_INSTALL:
      io_uring_prep_rw(kOpFixedFdInstall, sqe, fd, nullptr, 0, 0);
      sqe->flags |= IOSQE_FIXED_FILE;
      sqe->rw_flags = flags;  // install_fd_flags shares this word (newer than liburing 2.3's header)
      break;
    case OP_STATX:
      io_uring_prep_statx(sqe, fd, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])),
                          flags, static_cast<unsigned>(d[D_ARG]),
                          reinterpret_cast<struct statx*>(Address(ctx, d[D_CHUNK2], d[D_OFF2])));
      break;
    case OP_FSYNC:
      io_uring_prep_fsync(sqe, fd, static_cast<unsigned>(flags));
      break;
    case OP_ACCEPT:
      if (d[D_CHUNK2] == -1) {
        io_uring_prep_accept(sqe, fd, nullptr, nullptr, flags);
      } else {
        uint8_t* slot = Address(ctx, d[D_CHUNK2], d[D_OFF2]);
        socklen_t cap = static_cast<socklen_t>(d[D_LEN2] - kAcceptAddrOffset);
        std::memcpy(slot, &cap, sizeof cap);
        io_uring_prep_accept(sqe, fd, reinterpret_cast<struct sockaddr*>(slot + kAcceptAddrOffset),
                             reinterpret_cast<socklen_t*>(slot), flags);
      }
      break;
    case OP_CONNECT:
      io_uring_prep_connect(sqe, fd, reinterpret_cast<const struct sockaddr*>(Address(ctx, d[D_CHUNK], d[D_OFF])),
                            static_cast<socklen_t>(d[D_LEN]));
      break;
    case OP_RECV:
      io_uring_prep_recv(sqe, fd, Address(ctx, d[D_CHUNK], d[D_OFF]), d[D_LEN], flags);
      break;
    case OP_SEND:
      io_uring_prep_send(sqe, fd, Address(ctx, d[D_CHUNK], d[D_OFF]), d[D_LEN], flags);
      break;
    case OP_POLL_ADD:
      io_uring_prep_poll_add(sqe, fd, static_cast<unsigned>(flags));
      break;
    case OP_SEND_ZC: {
      // The kernel sends from the pages themselves and says when it is done
      // with them (IORING_CQE_F_NOTIF): the arena slot stays in flight until
      // then. A registered chunk saves pinning its pages for every send.
      const Chunk& c = (*ctx.chunks)[d[D_CHUNK]];
      io_uring_prep_send_zc(sqe, fd, c.base + d[D_OFF], d[D_LEN], flags, 0);
      if (c.fixedIndex >= 0) {
        sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
        sqe->buf_index = static_cast<uint16_t>(c.fixedIndex);
      }
      break;
    }
    case OP_RECV_SELECT:
    case OP_RECV_MULTISHOT:
      aux = std::make_unique<Aux>();
      aux->bufferGroup = d[D_ARG];
      if (d[D_OP] == OP_RECV_MULTISHOT) io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, flags);
      else io_uring_prep_recv(sqe, fd, nullptr, static_cast<size_t>(d[D_LEN]), flags);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = static_cast<uint16_t>(d[D_ARG]);
      break;
    case OP_ACCEPT_MULTISHOT:
      io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, flags);
      break;
    case OP_TIMEOUT: {
      aux = std::make_unique<Aux>();
      uint64_t ns = static_cast<uint64_t>(Position(d));
      aux->ts.tv_sec = static_cast<int64_t>(ns / 1000000000ull);
      aux->ts.tv_nsec = static_cast<long long>(ns % 1000000000ull);
      io_uring_prep_timeout(sqe, &aux->ts, 0, static_cast<unsigned>(flags));
      break;
    }
    case OP_CANCEL: {
      uint64_t target = (static_cast<uint64_t>(static_cast<uint32_t>(d[D_LEN2])) << 32) |
                        static_cast<uint32_t>(d[D_OFF2]);
      io_uring_prep_cancel64(sqe, target, flags);
      break;
    }
    case OP_UNLINKAT:
      io_uring_prep_unlinkat(sqe, fd, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])), flags);
      break;
    case OP_MKDIRAT:
      io_uring_prep_mkdirat(sqe, fd, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])),
                            static_cast<mode_t>(d[D_ARG]));
      break;
    case OP_RENAMEAT:
      io_uring_prep_renameat(sqe, fd, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])), d[D_ARG],
                             reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK2], d[D_OFF2])),
                             static_cast<unsigned>(flags));
      break;
    case OP_LINKAT:
      io_uring_prep_linkat(sqe, fd, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])), d[D_ARG],
                           reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK2], d[D_OFF2])), flags);
      break;
    case OP_SYMLINKAT:
      io_uring_prep_symlinkat(sqe, reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK], d[D_OFF])), fd,
                              reinterpret_cast<const char*>(Address(ctx, d[D_CHUNK2], d[D_OFF2])));
      break;
    case OP_FTRUNCATE:
      io_uring_prep_rw(kOpFtruncate, sqe, fd, nullptr, 0, static_cast<uint64_t>(Position(d)));
      break;
    case OP_FALLOCATE:
      io_uring_prep_fallocate(sqe, fd, flags, static_cast<off_t>(Position(d)), static_cast<off_t>(PositionAt(d, D_POS2)));
      break;
    case OP_SPLICE: {
      double in = Position(d), out = PositionAt(d, D_POS2);
      io_uring_prep_splice(sqe, fd, in < 0 ? -1 : static_cast<int64_t>(in), d[D_ARG],
                           out < 0 ? -1 : static_cast<int64_t>(out), static_cast<unsigned>(d[D_LEN]),
                           static_cast<unsigned>(flags));
      break;
    }
  }
  uint8_t sqeFlags = 0;
  int32_t f = d[D_SQE_FLAGS];
  if (f & SQE_LINK) sqeFlags |= IOSQE_IO_LINK;
  if (f & SQE_HARDLINK) sqeFlags |= IOSQE_IO_HARDLINK;
  if (f & SQE_FIXED_FILE) sqeFlags |= IOSQE_FIXED_FILE;
  if (f & SQE_ASYNC) sqeFlags |= IOSQE_ASYNC;
  sqe->flags |= sqeFlags;
  io_uring_sqe_set_data64(sqe, UserData(d));
  return aux;
}

}  // namespace sr
