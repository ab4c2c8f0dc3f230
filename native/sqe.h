// Descriptor -> SQE. Validation is separate from preparation so a batch with
// one bad descriptor is rejected before any of it reaches the kernel.
#pragma once
#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sr {

// One arena chunk as the ring sees it: memory JavaScript allocated as a
// SharedArrayBuffer (which can never be detached or moved), kept alive by a
// reference the ring holds until it is torn down.
struct Chunk {
  uint8_t* base = nullptr;
  size_t length = 0;
  // The arena cuts each chunk into slots of one size (a power of two that
  // divides `length`). Every buffer an op names lies inside one slot, so a
  // range that crosses a slot boundary is refused: it could only reach a
  // neighbour's memory.
  size_t slotSize = 0;
  int fixedIndex = -1;  // index in the ring's registered-buffer table, or -1
};

// Memory an SQE points at that is not arena memory (iovec arrays, timespecs).
// Owned natively so JavaScript cannot touch it, freed when the op's last CQE arrives.
struct Aux {
  std::vector<struct iovec> iovs;
  struct __kernel_timespec ts {};
  int32_t bufferGroup = -1;  // buffer-select ops: the group the kernel picks from
  int64_t readResult = -1;   // OP_READ_RESULT: the result it writes
};

struct BufferRing;
struct ReadResult;

struct SqeContext {
  const std::vector<Chunk>* chunks;
  const std::unordered_map<uint32_t, BufferRing>* bufferRings;  // registered buffer groups
  const std::unordered_map<uint32_t, ReadResult>* readResults;  // by id
  unsigned registeredFiles;
  const int32_t* iovWords;  // readv/writev lists
  size_t iovWordCount;
};

struct Invalid {
  const char* code = nullptr;  // ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_TYPE, ...
  std::string message;
  explicit operator bool() const { return code != nullptr; }
};

// Checks every field of one descriptor against the ring's tables.
Invalid ValidateDescriptor(const SqeContext& ctx, const int32_t* d);

// Fills `sqe` from a descriptor that passed ValidateDescriptor. Returns the
// side allocation the SQE points into, if the op needs one.
std::unique_ptr<Aux> PrepareSqe(const SqeContext& ctx, const int32_t* d, struct io_uring_sqe* sqe);

uint64_t UserData(const int32_t* d);

}  // namespace sr
