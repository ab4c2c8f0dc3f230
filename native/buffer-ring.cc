// Buffer rings: registration, recycling, and the NativeRing methods that
// expose them to JavaScript. Policy (which buffer goes back when, what to do
// on ENOBUFS) lives in src/buffers/buffer-group.ts; this file only checks
// every value it is given and talks to the kernel.
#include "args.h"
#include "buffer-ring.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "errors.h"
#include "ring.h"

namespace sr {

int RegisterBufferRing(struct io_uring* ring, uint32_t bgid, uint32_t size, std::vector<uint8_t*> addrs,
                       BufferRing* out) {
  unsigned entries = 1;
  while (entries < addrs.size()) entries <<= 1;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t bytes = (entries * sizeof(struct io_uring_buf) + page - 1) / page * page;
  void* mem = nullptr;
  if (posix_memalign(&mem, page, bytes) != 0) return -ENOMEM;
  std::memset(mem, 0, bytes);
  auto* br = static_cast<struct io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br);

  struct io_uring_buf_reg reg {};
  reg.ring_addr = reinterpret_cast<uintptr_t>(mem);
  reg.ring_entries = entries;
  reg.bgid = static_cast<uint16_t>(bgid);
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret < 0) {
    free(mem);  // never registered: the kernel has no pointer to it
    return ret;
  }
  out->ring = br;
  out->entries = entries;
  out->size = size;
  out->addrs = std::move(addrs);
  out->inKernel.assign(out->addrs.size(), 1);
  out->filled.assign(out->addrs.size(), 0);
  int mask = io_uring_buf_ring_mask(entries);
  for (size_t bid = 0; bid < out->addrs.size(); bid++)
    io_uring_buf_ring_add(br, out->addrs[bid], size, static_cast<unsigned short>(bid), mask, static_cast<int>(bid));
  io_uring_buf_ring_advance(br, static_cast<int>(out->addrs.size()));
  return 0;
}

void RecycleBuffer(BufferRing& br, uint16_t bid) {
  io_uring_buf_ring_add(br.ring, br.addrs[bid], br.size, bid, io_uring_buf_ring_mask(br.entries), 0);
  io_uring_buf_ring_advance(br.ring, 1);
  br.inKernel[bid] = 1;
}

bool NewOwnedBlock(Napi::Env env, uint32_t size, Napi::Reference<Napi::Buffer<uint8_t>>* ref, uint8_t** data) {
  Napi::Buffer<uint8_t> block = Napi::Buffer<uint8_t>::New(env, size);
  if (env.IsExceptionPending() || block.IsEmpty()) return false;
  *data = block.Data();
  *ref = Napi::Persistent(block);
  return true;
}

int RegisterOwnedBufferRing(Napi::Env env, struct io_uring* ring, uint32_t bgid, uint32_t size, uint32_t count,
                            BufferRing* out) {
  std::vector<Napi::Reference<Napi::Buffer<uint8_t>>> blocks(count);
  std::vector<uint8_t*> addrs(count);
  for (uint32_t i = 0; i < count; i++) {
    if (!NewOwnedBlock(env, size, &blocks[i], &addrs[i])) {
      env.GetAndClearPendingException();
      return -ENOMEM;  // the blocks made so far go with `blocks`: the kernel never had them
    }
  }
  int ret = RegisterBufferRing(ring, bgid, size, std::move(addrs), out);
  if (ret < 0) return ret;
  out->owned = true;
  out->blocks = std::move(blocks);
  return 0;
}

int UnregisterBufferRing(struct io_uring* ring, uint32_t bgid, BufferRing& br, int64_t opsInFlight) {
  if (br.ring == nullptr) return 0;
  int ret = io_uring_unregister_buf_ring(ring, static_cast<int>(bgid));
  if (ret == 0) {
    free(br.ring);
  }
  // A receive still running (the ring gave up waiting for it at teardown) may
  // have picked a block before the unregister: then the blocks stay referenced.
  if (ret != 0 || opsInFlight != 0) {
    for (auto& block : br.blocks) block.SuppressDestruct();
  }
  br.blocks.clear();
  br.ring = nullptr;
  return ret;
}

