#pragma once
#include <napi.h>

namespace sr {
void DefineSockets(Napi::Env env, Napi::Object exports);
}
