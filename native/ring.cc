#include "ring.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "addon.h"
#include "args.h"
#include "descriptor.h"
#include "errors.h"
#include "internal-fds.h"

namespace sr {
namespace {

constexpr unsigned kMaxEntries = 32768;
constexpr unsigned kFixedBufferSlots = 1024;
constexpr size_t kMaxFixedBufferBytes = size_t{1} << 30;  // kernel limit for one registered buffer
constexpr int kMaxChunks = 1 << 16;
constexpr uint64_t kTeardownCancelData = ~uint64_t{0};
constexpr int kCompletionWords = 4;  // id, gen, res, flags
constexpr int kMaxDeliveryRounds = 8;  // bounded so one ring cannot starve the event loop

}  // namespace

Napi::Function NativeRing::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeRing", {
      InstanceMethod<&NativeRing::AddChunk>("addChunk"),
      InstanceMethod<&NativeRing::Submit>("submit"),
      InstanceMethod<&NativeRing::SubmitAndReap>("submitAndReap"),
      InstanceMethod<&NativeRing::Destroy>("destroy"),
      InstanceMethod<&NativeRing::RegisterFiles>("registerFiles"),
      InstanceMethod<&NativeRing::UpdateFiles>("updateFiles"),
      InstanceMethod<&NativeRing::UnregisterFiles>("unregisterFiles"),
      InstanceMethod<&NativeRing::InFlight>("inFlight"),
      InstanceMethod<&NativeRing::Reap>("reap"),
      InstanceMethod<&NativeRing::Info>("info"),
      InstanceMethod<&NativeRing::RegisterBufferRingJs>("registerBufferRing"),
      InstanceMethod<&NativeRing::RecycleBufferJs>("recycleBuffer"),
      InstanceMethod<&NativeRing::UnregisterBufferRingJs>("unregisterBufferRing"),
      InstanceMethod<&NativeRing::CopyBufferJs>("copyBuffer"),
      InstanceMethod<&NativeRing::TakeBufferJs>("takeBuffer"),
      InstanceMethod<&NativeRing::AllocResultJs>("allocResult"),
      InstanceMethod<&NativeRing::TakeResultJs>("takeResult"),
      InstanceMethod<&NativeRing::ReleaseResultJs>("releaseResult"),
  });
  GetInstance(env)->ringCtor = Napi::Persistent(ctor);
  return ctor;
}

// new NativeRing(entries, flags, sqThreadIdleMs, descriptors, completions, iovs, onComplete)
NativeRing::NativeRing(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeRing>(info) {
  Napi::Env env = info.Env();
  env_ = env;
  uint32_t entries, flags, idle;
  if (info.Length() < 7 || !GetUint32(info[0], &entries) || !GetUint32(info[1], &flags) ||
      !GetUint32(info[2], &idle) || !info[3].IsTypedArray() || !info[4].IsTypedArray() ||
      !info[5].IsTypedArray() || !info[6].IsFunction()) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE",
               "NativeRing(entries, flags, sqThreadIdleMs, descriptors, completions, iovs, onComplete)");
    return;
  }
  for (int i = 3; i <= 5; i++) {
    if (info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      ThrowError(env, "ERR_INVALID_ARG_TYPE", "descriptor, completion and iovec arrays must be Int32Array");
      return;
    }
  }
  if (entries < 1 || entries > kMaxEntries) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "entries must be between 1 and 32768");
    return;
  }
  descriptors_.Set(info[3].As<Napi::Int32Array>());
  completions_.Set(info[4].As<Napi::Int32Array>());
  iovs_.Set(info[5].As<Napi::Int32Array>());
  onComplete_ = Napi::Weak(info[6].As<Napi::Function>());
  if (!Setup(env, entries, flags, idle)) return;
  napi_add_env_cleanup_hook(env, CleanupHook, this);
}

