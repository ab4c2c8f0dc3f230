#pragma once
#include <napi.h>

namespace sr {
void DefineFileOps(Napi::Env env, Napi::Object exports);
}
