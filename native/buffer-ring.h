// Provided buffer rings (kernel buffer selection, 5.19+), set up by hand:
// liburing 2.3 has io_uring_register_buf_ring but not io_uring_setup_buf_ring.
//
// A group's buffers are either arena slots (SharedArrayBuffer memory the ring
// already holds a reference to), or, for an owned group, Buffers this file
// allocates and only it references: JavaScript never sees an owned block
// while the kernel may write to it. Once a completion has given one back, it
// is either copied out and returned to the kernel, or handed over as it is
// (the program owns it from then on, and V8 frees it) and a new block takes
// its id. The ring of io_uring_buf entries, which holds raw pointers to the
// buffers, is native memory JavaScript never sees; it is freed (and an owned
// group's blocks let go) only after the kernel has unregistered it.
#pragma once
#include <liburing.h>
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sr {

// Largest group: buffer ids are 16 bits, and the ring holds a power of two entries.
constexpr uint32_t kMaxGroupBuffers = 32768;
constexpr uint32_t kMaxGroupId = 65535;
constexpr uint32_t kMaxGroupBufferSize = uint32_t{1} << 30;
constexpr uint32_t kMaxOwnedBufferSize = uint32_t{1} << 20;

struct BufferRing {
  struct io_uring_buf_ring* ring = nullptr;  // posix_memalign'd, page aligned
  unsigned entries = 0;                      // power of two >= count
  uint32_t size = 0;                         // bytes per buffer
  std::vector<uint8_t*> addrs;               // buffer id -> address (inside an arena chunk, or an owned block)
  std::vector<uint8_t> inKernel;             // 1 while the buffer sits in the ring for the kernel to pick
  std::vector<uint32_t> filled;              // bytes the kernel reported writing when it gave the buffer back
  int64_t activeOps = 0;                     // prepared SQEs selecting from this group, final CQE not reaped
  bool owned = false;                        // an owned group (see above): blocks[bid] holds addrs[bid]
  std::vector<Napi::Reference<Napi::Buffer<uint8_t>>> blocks;
};

// Allocates and fills the native ring for `addrs` (validated by the caller)
// and registers it as group `bgid`. Returns 0 or a negative errno.
int RegisterBufferRing(struct io_uring* ring, uint32_t bgid, uint32_t size, std::vector<uint8_t*> addrs, BufferRing* out);

// The same for an owned group of `count` blocks of `size` bytes, allocated here.
int RegisterOwnedBufferRing(Napi::Env env, struct io_uring* ring, uint32_t bgid, uint32_t size, uint32_t count,
                            BufferRing* out);

// A new block for an owned group: a Buffer nothing but `ref` refers to. False (an exception pending) if out of memory.
bool NewOwnedBlock(Napi::Env env, uint32_t size, Napi::Reference<Napi::Buffer<uint8_t>>* ref, uint8_t** data);

// Puts buffer `bid` back in the ring and publishes it (advances the tail).
void RecycleBuffer(BufferRing& br, uint16_t bid);

// Unregisters group `bgid` and frees its ring memory (and lets an owned
// group's blocks go, if `opsInFlight`, the ops selecting from it not yet
// reaped, is 0: one still running might be writing into a block). On failure
// the memory is deliberately leaked: the kernel might still use it.
int UnregisterBufferRing(struct io_uring* ring, uint32_t bgid, BufferRing& br, int64_t opsInFlight);

}  // namespace sr