bool NativeRing::Setup(Napi::Env env, unsigned entries, uint32_t flags, unsigned sqThreadIdleMs) {
  // Ask for what was requested, then drop the newest optional flags one at a
  // time on EINVAL so an older kernel still gets a working ring.
  //
  // SUBMIT_ALL (5.18) is always asked for, and dropped last: without it the
  // kernel stops a submit at an SQE it cannot set up (a path longer than
  // PATH_MAX fails while the op is prepared), fails that one and leaves the
  // ones after it in the SQ ring, where nothing may ever submit them again.
  // SubmitPending() resubmits what is left either way.
  struct Attempt { uint32_t drop; };
  static const uint32_t kDropOrder[] = {0, SETUP_DEFER_TASKRUN, SETUP_SINGLE_ISSUER, SETUP_COOP_TASKRUN, kSetupSubmitAll};
  uint32_t want = flags | kSetupSubmitAll;
  int ret = -EINVAL;
  for (uint32_t drop : kDropOrder) {
    want &= ~drop;
    if ((want & SETUP_DEFER_TASKRUN) && !(want & SETUP_SINGLE_ISSUER)) want &= ~SETUP_DEFER_TASKRUN;
    struct io_uring_params p {};
    if (want & kSetupSubmitAll) p.flags |= IORING_SETUP_SUBMIT_ALL;
    if (want & SETUP_SQPOLL) { p.flags |= IORING_SETUP_SQPOLL; p.sq_thread_idle = sqThreadIdleMs; }
    if (want & SETUP_COOP_TASKRUN) p.flags |= IORING_SETUP_COOP_TASKRUN;
    if (want & SETUP_SINGLE_ISSUER) p.flags |= IORING_SETUP_SINGLE_ISSUER;
    if (want & SETUP_DEFER_TASKRUN) p.flags |= IORING_SETUP_DEFER_TASKRUN;
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 2;
    ret = io_uring_queue_init_params(entries, &ring_, &p);
    if (ret != -EINVAL) break;
  }
  if (ret < 0) {
    ThrowErrno(env, -ret, "io_uring_setup");
    return false;
  }
  appliedFlags_ = want & (SETUP_SQPOLL | SETUP_COOP_TASKRUN | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN);
  live_ = true;

  eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventFd_ < 0 || io_uring_register_eventfd(&ring_, eventFd_) < 0) {
    int err = errno;
    Teardown(false);
    ThrowErrno(env, err ? err : EIO, "io_uring_register_eventfd");
    return false;
  }
  InternalFds::Add(ring_.ring_fd);
  InternalFds::Add(eventFd_);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = static_cast<uv_poll_t*>(malloc(sizeof(uv_poll_t)));
  poll_->data = this;
  uv_poll_init(loop, poll_, eventFd_);
  uv_poll_start(poll_, UV_READABLE, OnPoll);
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));  // idle rings never hold the process open

  // A sparse table lets arena chunks be registered one by one as the arena grows.
  // Registration pins memory (RLIMIT_MEMLOCK for unprivileged users): without it
  // ops use plain READ/WRITE, which is slower but equally safe.
  if ((flags & SETUP_FIXED_BUFFERS) && io_uring_register_buffers_sparse(&ring_, kFixedBufferSlots) == 0) {
    fixedCapacity_ = kFixedBufferSlots;
    appliedFlags_ |= SETUP_FIXED_BUFFERS;
  }
  return true;
}

NativeRing::~NativeRing() {
  if (live_) {
    napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    Teardown(true);
  }
}

void NativeRing::CleanupHook(void* arg) {
  // The environment (a worker, or the process) is going away, maybe with ops
  // still in flight: make sure the kernel is done with arena memory first.
  static_cast<NativeRing*>(arg)->Teardown(true);
}

bool NativeRing::CheckLive(Napi::Env env) {
  if (live_) return true;
  ThrowError(env, "ERR_RING_CLOSED", "the ring is closed");
  return false;
}

