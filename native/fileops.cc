// Small synchronous file helpers io_uring and node:fs have no call for:
// lseek (for SEEK_DATA/SEEK_HOLE, to find the holes of a sparse file), mknod
// (to recreate FIFOs and device nodes), linkat of an open file (to give an
// O_TMPFILE file its name) and copy_file_range (an in-kernel copy, chunk by
// chunk). Thin syscall wrappers with checks.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <string>

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

// linkAt(fd, path): gives the open file `fd` the name `path`, never replacing
// an existing one (EEXIST). Made for files opened with O_TMPFILE, which have
// no name until then: linkat(2) on /proc/self/fd/N with AT_SYMLINK_FOLLOW,
// which needs no privilege (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
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
  std::string from = "/proc/self/fd/" + std::to_string(fd);
  if (linkat(AT_FDCWD, from.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) < 0) ThrowErrno(env, errno, "link");
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

}  // namespace

void DefineFileOps(Napi::Env env, Napi::Object exports) {
  exports.Set("lseek", Napi::Function::New(env, Lseek, "lseek"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("linkAt", Napi::Function::New(env, LinkAt, "linkAt"));
  exports.Set("copyFileRange", Napi::Function::New(env, CopyFileRange, "copyFileRange"));
}

}  // namespace sr
