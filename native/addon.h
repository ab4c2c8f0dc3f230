// Per-environment state: the addon is context-aware, so every worker thread
// that loads it gets its own InstanceData and nothing is shared through globals.
#pragma once
#include <napi.h>

namespace sr {

struct InstanceData {
  Napi::FunctionReference errorClass;   // SaferRingError, registered by src/native.ts
  Napi::FunctionReference ringCtor;     // NativeRing
};

inline InstanceData* GetInstance(Napi::Env env) { return env.GetInstanceData<InstanceData>(); }

}  // namespace sr