// addChunk(index, view, slotSize): make arena chunk `index` (a Uint8Array over
// a whole SharedArrayBuffer, cut into slots of slotSize bytes) addressable by
// descriptors. Returns true when it was also registered as a fixed buffer.
Napi::Value NativeRing::AddChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t index, slotSize;
  if (info.Length() < 3 || !GetUint32(info[0], &index) || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !GetUint32(info[2], &slotSize)) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "addChunk(index, Uint8Array, slotSize)");
    return env.Undefined();
  }
  if (index >= static_cast<uint32_t>(kMaxChunks)) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "chunk index out of range");
    return env.Undefined();
  }
  Napi::Uint8Array view = info[1].As<Napi::Uint8Array>();
  // Only SharedArrayBuffer memory is accepted: a plain ArrayBuffer can be
  // detached (transferred) by JavaScript while the kernel still uses it.
  // Node-API reports a SharedArrayBuffer as "not an ArrayBuffer".
  if (view.ArrayBuffer().IsArrayBuffer() || view.ByteLength() == 0) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "arena chunks must be non-empty SharedArrayBuffer views");
    return env.Undefined();
  }
  // Slots are powers of two that tile the chunk; a whole-chunk slot is the largest.
  if (slotSize == 0 || (slotSize & (slotSize - 1)) != 0 || view.ByteLength() % slotSize != 0) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "slotSize must be a power of two that divides the chunk's length");
    return env.Undefined();
  }
  if (index < chunks_.size() && chunks_[index].base != nullptr) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "chunk index already in use");
    return env.Undefined();
  }
  if (index >= chunks_.size()) {
    chunks_.resize(index + 1);
    chunkRefs_.resize(index + 1);
  }
  Chunk& c = chunks_[index];
  c.base = view.Data();
  c.length = view.ByteLength();
  c.slotSize = slotSize;
  chunkRefs_[index] = Napi::Persistent(view);
  if (index < fixedCapacity_ && c.length <= kMaxFixedBufferBytes) {
    struct iovec iov = {c.base, c.length};
    __u64 tag = 0;
    int ret = io_uring_register_buffers_update_tag(&ring_, index, &iov, &tag, 1);
    if (ret == 1) c.fixedIndex = static_cast<int>(index);
    else if (ret < 0) lastRegisterErrno_ = -ret;  // e.g. ENOMEM: RLIMIT_MEMLOCK too small to pin it
  }
  return Napi::Boolean::New(env, c.fixedIndex >= 0);
}

void WordArray::Set(Napi::Int32Array array) {
  ref = Napi::Persistent(array);
  // Node-API reports a SharedArrayBuffer as "not an ArrayBuffer".
  if (!array.ArrayBuffer().IsArrayBuffer()) {
    pinned = array.Data();
    pinnedWords = array.ElementLength();
  }
}

int32_t* WordArray::Words(size_t* words) {
  if (pinned != nullptr) {
    *words = pinnedWords;
    return pinned;
  }
  Napi::Int32Array a = ref.Value();
  *words = a.ElementLength();
  return a.Data();
}

// submit(count): validate descriptors [0, count), then prepare and submit them.
// Nothing reaches the kernel unless every descriptor in the batch is valid; on
// a bad one this throws with `index` naming it. Returns count.
Napi::Value NativeRing::Submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!SubmitDescriptors(info, true)) return env.Undefined();
  return info[0];
}

// submitAndReap(count): submit(count), then copy the completions already
// posted (page-cached reads, statx, opens usually complete inside the submit)
// into the completion array without a callback, and return how many: one
// call from JavaScript instead of two. The eventfd is left as it is: the
// kernel signalled it for what was reaped here, so the next wake-up may find
// nothing, which costs less than keeping the count exact (see
// docs/benchmarks.md).
Napi::Value NativeRing::SubmitAndReap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The reap sets the keep-alive state once, for both steps: ops that
  // completed inline then never reference the loop at all.
  if (!SubmitDescriptors(info, false)) return env.Undefined();
  return Napi::Number::New(env, ReapPosted());
}

