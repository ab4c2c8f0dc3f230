// Throwing SaferRingError (the JavaScript class, handed to us at load time) from native code.
#pragma once
#include <napi.h>

namespace sr {

struct InstanceData;

// Throws `new SaferRingError(code, message)` (falls back to a plain Error with
// a `code` property if the class was not registered). Extra fields are set on
// the error when given: `index` (which descriptor was bad), `errno`/`syscall`.
void ThrowError(Napi::Env env, const char* code, const std::string& message, int index = -1);
void ThrowErrno(Napi::Env env, int err, const char* syscall);

}  // namespace sr
