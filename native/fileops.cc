// Small synchronous file helpers io_uring and node:fs have no call for:
// lseek (for SEEK_DATA/SEEK_HOLE, to find the holes of a sparse file), mknod
// (to recreate FIFOs and device nodes), linkat of an open file (to give an
// O_TMPFILE file its name), copy_file_range (an in-kernel copy, chunk by
// chunk), and two loops of the copy job: copySmallFiles (small files, one
// after another) and listDirectory (a directory's names and stats).
// Thin syscall wrappers with checks.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "fileops.h"

namespace sr {
namespace {

constexpr double kMaxOffset = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

bool GetOffset(const Napi::Value& v, off_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= kMaxOffset) || d != std::floor(d)) return false;
  *out = static_cast<off_t>(d);
  return true;
}

// lseek(fd, offset, whence) -> new offset. ENXIO (no data/hole past offset) is
// reported as -1 rather than thrown: it is the normal end of a SEEK_DATA scan.
Napi::Value Lseek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, whence;
  off_t offset;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd) || !GetOffset(info[1], &offset) ||
      !GetInt32(info[2], 0, 4, &whence)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "lseek(fd, offset, whence)");
    return env.Undefined();
  }
  off_t at = lseek(fd, offset, whence);
  if (at < 0) {
    if (errno == ENXIO) return Napi::Number::New(env, -1);
    ThrowErrno(env, errno, "lseek");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(at));
}

// mknod(path, mode, major, minor): path is a Uint8Array holding the bytes of
// the path (no NUL inside; the terminator is added here).
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t mode, major, minor;
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !GetUint32(info[1], &mode) || !GetUint32(info[2], &major) || !GetUint32(info[3], &minor)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "mknod(path, mode, major, minor)");
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  std::string path(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  if (path.empty() || path.find('\0') != std::string::npos) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "mknod: the path must be non-empty and hold no NUL byte");
    return env.Undefined();
  }
  if (mknod(path.c_str(), static_cast<mode_t>(mode), makedev(major, minor)) < 0) ThrowErrno(env, errno, "mknod");
  return env.Undefined();
}

// Gives the open file `fd`, made with O_TMPFILE and so without a name, the
// name `name` in `dirfd` (or a path, with AT_FDCWD), never replacing one
// (EEXIST). linkat(2) of the descriptor itself (AT_EMPTY_PATH) where this
// process may do that (CAP_DAC_READ_SEARCH, or a kernel that lets a file's
// opener), else of /proc/self/fd/N with AT_SYMLINK_FOLLOW, which needs no
// privilege but walks procfs: a C loop of the small-file copy's calls over
// 20,000 files took ~12% less time with the direct form (medians of 6; in
// the whole job the host's ext4 state moves the time by more). Once the procfs
// form succeeds where the direct one was refused, the process keeps to it.
// Returns 0, or -1 with errno.
int LinkUnnamed(int fd, int dirfd, const char* name) {
  static std::atomic<bool> direct{true};
  if (direct.load(std::memory_order_relaxed)) {
    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) return 0;
    if (errno != ENOENT && errno != EPERM) return -1;
  }
  char proc[40];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) < 0) return -1;
  direct.store(false, std::memory_order_relaxed);
  return 0;
}

// linkAt(fd, path): names an O_TMPFILE file (LinkUnnamed), never replacing
// an existing name (EEXIST).
Napi::Value LinkAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd) || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "linkAt(fd, path)");
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  std::string path(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  if (path.empty() || path.find('\0') != std::string::npos) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "linkAt: the path must be non-empty and hold no NUL byte");
    return env.Undefined();
  }
  if (LinkUnnamed(fd, AT_FDCWD, path.c_str()) < 0) ThrowErrno(env, errno, "link");
  return env.Undefined();
}