bool NativeRing::SubmitDescriptors(const Napi::CallbackInfo& info, bool keepAlive) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return false;
  uint32_t count;
  size_t descWords, iovWords;
  int32_t* desc = descriptors_.Words(&descWords);
  int32_t* iovs = iovs_.Words(&iovWords);
  if (info.Length() < 1 || !GetUint32(info[0], &count) || static_cast<size_t>(count) * kDescWords > descWords) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "descriptor count out of range");
    return false;
  }
  // More than the submission queue holds could never fit: waiting for room
  // (below, on an SQPOLL ring) would spin forever.
  if (count > ring_.sq.ring_entries) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "more descriptors than the submission queue holds");
    return false;
  }
  // Validate and prepare from one private copy: the arrays may be shared
  // memory that another thread writes, and a value read twice (once to
  // check, once to use) could change in between.
  desc = SnapshotBatch(desc, count, iovs, iovWords);
  SqeContext ctx{&chunks_, &bufferRings_, &readResults_, registeredFiles_, snapIovs_.data(), snapIovs_.size()};
  for (uint32_t i = 0; i < count; i++) {
    Invalid bad = ValidateDescriptor(ctx, desc + static_cast<size_t>(i) * kDescWords);
    if (bad) {
      ThrowError(env, bad.code, bad.message, static_cast<int>(i));
      return false;
    }
  }
  // Room for the whole batch first, so it is prepared all or nothing. The SQ
  // is empty after every successful submit; it only fills when the kernel
  // refused one (or, with SQPOLL, before its thread has caught up).
  unsigned space = io_uring_sq_space_left(&ring_);
  if (space < count) {
    SubmitPending();
    space = io_uring_sq_space_left(&ring_);
    while (space < count && (appliedFlags_ & SETUP_SQPOLL) && io_uring_sqring_wait(&ring_) >= 0)
      space = io_uring_sq_space_left(&ring_);
  }
  if (space < count) {
    ThrowError(env, "ERR_RING_BUSY", "the submission queue is full; retry after completions");
    return false;
  }
  for (uint32_t i = 0; i < count; i++) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    const int32_t* d = desc + static_cast<size_t>(i) * kDescWords;
    std::unique_ptr<Aux> aux = PrepareSqe(ctx, d, sqe);
    if (sqe->opcode == IORING_OP_READ_FIXED || sqe->opcode == IORING_OP_WRITE_FIXED) fixedBufferOps_++;
    if (sqe->flags & IOSQE_FIXED_FILE) fixedFileOps_++;
    if (aux) {
      if (aux->bufferGroup >= 0) bufferRings_.at(static_cast<uint32_t>(aux->bufferGroup)).activeOps++;
      if (aux->readResult >= 0) readResults_.at(static_cast<uint32_t>(aux->readResult)).readsInFlight++;
      aux_[UserData(d)] = std::move(aux);
    }
    if (d[D_SQE_FLAGS] & SQE_WEAK) weakOps_.insert(UserData(d));
    if (d[D_OP] == OP_SEND_ZC) zeroCopyOps_.insert(UserData(d));
    inFlight_++;
  }
  // Once SQEs are prepared they belong to the kernel: never report failure
  // here (the caller would free their memory). A refused submit leaves them
  // queued in the SQ ring, and the next submit or wake-up retries it.
  if (SubmitPending() < 0) submitDeferred_ = true;
  if (keepAlive) UpdateKeepAlive();
  return true;
}

