// Small synchronous helpers io_uring has no (portable) opcode for: creating
// and binding sockets, listening, and pipes. Thin syscall wrappers with checks.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "sockets.h"

namespace sr {
namespace {

Napi::Value Socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t domain, type, protocol;
  if (!GetInt32(info[0], 0, 64, &domain) || !GetInt32(info[1], 0, INT32_MAX, &type) || !GetInt32(info[2], 0, 65535, &protocol)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "socket(domain, type, protocol)");
    return env.Undefined();
  }
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) { ThrowErrno(env, errno, "socket"); return env.Undefined(); }
  return Napi::Number::New(env, fd);
}

Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd) || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "bind(fd, Uint8Array address)");
    return env.Undefined();
  }
  Napi::Uint8Array addr = info[1].As<Napi::Uint8Array>();
  if (addr.ByteLength() < sizeof(sa_family_t) || addr.ByteLength() > sizeof(struct sockaddr_storage)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "address length out of range");
    return env.Undefined();
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss {};
  std::memcpy(&ss, addr.Data(), addr.ByteLength());
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&ss), static_cast<socklen_t>(addr.ByteLength())) < 0) {
    ThrowErrno(env, errno, "bind");
  }
  return env.Undefined();
}

Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, backlog;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd) || !GetInt32(info[1], 0, 65535, &backlog)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "listen(fd, backlog)");
    return env.Undefined();
  }
  if (listen(fd, backlog) < 0) ThrowErrno(env, errno, "listen");
  return env.Undefined();
}

Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "getsockname(fd)");
    return env.Undefined();
  }
  struct sockaddr_storage ss {};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) < 0) {
    ThrowErrno(env, errno, "getsockname");
    return env.Undefined();
  }
  Napi::Uint8Array out = Napi::Uint8Array::New(env, len);
  std::memcpy(out.Data(), &ss, len);
  return out;
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) { ThrowErrno(env, errno, "pipe"); return env.Undefined(); }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

}  // namespace

void DefineSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("getsockname", Napi::Function::New(env, GetSockName, "getsockname"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
}

}  // namespace sr