// registerBufferRing(groupId, size, Int32Array [chunk, offset] per buffer id):
// every buffer must lie wholly inside one slot of a chunk this ring knows, and no two may
// overlap. registerBufferRing(groupId, size, count): an owned group of `count` blocks
// allocated here (see buffer-ring.h). Throws the kernel's errno (EINVAL before 5.19) if
// registration fails.
Napi::Value NativeRing::RegisterBufferRingJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t bgid, size, ownedCount = 0;
  bool owned = info.Length() >= 3 && info[2].IsNumber();
  if (info.Length() < 3 || !GetUint32(info[0], &bgid) || !GetUint32(info[1], &size) ||
      (owned ? !GetUint32(info[2], &ownedCount)
             : (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array))) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "registerBufferRing(groupId, size, Int32Array | count)");
    return env.Undefined();
  }
  if (bgid > kMaxGroupId) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "buffer group id must be between 0 and 65535");
    return env.Undefined();
  }
  if (bufferRings_.count(bgid) != 0) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "buffer group id already registered on this ring");
    return env.Undefined();
  }
  if (size < 1 || size > kMaxGroupBufferSize) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "buffer size must be between 1 and 2^30");
    return env.Undefined();
  }
  if (owned) {
    if (ownedCount < 1 || ownedCount > kMaxGroupBuffers || size > kMaxOwnedBufferSize) {
      ThrowError(env, "ERR_OUT_OF_RANGE", "an owned group has 1 to 32768 buffers of at most 1 MiB");
      return env.Undefined();
    }
    BufferRing br;
    int ret = RegisterOwnedBufferRing(env, &ring_, bgid, size, ownedCount, &br);
    if (ret < 0) {
      ThrowErrno(env, -ret, "io_uring_register_buf_ring");
      return env.Undefined();
    }
    bufferRings_.emplace(bgid, std::move(br));
    return Napi::Number::New(env, static_cast<double>(ownedCount));
  }
  Napi::Int32Array list = info[2].As<Napi::Int32Array>();
  size_t words = list.ElementLength();
  size_t count = words / 2;
  if (words % 2 != 0 || count < 1 || count > kMaxGroupBuffers) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "buffer count must be between 1 and 32768");
    return env.Undefined();
  }
  std::vector<uint8_t*> addrs(count);
  for (size_t i = 0; i < count; i++) {
    int32_t chunk = list[i * 2], off = list[i * 2 + 1];
    if (chunk < 0 || static_cast<size_t>(chunk) >= chunks_.size() || chunks_[chunk].base == nullptr || off < 0 ||
        static_cast<uint64_t>(off) + size > chunks_[chunk].length ||
        static_cast<size_t>(off) / chunks_[chunk].slotSize != (static_cast<size_t>(off) + size - 1) / chunks_[chunk].slotSize) {
      ThrowError(env, "ERR_INVALID_ARG_VALUE", "group buffer out of range", static_cast<int>(i));
      return env.Undefined();
    }
    addrs[i] = chunks_[chunk].base + off;
  }
  std::vector<uint8_t*> sorted = addrs;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < count; i++) {
    if (sorted[i] < sorted[i - 1] + size) {
      ThrowError(env, "ERR_INVALID_ARG_VALUE", "group buffers overlap");
      return env.Undefined();
    }
  }
  BufferRing br;
  int ret = RegisterBufferRing(&ring_, bgid, size, std::move(addrs), &br);
  if (ret < 0) {
    ThrowErrno(env, -ret, "io_uring_register_buf_ring");
    return env.Undefined();
  }
  bufferRings_.emplace(bgid, std::move(br));
  return Napi::Number::New(env, static_cast<double>(count));
}

// recycleBuffer(groupId, bufferId): hands a buffer the kernel gave us back to
// the kernel. Only a buffer that a reaped CQE reported as selected (so not in
// the ring now) can be recycled: a double release never reaches the kernel.
Napi::Value NativeRing::RecycleBufferJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t bgid, bid;
  if (info.Length() < 2 || !GetUint32(info[0], &bgid) || !GetUint32(info[1], &bid)) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "recycleBuffer(groupId, bufferId)");
    return env.Undefined();
  }
  BufferRing* br = ReturnedBuffer(env, bgid, bid);
  if (br == nullptr) return env.Undefined();
  RecycleBuffer(*br, static_cast<uint16_t>(bid));
  return env.Undefined();
}

// The group `bgid` if buffer `bid` of it is out of the kernel's ring (a reaped
// CQE reported it selected); otherwise throws and returns null.
BufferRing* NativeRing::ReturnedBuffer(Napi::Env env, uint32_t bgid, uint32_t bid) {
  auto it = bufferRings_.find(bgid);
  if (it == bufferRings_.end()) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "no buffer group with this id on this ring");
    return nullptr;
  }
  BufferRing& br = it->second;
  if (bid >= br.addrs.size()) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "buffer id out of range for this group");
    return nullptr;
  }
  if (br.inKernel[bid]) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "buffer id is already in the kernel's ring");
    return nullptr;
  }
  return &br;
}

// copyBuffer(groupId, bufferId, into): copies the first into.length bytes of
// a returned buffer of an owned group into `into`, then gives the buffer back
// to the kernel. The length is the typed array's own, and at most what the
// buffer's CQE said the kernel wrote: no byte of an earlier use shows.
Napi::Value NativeRing::CopyBufferJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t bgid, bid;
  if (info.Length() < 3 || !GetUint32(info[0], &bgid) || !GetUint32(info[1], &bid) || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "copyBuffer(groupId, bufferId, Uint8Array)");
    return env.Undefined();
  }
  BufferRing* br = ReturnedBuffer(env, bgid, bid);
  if (br == nullptr) return env.Undefined();
  Napi::Uint8Array into = info[2].As<Napi::Uint8Array>();
  if (!br->owned || into.ElementLength() > br->filled[bid]) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "copyBuffer: not an owned group, or more bytes than the kernel wrote");
    return env.Undefined();
  }
  if (into.ElementLength() > 0) std::memcpy(into.Data(), br->addrs[bid], into.ElementLength());
  RecycleBuffer(*br, static_cast<uint16_t>(bid));
  return env.Undefined();
}