// Copies descriptors [0, count) and the iovec triples they name into native
// memory; returns the copy. A readv/writev descriptor's list start is
// rewritten to index the copied triples; a list outside the array becomes -1,
// which validation refuses.
int32_t* NativeRing::SnapshotBatch(const int32_t* desc, uint32_t count, const int32_t* iovs, size_t iovWords) {
  snapDesc_.assign(desc, desc + static_cast<size_t>(count) * kDescWords);
  snapIovs_.clear();
  for (uint32_t i = 0; i < count; i++) {
    int32_t* d = snapDesc_.data() + static_cast<size_t>(i) * kDescWords;
    if (d[D_OP] != OP_READV && d[D_OP] != OP_WRITEV) continue;
    int32_t start = d[D_CHUNK2], n = d[D_LEN2];
    if (start < 0 || n < 0 || n > IOV_MAX ||
        (static_cast<uint64_t>(start) + static_cast<uint64_t>(n)) * kIovWords > iovWords) {
      d[D_CHUNK2] = -1;
      continue;
    }
    d[D_CHUNK2] = static_cast<int32_t>(snapIovs_.size() / kIovWords);
    const int32_t* from = iovs + static_cast<size_t>(start) * kIovWords;
    snapIovs_.insert(snapIovs_.end(), from, from + static_cast<size_t>(n) * kIovWords);
  }
  return snapDesc_.data();
}

// Hands queued SQEs to the kernel. The kernel may take fewer than were
// queued: it stops at an SQE it cannot set up (without SUBMIT_ALL) or when it
// cannot allocate a request, and EBUSY/EAGAIN take none. What it left stays
// in the SQ ring and is submitted again at once while the kernel keeps taking
// some; when it takes none, on a wake-up this ring gives itself (its own
// eventfd), since no completion may be coming to give one.
int NativeRing::SubmitPending() {
  int ret;
  for (;;) {
    do {
      ret = io_uring_submit(&ring_);
    } while (ret == -EINTR);
    // With SQPOLL the kernel's thread takes the SQEs in its own time.
    if (ret <= 0 || (appliedFlags_ & SETUP_SQPOLL) || io_uring_sq_ready(&ring_) == 0) break;
  }
  const bool left = ret == -EBUSY || ret == -EAGAIN ||
                    (ret == 0 && !(appliedFlags_ & SETUP_SQPOLL) && io_uring_sq_ready(&ring_) > 0);
  submitDeferred_ = left;
  if (left) eventfd_write(eventFd_, 1);
  return ret;
}

void NativeRing::UpdateKeepAlive() {
  // While anything is in flight, this object and the completion callback must
  // stay alive (the kernel still holds arena memory they track). The loop is
  // kept alive only by ops that were not submitted as weak.
  bool hold = live_ && inFlight_ > 0;
  bool loop = hold && inFlight_ > static_cast<int64_t>(weakOps_.size());
  if (loop != loopRef_ && poll_ != nullptr) {
    loopRef_ = loop;
    if (loop) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
  if (hold == holdingRefs_) return;
  holdingRefs_ = hold;
  // Raw calls: this also runs from libuv callbacks, where a failed wrapper
  // call would try to build an Error outside any handle scope.
  uint32_t count;
  napi_ref self = Napi::ObjectWrap<NativeRing>::operator napi_ref();
  napi_ref callback = onComplete_;
  if (hold) {
    napi_reference_ref(env_, callback, &count);
    napi_reference_ref(env_, self, &count);
  } else {
    napi_reference_unref(env_, callback, &count);
    napi_reference_unref(env_, self, &count);
  }
}

// Whether a CQE is an op's last (kFinal), one of several (kMore, with
// IORING_CQE_F_MORE), or belongs to no op in flight (kStray: dropped).
//
// A zero-copy send posts a result CQE, then a notification (F_NOTIF) once
// the kernel no longer reads its buffer; the result normally carries F_MORE.
// But a send whose poll for room is cancelled posts its -ECANCELED result
// without F_MORE and the notification all the same (seen on 6.x), and a send
// cut short and then cancelled can leave its pages in the network stack until
// that notification. So for a zero-copy send the notification is the last
// CQE; a result without F_MORE is passed on as one with it (the op stays in
// flight), unless the kernel refused the send before setting up its
// notification (-EINVAL, -ENOMEM: nothing was sent, and none follows). A
// notification for a send already ended is dropped: counted as a completion
// it would end another op's accounting early.
NativeRing::CqeRole NativeRing::RoleOf(uint64_t userData, int32_t res, uint32_t* flags) {
  bool zeroCopy = !zeroCopyOps_.empty() && zeroCopyOps_.count(userData) != 0;
  if (*flags & IORING_CQE_F_NOTIF) {
    if (!zeroCopy) return CqeRole::kStray;
    zeroCopyOps_.erase(userData);
    *flags &= ~IORING_CQE_F_MORE;
    return CqeRole::kFinal;
  }
  if (*flags & IORING_CQE_F_MORE) return CqeRole::kMore;
  if (zeroCopy) {
    if (res != -EINVAL && res != -ENOMEM) {
      *flags |= IORING_CQE_F_MORE;
      return CqeRole::kMore;
    }
    zeroCopyOps_.erase(userData);
  }
  return CqeRole::kFinal;
}

unsigned NativeRing::ReapInto(int32_t* out, size_t capacity) {
  struct io_uring_cqe* cqes[256];
  unsigned total = 0;
  while (total < capacity) {
    unsigned want = static_cast<unsigned>(std::min<size_t>(capacity - total, 256));
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, want);
    if (n == 0) break;
    for (unsigned i = 0; i < n; i++) {
      struct io_uring_cqe* cqe = cqes[i];
      uint64_t ud = cqe->user_data;
      uint32_t flags = cqe->flags;
      CqeRole role = RoleOf(ud, cqe->res, &flags);
      if (role == CqeRole::kStray) continue;
      int32_t* o = out + static_cast<size_t>(total++) * kCompletionWords;
      o[0] = static_cast<int32_t>(ud & 0xffffffffu);
      o[1] = static_cast<int32_t>(ud >> 32);
      o[2] = cqe->res;
      o[3] = static_cast<int32_t>(flags);
      if ((flags & IORING_CQE_F_BUFFER) && !bufferRings_.empty()) NoteSelectedBuffer(ud, flags, cqe->res);
      if (role == CqeRole::kFinal) FinishOp(ud);
    }
    io_uring_cq_advance(&ring_, n);
  }
  return total;
}