// copyFileRange(fdIn, offIn, fdOut, offOut, length) -> bytes copied (0 at the
// end of the input). copy_file_range(2): the kernel copies page cache to page
// cache (or shares the blocks, on filesystems with reflinks), with explicit
// offsets, so the caller can go chunk by chunk and check for an abort between.
Napi::Value CopyFileRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fdIn, fdOut;
  off_t offIn, offOut, length;
  if (!GetInt32(info[0], 0, INT32_MAX, &fdIn) || !GetOffset(info[1], &offIn) || !GetInt32(info[2], 0, INT32_MAX, &fdOut) ||
      !GetOffset(info[3], &offOut) || !GetOffset(info[4], &length)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "copyFileRange(fdIn, offIn, fdOut, offOut, length)");
    return env.Undefined();
  }
  loff_t in = offIn, out = offOut;
  ssize_t n = copy_file_range(fdIn, &in, fdOut, &out, static_cast<size_t>(length), 0);
  if (n < 0) {
    ThrowErrno(env, errno, "copy_file_range");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// copySmallFiles: the copy job's loop over a batch of small regular files,
// one syscall after another on the calling (worker) thread. Measured on the
// job's 20,000-file tree, the same steps made from JavaScript (fs.openSync,
// readSync, writeSync, linkAt, closeSync: a binding call, argument checks and
// an exception path each) cost more CPU than the kernel work they ask for.
//
// Each item i, named names[nameEnds[i-1] .. nameEnds[i]) in both directories,
// with a size (as planned) and a st_mode:
//   openat(srcDir, name, O_RDONLY [| O_NOFOLLOW])
//   openat(dstDir, ".", O_WRONLY | O_TMPFILE, mode & 0777)   a file with no name
//   read/write until a read comes back short (at most size + 1 bytes per read)
//   linkat of the file to dstDir/name (LinkUnnamed)   its name, never replacing
// so nothing ever appears under a final name before it is complete (the copy
// job's rule, see src/copy/file-copy.ts, which decides which files come here).
//
// The loop stops after the first item that fails (its errno and step are
// reported; the caller decides what the failure means), when the stop word is
// set (checked before each file and before each link: an unlinked temporary
// vanishes with its descriptor), or when the time budget is spent. Returns
// the index of the first item not done.
enum CopyStep { kStepOpen = 1, kStepCreate = 2, kStepRead = 3, kStepWrite = 4, kStepLink = 5, kStepClose = 6, kStepStopped = 7 };
constexpr uint32_t kFollowSymlinks = 1;
constexpr size_t kCopyBufferSize = 256 * 1024;

// A typed array of exactly `type` (over an ArrayBuffer or a SharedArrayBuffer): its elements and their count.
template <typename T>
bool GetTyped(const Napi::Value& v, napi_typedarray_type type, T** data, size_t* length) {
  if (!v.IsTypedArray()) return false;
  napi_typedarray_type actual;
  void* base = nullptr;
  if (napi_get_typedarray_info(v.Env(), v, &actual, length, &base, nullptr, nullptr) != napi_ok || actual != type) return false;
  if (base == nullptr && *length > 0) return false;
  *data = static_cast<T*>(base);
  return true;
}

int Retry(ssize_t r) { return r < 0 && errno == EINTR; }

Napi::Value CopySmallFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t srcDir, dstDir, from, to;
  uint32_t flags;
  uint8_t* names;
  uint32_t* nameEnds;
  double* sizes;
  uint32_t* modes;
  int32_t* stop;
  double* bytesOut;
  int32_t* errorsOut;
  size_t namesLen, count, sizesLen, modesLen, stopLen, bytesLen, errorsLen;
  off_t budgetNs;
  if (info.Length() != 13 || !GetInt32(info[0], 0, INT32_MAX, &srcDir) || !GetInt32(info[1], 0, INT32_MAX, &dstDir) ||
      !GetTyped(info[2], napi_uint8_array, &names, &namesLen) || !GetTyped(info[3], napi_uint32_array, &nameEnds, &count) ||
      !GetTyped(info[4], napi_float64_array, &sizes, &sizesLen) || !GetTyped(info[5], napi_uint32_array, &modes, &modesLen) ||
      !GetInt32(info[6], 0, INT32_MAX, &from) || !GetInt32(info[7], 0, INT32_MAX, &to) || !GetUint32(info[8], &flags) ||
      !GetTyped(info[9], napi_int32_array, &stop, &stopLen) || !GetOffset(info[10], &budgetNs) ||
      !GetTyped(info[11], napi_float64_array, &bytesOut, &bytesLen) || !GetTyped(info[12], napi_int32_array, &errorsOut, &errorsLen)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE",
               "copySmallFiles(srcDirFd, dstDirFd, names, nameEnds, sizes, modes, from, to, flags, stop, budgetNs, bytesOut, errorsOut)");
    return env.Undefined();
  }
  if (sizesLen < count || modesLen < count || bytesLen < count || errorsLen / 2 < count || stopLen < 1 ||
      from > to || static_cast<size_t>(to) > count || (flags & ~kFollowSymlinks) != 0) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "copySmallFiles: the arrays must hold an entry per name, and from <= to <= names");
    return env.Undefined();
  }
  // The items are copied out first and checked before anything is done, so a
  // caller that changes its arrays meanwhile (a SharedArrayBuffer) cannot
  // slip anything past the checks: each name inside `names`, one component
  // (no '/', no NUL, not "." or ".."), so an item can only ever name an entry
  // of the two directories given.
  struct Item {
    char name[256];
    size_t size;
    mode_t mode;
  };
  std::vector<Item> items(static_cast<size_t>(to - from));
  for (int32_t i = from; i < to; i++) {
    uint32_t start = i == 0 ? 0 : nameEnds[i - 1];
    uint32_t end = nameEnds[i];
    double size = sizes[i];
    uint32_t mode = modes[i];
    Item& item = items[i - from];
    bool ok = start < end && end <= namesLen && end - start < sizeof item.name && size >= 0 && size <= kMaxOffset &&
              size == std::floor(size) && (mode & ~(S_IFMT | 07777)) == 0;
    if (ok) {
      uint32_t len = end - start;
      std::memcpy(item.name, names + start, len);
      item.name[len] = '\0';
      ok = std::memchr(item.name, '/', len) == nullptr && std::memchr(item.name, '\0', len) == nullptr &&
           std::strcmp(item.name, ".") != 0 && std::strcmp(item.name, "..") != 0;
      item.size = static_cast<size_t>(size);
      item.mode = mode & 0777;
    }
    if (!ok) {
      ThrowError(env, "ERR_INVALID_ARG_VALUE", "copySmallFiles: item " + std::to_string(i) + " is not a file name with a size and mode", i);
      return env.Undefined();
    }
  }

  thread_local std::unique_ptr<char[]> buffer;
  if (!buffer) buffer.reset(new char[kCopyBufferSize]);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t deadline = now.tv_sec * 1000000000LL + now.tv_nsec + budgetNs;
  const int openFlags = O_RDONLY | O_CLOEXEC | ((flags & kFollowSymlinks) ? 0 : O_NOFOLLOW);
  int32_t i = from;
  while (i < to) {
    if (__atomic_load_n(stop, __ATOMIC_SEQ_CST) != 0) break;
    const Item& item = items[i - from];
    const char* name = item.name;
    int step = 0, err = 0;
    double copied = 0;
    int src = -1, dst = -1;
    do {
      while ((src = openat(srcDir, name, openFlags)) < 0 && errno == EINTR) {}
      if (src < 0) { step = kStepOpen; err = errno; break; }
      while ((dst = openat(dstDir, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, item.mode)) < 0 && errno == EINTR) {}
      if (dst < 0) { step = kStepCreate; err = errno; break; }
      // One byte more than planned: a short read is the end, and a file that grew is copied to its new end.
      const size_t want = std::min(kCopyBufferSize, item.size + 1);
      for (;;) {
        ssize_t n;
        while (Retry(n = pread(src, buffer.get(), want, static_cast<off_t>(copied)))) {}
        if (n < 0) { step = kStepRead; err = errno; break; }
        for (ssize_t done = 0; done < n;) {
          ssize_t w;
          while (Retry(w = pwrite(dst, buffer.get() + done, n - done, static_cast<off_t>(copied) + done))) {}
          if (w <= 0) { step = kStepWrite; err = w < 0 ? errno : EIO; break; }
          done += w;
        }
        if (step != 0) break;
        copied += n;
        if (static_cast<size_t>(n) < want) break;
      }
      if (step != 0) break;
      if (__atomic_load_n(stop, __ATOMIC_SEQ_CST) != 0) { step = kStepStopped; break; }
      if (LinkUnnamed(dst, dstDir, name) < 0) { step = kStepLink; err = errno; break; }
    } while (false);
    // The temporary (named now, or about to vanish) and the source.
    if (dst >= 0 && close(dst) < 0 && step == 0 && errno != EINTR) { step = kStepClose; err = errno; }
    if (src >= 0) close(src);
    bytesOut[i] = step == 0 ? copied : 0;
    errorsOut[2 * i] = err;
    errorsOut[2 * i + 1] = step;
    i++;
    if (step != 0) break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec * 1000000000LL + now.tv_nsec >= deadline) break;
  }
  return Napi::Number::New(env, i);
}

