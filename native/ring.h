// NativeRing: one io_uring owned by one JavaScript thread.
//
// JavaScript writes operation descriptors into a shared Int32Array and calls
// submit(count) once per event-loop turn. Completions are reaped in batches
// when the ring's eventfd, watched by libuv on the owning thread's loop,
// becomes readable; they are written into a completion Int32Array and handed
// to JavaScript in one call. The handle keeps the loop alive only while
// operations are in flight that were not submitted as weak (SQE_WEAK).
#pragma once
#include <liburing.h>
#include <napi.h>
#include <uv.h>

#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "buffer-ring.h"
#include "read-result.h"
#include "sqe.h"

namespace sr {

// Our setup flag bits (stable across kernels), translated to IORING_SETUP_*.
enum SetupFlag : uint32_t {
  SETUP_SQPOLL = 1 << 0,
  SETUP_COOP_TASKRUN = 1 << 1,
  SETUP_SINGLE_ISSUER = 1 << 2,
  SETUP_DEFER_TASKRUN = 1 << 3,
  SETUP_FIXED_BUFFERS = 1 << 4,  // register arena chunks as fixed buffers when possible
};
// IORING_SETUP_SUBMIT_ALL, asked for by every ring (not a caller's choice).
constexpr uint32_t kSetupSubmitAll = 1u << 30;

// An Int32Array the ring reads or writes in place (descriptors, completions,
// iovecs). Over a SharedArrayBuffer, which can never be detached, moved or
// shrunk, its address is taken once at construction; over an ordinary
// ArrayBuffer it is looked up on every use, since the buffer could have been
// detached meanwhile. The lookup costs more than a small submit itself.
struct WordArray {
  Napi::Reference<Napi::Int32Array> ref;
  int32_t* pinned = nullptr;
  size_t pinnedWords = 0;
  void Set(Napi::Int32Array array);
  int32_t* Words(size_t* words);
};

class NativeRing : public Napi::ObjectWrap<NativeRing> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeRing(const Napi::CallbackInfo& info);
  ~NativeRing() override;

 private:
  // JavaScript methods.
  Napi::Value AddChunk(const Napi::CallbackInfo& info);
  Napi::Value Submit(const Napi::CallbackInfo& info);
  Napi::Value SubmitAndReap(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  Napi::Value RegisterFiles(const Napi::CallbackInfo& info);
  Napi::Value UpdateFiles(const Napi::CallbackInfo& info);
  Napi::Value UnregisterFiles(const Napi::CallbackInfo& info);
  Napi::Value InFlight(const Napi::CallbackInfo& info);
  Napi::Value Reap(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  // Buffer rings (buffer-ring.cc).
  Napi::Value RegisterBufferRingJs(const Napi::CallbackInfo& info);
  Napi::Value RecycleBufferJs(const Napi::CallbackInfo& info);
  Napi::Value UnregisterBufferRingJs(const Napi::CallbackInfo& info);
  Napi::Value CopyBufferJs(const Napi::CallbackInfo& info);
  Napi::Value TakeBufferJs(const Napi::CallbackInfo& info);
  BufferRing* ReturnedBuffer(Napi::Env env, uint32_t bgid, uint32_t bid);
  void NoteSelectedBuffer(uint64_t userData, uint32_t cqeFlags, int32_t res);
  void FinishBufferSelect(uint64_t userData);
  // Read results (read-result.cc).
  Napi::Value AllocResultJs(const Napi::CallbackInfo& info);
  Napi::Value TakeResultJs(const Napi::CallbackInfo& info);
  Napi::Value ReleaseResultJs(const Napi::CallbackInfo& info);
  void FinishResultRead(uint64_t userData);
  void ReleaseResultsAtTeardown();
  void UnregisterAllBufferRings();

  bool Setup(Napi::Env env, unsigned entries, uint32_t flags, unsigned sqThreadIdleMs);
  bool CheckLive(Napi::Env env);
  bool SubmitDescriptors(const Napi::CallbackInfo& info, bool keepAlive);
  unsigned ReapPosted();
  int32_t* SnapshotBatch(const int32_t* desc, uint32_t count, const int32_t* iovs, size_t iovWords);
  int SubmitPending();
  void UpdateKeepAlive();
  void OnReadable();
  unsigned ReapInto(int32_t* out, size_t capacity);
  enum class CqeRole { kMore, kFinal, kStray };
  CqeRole RoleOf(uint64_t userData, int32_t res, uint32_t* flags);
  void FinishOp(uint64_t userData);
  void Teardown(bool waitForKernel);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void CleanupHook(void* arg);

  struct io_uring ring_ {};
  bool live_ = false;
  bool holdingRefs_ = false;        // JS object and callback referenced: ops in flight
  bool loopRef_ = false;            // poll handle referenced: ops in flight that keep the loop alive
  bool submitDeferred_ = false;     // the kernel left SQEs unsubmitted: retry on the next wake
  uint32_t appliedFlags_ = 0;
  unsigned fixedCapacity_ = 0;      // size of the sparse registered-buffer table
  unsigned registeredFiles_ = 0;
  int lastRegisterErrno_ = 0;       // a chunk's registration as a fixed buffer was refused with this errno
  uint64_t fixedBufferOps_ = 0;
  uint64_t fixedFileOps_ = 0;
  int64_t inFlight_ = 0;            // SQEs prepared whose final CQE has not been reaped
  // user_data of in-flight ops submitted with SQE_WEAK: they hold their memory
  // like any op but do not keep the event loop alive (unreferenced sockets).
  std::unordered_set<uint64_t> weakOps_;
  // user_data of zero-copy sends in flight: each ends with its notification
  // CQE, whatever its result CQE says (see EndsOp in ring.cc).
  std::unordered_set<uint64_t> zeroCopyOps_;
  int eventFd_ = -1;
  uv_poll_t* poll_ = nullptr;
  napi_env env_ = nullptr;

  std::vector<int32_t> snapDesc_;   // the batch being submitted, copied out of JavaScript memory
  std::vector<int32_t> snapIovs_;   // its iovec triples
  std::vector<Chunk> chunks_;
  std::vector<Napi::Reference<Napi::Uint8Array>> chunkRefs_;  // keep arena memory alive
  std::unordered_map<uint64_t, std::unique_ptr<Aux>> aux_;
  std::unordered_map<uint32_t, BufferRing> bufferRings_;  // by buffer group id
  std::unordered_map<uint32_t, ReadResult> readResults_;  // by id
  uint32_t nextResultId_ = 1;
  WordArray descriptors_;
  WordArray completions_;
  WordArray iovs_;
  Napi::FunctionReference onComplete_;
};

}  // namespace sr