// An op's final CQE was reaped: the kernel is done with it and with what it held.
void NativeRing::FinishOp(uint64_t userData) {
  inFlight_--;
  if (!weakOps_.empty()) weakOps_.erase(userData);
  if (aux_.empty()) return;
  if (!bufferRings_.empty()) FinishBufferSelect(userData);
  if (!readResults_.empty()) FinishResultRead(userData);
  aux_.erase(userData);
}

void NativeRing::OnPoll(uv_poll_t* handle, int status, int events) {
  static_cast<NativeRing*>(handle->data)->OnReadable();
}

void NativeRing::OnReadable() {
  uint64_t counter;
  while (read(eventFd_, &counter, sizeof counter) < 0 && errno == EINTR) {}
  if (appliedFlags_ & SETUP_DEFER_TASKRUN) io_uring_get_events(&ring_);
  if (submitDeferred_) SubmitPending();

  // Raw Node-API with every status checked: this runs from libuv, possibly
  // while a worker thread is being terminated, when JavaScript cannot run and
  // the C++ wrappers would abort the process on the first failed call.
  napi_env env = env_;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  for (int round = 0; round < kMaxDeliveryRounds && live_; round++) {
    napi_value comps, cb, self, count, result;
    napi_typedarray_type type;
    size_t words = completions_.pinnedWords;
    void* data = completions_.pinned;
    if (data == nullptr &&
        (napi_get_reference_value(env, completions_.ref, &comps) != napi_ok || comps == nullptr ||
         napi_get_typedarray_info(env, comps, &type, &words, &data, nullptr, nullptr) != napi_ok))
      break;
    size_t capacity = words / kCompletionWords;
    unsigned n = ReapInto(static_cast<int32_t*>(data), capacity);
    if (n == 0) break;
    if (napi_get_reference_value(env, onComplete_, &cb) != napi_ok || cb == nullptr ||
        napi_get_reference_value(env, Napi::ObjectWrap<NativeRing>::operator napi_ref(), &self) != napi_ok ||
        napi_create_uint32(env, n, &count) != napi_ok)
      break;
    // JavaScript may submit more work, or close and destroy this ring, from here.
    napi_status status = napi_make_callback(env, nullptr, self, cb, 1, &count, &result);
    if (status == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok && error != nullptr) napi_fatal_exception(env, error);
      break;
    }
    if (status != napi_ok) break;
    if (n < capacity) break;
  }
  if (live_) UpdateKeepAlive();
  napi_close_handle_scope(env, scope);
}