// listDirectory(path, follow) -> [names, nameEnds, stats, statErrors]: the
// copy job's listing of one source directory (src/copy/scan.ts), in one call:
// readdir, then fstatat of each entry relative to the directory (lstat, or
// stat with `follow`), names sorted bytewise. Made from JavaScript, the same
// listing builds a Buffer per name and a Stats object (with four Dates) per
// entry, which on a 20,000-file tree cost more than the syscalls.
//   names       Buffer: every name, back to back
//   nameEnds    Uint32Array: the end offset of each name
//   stats       Float64Array: kStatFields numbers per entry, laid out as
//               src/copy/scan.ts's Field (the values node:fs Stats would have)
//   statErrors  Int32Array: errno of each entry's stat, 0 when it worked
// Throws (errno, syscall 'scandir') when the directory cannot be listed.
enum StatField { kMode = 0, kSize, kUid, kGid, kAtimeMs, kMtimeMs, kDev, kIno, kNlink, kRdev, kBlocks, kOk, kStatFields };

double MsFrom(const struct timespec& ts) { return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6; }

Napi::Value ListDirectory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsBoolean()) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "listDirectory(path, follow)");
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  std::string path(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  if (path.empty() || path.find('\0') != std::string::npos) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "listDirectory: the path must be non-empty and hold no NUL byte");
    return env.Undefined();
  }
  const bool follow = info[1].As<Napi::Boolean>().Value();
  int fd;
  while ((fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno == EINTR) {}
  if (fd < 0) {
    ThrowErrno(env, errno, "scandir");
    return env.Undefined();
  }
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "scandir");
    return env.Undefined();
  }
  std::string all;
  std::vector<std::pair<uint32_t, uint32_t>> spans;  // offset, length in `all`
  for (;;) {
    errno = 0;
    struct dirent* e = readdir(dir);
    if (e == nullptr) {
      if (errno != 0) {
        int err = errno;
        closedir(dir);
        ThrowErrno(env, err, "scandir");
        return env.Undefined();
      }
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    size_t len = std::strlen(e->d_name);
    spans.emplace_back(static_cast<uint32_t>(all.size()), static_cast<uint32_t>(len));
    all.append(e->d_name, len + 1);  // with its NUL, for fstatat
  }
  std::sort(spans.begin(), spans.end(), [&all](const auto& a, const auto& b) {
    int c = std::memcmp(all.data() + a.first, all.data() + b.first, std::min(a.second, b.second));
    return c != 0 ? c < 0 : a.second < b.second;
  });
  const size_t n = spans.size();
  size_t total = 0;
  for (const auto& sp : spans) total += sp.second;
  Napi::Buffer<uint8_t> names = Napi::Buffer<uint8_t>::New(env, total);
  Napi::Uint32Array nameEnds = Napi::Uint32Array::New(env, n);
  Napi::Float64Array stats = Napi::Float64Array::New(env, n * kStatFields);
  Napi::Int32Array statErrors = Napi::Int32Array::New(env, n);
  if (env.IsExceptionPending()) {
    closedir(dir);
    return env.Undefined();
  }
  const int dfd = dirfd(dir);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    const char* name = all.data() + spans[i].first;
    std::memcpy(names.Data() + at, name, spans[i].second);
    at += spans[i].second;
    nameEnds[i] = static_cast<uint32_t>(at);
    struct stat st;
    int r;
    while ((r = fstatat(dfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW)) < 0 && errno == EINTR) {}
    double* f = stats.Data() + i * kStatFields;
    if (r < 0) {
      statErrors[i] = errno;
      continue;
    }
    statErrors[i] = 0;
    f[kMode] = st.st_mode;
    f[kSize] = static_cast<double>(st.st_size);
    f[kUid] = st.st_uid;
    f[kGid] = st.st_gid;
    f[kAtimeMs] = MsFrom(st.st_atim);
    f[kMtimeMs] = MsFrom(st.st_mtim);
    f[kDev] = static_cast<double>(st.st_dev);
    f[kIno] = static_cast<double>(st.st_ino);
    f[kNlink] = static_cast<double>(st.st_nlink);
    f[kRdev] = static_cast<double>(st.st_rdev);
    f[kBlocks] = static_cast<double>(st.st_blocks);
    f[kOk] = 1;
  }
  closedir(dir);
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, names);
  out.Set(1u, nameEnds);
  out.Set(2u, stats);
  out.Set(3u, statErrors);
  return out;
}

}  // namespace

void DefineFileOps(Napi::Env env, Napi::Object exports) {
  exports.Set("lseek", Napi::Function::New(env, Lseek, "lseek"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("linkAt", Napi::Function::New(env, LinkAt, "linkAt"));
  exports.Set("copyFileRange", Napi::Function::New(env, CopyFileRange, "copyFileRange"));
  exports.Set("copySmallFiles", Napi::Function::New(env, CopySmallFiles, "copySmallFiles"));
  exports.Set("listDirectory", Napi::Function::New(env, ListDirectory, "listDirectory"));
}

}  // namespace sr
