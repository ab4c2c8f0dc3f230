// Small synchronous helpers io_uring has no (portable) opcode for, or where a
// synchronous call is what the caller needs: creating, binding and listening
// on sockets, socket options and addresses, shutdown and close, pipes. Thin
// syscall wrappers with checks; the ones the net layer calls on its hot or
// error paths return a negative errno instead of throwing.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "internal-fds.h"
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

Napi::Value GetPeerName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "getpeername(fd)");
    return env.Undefined();
  }
  struct sockaddr_storage ss {};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) < 0) {
    ThrowErrno(env, errno, "getpeername");
    return env.Undefined();
  }
  Napi::Uint8Array out = Napi::Uint8Array::New(env, len);
  std::memcpy(out.Data(), &ss, len);
  return out;
}

// The socket options the net layer sets, by our own stable numbers.
enum SocketOption : int32_t {
  OPT_NODELAY = 1,    // TCP_NODELAY: value 0/1
  OPT_KEEPALIVE = 2,  // SO_KEEPALIVE: value 0/1
  OPT_KEEPIDLE = 3,   // TCP_KEEPIDLE: seconds >= 1
  OPT_KEEPINTVL = 4,  // TCP_KEEPINTVL: seconds >= 1
  OPT_KEEPCNT = 5,    // TCP_KEEPCNT: count >= 1
  OPT_V6ONLY = 6,     // IPV6_V6ONLY: value 0/1
  OPT_LINGER = 7,     // SO_LINGER: -1 off, else on with this many seconds (0: close sends RST)
  OPT_REUSEADDR = 8,  // SO_REUSEADDR: value 0/1
};

// setSocketOption(fd, option, value): 0, or a negative errno (a socket that
// refuses an option is the caller's to report, as libuv reports it).
Napi::Value SetSocketOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, option, value;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd) || !GetInt32(info[1], OPT_NODELAY, OPT_REUSEADDR, &option) ||
      !GetInt32(info[2], -1, 1 << 20, &value)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "setSocketOption(fd, option, value)");
    return env.Undefined();
  }
  bool flag = option == OPT_NODELAY || option == OPT_KEEPALIVE || option == OPT_V6ONLY || option == OPT_REUSEADDR;
  if ((flag && value != 0 && value != 1) ||
      ((option == OPT_KEEPIDLE || option == OPT_KEEPINTVL || option == OPT_KEEPCNT) && value < 1)) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "socket option value out of range");
    return env.Undefined();
  }
  int rc;
  switch (option) {
    case OPT_NODELAY: rc = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value); break;
    case OPT_KEEPALIVE: rc = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &value, sizeof value); break;
    case OPT_KEEPIDLE: rc = setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &value, sizeof value); break;
    case OPT_KEEPINTVL: rc = setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &value, sizeof value); break;
    case OPT_KEEPCNT: rc = setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &value, sizeof value); break;
    case OPT_V6ONLY: rc = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &value, sizeof value); break;
    case OPT_LINGER: {
      struct linger l {};
      l.l_onoff = value >= 0;
      l.l_linger = value >= 0 ? value : 0;
      rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      break;
    }
    default: rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &value, sizeof value); break;
  }
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// socketInfo(fd): [domain, type, listening] of a socket, or a negative errno
// (ENOTSOCK for a file or pipe, EBADF for a closed fd).
Napi::Value SocketInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "socketInfo(fd)");
    return env.Undefined();
  }
  int domain = 0, type = 0, listening = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return Napi::Number::New(env, -errno);
  len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return Napi::Number::New(env, -errno);
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) return Napi::Number::New(env, -errno);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, domain));
  out.Set(1u, Napi::Number::New(env, type));
  out.Set(2u, Napi::Boolean::New(env, listening != 0));
  return out;
}

// shutdown(fd, how): 0 or a negative errno. Synchronous on purpose: a
// listening socket must stop taking connections (and free its port) the
// moment a server closes, while its accept is still being cancelled.
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, how;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd) || !GetInt32(info[1], SHUT_RD, SHUT_RDWR, &how)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "shutdown(fd, how)");
    return env.Undefined();
  }
  return Napi::Number::New(env, shutdown(fd, how) < 0 ? -errno : 0);
}

// trySend(fd, bytes, offset): one send(2) of bytes[offset..] with
// MSG_DONTWAIT, on the calling thread, as libuv's try-write: the byte count
// the socket took, or a negative errno (-EAGAIN when its buffer is full). The
// kernel copies from the caller's memory during the call and keeps no
// reference, which is why this, unlike a ring send, may read a plain Buffer.
// The extent is the view's own (its intrinsic length), never a count the
// caller passes; MSG_NOSIGNAL, as for every send here.
Napi::Value TrySend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, offset;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd) || !info[1].IsTypedArray() || !GetInt32(info[2], 0, INT32_MAX, &offset) ||
      napi_get_typedarray_info(env, info[1], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "trySend(fd, Uint8Array bytes, offset)");
    return env.Undefined();
  }
  if (static_cast<size_t>(offset) > length) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "trySend: offset past the end of the bytes");
    return env.Undefined();
  }
  if (InternalFds::Contains(fd)) return Napi::Number::New(env, -EBADF);
  if (data == nullptr || static_cast<size_t>(offset) == length) return Napi::Number::New(env, 0);
  ssize_t n;
  do {
    n = send(fd, static_cast<const char*>(data) + offset, length - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return Napi::Number::New(env, n < 0 ? -errno : static_cast<double>(n));
}

// close(fd): 0 or a negative errno. The net handles close their sockets here,
// not through node:fs, which warns when a worker thread closes an fd it did
// not open itself.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!GetInt32(info[0], 0, INT32_MAX, &fd)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "close(fd)");
    return env.Undefined();
  }
  // As the ring's close op refuses them: a ring's own io_uring fd or eventfd
  // is never closed from here (a socket whose number was closed behind the
  // net layer's back and reused by a ring must not take the ring's fd with
  // it: every op of that ring would hang). EBADF, as for any fd that is not
  // the caller's to close; the callers (closing paths) need no exception.
  if (InternalFds::Contains(fd)) return Napi::Number::New(env, -EBADF);
  return Napi::Number::New(env, close(fd) < 0 ? -errno : 0);
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
  exports.Set("getpeername", Napi::Function::New(env, GetPeerName, "getpeername"));
  exports.Set("setSocketOption", Napi::Function::New(env, SetSocketOption, "setSocketOption"));
  exports.Set("socketInfo", Napi::Function::New(env, SocketInfo, "socketInfo"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("trySend", Napi::Function::New(env, TrySend, "trySend"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
}

}  // namespace sr