// destroy(): release the ring once nothing is in flight (JavaScript's close()
// cancels and drains first). Throws if the kernel may still use arena memory.
Napi::Value NativeRing::Destroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!live_) return env.Undefined();
  if (inFlight_ > 0) {
    ThrowError(env, "ERR_RING_BUSY", "cannot destroy a ring with operations in flight");
    return env.Undefined();
  }
  napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  Teardown(false);
  return env.Undefined();
}

void NativeRing::Teardown(bool waitForKernel) {
  if (!live_) return;
  if (waitForKernel && inFlight_ > 0) {
    // Cancel everything, then wait (bounded) for the kernel to give every
    // buffer back before the ring and the memory it points at go away.
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) { io_uring_submit(&ring_); sqe = io_uring_get_sqe(&ring_); }
    if (sqe != nullptr) {
      io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
      io_uring_sqe_set_data64(sqe, kTeardownCancelData);
      io_uring_submit(&ring_);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (inFlight_ > 0 && std::chrono::steady_clock::now() < deadline) {
      struct io_uring_cqe* cqe;
      struct __kernel_timespec ts = {0, 50 * 1000 * 1000};
      if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) == 0) {
        uint32_t flags = cqe->flags;
        if (cqe->user_data != kTeardownCancelData && RoleOf(cqe->user_data, cqe->res, &flags) == CqeRole::kFinal) FinishOp(cqe->user_data);
        io_uring_cqe_seen(&ring_, cqe);
      }
    }
  }
  live_ = false;
  // The kernel is done with every op (or gave up waiting): take the buffer
  // rings back before the ring goes, then free their native memory.
  UnregisterAllBufferRings();
  ReleaseResultsAtTeardown();
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    // The close callback runs on a later loop turn, possibly after a worker's
    // environment has unloaded this addon: so it must not be our code. The
    // handle came from malloc, and libc's free is the callback.
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), reinterpret_cast<uv_close_cb>(&free));
    poll_ = nullptr;
  }
  InternalFds::Remove(ring_.ring_fd);
  InternalFds::Remove(eventFd_);
  io_uring_queue_exit(&ring_);
  if (eventFd_ >= 0) close(eventFd_);
  eventFd_ = -1;
  loopRef_ = false;
  weakOps_.clear();
  zeroCopyOps_.clear();
  if (holdingRefs_) {
    holdingRefs_ = false;
    onComplete_.Unref();
    Unref();
  }
  aux_.clear();
  chunks_.clear();
  for (auto& r : chunkRefs_) r.Reset();
  chunkRefs_.clear();
}

// registerFiles(Int32Array fds): a fixed-file table; descriptors with the
// fixed-file flag then carry an index into it instead of an fd.
Napi::Value NativeRing::RegisterFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "registerFiles(Int32Array)");
    return env.Undefined();
  }
  Napi::Int32Array fds = info[0].As<Napi::Int32Array>();
  if (fds.ElementLength() == 0 || registeredFiles_ > 0) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", registeredFiles_ ? "files are already registered" : "no files given");
    return env.Undefined();
  }
  int ret = io_uring_register_files(&ring_, fds.Data(), static_cast<unsigned>(fds.ElementLength()));
  if (ret < 0) {
    ThrowErrno(env, -ret, "io_uring_register");
    return env.Undefined();
  }
  registeredFiles_ = static_cast<unsigned>(fds.ElementLength());
  return Napi::Number::New(env, registeredFiles_);
}

