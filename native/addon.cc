// Module entry: exports the NativeRing class, the opcode probe, and the hook
// through which JavaScript hands us its error class.
#include <cerrno>
#include <cstring>
#include <liburing.h>
#include <sys/utsname.h>
#include <uv.h>

#include "addon.h"
#include "descriptor.h"
#include "errors.h"
#include "ring.h"
#include "sockets.h"
#include "fileops.h"

namespace sr {

namespace {

// Builds `new SaferRingError(code, message)` (or a plain Error with a code) in
// raw Node-API, checking every status: while a worker is being terminated no
// JavaScript can run, and the C++ wrappers would abort the process instead of
// letting the call fail quietly.
napi_value MakeError(napi_env env, const char* code, const std::string& message) {
  napi_value codeValue, messageValue, err = nullptr;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &codeValue) != napi_ok ||
      napi_create_string_utf8(env, message.c_str(), message.size(), &messageValue) != napi_ok)
    return nullptr;
  InstanceData* data = GetInstance(Napi::Env(env));
  napi_value cls;
  if (data != nullptr && !data->errorClass.IsEmpty() &&
      napi_get_reference_value(env, data->errorClass, &cls) == napi_ok && cls != nullptr) {
    napi_value args[2] = {codeValue, messageValue};
    if (napi_new_instance(env, cls, 2, args, &err) != napi_ok) return nullptr;
    return err;
  }
  if (napi_create_error(env, codeValue, messageValue, &err) != napi_ok) return nullptr;
  return err;
}

void SetNumber(napi_env env, napi_value obj, const char* key, double value) {
  napi_value v;
  if (napi_create_double(env, value, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

void SetString(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

}  // namespace

void ThrowError(Napi::Env env, const char* code, const std::string& message, int index) {
  napi_value err = MakeError(env, code, message);
  if (err == nullptr) return;
  if (index >= 0) SetNumber(env, err, "index", index);
  napi_throw(env, err);  // fails only while the environment is shutting down: nothing to report to then
}

void ThrowErrno(Napi::Env env, int err, const char* syscall) {
  // libuv's errno names (Node exports libuv to addons) rather than glibc's
  // strerrorname_np, which needs glibc 2.32: prebuilt binaries must load on
  // every glibc Node itself supports (2.28).
  char name[64];
  uv_err_name_r(-err, name, sizeof name);
  std::string code = name[0] == 'E' ? name : "EIO";
  napi_value obj = MakeError(env, code.c_str(), code + ": " + strerror(err) + ", " + syscall);
  if (obj == nullptr) return;
  SetNumber(env, obj, "errno", -err);
  SetString(env, obj, "syscall", syscall);
  napi_throw(env, obj);
}

static Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    ThrowError(info.Env(), "ERR_INVALID_ARG_TYPE", "setErrorClass expects a constructor");
    return info.Env().Undefined();
  }
  GetInstance(info.Env())->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// Which io_uring opcodes this kernel supports, by IORING_OP name. Throws with
// the errno (ENOSYS, EPERM) when io_uring itself cannot be used.
static Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct io_uring ring;
  int ret = io_uring_queue_init(2, &ring, 0);
  if (ret < 0) {
    ThrowErrno(env, -ret, "io_uring_setup");
    return env.Undefined();
  }
  struct io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  Napi::Object out = Napi::Object::New(env);
  struct Named { const char* name; int op; };
  static const Named kOps[] = {
      {"NOP", IORING_OP_NOP}, {"READV", IORING_OP_READV}, {"WRITEV", IORING_OP_WRITEV},
      {"FSYNC", IORING_OP_FSYNC}, {"READ_FIXED", IORING_OP_READ_FIXED},
      {"WRITE_FIXED", IORING_OP_WRITE_FIXED}, {"POLL_ADD", IORING_OP_POLL_ADD},
      {"SENDMSG", IORING_OP_SENDMSG}, {"RECVMSG", IORING_OP_RECVMSG},
      {"TIMEOUT", IORING_OP_TIMEOUT}, {"ACCEPT", IORING_OP_ACCEPT},
      {"ASYNC_CANCEL", IORING_OP_ASYNC_CANCEL}, {"LINK_TIMEOUT", IORING_OP_LINK_TIMEOUT},
      {"CONNECT", IORING_OP_CONNECT}, {"FALLOCATE", IORING_OP_FALLOCATE},
      {"OPENAT", IORING_OP_OPENAT}, {"CLOSE", IORING_OP_CLOSE}, {"STATX", IORING_OP_STATX},
      {"READ", IORING_OP_READ}, {"WRITE", IORING_OP_WRITE}, {"SEND", IORING_OP_SEND},
      {"RECV", IORING_OP_RECV}, {"PROVIDE_BUFFERS", IORING_OP_PROVIDE_BUFFERS},
      {"SHUTDOWN", IORING_OP_SHUTDOWN}, {"RENAMEAT", IORING_OP_RENAMEAT},
      {"UNLINKAT", IORING_OP_UNLINKAT}, {"MKDIRAT", IORING_OP_MKDIRAT},
      {"SOCKET", IORING_OP_SOCKET}, {"SEND_ZC", IORING_OP_SEND_ZC},
      {"SYMLINKAT", IORING_OP_SYMLINKAT}, {"LINKAT", IORING_OP_LINKAT}, {"SPLICE", IORING_OP_SPLICE},
      {"FTRUNCATE", 55},  // IORING_OP_FTRUNCATE (6.9), newer than liburing 2.3's header
      {"FIXED_FD_INSTALL", 54},  // IORING_OP_FIXED_FD_INSTALL (6.8)
  };
  for (const Named& n : kOps) {
    bool ok = probe != nullptr && io_uring_opcode_supported(probe, n.op);
    out.Set(n.name, Napi::Boolean::New(env, ok));
  }
  if (probe != nullptr) io_uring_free_probe(probe);
  io_uring_queue_exit(&ring);
  return out;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new InstanceData();
  env.SetInstanceData(data);  // deleted by node-addon-api when the environment goes away
  exports.Set("NativeRing", NativeRing::Define(env));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  DefineSockets(env, exports);
  DefineFileOps(env, exports);
  exports.Set("descriptorWords", Napi::Number::New(env, kDescWords));
  exports.Set("opCount", Napi::Number::New(env, OP_COUNT));
  return exports;
}

}  // namespace sr

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return sr::Init(env, exports); }

NODE_API_MODULE(safer_ring, InitModule)
