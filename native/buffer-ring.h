// Provided buffer rings (kernel buffer selection, 5.19+), set up by hand:
// liburing 2.3 has io_uring_register_buf_ring but not io_uring_setup_buf_ring.
//
// The buffers themselves are arena slots (SharedArrayBuffer memory the ring
// already holds a reference to). The ring of io_uring_buf entries, which
// holds raw pointers to them, is native memory JavaScript never sees; it is
// freed only after the kernel has unregistered it.
#pragma once
#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sr {

// Largest group: buffer ids are 16 bits, and the ring holds a power of two entries.
constexpr uint32_t kMaxGroupBuffers = 32768;
constexpr uint32_t kMaxGroupId = 65535;
constexpr uint32_t kMaxGroupBufferSize = uint32_t{1} << 30;

struct BufferRing {
  struct io_uring_buf_ring* ring = nullptr;  // posix_memalign'd, page aligned
  unsigned entries = 0;                      // power of two >= count
  uint32_t size = 0;                         // bytes per buffer
  std::vector<uint8_t*> addrs;               // buffer id -> address inside an arena chunk
  std::vector<uint8_t> inKernel;             // 1 while the buffer sits in the ring for the kernel to pick
  int64_t activeOps = 0;                     // prepared SQEs selecting from this group, final CQE not reaped
};

// Allocates and fills the native ring for `addrs` (validated by the caller)
// and registers it as group `bgid`. Returns 0 or a negative errno.
int RegisterBufferRing(struct io_uring* ring, uint32_t bgid, uint32_t size, std::vector<uint8_t*> addrs, BufferRing* out);

// Puts buffer `bid` back in the ring and publishes it (advances the tail).
void RecycleBuffer(BufferRing& br, uint16_t bid);

// Unregisters group `bgid` and frees its ring memory. On failure the memory
// is deliberately leaked: the kernel might still read it.
int UnregisterBufferRing(struct io_uring* ring, uint32_t bgid, BufferRing& br);

}  // namespace sr