// updateFiles(offset, Int32Array fds): replace entries (-1 clears one).
Napi::Value NativeRing::UpdateFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t offset;
  if (info.Length() < 2 || !GetUint32(info[0], &offset) || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "updateFiles(offset, Int32Array)");
    return env.Undefined();
  }
  Napi::Int32Array fds = info[1].As<Napi::Int32Array>();
  if (static_cast<uint64_t>(offset) + fds.ElementLength() > registeredFiles_) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "file table update out of range");
    return env.Undefined();
  }
  int ret = io_uring_register_files_update(&ring_, offset, fds.Data(), static_cast<unsigned>(fds.ElementLength()));
  if (ret < 0) {
    ThrowErrno(env, -ret, "io_uring_register");
    return env.Undefined();
  }
  return Napi::Number::New(env, ret);
}

Napi::Value NativeRing::UnregisterFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  if (registeredFiles_ == 0) return env.Undefined();
  int ret = io_uring_unregister_files(&ring_);
  if (ret < 0) {
    ThrowErrno(env, -ret, "io_uring_register");
    return env.Undefined();
  }
  registeredFiles_ = 0;
  return env.Undefined();
}

// reap(): copies CQEs already posted into the completion array and returns
// how many, without calling back. A caller that owns a dedicated thread (a
// ring worker) uses it right after submit: cached reads complete inline, and
// this saves a trip around the event loop.
Napi::Value NativeRing::Reap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  return Napi::Number::New(env, ReapPosted());
}

unsigned NativeRing::ReapPosted() {
  size_t words;
  int32_t* out = completions_.Words(&words);
  unsigned n = ReapInto(out, words / kCompletionWords);
  // Whatever did not fit (or waits in the kernel's overflow list, which is
  // flushed into the CQ without a signal) gets a wake-up of its own.
  if (io_uring_cq_ready(&ring_) > 0 || io_uring_cq_has_overflow(&ring_)) eventfd_write(eventFd_, 1);
  UpdateKeepAlive();
  return n;
}

Napi::Value NativeRing::InFlight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(inFlight_));
}

Napi::Value NativeRing::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("live", Napi::Boolean::New(env, live_));
  o.Set("flags", Napi::Number::New(env, appliedFlags_));
  if (live_) {
    o.Set("sqEntries", Napi::Number::New(env, ring_.sq.ring_entries));
    o.Set("cqEntries", Napi::Number::New(env, ring_.cq.ring_entries));
    o.Set("features", Napi::Number::New(env, ring_.features));
    // Kernel-owned counters in the shared ring memory: completions the kernel
    // had to drop because the CQ was full, and the SQ ring flags
    // (IORING_SQ_NEED_WAKEUP, IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN).
    o.Set("cqOverflow", Napi::Number::New(env, IO_URING_READ_ONCE(*ring_.cq.koverflow)));
    o.Set("sqFlags", Napi::Number::New(env, IO_URING_READ_ONCE(*ring_.sq.kflags)));
  }
  o.Set("fixedBufferSlots", Napi::Number::New(env, fixedCapacity_));
  // The errno of the last arena chunk the kernel refused to register (0: none refused).
  o.Set("fixedBufferError", Napi::Number::New(env, lastRegisterErrno_));
  o.Set("registeredFiles", Napi::Number::New(env, registeredFiles_));
  // How many SQEs used a registered buffer / a registered file: proof the registrations are used.
  o.Set("fixedBufferOps", Napi::Number::New(env, static_cast<double>(fixedBufferOps_)));
  o.Set("fixedFileOps", Napi::Number::New(env, static_cast<double>(fixedFileOps_)));
  // Ops in flight submitted with SQE_WEAK, and whether the ring holds the
  // event loop open right now: what the fuzzer checks the weak-op accounting by.
  o.Set("weakInFlight", Napi::Number::New(env, static_cast<double>(weakOps_.size())));
  o.Set("holdsLoop", Napi::Boolean::New(env, loopRef_));
  return o;
}

}  // namespace sr