// takeBuffer(groupId, bufferId, length): a returned buffer of an owned group,
// handed over as it is (a Buffer of the group's size: the caller views its
// first `length` bytes). The kernel has finished with it and never gets it
// back; a new block takes its id. `length` is at most what the buffer's CQE
// said the kernel wrote, and the bytes past it are zeroed, so the Buffer's
// memory shows nothing but what this receive brought. Out of memory
// for a new block, the bytes are copied instead and the block stays.
Napi::Value NativeRing::TakeBufferJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t bgid, bid, length;
  if (info.Length() < 3 || !GetUint32(info[0], &bgid) || !GetUint32(info[1], &bid) || !GetUint32(info[2], &length)) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "takeBuffer(groupId, bufferId, length)");
    return env.Undefined();
  }
  BufferRing* br = ReturnedBuffer(env, bgid, bid);
  if (br == nullptr) return env.Undefined();
  if (!br->owned || length < 1 || length > br->filled[bid]) {
    ThrowError(env, "ERR_OUT_OF_RANGE", "takeBuffer: not an owned group, or a length outside 1..the bytes the kernel wrote");
    return env.Undefined();
  }
  Napi::Reference<Napi::Buffer<uint8_t>> fresh;
  uint8_t* freshData = nullptr;
  if (!NewOwnedBlock(env, br->size, &fresh, &freshData)) {
    env.GetAndClearPendingException();
    Napi::Buffer<uint8_t> copy = Napi::Buffer<uint8_t>::Copy(env, br->addrs[bid], length);
    RecycleBuffer(*br, static_cast<uint16_t>(bid));
    return copy;
  }
  Napi::Buffer<uint8_t> out = br->blocks[bid].Value();
  if (length < br->size) std::memset(br->addrs[bid] + length, 0, br->size - length);
  br->blocks[bid] = std::move(fresh);
  br->addrs[bid] = freshData;
  RecycleBuffer(*br, static_cast<uint16_t>(bid));
  return out;
}

// unregisterBufferRing(groupId): refused while an op selecting from it is in flight.
Napi::Value NativeRing::UnregisterBufferRingJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckLive(env)) return env.Undefined();
  uint32_t bgid;
  if (info.Length() < 1 || !GetUint32(info[0], &bgid)) {
    ThrowError(env, "ERR_INVALID_ARG_TYPE", "unregisterBufferRing(groupId)");
    return env.Undefined();
  }
  auto it = bufferRings_.find(bgid);
  if (it == bufferRings_.end()) {
    ThrowError(env, "ERR_INVALID_ARG_VALUE", "no buffer group with this id on this ring");
    return env.Undefined();
  }
  if (it->second.activeOps > 0) {
    ThrowError(env, "ERR_RING_BUSY", "operations selecting from this buffer group are still in flight");
    return env.Undefined();
  }
  int ret = UnregisterBufferRing(&ring_, bgid, it->second, it->second.activeOps);
  bufferRings_.erase(it);
  if (ret < 0) {
    ThrowErrno(env, -ret, "io_uring_unregister_buf_ring");
    return env.Undefined();
  }
  return env.Undefined();
}

// A CQE reported that the kernel took buffer `bid` from the group the op named.
void NativeRing::NoteSelectedBuffer(uint64_t userData, uint32_t cqeFlags, int32_t res) {
  auto a = aux_.find(userData);
  if (a == aux_.end() || a->second->bufferGroup < 0) return;
  auto it = bufferRings_.find(static_cast<uint32_t>(a->second->bufferGroup));
  if (it == bufferRings_.end()) return;
  uint32_t bid = cqeFlags >> IORING_CQE_BUFFER_SHIFT;
  if (bid < it->second.inKernel.size()) {
    it->second.inKernel[bid] = 0;
    it->second.filled[bid] = res > 0 ? std::min(static_cast<uint32_t>(res), it->second.size) : 0;
  }
}

void NativeRing::FinishBufferSelect(uint64_t userData) {
  auto a = aux_.find(userData);
  if (a == aux_.end() || a->second->bufferGroup < 0) return;
  auto it = bufferRings_.find(static_cast<uint32_t>(a->second->bufferGroup));
  if (it != bufferRings_.end()) it->second.activeOps--;
}

void NativeRing::UnregisterAllBufferRings() {
  // At teardown, after the wait for the kernel: anything still in flight may hold a block.
  for (auto& [bgid, br] : bufferRings_) UnregisterBufferRing(&ring_, bgid, br, inFlight_);
  bufferRings_.clear();
}

}  // namespace sr
