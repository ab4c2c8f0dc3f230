// Read results (read-result.h): allocation, hand-over and release, and the
// bookkeeping that keeps a result from JavaScript while a read may write it.
// Policy (when a call reads into a result, how large each read is) lives in
// src/fs/read-file.ts; this file only checks every value it is given.
#include "read-result.h"

#include <cstdlib>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "ring.h"

namespace sr {

// allocResult(length): a new result of `length` bytes (1..kMaxResultBytes),
// its contents undefined until read; returns its id.
Napi::Value NativeRing::AllocResultJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t length;
  if (info.Length() < 1 || !GetUint32(info[0], &length)) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "allocResult(length)");
    return env.Undefined();
  }
  if (length < 1 || length > kMaxResultBytes) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "allocResult: length must be 1..2^31-1");
    return env.Undefined();
  }
  // Ids are never 0 and skip any still in use, so a stale id names nothing
  // rather than a result another call holds (after 2^31 allocations).
  uint32_t id = nextResultId_;
  while (id == 0 || id > 0x7fffffffu || readResults_.count(id) != 0) id = (id == 0 || id > 0x7fffffffu) ? 1 : id + 1;
  nextResultId_ = id + 1;
  // Uninitialized memory from malloc, as Node's own readFile result
  // (allocUnsafeSlow): every byte is read before the Buffer is taken, or
  // zeroed by takeResult. (Napi's Buffer::New would zero it first; mmap per
  // result costs more in munmap and fresh pages than it saves.)
  auto* memory = static_cast<uint8_t*>(malloc(length));
  if (memory == nullptr) {
    Napi::RangeError::New(env, "Array buffer allocation failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, memory, length, [](Napi::Env, uint8_t* data) { free(data); });
  if (env.IsExceptionPending() || buffer.IsEmpty()) {
    free(memory);  // no Buffer was made: nothing else will free it
    return env.Undefined();
  }
  ReadResult& r = readResults_[id];
  r.base = buffer.Data();
  r.length = length;
  r.buffer = Napi::Persistent(buffer);
  return Napi::Number::New(env, id);
}

// The result `id` as JavaScript may name it: allocated here, not taken or released.
static ReadResult* HeldResult(Napi::Env env, std::unordered_map<uint32_t, ReadResult>& results, const Napi::CallbackInfo& info,
                              const char* usage, uint32_t* id) {
  if (info.Length() < 1 || !GetUint32(info[0], id)) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", usage);
    return nullptr;
  }
  auto it = results.find(*id);
  if (it == results.end() || it->second.released) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "no read result with this id on this ring");
    return nullptr;
  }
  return &it->second;
}

// takeResult(id, length): the result as a Buffer of its full length, bytes
// past `length` zeroed (they were never read: no stale memory shows). Refused
// while a read into it is in flight. The id is gone afterwards.
Napi::Value NativeRing::TakeResultJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id, length;
  ReadResult* r = HeldResult(env, readResults_, info, "takeResult(id, length)", &id);
  if (r == nullptr) return env.Undefined();
  if (info.Length() < 2 || !GetUint32(info[1], &length) || length > r->length) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "takeResult: length must be 0..the result's length");
    return env.Undefined();
  }
  if (r->readsInFlight > 0) {
    ThrowError(env, "ERR_INVALID_STATE", "takeResult: a read into this result is still in flight");
    return env.Undefined();
  }
  if (length < r->length) std::memset(r->base + length, 0, r->length - length);
  Napi::Buffer<uint8_t> out = r->buffer.Value();
  readResults_.erase(id);
  return out;
}

// releaseResult(id): the call no longer wants it (it failed or was aborted).
// Freed now, or when the last read into it completes.
Napi::Value NativeRing::ReleaseResultJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id;
  ReadResult* r = HeldResult(env, readResults_, info, "releaseResult(id)", &id);
  if (r == nullptr) return env.Undefined();
  if (r->readsInFlight > 0) r->released = true;
  else readResults_.erase(id);
  return env.Undefined();
}

void NativeRing::FinishResultRead(uint64_t userData) {
  auto a = aux_.find(userData);
  if (a == aux_.end() || a->second->readResult < 0) return;
  auto it = readResults_.find(static_cast<uint32_t>(a->second->readResult));
  if (it == readResults_.end()) return;
  if (--it->second.readsInFlight == 0 && it->second.released) readResults_.erase(it);
}

void NativeRing::ReleaseResultsAtTeardown() {
  // After the wait for the kernel: a result a read may still write (the wait
  // gave up) stays referenced, never freed under the kernel.
  for (auto& [id, r] : readResults_) {
    if (r.readsInFlight > 0) r.buffer.SuppressDestruct();
  }
  readResults_.clear();
}

}  // namespace sr
